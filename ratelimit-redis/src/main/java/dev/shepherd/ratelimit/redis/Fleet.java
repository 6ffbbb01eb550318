package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.Ticker;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;

/*
 * How many servers share a limit, so that the fallback share is rate / servers while the fleet
 * scales, and why it needs no thread and no second key per server.
 *
 * Heartbeats. While Redis answers, each limiter announces itself at most once per interval: one
 * script call on one key (so it places in one cluster slot), a sorted set whose members are the
 * limiters' ids scored by their expiry in Redis time. The script drops expired members, adds or
 * refreshes this one with expiry now + ttl, keeps the set itself alive for ttl, and replies with
 * the count: one round trip both announces and counts, on Redis's clock, so skew between servers
 * plays no part. A member per server scored by its expiry is a per-server heartbeat key with a
 * TTL, without the SCAN across every cluster master that counting separate keys would need.
 *
 * When. The heartbeat rides on checks, as the circuit's probe does: the first check at or after
 * the due time (on the limiter's Ticker) claims the next slot by one CAS and sends the heartbeat
 * asynchronously; the check itself never waits for it. An idle limiter therefore stops
 * announcing itself and drops out of the others' count after ttl, which is right: it admits
 * nothing. A new limiter is counted by the others at their next heartbeat, so every limiter sees
 * a scale-up within two intervals.
 *
 * Outage. While Redis does not answer, the count is the fleet-size source's answer, read once per
 * interval in the same way, if there is a source; otherwise the last count Redis gave is kept (a
 * limiter that never reached Redis keeps expectedServers). A source that throws or answers less
 * than 1 is ignored for that interval. Each change of the count is handed to onChange (which
 * re-rates the local share); the count is one volatile int.
 */
/** The live-server count behind the fallback share: heartbeats while Redis answers, a source otherwise. */
final class Fleet {

  /** KEYS[1] the fleet's sorted set; ARGV member id, ttl (ms). Reply {count, Redis time (ms)}. */
  static final LuaScript HEARTBEAT = new LuaScript("""
      -- Shepherd fleet heartbeat v1 (dev.shepherd.ratelimit.redis): announce and count live servers.
      -- KEYS[1] sorted set of server ids scored by expiry (Redis ms); ARGV id, ttl (ms). Reply {count, now}.
      if redis.replicate_commands then redis.replicate_commands() end
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      local ttl = tonumber(ARGV[2])
      redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
      redis.call('ZADD', KEYS[1], string.format('%d', now + ttl), ARGV[1])
      redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
      return {redis.call('ZCARD', KEYS[1]), now}
      """);

  private final RedisTarget target;
  private final String[] keys;
  private final String[] args;
  private final Ticker ticker;
  private final long intervalNanos;
  private final long timeoutNanos;
  private final IntSupplier source;
  private final IntConsumer onChange;
  private final AtomicLong nextAt;
  private final AtomicLong heartbeats = new AtomicLong();
  /** Whether to send heartbeats; without, the source alone gives the count. */
  private final boolean announce;
  private volatile int servers;

  /**
   * @param key the fleet's sorted set
   * @param id this limiter's member id
   * @param ttlMillis how long a heartbeat counts
   * @param source the fleet-size source, or null
   * @param initial the count before anything is known (expectedServers)
   * @param onChange told every new count (on the thread that learnt it)
   */
  Fleet(RedisTarget target, String key, String id, long intervalNanos, long ttlMillis, long timeoutNanos,
      Ticker ticker, IntSupplier source, int initial, IntConsumer onChange) {
    this(target, key, id, intervalNanos, ttlMillis, timeoutNanos, ticker, source, initial, onChange, true);
  }

  /** As above; {@code announce == false} sends no heartbeat and takes every count from the source. */
  Fleet(RedisTarget target, String key, String id, long intervalNanos, long ttlMillis, long timeoutNanos,
      Ticker ticker, IntSupplier source, int initial, IntConsumer onChange, boolean announce) {
    this.announce = announce;
    this.target = target;
    this.keys = new String[] {key};
    this.args = new String[] {id, Long.toString(ttlMillis)};
    this.ticker = ticker;
    this.intervalNanos = intervalNanos;
    this.timeoutNanos = timeoutNanos;
    this.source = source;
    this.onChange = onChange;
    this.servers = initial;
    this.nextAt = new AtomicLong(ticker.read()); // due at the first check
  }

  /**
   * The count to start with: the source's answer if there is a source and it gives one (a server
   * started during an outage then shares correctly from its first check), else {@code fallback}.
   */
  static int initialCount(IntSupplier source, int fallback) {
    if (source != null) {
      try {
        int n = source.getAsInt();
        if (n >= 1) {
          return n;
        }
      } catch (RuntimeException e) {
        // a broken source: start from expectedServers
      }
    }
    return fallback;
  }

  /**
   * Called on every check: when an update is due, claims it and starts it (a heartbeat if
   * {@code redisAllowed}, else a read of the source). One volatile read and a subtraction when
   * none is due; no allocation.
   *
   * @return the heartbeat's stage when one was started (for tests), else null
   */
  CompletableFuture<Integer> tick(boolean redisAllowed) {
    long due = nextAt.get();
    long now = ticker.read();
    if (now - due < 0 || !nextAt.compareAndSet(due, now + intervalNanos)) {
      return null;
    }
    if (redisAllowed && announce) {
      return beat();
    }
    fromSource();
    return null;
  }

  /** Sends one heartbeat now; the stage completes with the count in use afterwards, never exceptionally. */
  CompletableFuture<Integer> beat() {
    return target.run(HEARTBEAT, keys, args, System.nanoTime() + timeoutNanos).handle((reply, error) -> {
      if (error == null && reply != null && reply.size() == 2 && reply.get(0) instanceof Long n
          && n >= 1 && n <= Integer.MAX_VALUE) {
        heartbeats.incrementAndGet();
        set(n.intValue());
      } else {
        fromSource();
      }
      return servers;
    });
  }

  private void fromSource() {
    if (source == null) {
      return; // keep the last count
    }
    int n;
    try {
      n = source.getAsInt();
    } catch (RuntimeException e) {
      return; // a broken source changes nothing
    }
    if (n >= 1) {
      set(n);
    }
  }

  private void set(int n) {
    if (servers != n) {
      servers = n;
      onChange.accept(n);
    }
  }

  /** The count the share is computed with now. */
  int servers() {
    return servers;
  }

  /** How many heartbeats Redis answered. */
  long heartbeatCount() {
    return heartbeats.get();
  }
}
