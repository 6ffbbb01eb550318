package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.testing.RedisCluster;
import dev.shepherd.testing.RedisSentinel;
import dev.shepherd.testing.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fleet's slot schedule on a real three-master Redis Cluster and on Sentinel master–replica connections. */
@Timeout(180)
class RedisSlotAdmissionTopologyTest {

  private static final byte[] KEY = "fedcba9876543210".getBytes(StandardCharsets.US_ASCII);

  /** Every decision Redis took, as its instant in Redis µs (a slot at its reserved instant). */
  private static void assertOneSchedule(ConcurrentLinkedQueue<long[]> decisions, int burst, long intervalMicros) {
    long[] instants = decisions.stream().mapToLong(d -> d[0] + d[1]).sorted().toArray();
    for (int a = 0; a < instants.length; a++) {
      for (int b = a; b < instants.length; b++) {
        long d = instants[b] - instants[a];
        assertTrue(b - a + 1 <= burst + d / intervalMicros, (b - a + 1) + " decisions within " + d + " µs");
      }
    }
  }

  private static boolean exists(RedisServer node, String key) {
    RedisClient client = RedisClient.create();
    try (StatefulRedisConnection<String, String> c = client.connect(RedisURI.create(RedisServer.HOST, node.port()))) {
      return c.sync().exists(key) == 1; // a node that does not own the slot answers MOVED
    } catch (RuntimeException e) {
      return false;
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  @Test
  void threeClusterServersShareOneScheduleOnTheKeysMasterAcrossAResharding() throws Exception {
    try (RedisCluster cluster = RedisCluster.start(); Topologies topologies = new Topologies()) {
      String key = "shepherd:slots:cluster:" + System.nanoTime();
      ConcurrentLinkedQueue<long[]> decisions = new ConcurrentLinkedQueue<>();
      List<RedisSlotAdmission> fleet = new ArrayList<>();
      for (int s = 0; s < 3; s++) {
        RedisSlotAdmission a = RedisSlotAdmission.builder().name("cluster").key(key)
            .clusterConnection(topologies.connect(cluster)).ticketKey(KEY)
            .permitsPerSecond(10).headroom(0).burst(3).timeout(Duration.ofSeconds(2))
            .listener(EventListener.noop()).build();
        a.observer = (redisMicros, decision) -> decisions.add(new long[] {redisMicros, decision});
        fleet.add(a);
      }
      int slot = RedisCluster.slot(key);
      int owner = cluster.ownerOf(slot);
      long caller = 0;
      for (int round = 0; round < 40; round++) {
        for (RedisSlotAdmission a : fleet) {
          try {
            a.acquire(caller++);
          } catch (SlotRefusedException refused) {
            assertTrue(refused.isPersonalSlot());
          }
        }
      }
      assertTrue(exists(cluster.nodes().get(owner), key), "the schedule lives on its slot's master");

      int target = (owner + 1) % 3;
      cluster.moveSlot(slot, target); // the key migrates with its slot: the schedule goes on there
      long slotsBefore = fleet.stream().mapToLong(RedisSlotAdmission::slotCount).sum();
      for (int round = 0; round < 40; round++) {
        for (RedisSlotAdmission a : fleet) {
          try {
            a.acquire(caller++);
          } catch (SlotRefusedException refused) {
            assertTrue(refused.isPersonalSlot());
          }
        }
      }
      assertTrue(exists(cluster.nodes().get(target), key), "after the move the schedule is on the new owner");
      assertNotEquals(owner, cluster.ownerOf(slot));
      for (RedisSlotAdmission a : fleet) {
        assertEquals(0, a.fallbackCount(), "MOVED and ASK followed within the timeout, never the fallback");
      }
      assertEquals(caller, decisions.size());
      assertTrue(fleet.stream().mapToLong(RedisSlotAdmission::slotCount).sum() > slotsBefore);
      assertOneSchedule(decisions, 3, 100_000);
    }
  }

  @Test
  void sentinelServersShareOneScheduleAndHonourEachOthersTickets() throws Exception {
    try (RedisSentinel sentinel = RedisSentinel.start(); Topologies topologies = new Topologies()) {
      String key = "shepherd:slots:sentinel:" + System.nanoTime();
      WallClock wall = new WallClock(1_700_000_000_000L);
      ConcurrentLinkedQueue<long[]> decisions = new ConcurrentLinkedQueue<>();
      List<RedisSlotAdmission> fleet = new ArrayList<>();
      for (int s = 0; s < 2; s++) {
        RedisSlotAdmission a = RedisSlotAdmission.builder().name("sentinel").key(key)
            .connection(topologies.connect(sentinel)).ticketKey(KEY).clock(wall)
            .permitsPerSecond(10).headroom(0).burst(2).timeout(Duration.ofSeconds(2))
            .listener(EventListener.noop()).build();
        a.observer = (redisMicros, decision) -> decisions.add(new long[] {redisMicros, decision});
        fleet.add(a);
      }
      List<SlotRefusedException> refusals = new ArrayList<>();
      List<Long> holders = new ArrayList<>();
      for (long caller = 0; caller < 60; caller++) {
        try {
          fleet.get((int) (caller % 2)).acquire(caller);
        } catch (SlotRefusedException refused) {
          refusals.add(refused);
          holders.add(caller);
        }
      }
      assertEquals(60, decisions.size());
      assertOneSchedule(decisions, 2, 100_000);
      assertTrue(refusals.size() >= 50, "one schedule of burst 2 at 10 per second: " + refusals.size() + " slots");
      // A ticket from server 0 is honoured at its slot by server 1, and early it is not.
      int last = refusals.size() - 1;
      SlotTicket ticket = refusals.get(last).ticket().orElseThrow();
      long holder = holders.get(last);
      RedisSlotAdmission other = fleet.get((int) ((holder + 1) % 2));
      assertThrows(SlotRefusedException.class, () -> other.acquire(holder, ticket));
      wall.set(ticket.slotEpochMillis());
      other.acquire(holder, ticket);
      assertEquals(1, other.redeemedCount());
    }
  }
}
