package dev.shepherd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RedisClusterTest {

  @Test
  @Timeout(120)
  void threeMastersServeAllSlotsAndRedirectKeysTheyDoNotOwn() {
    try (RedisCluster cluster = RedisCluster.start()) {
      assertEquals(3, cluster.nodes().size());
      for (RedisServer node : cluster.nodes()) {
        Map<String, String> info = cluster.clusterInfo(node);
        assertEquals("ok", info.get("cluster_state"), info.toString());
        assertEquals("16384", info.get("cluster_slots_assigned"), info.toString());
        assertEquals("16384", info.get("cluster_slots_ok"), info.toString());
        assertEquals("3", info.get("cluster_known_nodes"), info.toString());
        assertEquals("1", node.info("cluster").get("cluster_enabled"));
        assertTrue(cluster.uris().contains("redis://127.0.0.1:" + node.port()));
      }
      // Equal contiguous ranges, as started: node i owns [i * 16384 / 3, (i + 1) * 16384 / 3).
      assertEquals(0, cluster.ownerOf(0));
      assertEquals(0, cluster.ownerOf(5460));
      assertEquals(1, cluster.ownerOf(5461));
      assertEquals(2, cluster.ownerOf(16383));

      String key = "device:42";
      int slot = RedisCluster.slot(key);
      int owner = cluster.ownerOf(slot);
      RedisServer ownerNode = cluster.nodes().get(owner);
      RedisServer other = cluster.nodes().get((owner + 1) % 3);
      assertEquals("OK", Resp.once(ownerNode.port(), "SET", key, "1"));
      Resp.RespError moved = assertThrows(Resp.RespError.class, () -> Resp.once(other.port(), "GET", key));
      assertEquals("MOVED " + slot + " 127.0.0.1:" + ownerNode.port(), moved.getMessage());
    }
  }

  @Test
  @Timeout(120)
  void slotIsWhatRedisComputesIncludingHashTags() {
    try (RedisCluster cluster = RedisCluster.start(1)) {
      int port = cluster.nodes().get(0).port();
      List<String> keys = List.of("", "a", "foo", "123456789", "device:42", "{user1000}.following",
          "{user1000}.followers", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{}", "}{", "{a",
          "shepherd:ratelimit:connect", "ключ", "\uD83D\uDC11 sheep");
      for (String key : keys) {
        assertEquals(((Long) Resp.once(port, "CLUSTER", "KEYSLOT", key)).intValue(), RedisCluster.slot(key), key);
      }
      assertEquals(0x31C3, RedisCluster.slot("123456789"), "the CRC16/XMODEM check value");
      assertEquals(RedisCluster.slot("{user1000}.following"), RedisCluster.slot("{user1000}.followers"));
    }
  }

  @Test
  @Timeout(120)
  void aSlotMovesLiveWithItsKeysAndTheOldOwnerRedirects() {
    try (RedisCluster cluster = RedisCluster.start()) {
      String key = "moving:key";
      int slot = RedisCluster.slot(key);
      int source = cluster.ownerOf(slot);
      int target = (source + 1) % 3;
      int sourcePort = cluster.nodes().get(source).port();
      int targetPort = cluster.nodes().get(target).port();
      assertEquals("OK", Resp.once(sourcePort, "SET", key, "v"));

      cluster.moveSlot(slot, target);

      assertEquals(target, cluster.ownerOf(slot));
      assertEquals("v", Resp.once(targetPort, "GET", key), "the key moved with its slot");
      Resp.RespError moved = assertThrows(Resp.RespError.class, () -> Resp.once(sourcePort, "GET", key));
      assertEquals("MOVED " + slot + " 127.0.0.1:" + targetPort, moved.getMessage());
      cluster.moveSlot(slot, target); // already there: nothing to do
      assertEquals(target, cluster.ownerOf(slot));
    }
  }

  @Test
  @Timeout(120)
  void aStoppedNodeIsMarkedFailedWhileTheOthersServeAndCloseStopsEveryNode() {
    RedisCluster cluster = RedisCluster.start();
    try {
      String served = keyOwnedBy(cluster, 0);
      String lost = keyOwnedBy(cluster, 2);
      int port0 = cluster.nodes().get(0).port();
      int port2 = cluster.nodes().get(2).port();
      cluster.nodes().get(2).stop();
      // Node 0 and 1 (a majority of masters) mark node 2 failed after the 2 s node timeout; the
      // cluster stays up (full coverage not required) and still sends node 2's keys to node 2.
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (!failed(port0, port2) && System.nanoTime() - deadline < 0) {
        java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L); // polling outside processes
      }
      assertTrue(failed(port0, port2), String.valueOf(Resp.once(port0, "CLUSTER", "NODES")));
      assertEquals("ok", cluster.clusterInfo(cluster.nodes().get(0)).get("cluster_state"));
      Resp.RespError moved = assertThrows(Resp.RespError.class, () -> Resp.once(port0, "GET", lost));
      assertTrue(moved.getMessage().endsWith(":" + port2), moved.getMessage());
      assertEquals("OK", Resp.once(port0, "SET", served, "1"));
    } finally {
      cluster.close();
    }
    for (RedisServer node : cluster.nodes()) {
      assertFalse(node.isRunning());
    }
    cluster.close(); // idempotent
    assertTrue(cluster.toString().contains("(stopped)"), cluster.toString());
  }

  /** Whether the node on {@code port} flags the node on {@code failedPort} as failed. */
  private static boolean failed(int port, int failedPort) {
    for (String line : String.valueOf(Resp.once(port, "CLUSTER", "NODES")).split("\n")) {
      if (line.contains(":" + failedPort + "@") && line.contains(",fail")) {
        return true;
      }
    }
    return false;
  }

  private static String keyOwnedBy(RedisCluster cluster, int node) {
    for (int i = 0; ; i++) {
      String key = "k" + i;
      if (cluster.ownerOf(RedisCluster.slot(key)) == node) {
        return key;
      }
    }
  }

  @Test
  void aBadSizeIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RedisCluster.start(0));
    assertEquals("masters must be between 1 and 16: 0", e.getMessage());
  }
}
