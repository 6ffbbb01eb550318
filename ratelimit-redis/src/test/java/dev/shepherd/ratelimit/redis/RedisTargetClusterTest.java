package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.RedisCluster;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
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

/** The GCRA script run through {@link RedisTarget} on a real three-master Redis Cluster. */
@Tag("concurrency")
@Timeout(180)
class RedisTargetClusterTest {

  /** One permit per hour, so nothing refills during a test: every key grants exactly its burst. */
  private static final String INTERVAL = "3600000000";

  private static String[] args(int burst, int permits) {
    return new String[] {INTERVAL, "1", Long.toString(3_600_000_000L * burst), Integer.toString(permits), "0"};
  }

  /** Runs one check; returns 1 if granted, 0 if refused, -1 if it failed (counted in {@code errors}). */
  private static int check(RedisTarget target, String key, int burst, long timeoutNanos, AtomicLong slowest) {
    long start = System.nanoTime();
    int result;
    try {
      Object reply = target.run(GcraScript.SCRIPT, new String[] {key}, args(burst, 1), start + timeoutNanos)
          .get(timeoutNanos + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
      result = GcraScript.decode(reply, 0) >= 0 ? 1 : 0;
    } catch (Exception e) {
      result = -1;
    }
    slowest.accumulateAndGet(System.nanoTime() - start, Math::max);
    return result;
  }

  @Test
  void serversHammeringKeysInEverySlotRangeGrantExactlyEachBurst() throws Exception {
    int burst = 5;
    int keys = 30;
    int servers = 4;
    int threadsPerServer = 2;
    int callsPerThread = 120;
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      String prefix = "shepherd:ratelimit:exact:" + System.nanoTime() + ":";
      Set<Integer> owners = new HashSet<>();
      for (int k = 0; k < keys; k++) {
        owners.add(cluster.ownerOf(RedisCluster.slot(prefix + k)));
      }
      assertEquals(3, owners.size(), "the keys live on all three masters");
      List<RedisTarget> targets = new ArrayList<>();
      for (int s = 0; s < servers; s++) {
        targets.add(RedisTarget.of(topologies.connect(cluster)));
      }
      AtomicIntegerArray granted = new AtomicIntegerArray(keys);
      AtomicIntegerArray asked = new AtomicIntegerArray(keys);
      AtomicLong errors = new AtomicLong();
      AtomicLong slowest = new AtomicLong();
      int threads = servers * threadsPerServer;
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int thread = t;
          RedisTarget target = targets.get(t % servers);
          done.add(pool.submit(() -> {
            assertTrue(go.await(20, TimeUnit.SECONDS));
            for (int i = 0; i < callsPerThread; i++) {
              int k = (thread * 7 + i) % keys;
              asked.incrementAndGet(k);
              int r = check(target, prefix + k, burst, TimeUnit.SECONDS.toNanos(5), slowest);
              if (r > 0) {
                granted.incrementAndGet(k);
              } else if (r < 0) {
                errors.incrementAndGet();
              }
            }
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
      assertEquals(0, errors.get());
      for (int k = 0; k < keys; k++) {
        assertTrue(asked.get(k) > burst, "key " + k + " was asked " + asked.get(k) + " times");
        assertEquals(burst, granted.get(k), "key " + k);
      }
    }
  }

  @Test
  void aSlotMovingBackAndForthUnderLoadKeepsTheKeyExact() throws Exception {
    int burst = 400;
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      String key = "shepherd:ratelimit:moving:" + System.nanoTime();
      int slot = RedisCluster.slot(key);
      int home = cluster.ownerOf(slot);
      List<RedisTarget> targets = List.of(
          RedisTarget.of(topologies.connect(cluster)), RedisTarget.of(topologies.connect(cluster)));
      AtomicLong granted = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      AtomicLong slowest = new AtomicLong();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        CountDownLatch started = new CountDownLatch(4);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          RedisTarget target = targets.get(t % 2);
          done.add(pool.submit(() -> {
            started.countDown();
            for (int i = 0; i < 150; i++) { // 600 calls for 400 permits
              int r = check(target, key, burst, TimeUnit.SECONDS.toNanos(2), slowest);
              if (r > 0) {
                granted.incrementAndGet();
              } else if (r < 0) {
                errors.incrementAndGet();
              }
            }
            return null;
          }));
        }
        assertTrue(started.await(20, TimeUnit.SECONDS));
        for (int move = 1; move <= 4; move++) {
          cluster.moveSlot(slot, (home + move) % 3); // MIGRATING/IMPORTING (ASK), then MOVED
        }
        for (Future<?> f : done) {
          f.get(120, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
      }
      assertEquals((home + 4) % 3, cluster.ownerOf(slot));
      assertEquals(0, errors.get(), "redirections are followed within the timeout");
      assertEquals(burst, granted.get(), "the bucket moved with its slot: no permit lost or granted twice");
      assertTrue(slowest.get() < TimeUnit.SECONDS.toNanos(3), "slowest check " + slowest.get() + " ns");
    }
  }

  @Test
  void aStoppedMasterFailsItsChecksWithinTheTimeoutAndAfterItsRestartTheScriptIsSentAgain() throws Exception {
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      RedisTarget target = RedisTarget.of(topologies.connect(cluster));
      String lost = keyOn(cluster, 2, "lost");
      String kept = keyOn(cluster, 0, "kept");
      AtomicLong slowest = new AtomicLong();
      long timeout = TimeUnit.MILLISECONDS.toNanos(200);
      assertEquals(1, check(target, lost, 10, TimeUnit.SECONDS.toNanos(5), slowest));
      assertEquals(1, check(target, kept, 10, TimeUnit.SECONDS.toNanos(5), slowest));

      cluster.nodes().get(2).stop();
      slowest.set(0);
      for (int i = 0; i < 20; i++) {
        assertEquals(-1, check(target, lost, 10, timeout, slowest));
      }
      // The stage completes by its deadline; the slack (1 s, as RedisFailureTest allows) is for a loaded machine.
      assertTrue(slowest.get() < timeout + TimeUnit.SECONDS.toNanos(1), "slowest " + slowest.get() + " ns");
      assertEquals(1, check(target, kept, 10, TimeUnit.SECONDS.toNanos(5), slowest), "other masters still serve");

      cluster.nodes().get(2).restart(); // same identity (nodes.conf), empty data and script cache
      long reloads = target.reloadCount();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      int r;
      do {
        r = check(target, lost, 10, TimeUnit.SECONDS.toNanos(1), slowest);
      } while (r != 1 && System.nanoTime() - deadline < 0);
      assertEquals(1, r, "served again once the node is back");
      assertTrue(target.reloadCount() > reloads, "NOSCRIPT on the restarted node was answered with EVAL");
    }
  }

  private static String keyOn(RedisCluster cluster, int node, String what) {
    for (int i = 0; ; i++) {
      String key = "shepherd:ratelimit:" + what + ":" + System.nanoTime() + ":" + i;
      if (cluster.ownerOf(RedisCluster.slot(key)) == node) {
        return key;
      }
    }
  }
}
