package dev.shepherd.testing;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.opentest4j.TestAbortedException;

/**
 * A real Redis Cluster of three (or more) masters on free loopback ports, without persistence or
 * replicas, for tests: no mocks, no Docker.
 *
 * <pre>{@code
 * try (RedisCluster cluster = RedisCluster.start()) {
 *   RedisClusterClient client = RedisClusterClient.create(cluster.uris().get(0));
 *   // ...
 * }
 * }</pre>
 *
 * <p>Each node is a {@link RedisServer} (same flags, same reaper, same skip policy) started with
 * {@code --cluster-enabled yes}, its own {@code nodes.conf} in its private directory, an explicit
 * free bus port ({@code --cluster-port}, so no port above 55535 is needed), a node timeout of 2 s
 * and {@code cluster-require-full-coverage no}: when a node stops, the others mark it failed after
 * the node timeout and keep serving their own slots (there are no replicas, so the stopped node's
 * slots stay assigned to it and clients are still redirected there until it comes back). The
 * cluster is formed by hand, as {@code redis-cli --cluster create} does it: each node gets an equal
 * contiguous range of the 16384 slots ({@code CLUSTER ADDSLOTSRANGE}) and its own config epoch, the
 * first node meets the others, and {@link #start()} returns once every node reports
 * {@code cluster_state:ok}, all 16384 slots assigned and every other node known. {@link #moveSlot}
 * reshards one slot live (its keys included), so clients meet {@code ASK} and {@code MOVED}
 * redirections.
 *
 * <p><b>When {@code redis-server} is missing</b> the test is skipped, or fails on CI, exactly as
 * {@link RedisServer#start()} says.
 *
 * <p>Thread-safe for reading; {@link #moveSlot} and {@link #close()} are meant for the test's own
 * thread.
 */
public final class RedisCluster implements AutoCloseable {

  /** The number of hash slots of every Redis Cluster. */
  public static final int SLOTS = 16384;

  private static final long FORM_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final List<RedisServer> nodes;
  private final List<String> ids;

  private RedisCluster(List<RedisServer> nodes, List<String> ids) {
    this.nodes = List.copyOf(nodes);
    this.ids = List.copyOf(ids);
  }

  /**
   * Starts a cluster of three masters and returns once it serves all 16384 slots.
   *
   * @return the running cluster; close it when done
   * @throws TestAbortedException if {@code redis-server} is missing and this is not CI
   * @throws AssertionError if {@code redis-server} is missing on CI
   * @throws IllegalStateException if the cluster did not form within 30 s
   */
  public static RedisCluster start() {
    return start(3);
  }

