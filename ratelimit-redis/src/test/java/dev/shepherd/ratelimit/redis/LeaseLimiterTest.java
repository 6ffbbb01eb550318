package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Lease mode on a real Redis: few round trips, and the fleet inside burst + rate × d + servers × lease. */
@Timeout(60)
class LeaseLimiterTest {

  private static RedisRateLimiter.Builder leased(Redis redis, String key, int lease) {
    return redis.limiter().key(key).lease(lease);
  }

  @Test
  void aLeaseIsSpentLocallyAndRefilledInOneScriptCall() {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = leased(redis, "lease:one", 10).rate(1, Duration.ofHours(1)).burst(25).build();
      RedisCommands<String, String> admin = redis.admin();
      admin.configResetstat();
      for (int i = 0; i < 25; i++) {
        assertTrue(limiter.tryAcquire(), "permit " + i);
      }
      assertTrue(!limiter.tryAcquire(), "the bucket is empty: 10 + 10 + 5");
      assertEquals(0, limiter.leasedPermits());
      Map<String, String> stats = admin.info("commandstats").lines()
          .filter(l -> l.startsWith("cmdstat_evalsha:"))
          .collect(java.util.stream.Collectors.toMap(l -> "evalsha", l -> l));
      // Three leases (10, 10, 5) and the refused one: four round trips for 26 checks.
      assertTrue(stats.get("evalsha").startsWith("cmdstat_evalsha:calls=4,"), stats.toString());
      assertEquals(25, limiter.grantedCount());
      assertEquals(1, limiter.rejectedCount());
    }
  }

  @Test
  void asynchronousChecksInFlightShareOneRefill() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = leased(redis, "lease:async-many", 100).rate(1, Duration.ofHours(1)).burst(1000)
          .build();
      RedisCommands<String, String> admin = redis.admin();
      admin.configResetstat();
      List<java.util.concurrent.CompletableFuture<Boolean>> inFlight = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        inFlight.add(limiter.tryAcquireAsync().toCompletableFuture());
      }
      for (java.util.concurrent.CompletableFuture<Boolean> f : inFlight) {
        assertTrue(f.get(10, TimeUnit.SECONDS));
      }
      String evalsha = admin.info("commandstats").lines().filter(l -> l.startsWith("cmdstat_evalsha:"))
          .findFirst().orElse("");
      assertTrue(evalsha.startsWith("cmdstat_evalsha:calls=1,"), "one refill for 50 checks: " + evalsha);
      assertEquals(50, limiter.leasedPermits());
    }
  }

  @Test
  void aLeaseLargerThanTheBurstIsRefusedAtBuild() {
    try (Redis redis = Redis.startNew()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> leased(redis, "lease:big", 11).rate(1, Duration.ofSeconds(1)).burst(10).build());
      assertEquals("lease must be at most the burst, 10: 11", e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> RedisRateLimiter.builder().lease(0));
    }
  }

  @Test
  @Tag("concurrency")
  void fourLeasedServersOnOneHotKeyStayWithinTheBound() throws Exception {
    long rate = 2000;
    int burst = 50;
    int lease = 20;
    int servers = 4;
    try (Redis redis = Redis.startNew()) {
      String key = Redis.freshKey("lease-hot");
      List<RedisRateLimiter> fleet = new ArrayList<>();
      for (int s = 0; s < servers; s++) {
        fleet.add(leased(redis, key, lease).rate(rate, Duration.ofSeconds(1)).burst(burst).build());
      }
      AtomicLong granted = new AtomicLong();
      ExecutorService pool = Executors.newFixedThreadPool(servers);
      long start;
      long end;
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int s = 0; s < servers; s++) {
          RedisRateLimiter l = fleet.get(s);
          done.add(pool.submit(() -> {
            assertTrue(go.await(10, TimeUnit.SECONDS));
            for (int i = 0; i < 20_000; i++) {
              if (l.tryAcquire()) {
                granted.incrementAndGet();
              }
            }
            return null;
          }));
        }
        start = System.nanoTime();
        go.countDown();
        for (Future<?> f : done) {
          f.get(60, TimeUnit.SECONDS);
        }
        end = System.nanoTime();
      } finally {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      }
      // Every script ran within [start, end] of this host's clock, which Redis's shares.
      double seconds = (end - start) / 1e9;
      double bound = burst + rate * seconds + servers * lease;
      long redisErrors = fleet.stream().mapToLong(RedisRateLimiter::redisErrorCount).sum();
      assertEquals(0, redisErrors);
      assertTrue(granted.get() <= bound, granted.get() + " granted in " + seconds + " s, bound " + bound);
      for (RedisRateLimiter l : fleet) {
        assertTrue(l.leasedPermits() >= 0 && l.leasedPermits() <= lease, "held " + l.leasedPermits());
      }
    }
  }

  @Test
  void leasesAreSpentBeforeTheFallbackAndTheAsyncFormSharesThem() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = leased(redis, "lease:async", 5).rate(1, Duration.ofHours(1)).burst(5)
          .listener(EventListener.noop()).build();
      assertTrue(limiter.tryAcquireAsync().toCompletableFuture().get(10, TimeUnit.SECONDS));
      assertEquals(4, limiter.leasedPermits());
      redis.server().stop();
      for (int i = 0; i < 4; i++) {
        assertTrue(limiter.tryAcquire(), "permits Redis already granted stay spendable: " + i);
      }
      assertEquals(0, limiter.fallbackCount(), "no Redis call was needed");
      assertEquals(0, limiter.leasedPermits());
    }
  }
}
