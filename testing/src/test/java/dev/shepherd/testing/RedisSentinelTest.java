package dev.shepherd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RedisSentinelTest {

  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() - deadline < 0, "timed out waiting until " + what);
      LockSupport.parkNanos(20_000_000L); // polling outside processes
    }
  }

  @Test
  @Timeout(120)
  void theSentinelReportsTheMasterAndAForcedFailoverPromotesTheReplica() {
    try (RedisSentinel sentinel = RedisSentinel.start()) {
      RedisServer master = sentinel.master();
      RedisServer replica = sentinel.replica();
      assertNotSame(master, replica);
      assertEquals(master.port(), sentinel.masterPort());
      assertEquals("redis-sentinel://127.0.0.1:" + sentinel.sentinel().port() + "#shepherd", sentinel.sentinelUri());
      assertEquals("sentinel", sentinel.sentinel().info("server").get("redis_mode"));
      assertEquals("master", master.info("replication").get("role"));
      Map<String, String> replication = replica.info("replication");
      assertEquals("slave", replication.get("role"));
      assertEquals(Integer.toString(master.port()), replication.get("master_port"));
      assertEquals("", Resp.pairs(Resp.once(master.port(), "CONFIG", "GET", "save")).get("save"));

      // Writes on the master reach the replica; its offset catches up with the master's.
      assertEquals("OK", Resp.once(master.port(), "SET", "before", "1"));
      await("the write is replicated", () -> "1".equals(Resp.once(replica.port(), "GET", "before")));
      await("the replica's offset equals the master's", () ->
          master.info("replication").get("master_repl_offset")
              .equals(replica.info("replication").get("slave_repl_offset")));

      RedisServer promoted = sentinel.failover();

      assertSame(replica, promoted);
      assertEquals(replica.port(), sentinel.masterPort());
      assertSame(replica, sentinel.master());
      assertEquals("master", replica.info("replication").get("role"));
      assertEquals("1", Resp.once(replica.port(), "GET", "before"), "replicated data survives");
      assertEquals("OK", Resp.once(replica.port(), "SET", "after", "2"), "the new master takes writes");
      // The Sentinel turns the old master into a replica of the new one.
      await("the old master follows the new one", () -> {
        Map<String, String> info = master.info("replication");
        return "slave".equals(info.get("role")) && Integer.toString(replica.port()).equals(info.get("master_port"));
      });
      assertSame(master, sentinel.replica());
    }
  }

  @Test
  @Timeout(120)
  void closeStopsAllThreeProcesses() {
    RedisSentinel sentinel = RedisSentinel.start();
    RedisServer master = sentinel.master();
    RedisServer replica = sentinel.replica();
    sentinel.close();
    assertFalse(master.isRunning());
    assertFalse(replica.isRunning());
    assertFalse(sentinel.sentinel().isRunning());
    sentinel.close(); // idempotent
  }
}
