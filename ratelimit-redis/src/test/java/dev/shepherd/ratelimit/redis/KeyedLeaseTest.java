package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Lease mode on the keyed limiter, on a real Redis: per key, few round trips and nothing beyond the bucket. */
@Timeout(60)
class KeyedLeaseTest {

  private static RedisKeyedRateLimiter.Builder keyed(Redis redis, String prefix, int lease) {
    return RedisKeyedRateLimiter.builder().connection(redis.connect()).timeout(Redis.ANSWER_TIMEOUT)
        .listener(EventListener.noop()).keyPrefix(prefix).rate(1, Duration.ofHours(1)).burst(200).lease(lease);
  }

  private static long scriptCalls(RedisCommands<String, String> admin) {
    long calls = 0;
    for (String line : admin.info("commandstats").lines().toList()) {
      if (line.startsWith("cmdstat_evalsha:") || line.startsWith("cmdstat_eval:")) {
        calls += Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',')));
      }
    }
    return calls;
  }

  @Test
  void twoServersOnAHotKeySpendExactlyItsBucketInAFewScriptCalls() {
    try (Redis redis = Redis.startNew()) {
      String prefix = Redis.freshKey("keyed-lease") + ":";
      RedisKeyedRateLimiter a = keyed(redis, prefix, 50).build();
      RedisKeyedRateLimiter b = keyed(redis, prefix, 50).build();
      assertTrue(a.tryAcquire("warm-up") && b.tryAcquire("warm-up"), "both scripts loaded before counting");
      RedisCommands<String, String> admin = redis.admin();
      admin.configResetstat();
      int granted = 0;
      for (int i = 0; i < 200; i++) {
        granted += (i % 2 == 0 ? a : b).tryAcquire("tenant-1") ? 1 : 0;
      }
      // Nothing refills: every grant is one of the bucket's 200, and all 200 are granted
      // (a lease takes what is there, down to the permits asked for).
      assertEquals(200, granted);
      assertEquals(4, scriptCalls(admin), "leases of 50, 50, 50, 50");
      assertFalse(a.tryAcquire("tenant-1"));
      assertFalse(b.tryAcquire("tenant-1"));
      assertEquals(98, a.leasedPermits() + b.leasedPermits(), "only the warm-up keys' leases hold permits");
      assertEquals(2, a.leasedKeys());
      // Another key has its own bucket and its own lease.
      assertTrue(a.tryAcquire("tenant-2"));
      assertEquals(49 + 49, a.leasedPermits());
      assertEquals(3, a.leasedKeys());
      assertEquals(203, a.grantedCount() + b.grantedCount());
    }
  }

  @Test
  void keysBeyondLeaseMaxKeysTakeAnotherKeysLeaseAndNeverGrantMoreThanTheBucket() throws Exception {
    try (Redis redis = Redis.startNew()) {
      String prefix = Redis.freshKey("keyed-lease-evict") + ":";
      RedisKeyedRateLimiter limiter = keyed(redis, prefix, 30).leaseMaxKeys(2).build();
      List<String> keys = List.of("k1", "k2", "k3");
      int[] granted = new int[keys.size()];
      for (int round = 0; round < 300; round++) {
        for (int k = 0; k < keys.size(); k++) {
          boolean sync = round % 2 == 0;
          boolean ok = sync
              ? limiter.tryAcquire(keys.get(k))
              : limiter.tryAcquireAsync(keys.get(k)).toCompletableFuture().get(10, TimeUnit.SECONDS);
          granted[k] += ok ? 1 : 0;
          assertTrue(limiter.leasedKeys() <= 2, "keys holding a lease: " + limiter.leasedKeys());
          assertTrue(limiter.leasedPermits() <= 2 * 30, "held " + limiter.leasedPermits());
        }
      }
      for (int k = 0; k < keys.size(); k++) {
        // Evicted leases drop their unspent permits: at most the burst, at least all but the drops.
        assertTrue(granted[k] <= 200, keys.get(k) + ": " + granted[k]);
        assertTrue(granted[k] > 0, keys.get(k) + ": " + granted[k]);
      }
      assertEquals(0, limiter.redisErrorCount());
    }
  }

  @Test
  void leaseSettingsAreCheckedAtBuild() {
    try (Redis redis = Redis.startNew()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> keyed(redis, "p:", 201).build());
      assertEquals("lease must be at most the burst, 200: 201", e.getMessage());
      e = assertThrows(IllegalArgumentException.class, () -> RedisKeyedRateLimiter.builder().leaseMaxKeys(0));
      assertEquals("leaseMaxKeys must be at least 1: 0", e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> RedisKeyedRateLimiter.builder().lease(0));
      RedisKeyedRateLimiter plain = RedisKeyedRateLimiter.builder().connection(redis.connect())
          .rate(1, Duration.ofSeconds(1)).listener(EventListener.noop()).build();
      assertTrue(plain.tryAcquire("x"));
      assertEquals(0, plain.leasedPermits());
      assertEquals(0, plain.leasedKeys());
    }
  }
}
