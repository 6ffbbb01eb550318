package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One round trip per check, counted by Redis itself: {@code INFO commandstats} after a known
 * number of checks must show exactly one {@code EVALSHA} per check and nothing else from the
 * client; the other commands it lists ({@code TIME}, {@code GET}, {@code SET}) are the script's own
 * calls, one {@code TIME} and one {@code GET} per check and one {@code SET} per grant, so a
 * client-side read-modify-write or retry loop would show. Counts, not timing: each test runs its
 * own redis-server so no other test's command can be counted.
 */
@Timeout(60)
class RedisRoundTripTest {

  private static final Duration MINUTE = Duration.ofMinutes(1);

  @Test
  void everyCheckIsOneEvalshaAndTheScriptDoesTheRest() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter global = redis.limiter().key("round-trip").rate(1, MINUTE).burst(3).build();
      RedisKeyedRateLimiter keyed = RedisKeyedRateLimiter.builder().connection(redis.connect())
          .rate(1, MINUTE).burst(2).timeout(Redis.ANSWER_TIMEOUT).listener(EventListener.noop()).build();
      // The builders' best-effort SCRIPT LOAD goes out first on each connection; one check each
      // makes sure it is done before the count starts.
      assertTrue(global.tryAcquire());
      assertTrue(keyed.tryAcquire("warm-up"));
      RedisCommands<String, String> admin = redis.admin();
      admin.configResetstat();

      // 5 checks on the global key: 2 grants (the burst of 3 less the warm-up), 3 refusals.
      int grants = 0;
      for (int i = 0; i < 4; i++) {
        grants += global.tryAcquire() ? 1 : 0;
      }
      grants += global.tryAcquireAsync().toCompletableFuture().get(10, TimeUnit.SECONDS) ? 1 : 0;
      // 4 checks on two device keys: 2 grants each at most (the burst).
      for (int i = 0; i < 2; i++) {
        grants += keyed.tryAcquire("device-a") ? 1 : 0;
        grants += keyed.tryAcquire("device-b") ? 1 : 0;
      }
      assertEquals(6, grants);

      Map<String, Long> calls = commandCalls(admin);
      calls.remove("config|resetstat");
      calls.remove("info");
      Map<String, Long> expected = new TreeMap<>(Map.of("evalsha", 9L, "time", 9L, "get", 9L, "set", 6L));
      assertEquals(expected, calls, "one EVALSHA per check, and only the script's own calls besides");
    }
  }

  @Test
  void anEmptiedScriptCacheCostsOneEvalOfTheSourceNoMore() {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = redis.limiter().key("reload").rate(1, MINUTE).burst(5).build();
      assertTrue(limiter.tryAcquire());
      RedisCommands<String, String> admin = redis.admin();
      admin.scriptFlush();
      admin.configResetstat();

      assertTrue(limiter.tryAcquire()); // NOSCRIPT, then EVAL with the source (which caches it)
      assertTrue(limiter.tryAcquire()); // cached again: one EVALSHA

      Map<String, Long> attempts = commandAttempts(admin);
      assertEquals(2L, attempts.get("evalsha"), "the refused EVALSHA and the next check: " + attempts);
      assertEquals(1L, attempts.get("eval"), "one EVAL of the source: " + attempts);
      assertEquals(null, attempts.get("script|load"), "no separate load: " + attempts);
      assertEquals(0, limiter.redisErrorCount());
    }
  }

  /** Successful calls per command, from {@code INFO commandstats}. */
  private static Map<String, Long> commandCalls(RedisCommands<String, String> admin) {
    return parse(admin.info("commandstats"), false);
  }

  /** Calls plus rejected calls (a NOSCRIPT may be counted as either, by Redis version) per command. */
  private static Map<String, Long> commandAttempts(RedisCommands<String, String> admin) {
    return parse(admin.info("commandstats"), true);
  }

  /** Parses lines such as {@code cmdstat_get:calls=3,usec=9,usec_per_call=3.00,rejected_calls=0,failed_calls=0}. */
  private static Map<String, Long> parse(String info, boolean withRejected) {
    Map<String, Long> counts = new TreeMap<>();
    for (String line : info.split("\r?\n")) {
      if (!line.startsWith("cmdstat_")) {
        continue;
      }
      String command = line.substring("cmdstat_".length(), line.indexOf(':'));
      long total = 0;
      for (String field : line.substring(line.indexOf(':') + 1).split(",")) {
        String[] kv = field.split("=", 2);
        if (kv[0].equals("calls") || (withRejected && kv[0].equals("rejected_calls"))) {
          total += Long.parseLong(kv[1].trim());
        }
      }
      if (total > 0) {
        counts.put(command, total);
      }
    }
    return counts;
  }
}
