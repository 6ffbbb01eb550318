package dev.shepherd.testing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.opentest4j.TestAbortedException;

/**
 * A real Redis master, one replica and one Sentinel watching them, on free loopback ports,
 * without persistence, for tests of Sentinel clients and of failover.
 *
 * <pre>{@code
 * try (RedisSentinel sentinel = RedisSentinel.start()) {
 *   RedisClient client = RedisClient.create();
 *   StatefulRedisMasterReplicaConnection<String, String> redis = MasterReplica.connect(
 *       client, StringCodec.UTF8, RedisURI.create(sentinel.sentinelUri()));
 *   // ...
 *   RedisServer promoted = sentinel.failover();
 * }
 * }</pre>
 *
 * <p>The three processes are {@link RedisServer}s (same flags, reaper and skip policy). The replica
 * is started with {@code --replicaof} the master; once its link is up, the Sentinel starts
 * ({@code redis-server sentinel.conf --sentinel}, from Debian's {@code redis-server} package: no
 * separate {@code redis-sentinel} binary is needed) monitoring the master as
 * {@value #MASTER_NAME} with a quorum of 1, {@code down-after-milliseconds} 1000 and
 * {@code failover-timeout} 10000. {@link #start()} returns once the Sentinel names the master and
 * sees the replica with its link up, so a failover can be forced at once. {@link #failover()}
 * forces one ({@code SENTINEL FAILOVER}) and returns once the Sentinel names the replica as the
 * new master and that node says {@code role:master}; stopping {@link #master()} instead makes the
 * Sentinel fail over by itself after about a second.
 *
 * <p><b>When {@code redis-server} is missing</b> the test is skipped, or fails on CI, exactly as
 * {@link RedisServer#start()} says.
 *
 * <p>Thread-safe for reading; {@link #failover()} and {@link #close()} are meant for the test's own
 * thread.
 */
public final class RedisSentinel implements AutoCloseable {

  /** The name under which the Sentinel monitors the master. */
  public static final String MASTER_NAME = "shepherd";

  private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final List<RedisServer> data;
  private final RedisServer sentinel;

  private RedisSentinel(List<RedisServer> data, RedisServer sentinel) {
    this.data = List.copyOf(data);
    this.sentinel = sentinel;
  }

  /**
   * Starts a master, a replica and a Sentinel, and returns once the Sentinel sees both.
   *
   * @return the running set; close it when done
   * @throws TestAbortedException if {@code redis-server} is missing and this is not CI
   * @throws AssertionError if {@code redis-server} is missing on CI
   * @throws IllegalStateException if the replica or the Sentinel was not ready within 30 s
   */
  public static RedisSentinel start() {
    RedisServer.requireInstalled();
    List<RedisServer> started = new ArrayList<>();
    try {
      RedisServer master = RedisServer.start("redis-master", RedisServer.Options.appending((dir, port) -> List.of()));
      started.add(master);
      RedisServer replica = RedisServer.start("redis-replica", RedisServer.Options.appending((dir, port) -> List.of(
          "--replicaof", RedisServer.HOST, Integer.toString(master.port()))));
      started.add(replica);
      await("the replica's link to the master is up",
          () -> "up".equals(replica.info("replication").get("master_link_status")));
      RedisServer sentinel = RedisServer.start("redis-sentinel", (dir, port, standard) -> {
        Path conf = dir.resolve("sentinel.conf");
        Files.writeString(conf, String.join("\n",
            "sentinel monitor " + MASTER_NAME + " " + RedisServer.HOST + " " + master.port() + " 1",
            "sentinel down-after-milliseconds " + MASTER_NAME + " 1000",
            "sentinel failover-timeout " + MASTER_NAME + " 10000",
            "sentinel parallel-syncs " + MASTER_NAME + " 1",
            ""), StandardCharsets.UTF_8);
        List<String> args = new ArrayList<>();
        args.add(conf.toString());
        args.add("--sentinel");
        // The standard flags except the persistence ones, which Sentinel has no use for.
        for (int i = 0; i < standard.size(); i += 2) {
          String flag = standard.get(i);
          if (!flag.equals("--save") && !flag.equals("--appendonly")) {
            args.add(flag);
            args.add(standard.get(i + 1));
          }
        }
        return args;
      });
      started.add(sentinel);
      RedisSentinel set = new RedisSentinel(List.of(master, replica), sentinel);
      await("the Sentinel names the master and sees the replica's link up", () ->
          set.masterPort() == master.port() && set.replicaSeen(replica.port()));
      return set;
    } catch (RuntimeException | Error e) {
      started.forEach(RedisServer::close);
      throw e;
    }
  }