  /**
   * Starts a cluster of {@code masters} masters and returns once it serves all 16384 slots.
   *
   * @param masters how many masters, between 1 and 16
   * @return the running cluster; close it when done
   * @throws IllegalArgumentException if {@code masters} is out of range
   * @throws TestAbortedException if {@code redis-server} is missing and this is not CI
   * @throws AssertionError if {@code redis-server} is missing on CI
   * @throws IllegalStateException if the cluster did not form within 30 s
   */
  public static RedisCluster start(int masters) {
    if (masters < 1 || masters > 16) {
      throw new IllegalArgumentException(
          String.format(Locale.ROOT, "masters must be between 1 and 16: %d", masters));
    }
    RedisServer.requireInstalled();
    List<RedisServer> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < masters; i++) {
        nodes.add(RedisServer.start("redis-cluster", RedisServer.Options.appending((dir, port) -> List.of(
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-port", Integer.toString(RedisServer.freePort()),
            "--cluster-node-timeout", "2000",
            "--cluster-require-full-coverage", "no"))));
      }
      List<String> ids = new ArrayList<>();
      for (int i = 0; i < masters; i++) {
        int port = nodes.get(i).port();
        ids.add(String.valueOf(Resp.once(port, "CLUSTER", "MYID")));
        int from = i * SLOTS / masters;
        int to = (i + 1) * SLOTS / masters - 1;
        Resp.once(port, "CLUSTER", "ADDSLOTSRANGE", Integer.toString(from), Integer.toString(to));
        Resp.once(port, "CLUSTER", "SET-CONFIG-EPOCH", Integer.toString(i + 1));
      }
      for (int i = 1; i < masters; i++) {
        int port = nodes.get(i).port();
        String busPort = Resp.pairs(Resp.once(port, "CONFIG", "GET", "cluster-port")).get("cluster-port");
        Resp.once(nodes.get(0).port(), "CLUSTER", "MEET", RedisServer.HOST, Integer.toString(port), busPort);
      }
      RedisCluster cluster = new RedisCluster(nodes, ids);
      cluster.awaitFormed();
      return cluster;
    } catch (RuntimeException | Error e) {
      nodes.forEach(RedisServer::close);
      throw e;
    }
  }

  private void awaitFormed() {
    long deadline = System.nanoTime() + FORM_TIMEOUT_NANOS;
    while (!isFormed()) {
      if (System.nanoTime() - deadline > 0) {
        StringBuilder state = new StringBuilder();
        for (RedisServer node : nodes) {
          state.append('\n').append(node.port()).append(": ").append(clusterInfo(node));
        }
        throw new IllegalStateException("the cluster did not form within 30 s:" + state);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20)); // polling outside processes
    }
  }

  private boolean isFormed() {
    for (RedisServer node : nodes) {
      Map<String, String> info;
      try {
        info = clusterInfo(node);
      } catch (RuntimeException e) {
        return false;
      }
      if (!"ok".equals(info.get("cluster_state"))
          || !Integer.toString(SLOTS).equals(info.get("cluster_slots_ok"))
          || !Integer.toString(nodes.size()).equals(info.get("cluster_known_nodes"))) {
        return false;
      }
    }
    // Every node must also agree who owns every slot (gossip may still be spreading ranges).
    List<Integer> first = slotOwners(nodes.get(0).port());
    if (first.contains(-1)) {
      return false;
    }
    for (RedisServer node : nodes) {
      if (!slotOwners(node.port()).equals(first)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Returns the nodes, in the order they were started; node {@code i} first owned the {@code i}-th
   * equal range of slots. Stop or restart one through its {@link RedisServer} methods (a restarted
   * node keeps its identity and rejoins).
   *
   * @return the nodes
   */
  public List<RedisServer> nodes() {
    return nodes;
  }

  /**
   * Returns every node's URI, {@code redis://127.0.0.1:<port>}: seeds for a cluster client.
   *
   * @return the URIs, in node order
   */
  public List<String> uris() {
    List<String> uris = new ArrayList<>(nodes.size());
    for (RedisServer node : nodes) {
      uris.add(node.uri());
    }
    return uris;
  }

  /**
   * Returns {@code CLUSTER INFO} of one node as {@code field -> value}.
   *
   * @param node the node
   * @return the fields, such as {@code cluster_state} and {@code cluster_slots_ok}
   * @throws java.io.UncheckedIOException if the node does not answer
   */
  public Map<String, String> clusterInfo(RedisServer node) {
    return Resp.fields(Resp.once(node.port(), "CLUSTER", "INFO"));
  }

  /**
   * Returns the index (in {@link #nodes()}) of the node that owns {@code slot}, as node 0 sees it
   * (or the first running node if node 0 is stopped).
   *
   * @param slot a slot, {@code 0 <= slot < 16384}
   * @return the owner's index
   * @throws IllegalArgumentException if {@code slot} is out of range
   * @throws IllegalStateException if no running node knows an owner
   */
  public int ownerOf(int slot) {
    checkSlot(slot);
    for (RedisServer node : nodes) {
      if (node.isRunning()) {
        int owner = slotOwners(node.port()).get(slot);
        if (owner >= 0) {
          return owner;
        }
      }
    }
    throw new IllegalStateException("no running node knows the owner of slot " + slot);
  }

  /**
   * Moves one slot, with its keys, to node {@code target}, live, as {@code redis-cli --cluster
   * reshard} does: the target imports, the source migrates ({@code ASK} for keys already moved),
   * the keys move with {@code MIGRATE}, then every node is told the new owner ({@code MOVED}
   * from then on). Does nothing if {@code target} owns the slot already.
   *
   * @param slot a slot, {@code 0 <= slot < 16384}
   * @param target the index of the node to own it
   * @throws IllegalArgumentException if {@code slot} or {@code target} is out of range
   * @throws IllegalStateException if a node refused a step (its reply is in the message)
   */
  public void moveSlot(int slot, int target) {
    checkSlot(slot);
    Objects.checkIndex(target, nodes.size());
    int source = ownerOf(slot);
    if (source == target) {
      return;
    }
    int from = nodes.get(source).port();
    int to = nodes.get(target).port();
    String s = Integer.toString(slot);
    Resp.once(to, "CLUSTER", "SETSLOT", s, "IMPORTING", ids.get(source));
    Resp.once(from, "CLUSTER", "SETSLOT", s, "MIGRATING", ids.get(target));
    try (Resp resp = new Resp(from)) {
      for (;;) {
        Object keys = resp.call("CLUSTER", "GETKEYSINSLOT", s, "100");
        if (!(keys instanceof List<?> list) || list.isEmpty()) {
          break;
        }
        List<String> migrate = new ArrayList<>(List.of(
            "MIGRATE", RedisServer.HOST, Integer.toString(to), "", "0", "5000", "REPLACE", "KEYS"));
        for (Object key : list) {
          migrate.add(String.valueOf(key));
        }
        resp.call(migrate);
      }
    }
    // The new owner first, then the old one, then the rest (as redis-cli does).
    Resp.once(to, "CLUSTER", "SETSLOT", s, "NODE", ids.get(target));
    Resp.once(from, "CLUSTER", "SETSLOT", s, "NODE", ids.get(target));
    for (int i = 0; i < nodes.size(); i++) {
      if (i != source && i != target && nodes.get(i).isRunning()) {
        Resp.once(nodes.get(i).port(), "CLUSTER", "SETSLOT", s, "NODE", ids.get(target));
      }
    }
  }

  /**
   * Returns the hash slot of {@code key}, as Redis Cluster computes it: CRC16 (XMODEM) of the key's
   * UTF-8 bytes, or of its hash tag (the text between the first {@code {} and the next
   * {@code }}, when that is not empty), modulo 16384.
   *
   * @param key the key
   * @return its slot, {@code 0 <= slot < 16384}
   */
  public static int slot(String key) {
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    int start = 0;
    int end = bytes.length;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == '{') {
        for (int j = i + 1; j < bytes.length; j++) {
          if (bytes[j] == '}') {
            if (j > i + 1) {
              start = i + 1;
              end = j;
            }
            break;
          }
        }
        break;
      }
    }
    int crc = 0;
    for (int i = start; i < end; i++) {
      crc ^= (bytes[i] & 0xFF) << 8;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
    }
    return (crc & 0xFFFF) % SLOTS;
  }

  /** Slot -> index of its owner in {@link #nodes}, or -1, as the node on {@code port} sees it. */
  private List<Integer> slotOwners(int port) {
    List<Integer> owners = new ArrayList<>(Collections.nCopies(SLOTS, -1));
    Object reply = Resp.once(port, "CLUSTER", "SLOTS");
    if (reply instanceof List<?> ranges) {
      for (Object r : ranges) {
        if (r instanceof List<?> range && range.size() >= 3 && range.get(2) instanceof List<?> master) {
          int owner = indexOfPort(((Long) master.get(1)).intValue());
          for (long slot = (Long) range.get(0); slot <= (Long) range.get(1); slot++) {
            owners.set((int) slot, owner);
          }
        }
      }
    }
    return owners;
  }

  private int indexOfPort(int port) {
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.get(i).port() == port) {
        return i;
      }
    }
    return -1;
  }

  private static void checkSlot(int slot) {
    if (slot < 0 || slot >= SLOTS) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "slot must be in [0, 16384): %d", slot));
    }
  }

  /** Stops every node and deletes their directories; idempotent. */
  @Override
  public void close() {
    nodes.forEach(RedisServer::close);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("redis cluster on");
    for (RedisServer node : nodes) {
      sb.append(' ').append(node.port()).append(node.isRunning() ? "" : " (stopped)");
    }
    return sb.toString();
  }
}
