package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.ratelimit.RateLimitExceededException;
import dev.shepherd.ratelimit.RateLimiter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Per-key limits with the same script: independence, sharing, prefixes, bounded keys. */
@ExtendWith(Redis.class)
@Timeout(30)
class RedisKeyedRateLimiterTest {

  private static final Duration MINUTE = Duration.ofMinutes(1);

  private static RedisKeyedRateLimiter.Builder keyed(Redis redis, String prefix) {
    return RedisKeyedRateLimiter.builder().connection(redis.connect()).keyPrefix(prefix).timeout(Redis.ANSWER_TIMEOUT)
        .listener(EventListener.noop());
  }

  @Test
  void eachKeyHasItsOwnBucketUnderThePrefix(Redis redis) {
    String prefix = Redis.freshKey("keyed") + ":";
    RedisKeyedRateLimiter limiter = keyed(redis, prefix).rate(1, MINUTE).burst(2).build();
    assertTrue(limiter.tryAcquire("device-1"));
    assertTrue(limiter.tryAcquire("device-1"));
    long wait = limiter.acquireOrRetryAfterNanos("device-1", 1);
    assertTrue(wait > 55_000_000_000L && wait <= 60_000_000_000L, "one interval after the first: " + wait);
    assertTrue(limiter.tryAcquire("device-2", 2), "another key is untouched");
    assertFalse(limiter.tryAcquire("device-2"));
    assertEquals(1, redis.admin().exists(prefix + "device-1"));
    assertEquals(1, redis.admin().exists(prefix + "device-2"));
    assertEquals(prefix, limiter.keyPrefix());
    assertEquals(3, limiter.grantedCount(), "requests, not permits");
    assertEquals(2, limiter.rejectedCount());
    assertEquals(5, limiter.checkCount());
  }

  @Test
  void twoLimitersOnOneKeyShareItsBucket(Redis redis) {
    String prefix = Redis.freshKey("keyed-shared") + ":";
    RedisKeyedRateLimiter serverA = keyed(redis, prefix).rate(1, MINUTE).burst(3).build();
    RedisKeyedRateLimiter serverB = keyed(redis, prefix).rate(1, MINUTE).burst(3).build();
    assertTrue(serverA.tryAcquire("tenant"));
    assertTrue(serverB.tryAcquire("tenant"));
    assertTrue(serverA.tryAcquire("tenant"));
    assertFalse(serverB.tryAcquire("tenant"));
    assertFalse(serverA.tryAcquire("tenant"));
  }

  @Test
  void theDefaultPrefixNamesTheLimiter(Redis redis) {
    RedisKeyedRateLimiter limiter = RedisKeyedRateLimiter.builder().connection(redis.connect())
        .name("per-device").rate(1, MINUTE).timeout(Redis.ANSWER_TIMEOUT).build();
    assertEquals("shepherd:ratelimit:per-device:", limiter.keyPrefix());
    assertEquals("per-device", limiter.name());
    String key = "d-" + System.nanoTime();
    assertTrue(limiter.tryAcquire(key));
    assertEquals(1, redis.admin().exists("shepherd:ratelimit:per-device:" + key));
  }

