package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Atomicity under concurrency, and one limit shared by several "servers". */
@ExtendWith(Redis.class)
@Tag("concurrency")
@Timeout(60)
class RedisConcurrencyTest {

  private static final int CALLERS = 200;
  private static final Duration HOUR = Duration.ofHours(1);

  /** Runs {@code call} once on each of 200 threads released together; returns the grants. */
  private static int race(BooleanSupplier call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
    try {
      CountDownLatch ready = new CountDownLatch(CALLERS);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < CALLERS; i++) {
        results.add(pool.submit(() -> {
          ready.countDown();
          assertTrue(go.await(20, TimeUnit.SECONDS));
          return call.getAsBoolean();
        }));
      }
      assertTrue(ready.await(20, TimeUnit.SECONDS));
      go.countDown();
      int granted = 0;
      for (Future<Boolean> r : results) {
        if (r.get(20, TimeUnit.SECONDS)) {
          granted++;
        }
      }
      return granted;
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
    }
  }

  @Test
  void twoHundredConcurrentCallersOnAFreshKeyWithBurstFiveGetExactlyFive(Redis redis) throws Exception {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("atomic")).rate(1, HOUR).burst(5)
        .timeout(Duration.ofSeconds(5)).build();
    assertEquals(5, race(limiter::tryAcquire));
    assertEquals(5, limiter.grantedCount());
    assertEquals(CALLERS - 5, limiter.rejectedCount());
    assertEquals(0, limiter.redisErrorCount());
  }

  @Test
  void twoHundredCallersOnTwoServersShareTheFive(Redis redis) throws Exception {
    String key = Redis.freshKey("atomic-two");
    RedisRateLimiter a = redis.limiter().key(key).rate(1, HOUR).burst(5).timeout(Duration.ofSeconds(5)).build();
    RedisRateLimiter b = redis.limiter().key(key).rate(1, HOUR).burst(5).timeout(Duration.ofSeconds(5)).build();
    AtomicInteger turn = new AtomicInteger();
    assertEquals(5, race(() -> (turn.getAndIncrement() % 2 == 0 ? a : b).tryAcquire()));
    assertEquals(5, a.grantedCount() + b.grantedCount());
  }

  @Test
  void twoHundredAsynchronousChecksOnAFreshKeyGetExactlyFive(Redis redis) throws Exception {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("atomic-async")).rate(1, HOUR).burst(5)
        .timeout(Duration.ofSeconds(5)).build();
    List<CompletableFuture<Boolean>> checks = new ArrayList<>();
    for (int i = 0; i < CALLERS; i++) {
      checks.add(limiter.tryAcquireAsync().toCompletableFuture());
    }
    int granted = 0;
    for (CompletableFuture<Boolean> c : checks) {
      if (c.get(20, TimeUnit.SECONDS)) {
        granted++;
      }
    }
    assertEquals(5, granted);
    assertEquals(0, limiter.fallbackCount());
  }

  @Test
  void twoHundredConcurrentCallersOnOneKeyOfAKeyedLimiterGetExactlyFive(Redis redis) throws Exception {
    RedisKeyedRateLimiter limiter = RedisKeyedRateLimiter.builder().connection(redis.connect())
        .keyPrefix(Redis.freshKey("atomic-keyed") + ":").rate(1, HOUR).burst(5).timeout(Duration.ofSeconds(5)).build();
    assertEquals(5, race(() -> limiter.tryAcquire("device")));
    assertEquals(5, limiter.grantedCount());
  }

  /**
   * Two limiter instances on two connections (two servers), each hammered by two threads for
   * 600 ms of real time at 20 per second, burst 5. Together they never exceed the one limit: at
   * most {@code 5 + 20 d} grants, where d is the Redis time from the first grant to the last,
   * at most the wall time around the run (the 1% allows for NTP slewing Redis's clock; the bound
   * of two separate limits would be twice as large). They also keep up with it: every 50 ms a
   * permit refills and is taken within a round trip, so at least half of the ideal is granted.
   */
  @Test
  void twoLimiterInstancesTogetherNeverExceedTheOneLimit(Redis redis) throws Exception {
    String key = Redis.freshKey("fleet");
    RedisRateLimiter[] servers = {
      redis.limiter().key(key).rate(20, Duration.ofSeconds(1)).burst(5).timeout(Duration.ofSeconds(2)).build(),
      redis.limiter().key(key).rate(20, Duration.ofSeconds(1)).burst(5).timeout(Duration.ofSeconds(2)).build()
    };
    ExecutorService pool = Executors.newFixedThreadPool(4);
    AtomicLong granted = new AtomicLong();
    long runNanos = TimeUnit.MILLISECONDS.toNanos(600);
    long start = System.nanoTime();
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        RedisRateLimiter server = servers[t % 2];
        workers.add(pool.submit(() -> {
          while (System.nanoTime() - start < runNanos) {
            if (server.tryAcquire()) {
              granted.incrementAndGet();
            }
          }
        }));
      }
      for (Future<?> w : workers) {
        w.get(20, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
    }
    double elapsedSeconds = (System.nanoTime() - start) / 1e9;
    long total = granted.get();
    double upper = 5 + 20 * elapsedSeconds * 1.01;
    double lower = (5 + 20 * 0.6) * 0.5;
    String what = String.format(Locale.ROOT, "%d grants in %.3f s (a: %d, b: %d)", total, elapsedSeconds,
        servers[0].grantedCount(), servers[1].grantedCount());
    assertTrue(total <= upper, "more than one limit allows: " + what);
    assertTrue(total >= lower, "far below the limit: " + what);
    assertEquals(total, servers[0].grantedCount() + servers[1].grantedCount());
    assertEquals(0, servers[0].redisErrorCount() + servers[1].redisErrorCount());
    System.out.println("fleet of two: " + what);
  }
}