  private boolean replicaSeen(int port) {
    Object reply = Resp.once(sentinel.port(), "SENTINEL", "REPLICAS", MASTER_NAME);
    if (reply instanceof List<?> replicas) {
      for (Object r : replicas) {
        Map<String, String> fields = Resp.pairs(r);
        if (String.valueOf(port).equals(fields.get("port"))
            && "slave".equals(fields.get("flags"))
            && "ok".equals(fields.get("master-link-status"))) {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * Returns the Sentinel process.
   *
   * @return the Sentinel
   */
  public RedisServer sentinel() {
    return sentinel;
  }

  /**
   * Returns the Sentinel's address in Lettuce's URI form,
   * {@code redis-sentinel://127.0.0.1:<port>#shepherd}.
   *
   * @return the URI to give {@code MasterReplica.connect}
   */
  public String sentinelUri() {
    return "redis-sentinel://" + RedisServer.HOST + ":" + sentinel.port() + "#" + MASTER_NAME;
  }

  /**
   * Returns the port of the master as the Sentinel names it now
   * ({@code SENTINEL GET-MASTER-ADDR-BY-NAME}).
   *
   * @return the master's port
   * @throws IllegalStateException if the Sentinel names none
   */
  public int masterPort() {
    Object reply = Resp.once(sentinel.port(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME);
    if (reply instanceof List<?> addr && addr.size() == 2) {
      return Integer.parseInt(String.valueOf(addr.get(1)));
    }
    throw new IllegalStateException("the Sentinel names no master for " + MASTER_NAME + ": " + reply);
  }

  /**
   * Returns the node the Sentinel names as master now.
   *
   * @return the master
   */
  public RedisServer master() {
    int port = masterPort();
    for (RedisServer node : data) {
      if (node.port() == port) {
        return node;
      }
    }
    throw new IllegalStateException("the Sentinel names an unknown master on port " + port);
  }

  /**
   * Returns the node that is not the master now (the replica, or the old master after a failover
   * once the Sentinel has turned it into a replica).
   *
   * @return the other data node
   */
  public RedisServer replica() {
    RedisServer master = master();
    return data.get(0) == master ? data.get(1) : data.get(0);
  }

  /**
   * Forces a failover ({@code SENTINEL FAILOVER}) and returns once the Sentinel names the replica
   * as master and that node reports {@code role:master}. Replication is asynchronous: writes the
   * replica had not received are lost, as in a real failover.
   *
   * @return the new master
   * @throws IllegalStateException if the Sentinel refused or the failover did not finish in 30 s
   */
  public RedisServer failover() {
    RedisServer promoted = replica();
    Resp.once(sentinel.port(), "SENTINEL", "FAILOVER", MASTER_NAME);
    await("the Sentinel names port " + promoted.port() + " as master and it says role:master", () ->
        masterPort() == promoted.port() && "master".equals(promoted.info("replication").get("role")));
    return promoted;
  }

  /** Polls {@code condition} (errors count as false) until it holds; fails after 30 s. */
  private static void await(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + TIMEOUT_NANOS;
    for (;;) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        // A node still starting or switching roles: poll again.
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("timed out after 30 s waiting until " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // polling outside processes
    }
  }

  /** Stops the Sentinel and both data nodes and deletes their directories; idempotent. */
  @Override
  public void close() {
    sentinel.close();
    data.forEach(RedisServer::close);
  }

  @Override
  public String toString() {
    return "redis sentinel on " + sentinel.port() + " watching " + data.get(0).port() + " and " + data.get(1).port();
  }
}