  @Test
  void badKeysAreRefusedWithoutEchoingThemAndNothingReachesRedis(Redis redis) {
    String prefix = Redis.freshKey("keyed-bad") + ":";
    RecordingListener events = new RecordingListener();
    RedisKeyedRateLimiter limiter = keyed(redis, prefix).rate(1, MINUTE).burst(1).maxKeyLength(10).listener(events).build();
    assertEquals("key must be non-empty: \"\"", assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire("")).getMessage());
    String longKey = "secret-device-id-0042";
    IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire(longKey));
    assertEquals("key must be at most 10 bytes in UTF-8: 21 bytes", tooLong.getMessage());
    // Ten characters, but twenty bytes in UTF-8.
    assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire("éééééééééé"));
    assertTrue(limiter.tryAcquire("ééééé"), "ten bytes: accepted");
    assertEquals("key", assertThrows(NullPointerException.class, () -> limiter.tryAcquire(null)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> limiter.acquireOrRetryAfterNanosAsync("", 1));
    assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquireAsync(longKey));
    assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire(longKey, 1, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> limiter.call("", () -> "x"));
    assertThrows(IllegalArgumentException.class, () -> limiter.callAsync("", () -> CompletableFuture.completedFuture("x")));
    assertThrows(IllegalArgumentException.class, () -> limiter.forKey(longKey));
    assertEquals(List.of(prefix + "ééééé"), redis.admin().keys(prefix + "*"));
    assertEquals(1, limiter.checkCount());
    assertTrue(events.events.isEmpty(), "bad input is not an event: " + events.events);
  }

  @Test
  void badConfigurationFailsAtBuildTime(Redis redis) {
    RedisKeyedRateLimiter.Builder b = RedisKeyedRateLimiter.builder();
    assertEquals("maxKeyLength must be between 1 and 65536: 0",
        assertThrows(IllegalArgumentException.class, () -> b.maxKeyLength(0)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.maxKeyLength(65_537));
    assertEquals("fallbackMaxKeys must be at least 1: 0",
        assertThrows(IllegalArgumentException.class, () -> b.fallbackMaxKeys(0)).getMessage());
    assertEquals("keyPrefix must be at most 1024 bytes in UTF-8: 2000 bytes",
        assertThrows(IllegalArgumentException.class, () -> b.keyPrefix("p".repeat(2000))).getMessage());
    assertEquals("permits must be positive: 0", assertThrows(IllegalArgumentException.class, () -> b.rate(0, MINUTE)).getMessage());
    assertEquals("burst must be at least 1: -1", assertThrows(IllegalArgumentException.class, () -> b.burst(-1)).getMessage());
    assertEquals("connection", assertThrows(NullPointerException.class, () -> b.connection(null)).getMessage());
    assertThrows(IllegalStateException.class, () -> RedisKeyedRateLimiter.builder().rate(1, MINUTE).build());
    assertThrows(IllegalStateException.class, () -> RedisKeyedRateLimiter.builder().connection(redis.connect()).build());
    RedisKeyedRateLimiter unprefixed = RedisKeyedRateLimiter.builder().connection(redis.connect()).keyPrefix("").rate(1, MINUTE).build();
    assertEquals("", unprefixed.keyPrefix(), "an empty prefix is allowed: the keys are then the caller's");
  }

  @Test
  void callForKeyAndCompositionWorkPerKey(Redis redis) throws Exception {
    String prefix = Redis.freshKey("keyed-call") + ":";
    RedisKeyedRateLimiter limiter = keyed(redis, prefix).name("per-tenant").rate(1, MINUTE).burst(1).build();
    assertEquals("a", limiter.call("t1", () -> "a"));
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> limiter.call("t1", () -> "b"));
    assertEquals("per-tenant", e.policyName());
    assertEquals("c", limiter.callAsync("t2", () -> CompletableFuture.completedFuture("c")).toCompletableFuture().get(5, TimeUnit.SECONDS));
    ExecutionException refused = assertThrows(ExecutionException.class,
        () -> limiter.callAsync("t2", () -> CompletableFuture.completedFuture("d")).toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertInstanceOf(RateLimitExceededException.class, refused.getCause());

    RateLimiter t3 = limiter.forKey("t3");
    assertEquals("per-tenant", t3.name());
    assertEquals("e", Policy.compose(t3).call(() -> "e"));
    assertFalse(t3.tryAcquire());
    assertFalse(t3.tryAcquire(1, Duration.ZERO));
    assertThrows(ExecutionException.class,
        () -> t3.callAsync(() -> CompletableFuture.completedFuture("f")).toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertEquals(limiter.grantedCount(), t3.grantedCount());
    assertEquals(limiter.rejectedCount(), t3.rejectedCount());
    assertTrue(limiter.tryAcquireAsync("t4").toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertEquals(0L, limiter.acquireOrRetryAfterNanosAsync("t5", 1).toCompletableFuture().get(5, TimeUnit.SECONDS));
  }

  @Test
  void eventsNeverContainTheKey(Redis redis) {
    String prefix = Redis.freshKey("keyed-events") + ":";
    RecordingListener events = new RecordingListener();
    RedisKeyedRateLimiter limiter = keyed(redis, prefix).rate(1, MINUTE).burst(1).listener(events).build();
    String key = "device-with-a-secret-looking-id";
    assertTrue(limiter.tryAcquire(key));
    assertFalse(limiter.tryAcquire(key));
    redis.admin().set(prefix + "broken", "garbage");
    assertFalse(limiter.tryAcquire("broken"));
    assertEquals(2, events.of(Event.Kind.REJECTED).size());
    assertEquals(1, events.of(Event.Kind.FAILED).size());
    for (Event e : events.events) {
      String text = e + (e.cause() == null ? "" : e.cause().getMessage());
      assertFalse(text.contains(key) || text.contains("broken") || text.contains(prefix), text);
    }
  }
}
