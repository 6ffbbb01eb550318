package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.RedisSentinel;
import dev.shepherd.testing.RedisServer;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The GCRA script run through {@link RedisTarget} on master–replica connections found through a
 * real Sentinel, across a forced failover whose replication lag is measured from the offsets.
 */
@Tag("concurrency")
@Timeout(180)
class RedisTargetSentinelTest {

  private static final String INTERVAL = "3600000000"; // one permit per hour: nothing refills

  private static String[] args(int burst) {
    return new String[] {INTERVAL, "1", Long.toString(3_600_000_000L * burst), "1", "0"};
  }

  /** 1 granted, 0 refused, -1 failed; the time it took is folded into {@code slowest}. */
  private static int check(RedisTarget target, String key, int burst, long timeoutNanos, AtomicLong slowest) {
    long start = System.nanoTime();
    int result;
    try {
      Object reply = target.run(GcraScript.SCRIPT, new String[] {key}, args(burst), start + timeoutNanos)
          .get(timeoutNanos + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
      result = GcraScript.decode(reply, 0) >= 0 ? 1 : 0;
    } catch (Exception e) {
      result = -1;
    }
    slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
    return result;
  }

  private static long offset(RedisServer node, String field) {
    return Long.parseLong(node.info("replication").get(field));
  }

  @Test
  void aForcedFailoverGrantsNoMoreExtraThanTheMeasuredReplicationLagHeldAndNoCheckOutwaitsItsTimeout()
      throws Exception {
    int burst = 200;
    long timeout = TimeUnit.MILLISECONDS.toNanos(500);
    try (RedisSentinel sentinel = RedisSentinel.start(); Topologies topologies = new Topologies()) {
      RedisTarget a = RedisTarget.of(topologies.connect(sentinel));
      RedisTarget b = RedisTarget.of(topologies.connect(sentinel));
      assertEquals(RedisTarget.Kind.MASTER_REPLICA, a.kind);
      RedisServer oldMaster = sentinel.master();
      AtomicLong ignored = new AtomicLong();

      // Bytes of the replication stream per grant: the master's offset over 50 grants on one key.
      String calibration = "shepherd:ratelimit:calibration:" + System.nanoTime();
      assertEquals(1, check(a, calibration, 1000, TimeUnit.SECONDS.toNanos(5), ignored));
      long before = offset(oldMaster, "master_repl_offset");
      for (int i = 0; i < 50; i++) {
        assertEquals(1, check(a, calibration, 1000, TimeUnit.SECONDS.toNanos(5), ignored));
      }
      long bytesPerGrant = (offset(oldMaster, "master_repl_offset") - before) / 50;
      assertTrue(bytesPerGrant > 20, "a grant replicates as one SET: " + bytesPerGrant + " bytes");

      // 120 of the 200 permits taken by two servers, then the lag sampled and the failover forced.
      String key = "shepherd:ratelimit:failover:" + System.nanoTime();
      int granted = 0;
      for (int i = 0; i < 120; i++) {
        granted += check(i % 2 == 0 ? a : b, key, burst, TimeUnit.SECONDS.toNanos(5), ignored);
      }
      assertEquals(120, granted);
      long lagBytes = offset(oldMaster, "master_repl_offset") - offset(sentinel.replica(), "slave_repl_offset");
      long lagGrants = Math.max(0, lagBytes) / bytesPerGrant + (lagBytes % bytesPerGrant == 0 ? 0 : 1);

      // Meanwhile another key is checked without pause: each check ends within its timeout.
      String busy = "shepherd:ratelimit:busy:" + System.nanoTime();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong slowest = new AtomicLong();
      AtomicLong failures = new AtomicLong();
      AtomicLong served = new AtomicLong();
      ExecutorService pool = Executors.newSingleThreadExecutor();
      CountDownLatch running = new CountDownLatch(1);
      Future<?> traffic = pool.submit(() -> {
        running.countDown();
        while (!stop.get()) {
          int r = check(b, busy, 1_000_000, timeout, slowest);
          if (r < 0) {
            failures.incrementAndGet();
          } else {
            served.incrementAndGet();
          }
        }
        return null;
      });
      try {
        assertTrue(running.await(10, TimeUnit.SECONDS));
        RedisServer promoted = sentinel.failover();
        assertTrue(promoted != oldMaster);
        // Both servers' connections follow the Sentinel to the new master.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long servedAt = served.get();
        while ((served.get() < servedAt + 50 || check(a, busy, 1_000_000, timeout, ignored) != 1)
            && System.nanoTime() - deadline < 0) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // polling the traffic thread's progress
        }
      } finally {
        stop.set(true);
        traffic.get(30, TimeUnit.SECONDS);
        pool.shutdownNow();
      }
      assertTrue(slowest.get() <= timeout + TimeUnit.SECONDS.toNanos(1),
          "slowest check during the failover: " + slowest.get() + " ns (timeout " + timeout + ")");

      // Drain what is left of the bucket on the new master.
      for (int i = 0; i < 2 * burst; i++) {
        granted += check(i % 2 == 0 ? a : b, key, burst, TimeUnit.SECONDS.toNanos(5), ignored);
      }
      int extra = Math.max(0, granted - burst);
      System.out.printf(Locale.ROOT, "failover: lag %d bytes (%d grants at %d bytes each), %d granted of %d, extra %d,"
          + " %d of the busy key's checks failed over to the fallback, slowest %.1f ms%n",
          lagBytes, lagGrants, bytesPerGrant, granted, burst, extra, failures.get(), slowest.get() / 1e6);
      assertTrue(granted >= burst, "no permit is lost by a failover with nothing in flight: " + granted);
      assertTrue(extra <= lagGrants,
          "extra grants " + extra + " exceed the " + lagGrants + " grants the measured lag of " + lagBytes
              + " bytes held");
    }
  }
}
