package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.RedisSentinel;
import dev.shepherd.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.sentinel.api.StatefulRedisSentinelConnection;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
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
 * The global limiter on master–replica connections found through a real Sentinel, across a forced
 * failover with a real replication lag: the replica replicates through a {@link HeldLink} that
 * holds back the master's last writes, so the promoted replica has not received them. No check
 * waits longer than its timeout (plus the slack the other Redis tests allow), and the extra grants
 * stay within the documented bound: the permits whose writes the replica had not received, the lag
 * measured from the replication offsets ({@code master_repl_offset} on the master,
 * {@code slave_repl_offset} on the replica).
 */
@Tag("concurrency")
@Timeout(180)
class RedisSentinelLimiterTest {

  private static long offset(RedisServer node, String field) {
    return Long.parseLong(node.info("replication").get(field));
  }

  /**
   * The node's replication role, or null while it cannot say: the Sentinel closes every client
   * connection of a node it reconfigures, so a poll may meet a reset connection.
   */
  private static String roleOrNull(RedisServer node) {
    try {
      return node.info("replication").get("role");
    } catch (UncheckedIOException switching) {
      return null;
    }
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
      RedisServer replica = sentinel.replica();
      RedisClient admin = RedisClient.create();
      HeldLink link = new HeldLink(oldMaster.port());
      try {
        // The replica replicates through the link; the Sentinel would put it back on the master
        // after failover-timeout, so that is made longer than this test.
        try (StatefulRedisSentinelConnection<String, String> s = admin.connectSentinel(
            RedisURI.create(RedisServer.HOST, sentinel.sentinel().port()))) {
          s.sync().set(RedisSentinel.MASTER_NAME, "failover-timeout", "120000");
        }
        RedisURI replicaUri = RedisURI.create(RedisServer.HOST, replica.port());
        try (StatefulRedisConnection<String, String> r = admin.connect(replicaUri)) {
          r.sync().replicaof(RedisServer.HOST, link.port());
        }
        Redis.await("the replica replicates through the link", Duration.ofSeconds(30), () -> {
          var info = replica.info("replication");
          return Integer.toString(link.port()).equals(info.get("master_port"))
              && "up".equals(info.get("master_link_status"));
        });


        // Bytes of the replication stream per grant on this key: the fewest any of 60 grants took,
        // from the master's offset around each, so that the lag in grants is never underestimated.
        int granted = 0;
        long bytesPerGrant = Long.MAX_VALUE;
        for (int i = 0; i < 60; i++) {
          long before = offset(oldMaster, "master_repl_offset");
          granted += (i % 2 == 0 ? a : c).tryAcquire() ? 1 : 0;
          bytesPerGrant = Math.min(bytesPerGrant, offset(oldMaster, "master_repl_offset") - before);
        }
        assertTrue(bytesPerGrant > 20, bytesPerGrant + " bytes per grant");
        Redis.await("the replica has every write so far", Duration.ofSeconds(30),
            () -> offset(replica, "slave_repl_offset") >= offset(oldMaster, "master_repl_offset"));
        // From here the master's writes reach the replica no more: 120 grants the replica never sees.
        link.hold();
        for (int i = 0; i < 120; i++) {
          granted += (i % 2 == 0 ? a : c).tryAcquire() ? 1 : 0;
        }
        assertEquals(180, granted);
        long lagBytes = offset(oldMaster, "master_repl_offset") - offset(replica, "slave_repl_offset");
        long lagGrants = (Math.max(0, lagBytes) + bytesPerGrant - 1) / bytesPerGrant;
        assertTrue(lagBytes >= 120 * bytesPerGrant, "a replication lag of " + lagBytes + " bytes");

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
      assertTrue(promoted == replica);
      link.close(); // what it held is lost with the old master's role, as in a real failover
      assertTrue(slowest.get() <= timeout.toNanos() + TimeUnit.SECONDS.toNanos(1),
          "slowest check through the failover: " + slowest.get() + " ns");

      // The old master takes no more writes once the Sentinel has made it a replica of the new one
      // (in a real failover it is usually gone): its lineage ends with what the lag measured.
      Redis.await("the old master is a replica of the new one", Duration.ofSeconds(30),
          () -> "slave".equals(roleOrNull(oldMaster)));
      // Drain the bucket on the new master: each server checks until Redis itself refuses it (a
      // retry-after of minutes; fail-closed refusals while a connection still finds the old master
      // say "soon"), so a grant is always Redis's own and only the new master's permits are spent.
      long refusedBefore = a.rejectedCount() + c.rejectedCount();
      for (RedisRateLimiter server : List.of(a, c)) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (;;) {
          long wait = server.acquireOrRetryAfterNanos(1);
          if (wait > TimeUnit.MINUTES.toNanos(1)) {
            break; // the new master's bucket is empty
          }
          assertTrue(System.nanoTime() - deadline < 0, "the new master never refused " + server);
          if (wait > 0) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // the connection is switching
          }
        }
      }
      granted = (int) (a.grantedCount() + c.grantedCount());
      int extra = Math.max(0, granted - burst);
      System.out.printf(Locale.ROOT, "sentinel failover: lag %d bytes = %d grants (%d bytes each); %d of %d"
          + " granted, %d extra; slowest check %.1f ms (timeout %d ms); %d refusals after%n",
          lagBytes, lagGrants, bytesPerGrant, granted, burst, extra, slowest.get() / 1e6, timeout.toMillis(),
          a.rejectedCount() + c.rejectedCount() - refusedBefore);
      assertTrue(extra <= lagGrants, "extra " + extra + " > the " + lagGrants + " grants the lag held");
      assertTrue(extra > 0, "the lag cost nothing: the failover did not lose the held writes");
      assertTrue(granted >= burst - lagGrants, "lost grants beyond the lag: " + granted);
      } finally {
        link.close();
        admin.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
    }
  }
}
