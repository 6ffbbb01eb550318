package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.RedisSentinel;
import dev.shepherd.testing.RedisServer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The global limiter on master–replica connections found through a real Sentinel, across a forced
 * failover: no check waits longer than its timeout (plus the slack the other Redis tests allow),
 * and the extra grants stay within the documented bound, the permits whose writes the replica had
 * not received, measured from the replication offsets.
 */
@Tag("concurrency")
@Timeout(180)
class RedisSentinelLimiterTest {

  private static long offset(RedisServer node, String field) {
    return Long.parseLong(node.info("replication").get(field));
  }

  @Test
  void aForcedFailoverKeepsEveryCheckWithinItsTimeoutAndGrantsNoMoreExtraThanTheLagHeld() throws Exception {
    Duration timeout = Duration.ofMillis(500);
    int burst = 200;
    try (RedisSentinel sentinel = RedisSentinel.start(); Topologies topologies = new Topologies()) {
      String key = "shepherd:ratelimit:sentinel:" + System.nanoTime();
      RedisRateLimiter.Builder b = RedisRateLimiter.builder()
          .name("sentinel")
          .key(key)
          .rate(1, Duration.ofHours(1)) // nothing refills: every grant beyond the burst is extra
          .burst(burst)
          .timeout(timeout)
          .coolDown(Duration.ofMillis(100))
          .failurePolicy(FailurePolicy.FAIL_CLOSED) // a fallback grant would hide an extra one
          .listener(EventListener.noop());
      RedisRateLimiter a = b.connection(topologies.connect(sentinel)).build();
      RedisRateLimiter c = b.connection(topologies.connect(sentinel)).build();
      RedisServer oldMaster = sentinel.master();

      // Bytes of the replication stream per grant, from the master's offset over 50 grants.
      RedisRateLimiter calibration = RedisRateLimiter.builder().name("calibration")
          .key(key + ":calibration").connection(topologies.connect(sentinel)).rate(1, Duration.ofHours(1))
          .burst(1000).timeout(Duration.ofSeconds(5)).listener(EventListener.noop()).build();
      assertTrue(calibration.tryAcquire());
      long before = offset(oldMaster, "master_repl_offset");
      for (int i = 0; i < 50; i++) {
        assertTrue(calibration.tryAcquire());
      }
      long bytesPerGrant = (offset(oldMaster, "master_repl_offset") - before) / 50;
      assertTrue(bytesPerGrant > 20, bytesPerGrant + " bytes per grant");

      int granted = 0;
      for (int i = 0; i < 120; i++) {
        granted += (i % 2 == 0 ? a : c).tryAcquire() ? 1 : 0;
      }
      assertEquals(120, granted);
      long lagBytes = offset(oldMaster, "master_repl_offset") - offset(sentinel.replica(), "slave_repl_offset");
      long lagGrants = (Math.max(0, lagBytes) + bytesPerGrant - 1) / bytesPerGrant;

      // Meanwhile another limiter checks without pause through the failover.
      RedisRateLimiter busy = RedisRateLimiter.builder().name("busy").key(key + ":busy")
          .connection(topologies.connect(sentinel)).rate(1_000_000, Duration.ofSeconds(1)).burst(1_000_000)
          .timeout(timeout).coolDown(Duration.ofMillis(100)).listener(EventListener.noop()).build();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong slowest = new AtomicLong();
      ExecutorService pool = Executors.newSingleThreadExecutor();
      CountDownLatch running = new CountDownLatch(1);
      Future<?> traffic = pool.submit(() -> {
        running.countDown();
        while (!stop.get()) {
          long start = System.nanoTime();
          busy.acquireOrRetryAfterNanos(1);
          slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
        }
        return null;
      });
      RedisServer promoted;
      try {
        assertTrue(running.await(10, TimeUnit.SECONDS));
        promoted = sentinel.failover();
        Redis.await("the busy limiter is served by the new master", Duration.ofSeconds(30),
            () -> busy.tryAcquire() && !busy.fallbackActive());
      } finally {
        stop.set(true);
        traffic.get(30, TimeUnit.SECONDS);
        pool.shutdownNow();
      }
      assertTrue(promoted != oldMaster);
      assertTrue(slowest.get() <= timeout.toNanos() + TimeUnit.SECONDS.toNanos(1),
          "slowest check through the failover: " + slowest.get() + " ns");

      // Drain the bucket on the new master (after the Sentinel's switch, Redis answers again).
      // (fail-closed: a grant is always Redis's own, so waiting for one grant each consumes only real permits)
      Redis.await("server a is served by the new master", Duration.ofSeconds(30), a::tryAcquire);
      Redis.await("server c is served by the new master", Duration.ofSeconds(30), c::tryAcquire);
      long refusedBefore = a.rejectedCount() + c.rejectedCount();
      for (int i = 0; i < 2 * burst; i++) {
        (i % 2 == 0 ? a : c).tryAcquire();
      }
      granted = (int) (a.grantedCount() + c.grantedCount());
      int extra = Math.max(0, granted - burst);
      System.out.printf(Locale.ROOT, "sentinel failover: lag %d bytes = %d grants (%d bytes each); %d of %d"
          + " granted, %d extra; slowest check %.1f ms (timeout %d ms); %d refusals after%n",
          lagBytes, lagGrants, bytesPerGrant, granted, burst, extra, slowest.get() / 1e6, timeout.toMillis(),
          a.rejectedCount() + c.rejectedCount() - refusedBefore);
      assertTrue(extra <= lagGrants, "extra " + extra + " > the " + lagGrants + " grants the lag held");
      assertTrue(granted >= burst - lagGrants, "lost grants beyond the lag: " + granted);
    }
  }
}
