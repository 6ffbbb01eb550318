package dev.shepherd.ratelimit.redis;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.masterreplica.StatefulRedisMasterReplicaConnection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/*
 * "Run this script on this key, within this deadline", for every Redis deployment a limiter
 * accepts, and why one class serves all three.
 *
 * Standalone and master-replica (Sentinel). A StatefulRedisMasterReplicaConnection is a
 * StatefulRedisConnection whose commands Lettuce routes by kind: EVALSHA and EVAL may write, so
 * they always go to the master the Sentinel names now, whatever ReadFrom says; after a failover
 * Lettuce follows the Sentinel's announcement to the new master.
 *
 * Cluster. A script touches exactly the keys it is given, and every Shepherd script is given one
 * key, so its slot is the key's slot and Lettuce's cluster connection sends it to that slot's
 * master. A MOVED reply (the slot moved for good) or ASK (the slot is being migrated and this key
 * is already on the target) is followed by Lettuce itself, up to its redirect limit, inside the
 * same future, so the redirect is paid for within the caller's deadline. CLUSTERDOWN and TRYAGAIN
 * come back as errors that RedisGcra counts as "unavailable": the check falls back to the local
 * share, within the timeout, and the circuit probes later.
 *
 * Both connection types offer RedisClusterAsyncCommands, the interface holding EVALSHA, EVAL and
 * SCRIPT LOAD, so one field serves all three; only SCRIPT LOAD differs: on a cluster connection
 * Lettuce sends it to every master (the probe then proves the whole cluster answers).
 *
 * Scripts are cached per node, and a node that restarted, was promoted or joined has an empty
 * cache: EVALSHA answers NOSCRIPT. The target then sends EVAL with the source, once, to the same
 * key (so to the same node, where the script is then cached too): one more round trip, not two
 * (SCRIPT LOAD on a cluster would be sent to every node, and might not reach the one that needs it
 * first). Every command is completed exceptionally at the deadline (orTimeout on Lettuce's own
 * future, so an unsent command is never written), so the returned stage always completes by the
 * deadline.
 */
/** Where a limiter's scripts run: a standalone, master–replica (Sentinel) or cluster connection. */
final class RedisTarget {

  /** What kind of connection, for descriptions and metrics. */
  enum Kind {
    STANDALONE,
    MASTER_REPLICA,
    CLUSTER
  }

  private final RedisClusterAsyncCommands<String, String> commands;
  final Kind kind;
  private final LongAdder reloads = new LongAdder();

  private RedisTarget(RedisClusterAsyncCommands<String, String> commands, Kind kind) {
    this.commands = commands;
    this.kind = kind;
  }

  /** A standalone connection, or a master–replica one (from {@code MasterReplica.connect}). */
  static RedisTarget of(StatefulRedisConnection<String, String> connection) {
    Objects.requireNonNull(connection, "connection");
    Kind kind = connection instanceof StatefulRedisMasterReplicaConnection ? Kind.MASTER_REPLICA : Kind.STANDALONE;
    return new RedisTarget(connection.async(), kind);
  }

  /** A cluster connection (from {@code RedisClusterClient.connect()}). */
  static RedisTarget of(StatefulRedisClusterConnection<String, String> connection) {
    Objects.requireNonNull(connection, "connection");
    return new RedisTarget(connection.async(), Kind.CLUSTER);
  }

  /**
   * Runs {@code script} on {@code key} with {@code args}: EVALSHA, and on NOSCRIPT one EVAL of the
   * source; the stage completes (exceptionally with a TimeoutException if need be) by
   * {@code deadline} ({@link System#nanoTime()}). Never throws: a failure to send fails the stage.
   */
  CompletableFuture<List<Object>> run(LuaScript script, String[] keys, String[] args, long deadline) {
    CompletableFuture<List<Object>> first;
    try {
      first = timed(commands.<List<Object>>evalsha(script.sha, ScriptOutputType.MULTI, keys, args), deadline);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return first
        .handle((reply, error) -> {
          if (error == null) {
            return CompletableFuture.completedFuture(reply);
          }
          if (!isNoScript(unwrap(error))) {
            return CompletableFuture.<List<Object>>failedFuture(error);
          }
          reloads.increment();
          try {
            return timed(commands.<List<Object>>eval(script.source, ScriptOutputType.MULTI, keys, args), deadline);
          } catch (RuntimeException e) {
            return CompletableFuture.<List<Object>>failedFuture(e);
          }
        })
        .thenCompose(stage -> stage);
  }

  /**
   * Loads {@code script} (on every master of a cluster) by {@code deadline}; the stage fails if a
   * node does not answer, or answers another SHA.
   */
  CompletableFuture<String> load(LuaScript script, long deadline) {
    CompletableFuture<String> f;
    try {
      f = timed(commands.scriptLoad(script.source), deadline);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    return f.thenApply(sha -> {
      if (!script.sha.equals(sha)) {
        throw new IllegalStateException("SCRIPT LOAD answered " + sha + ", expected " + script.sha);
      }
      return sha;
    });
  }

  /** How many times a script was found missing on a node and sent again with EVAL. */
  long reloadCount() {
    return reloads.sum();
  }

  /** Completes {@code f} exceptionally at {@code deadline}; Lettuce then does not write it if unsent. */
  static <T> CompletableFuture<T> timed(RedisFuture<T> f, long deadline) {
    CompletableFuture<T> cf = f.toCompletableFuture();
    return cf.orTimeout(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  static boolean isNoScript(Throwable t) {
    return t instanceof RedisNoScriptException
        || (t instanceof RedisCommandExecutionException && t.getMessage() != null
            && t.getMessage().startsWith("NOSCRIPT"));
  }

  private static Throwable unwrap(Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  @Override
  public String toString() {
    return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
