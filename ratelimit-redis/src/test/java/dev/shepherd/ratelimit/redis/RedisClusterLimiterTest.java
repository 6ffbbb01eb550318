package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.RedisCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The limiters on a real three-master Redis Cluster: exact across servers, resharding, a failed master. */
@Tag("concurrency")
@Timeout(180)
class RedisClusterLimiterTest {

  private static final Duration HOUR = Duration.ofHours(1); // nothing refills during a test

  private static RedisKeyedRateLimiter.Builder keyed(Topologies topologies, RedisCluster cluster, String name) {
    return RedisKeyedRateLimiter.builder()
        .name(name)
        .clusterConnection(topologies.connect(cluster))
        .timeout(Duration.ofSeconds(2))
        .listener(EventListener.noop());
  }

  /** Runs {@code work(thread)} on {@code threads} threads released together. */
  private static void race(int threads, ThreadWork work) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          assertTrue(go.await(20, TimeUnit.SECONDS));
          work.run(thread);
          return null;
        }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
    }
  }

  interface ThreadWork {
    void run(int thread) throws Exception;
  }

  @Test
  void fourServersHammeringKeysOnEveryMasterGrantExactlyEachKeysBurst() throws Exception {
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      String name = "exact-" + System.nanoTime();
      List<RedisKeyedRateLimiter> servers = new ArrayList<>();
      for (int s = 0; s < 4; s++) {
        servers.add(keyed(topologies, cluster, name).rate(1, HOUR).burst(5).build());
      }
      int keys = 30;
      Set<Integer> masters = new HashSet<>();
      for (int k = 0; k < keys; k++) {
        masters.add(cluster.ownerOf(RedisCluster.slot(servers.get(0).keyPrefix() + "device-" + k)));
      }
      assertEquals(3, masters.size(), "the keys live on all three masters");
      AtomicIntegerArray granted = new AtomicIntegerArray(keys);
      race(8, thread -> {
        RedisKeyedRateLimiter server = servers.get(thread % 4);
        for (int i = 0; i < 120; i++) {
          int k = (thread * 7 + i) % keys;
          if (server.tryAcquire("device-" + k)) {
            granted.incrementAndGet(k);
          }
        }
      });
      for (int k = 0; k < keys; k++) {
        assertEquals(5, granted.get(k), "key " + k);
      }
      for (RedisKeyedRateLimiter server : servers) {
        assertEquals(0, server.redisErrorCount());
        assertEquals(0, server.fallbackCount());
        assertEquals(120 * 2, server.checkCount());
      }
    }
  }

  @Test
  void aSlotMovingUnderLoadKeepsItsKeyExactWithoutAFallback() throws Exception {
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      String name = "moving-" + System.nanoTime();
      List<RedisKeyedRateLimiter> servers = List.of(
          keyed(topologies, cluster, name).rate(1, HOUR).burst(400).build(),
          keyed(topologies, cluster, name).rate(1, HOUR).burst(400).build());
      String redisKey = servers.get(0).keyPrefix() + "hot";
      int slot = RedisCluster.slot(redisKey);
      int home = cluster.ownerOf(slot);
      AtomicLong granted = new AtomicLong();
      CountDownLatch moved = new CountDownLatch(1);
      race(5, thread -> {
        if (thread == 4) {
          for (int move = 1; move <= 4; move++) {
            cluster.moveSlot(slot, (home + move) % 3); // ASK while migrating, MOVED after
          }
          moved.countDown();
          return;
        }
        for (int i = 0; i < 150; i++) { // 600 checks for 400 permits
          if (servers.get(thread % 2).tryAcquire("hot")) {
            granted.incrementAndGet();
          }
        }
      });
      assertTrue(moved.await(0, TimeUnit.SECONDS));
      assertEquals((home + 4) % 3, cluster.ownerOf(slot));
      assertEquals(400, granted.get(), "the bucket moved with its slot: no permit lost or granted twice");
      for (RedisKeyedRateLimiter server : servers) {
        assertEquals(0, server.fallbackCount(), "redirections were followed within the timeout");
      }
    }
  }

  @Test
  void aFailedMasterSendsItsKeysToTheLocalShareWithinTheTimeoutAndTheLimiterReturnsWhenItIsBack()
      throws Exception {
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      long timeout = TimeUnit.MILLISECONDS.toNanos(200);
      RedisRateLimiter limiter = RedisRateLimiter.builder()
          .name("failover-" + System.nanoTime())
          .clusterConnection(topologies.connect(cluster))
          .key(keyOn(cluster, 2))
          .rate(1000, Duration.ofSeconds(1))
          .burst(1000)
          .expectedServers(4)
          .timeout(Duration.ofNanos(timeout))
          .coolDown(Duration.ofMillis(200))
          .listener(EventListener.noop())
          .build();
      assertTrue(limiter.tryAcquire());
      cluster.nodes().get(2).stop();
      long slowest = 0;
      for (int i = 0; i < 50; i++) {
        long start = System.nanoTime();
        limiter.acquireOrRetryAfterNanos(1);
        slowest = Math.max(slowest, System.nanoTime() - start);
      }
      assertTrue(limiter.fallbackActive());
      assertTrue(limiter.fallbackCount() >= 49, "decided by the local share: " + limiter.fallbackCount());
      assertTrue(slowest <= timeout + TimeUnit.SECONDS.toNanos(1),
          "no check waited longer than the timeout (and slack): " + slowest + " ns");

      cluster.nodes().get(2).restart(); // same identity, empty: the probe reloads the scripts on every master
      Redis.await("the limiter is back on Redis", Duration.ofSeconds(30), () -> {
        limiter.acquireOrRetryAfterNanos(1);
        return !limiter.fallbackActive();
      });
      // A check is decided by Redis again (bounded polling: a loaded machine may time out one more).
      Redis.await("a check is decided by the restarted master", Duration.ofSeconds(30), () -> {
        long before = limiter.fallbackCount();
        return limiter.tryAcquire() && limiter.fallbackCount() == before && !limiter.fallbackActive();
      });
    }
  }

  private static String keyOn(RedisCluster cluster, int node) {
    for (int i = 0; ; i++) {
      String key = "shepherd:ratelimit:on-" + node + ":" + i;
      if (cluster.ownerOf(RedisCluster.slot(key)) == node) {
        return key;
      }
    }
  }
}
