package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.ratelimit.KeyedRateLimiter;
import dev.shepherd.ratelimit.KeyedTokenBucket;
import dev.shepherd.ratelimit.Rate;
import dev.shepherd.ratelimit.RateLimitExceededException;
import dev.shepherd.ratelimit.RateLimiter;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * One fleet-wide token bucket per key (per device, per tenant), kept in Redis by the same one-script
 * GCRA as {@link RedisRateLimiter}.
 *
 * <pre>{@code
 * KeyedRateLimiter<String> perDevice = RedisKeyedRateLimiter.builder()
 *     .name("device-connect")
 *     .connection(redis)
 *     .rate(6, Duration.ofMinutes(1))      // each device, over the whole fleet
 *     .burst(3)
 *     .expectedServers(10)
 *     .build();
 * if (!perDevice.tryAcquire(deviceId)) {
 *   ...   // 429
 * }
 * }</pre>
 *
 * <p>Key {@code k} lives in Redis at {@link Builder#keyPrefix(String) keyPrefix}{@code + k}
 * (default prefix {@code "shepherd:ratelimit:<name>:"}); every key behaves as its own
 * {@link RedisRateLimiter}, with all its guarantees, starting full. Keys must be non-empty and at
 * most {@link Builder#maxKeyLength(int) maxKeyLength} bytes in UTF-8 (default 256); a bad key is
 * refused with an {@link IllegalArgumentException} that does not echo it, and nothing is sent to
 * Redis. Memory in Redis stays bounded by the keys in use: each key expires once its bucket is
 * full again. Events never contain keys.
 *
 * <p>When Redis is unavailable the {@link FailurePolicy} decides, as for {@link RedisRateLimiter}
 * (one circuit for all keys); {@link FailurePolicy#FAIL_LOCAL} uses an in-process
 * {@link KeyedTokenBucket} at each key's share ({@code rate / expectedServers}, burst
 * {@code max(1, burst / expectedServers)}), holding at most
 * {@link Builder#fallbackMaxKeys(int) fallbackMaxKeys} keys.
 *
 * <p>For hot keys, {@link Builder#lease(int) lease(n)} takes up to {@code n} of a key's permits in
 * one script call and spends them locally: per key, the fleet grants at most
 * {@code burst + rate × d + servers × n} in any window of length {@code d}.
 *
 * <p>It is a {@link KeyedRateLimiter}, as the in-process {@link KeyedTokenBucket} is: code written
 * against that interface moves between a per-server and a fleet-wide limit by changing the builder.
 *
 * <p>Thread-safe and lock-free; the same costs and threading as {@link RedisRateLimiter}, plus
 * building the Redis key string per check.
 */
public final class RedisKeyedRateLimiter implements KeyedRateLimiter<String> {

  private final RedisGcra gcra;
  private final Rate fleetRate;
  private final String prefix;
  private final int maxKeyLength;

  private RedisKeyedRateLimiter(Builder b) {
    Config c = b.config;
    RedisRate rate = c.rate();
    this.prefix = b.keyPrefix != null ? b.keyPrefix : Config.DEFAULT_PREFIX + c.name + ":";
    Config.checkConfiguredKey(prefix, "keyPrefix", true);
    this.maxKeyLength = b.maxKeyLength;
    this.fleetRate = c.rate;
    Rate fleet = c.rate;
    int fleetBurst = c.burst;
    String localName = c.name + "-local";
    int maxKeys = b.fallbackMaxKeys;
    Ticker ticker = c.ticker;
    Sleeper sleeper = c.sleeper;
    // Each key's share; replaced whole when the fleet's count changes (see RedisGcra.Local#share).
    AtomicReference<KeyedTokenBucket<String>> share = new AtomicReference<>(
        shareBuckets(localName, fleet, fleetBurst, c.initialServers(), maxKeys, ticker, sleeper));
    this.gcra = new RedisGcra(c, rate, new RedisGcra.Local() {
      @Override
      public long acquireOrRetryAfterNanos(String key, int permits) {
        return share.get().acquireOrRetryAfterNanos(key, permits);
      }

      @Override
      public boolean tryAcquire(String key, int permits, Duration maxWait) throws InterruptedException {
        return share.get().tryAcquire(key, permits, maxWait);
      }

      @Override
      public int burst() {
        return share.get().burst();
      }

      @Override
      public Rate rate() {
        return share.get().rate();
      }

      @Override
      public String describe() {
        KeyedTokenBucket<String> k = share.get();
        return "each key " + k.rate() + ", burst " + k.burst() + ", at most " + maxKeys + " keys";
      }

      @Override
      public void share(int servers, boolean onFallback) {
        try {
          share.set(shareBuckets(localName, fleet, fleetBurst, servers, maxKeys, ticker, sleeper));
        } catch (IllegalArgumentException | ArithmeticException e) {
          // A count so large that the share is no rate a bucket holds: keep the last share.
        }
      }
    });
  }

  /** Each key's share among {@code servers}; keys start full, as new keys always do. */
  private static KeyedTokenBucket<String> shareBuckets(String name, Rate rate, int burst, int servers,
      int maxKeys, Ticker ticker, Sleeper sleeper) {
    return KeyedTokenBucket.builder()
        .name(name)
        .rate(Rate.of(rate.permits(), rate.period().multipliedBy(servers)))
        .burst(Math.max(1, burst / servers))
        .maxKeys(maxKeys)
        .ticker(ticker)
        .sleeper(sleeper)
        .listener(EventListener.noop())
        .build();
  }

  /**
   * Returns a builder; {@link Builder#connection(StatefulRedisConnection)} and
   * {@link Builder#rate(Rate)} (or its shorthand) must be called before {@link Builder#build()}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns this limiter's name, used in rejections and events.
   *
   * @return the name
   */
  @Override
  public String name() {
    return gcra.name;
  }

  /**
   * Returns the prefix put before every key in Redis.
   *
   * @return the key prefix
   */
  public String keyPrefix() {
    return prefix;
  }

  /**
   * Takes one permit for {@code key} if available now; blocks at most the timeout.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @return whether the permit was granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long
   */
  @Override
  public boolean tryAcquire(String key) {
    return acquireOrRetryAfterNanos(key, 1) == 0;
  }

  /**
   * Takes {@code permits} permits for {@code key} if all are available now; blocks at most the
   * timeout.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @param permits how many, between 1 and the burst
   * @return whether the permits were granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long, or {@code permits} is
   *     not between 1 and the burst
   */
  @Override
  public boolean tryAcquire(String key, int permits) {
    return acquireOrRetryAfterNanos(key, permits) == 0;
  }

  /**
   * Takes {@code permits} permits for {@code key} if all are available now, or says how long until
   * they would be, as {@link RedisRateLimiter#acquireOrRetryAfterNanos(int)}.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @param permits how many, between 1 and the burst
   * @return {@code 0} if granted, otherwise the nanoseconds (positive) until the same request
   *     would be granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long, or {@code permits} is
   *     not between 1 and the burst
   */
  @Override
  public long acquireOrRetryAfterNanos(String key, int permits) {
    if (gcra.spendLease(checked(key), permits)) {
      return 0;
    }
    return gcra.acquire(redisKeys(key), key, permits);
  }

  /**
   * Takes {@code permits} permits for {@code key}, waiting for them only if they are certain to be
   * available within {@code maxWait}, as {@link RedisRateLimiter#tryAcquire(int, Duration)}.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @param permits how many, between 1 and the burst
   * @param maxWait the longest acceptable wait, zero or more
   * @return whether the permits were granted (after any wait)
   * @throws InterruptedException if interrupted while waiting; the reservation stays consumed
   * @throws NullPointerException if {@code key} or {@code maxWait} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long, {@code permits} is not
   *     between 1 and the burst, or {@code maxWait} is negative
   */
  @Override
  public boolean tryAcquire(String key, int permits, Duration maxWait) throws InterruptedException {
    Objects.requireNonNull(maxWait, "maxWait");
    Checks.nonNegative(maxWait, "maxWait");
    if (gcra.spendLease(checked(key), permits)) {
      return true;
    }
    return gcra.tryAcquire(redisKeys(key), key, permits, maxWait);
  }

  /**
   * The asynchronous {@link #acquireOrRetryAfterNanos(String, int)}: never blocks; the stage never
   * completes exceptionally because of Redis.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @param permits how many, between 1 and the burst
   * @return a stage completing with {@code 0} if granted, otherwise the retry-after in nanoseconds
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long, or {@code permits} is
   *     not between 1 and the burst
   */
  public CompletionStage<Long> acquireOrRetryAfterNanosAsync(String key, int permits) {
    if (gcra.spendLease(checked(key), permits)) {
      return CompletableFuture.completedFuture(0L);
    }
    return gcra.acquireAsync(redisKeys(key), key, permits);
  }

  /**
   * The asynchronous {@link #tryAcquire(String)}; never blocks.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @return a stage completing with whether the permit was granted
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long
   */
  public CompletionStage<Boolean> tryAcquireAsync(String key) {
    if (gcra.spendLease(checked(key), 1)) {
      return CompletableFuture.completedFuture(Boolean.TRUE);
    }
    return gcra.acquireAsync(redisKeys(key), key, 1).thenApply(wait -> wait == 0);
  }

  /**
   * Takes one permit for {@code key} and runs {@code action}, or throws without running it.
   *
   * @param key the key
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if the key has no permit now; carries the retry-after
   * @throws NullPointerException if {@code key} or {@code action} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(String key, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(key, 1);
    if (wait != 0) {
      throw new RateLimitExceededException(gcra.name, wait);
    }
    return action.call();
  }

  /**
   * Takes one permit for {@code key} and starts {@code action}, without blocking; see
   * {@link RedisRateLimiter#callAsync(Supplier)}.
   *
   * @param key the key
   * @param action starts the guarded work
   * @param <T> the result type
   * @return the stage {@code action} returned, or a stage failed with a
   *     {@link RateLimitExceededException} (or with what {@code action} threw)
   * @throws NullPointerException if {@code key} or {@code action} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long
   */
  @Override
  public <T> CompletionStage<T> callAsync(String key, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    return gcra.acquireAsync(redisKeys(key), key, 1)
        .thenCompose(wait -> RedisRateLimiter.start(gcra.name, wait, action));
  }

  /**
   * Returns a {@link RateLimiter} (and so a {@link dev.shepherd.core.Policy}) for one key, for
   * composition with other policies. Its name and counters are this limiter's.
   *
   * @param key the key, non-empty, at most {@code maxKeyLength} bytes in UTF-8
   * @return a view of this limiter for {@code key}
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalArgumentException if {@code key} is empty or too long
   */
  @Override
  public RateLimiter forKey(String key) {
    String[] keys = redisKeys(key);
    return new RateLimiter() {
      @Override
      public String name() {
        return gcra.name;
      }

      @Override
      public long acquireOrRetryAfterNanos(int permits) {
        return gcra.acquire(keys, key, permits);
      }

      @Override
      public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
        return gcra.tryAcquire(keys, key, permits, maxWait);
      }

      @Override
      public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
        Objects.requireNonNull(action, "action");
        return gcra.acquireAsync(keys, key, 1).thenCompose(wait -> RedisRateLimiter.start(gcra.name, wait, action));
      }

      @Override
      public long grantedCount() {
        return gcra.grantedCount();
      }

      @Override
      public long rejectedCount() {
        return gcra.rejectedCount();
      }

      @Override
      public String toString() {
        return "RedisKeyedRateLimiter.forKey('" + gcra.name + "')";
      }
    };
  }

  private String[] redisKeys(String key) {
    return new String[] {prefix.concat(checked(key))};
  }

  /** {@code key}, if non-empty and not too long: checked without allocating. */
  private String checked(String key) {
    Objects.requireNonNull(key, "key");
    if (key.isEmpty()) {
      throw Checks.invalid("key", "non-empty", "\"\"");
    }
    int bytes = Config.utf8Length(key);
    if (bytes > maxKeyLength) {
      // The key itself is not echoed: it may be long, or someone's identifier.
      throw Checks.invalid("key", "at most " + maxKeyLength + " bytes in UTF-8", bytes + " bytes");
    }
    return key;
  }

  /**
   * Returns each key's capacity: the most permits granted to one key at once.
   *
   * @return the burst
   */
  @Override
  public int burst() {
    return gcra.rate.burst;
  }

  /**
   * Returns the policy applied while Redis is unavailable.
   *
   * @return the failure policy
   */
  public FailurePolicy failurePolicy() {
    return gcra.policy;
  }

  /**
   * Returns how many requests were granted, over all keys.
   *
   * @return the count of granted requests
   */
  @Override
  public long grantedCount() {
    return gcra.grantedCount();
  }

  /**
   * Returns how many requests were refused, over all keys.
   *
   * @return the count of refused requests
   */
  @Override
  public long rejectedCount() {
    return gcra.rejectedCount();
  }

  /**
   * Returns how many checks were decided: granted plus refused.
   *
   * @return the count of decided checks
   */
  public long checkCount() {
    return gcra.grantedCount() + gcra.rejectedCount();
  }

  /**
   * Returns how many Redis calls failed; see {@link RedisRateLimiter#redisErrorCount()}.
   *
   * @return the count of Redis errors
   */
  public long redisErrorCount() {
    return gcra.redisErrorCount();
  }

  /**
   * Returns how many checks were decided by the failure policy instead of Redis.
   *
   * @return the count of fallback decisions
   */
  public long fallbackCount() {
    return gcra.fallbackCount();
  }

  /**
   * Returns whether the limiter is on its fallback now.
   *
   * @return {@code true} while checks are decided by the failure policy
   */
  public boolean fallbackActive() {
    return gcra.fallbackActive();
  }

  /**
   * Returns the total time spent on the fallback, including the current episode.
   *
   * @return the time on the fallback since the limiter was built
   */
  public Duration timeInFallback() {
    return gcra.timeInFallback();
  }

  /**
   * Returns how many servers each key's limit is shared with now, counting this one, as
   * {@link RedisRateLimiter#fleetServers()} says.
   *
   * @return the server count behind {@link #fallbackShare()}, at least 1
   */
  public int fleetServers() {
    return gcra.fleetServers();
  }

  /**
   * Returns each key's share on this server, what {@link FailurePolicy#FAIL_LOCAL} admits per key
   * while Redis is unavailable: {@code rate / fleetServers()}.
   *
   * @return the share in use now
   */
  public Rate fallbackShare() {
    return gcra.fallbackShare();
  }

  /**
   * Returns the permits this limiter has taken from Redis by lease and not yet spent, over all
   * keys: 0 unless {@link Builder#lease(int) lease mode} is on; never more than the lease size per
   * key, nor more than {@code lease × leaseMaxKeys} in all.
   *
   * @return the permits held now (a snapshot)
   */
  public long leasedPermits() {
    return gcra.leasedPermits();
  }

  /**
   * Returns how many keys hold a lease on this limiter now: 0 unless lease mode is on, never more
   * than {@link Builder#leaseMaxKeys(int) leaseMaxKeys}.
   *
   * @return the keys holding a lease (a snapshot)
   */
  public int leasedKeys() {
    return gcra.leasedKeys();
  }

  /**
   * Returns each key's fleet-wide rate.
   *
   * @return the rate
   */
  public Rate rate() {
    return fleetRate;
  }

  @Override
  public String toString() {
    return "RedisKeyedRateLimiter{" + gcra.describe() + ", keyPrefix=" + prefix + "}";
  }

  /**
   * Builds a {@link RedisKeyedRateLimiter}. Each setter validates its own value at once;
   * {@link #build()} checks what depends on several (the burst at the rate, the default prefix,
   * each key's share on this server). Not thread-safe; may build several limiters.
   */
  public static final class Builder {

    private final Config config = new Config("redis-keyed-rate-limiter");
    private String keyPrefix;
    private int maxKeyLength = 256;
    private int fallbackMaxKeys = 100_000;

    private Builder() {
      config.leaseMaxKeys = 1024;
    }

    /**
     * Turns on lease mode for hot keys, as {@link RedisRateLimiter.Builder#lease(int)} says, for
     * each key: when this limiter's lease for a key is empty, one script call takes up to
     * {@code lease} of that key's permits, and later checks on the key spend them locally, without
     * a round trip. For each key, every limiter together grants at most
     * {@code burst + rate × d + servers × lease} permits in any window of length {@code d}. Leases
     * are kept for at most {@link #leaseMaxKeys(int) leaseMaxKeys} keys; a key beyond that may
     * take the lease of another, whose unspent permits are then dropped (withheld from everyone
     * until its bucket refills: fewer grants, never more). Off by default; meant for a few hot keys
     * (a tenant, an endpoint), not for one key per device, where leases would withhold permits
     * from other servers for nothing.
     *
     * @param lease permits per lease, between 1 and the burst (checked in {@link #build()})
     * @return this builder
     * @throws IllegalArgumentException if {@code lease < 1}
     */
    public Builder lease(int lease) {
      config.lease(lease);
      return this;
    }

    /**
     * Sets the most keys holding a lease at once, in {@link #lease(int) lease mode}; default 1024.
     * A check on a key without a lease when all are taken, and whose refills are all in flight,
     * asks Redis directly, exactly.
     *
     * @param leaseMaxKeys the maximum, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code leaseMaxKeys < 1}
     */
    public Builder leaseMaxKeys(int leaseMaxKeys) {
      config.leaseMaxKeys = Checks.atLeast(leaseMaxKeys, 1, "leaseMaxKeys");
      return this;
    }

    /**
     * Sets the instance name used in rejections, events and logs, and in the default key prefix;
     * default {@code "redis-keyed-rate-limiter"}.
     *
     * @param name a non-blank name
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      config.name(name);
      return this;
    }

    /**
     * Sets the connection the limiter sends its checks on; required. Shared, never closed by the
     * limiter; see {@link RedisRateLimiter.Builder#connection(StatefulRedisConnection)}.
     *
     * @param connection an open connection with a {@code String} codec
     * @return this builder
     * @throws NullPointerException if {@code connection} is null
     */
    public Builder connection(StatefulRedisConnection<String, String> connection) {
      config.connection(connection);
      return this;
    }

    /**
     * Sets a Redis Cluster connection, as {@link RedisRateLimiter.Builder#clusterConnection(
     * StatefulRedisClusterConnection)} says: each key's check runs on that key's master.
     *
     * @param connection an open cluster connection with a {@code String} codec
     * @return this builder
     * @throws NullPointerException if {@code connection} is null
     */
    public Builder clusterConnection(StatefulRedisClusterConnection<String, String> connection) {
      config.connection(connection);
      return this;
    }

    /**
     * Makes each key's fallback share follow the fleet, as
     * {@link RedisRateLimiter.Builder#heartbeat(Duration)} says. When the count changes, the local
     * per-key buckets are replaced by new, full ones at the new share (so, during an outage, each
     * change may admit one more share's burst per key).
     *
     * @param interval how often to announce, positive, at most a day
     * @return this builder
     * @throws IllegalArgumentException if {@code interval} is not positive or longer than a day
     * @throws NullPointerException if {@code interval} is null
     */
    public Builder heartbeat(Duration interval) {
      config.heartbeat(interval);
      return this;
    }

    /**
     * Sets where the fleet's size comes from while Redis is unavailable, as
     * {@link RedisRateLimiter.Builder#fleetSize(IntSupplier)} says.
     *
     * @param fleetSize the number of servers sharing the limit
     * @return this builder
     * @throws NullPointerException if {@code fleetSize} is null
     */
    public Builder fleetSize(IntSupplier fleetSize) {
      config.fleetSize(fleetSize);
      return this;
    }

    /**
     * Sets the prefix put before every key in Redis; default
     * {@code "shepherd:ratelimit:" + name + ":"}.
     *
     * @param keyPrefix the prefix, possibly empty, at most 1024 bytes in UTF-8
     * @return this builder
     * @throws NullPointerException if {@code keyPrefix} is null
     * @throws IllegalArgumentException if {@code keyPrefix} is longer than 1024 bytes
     */
    public Builder keyPrefix(String keyPrefix) {
      this.keyPrefix = Config.checkConfiguredKey(keyPrefix, "keyPrefix", true);
      return this;
    }

    /**
     * Sets the longest key accepted, in UTF-8 bytes (the prefix not counted); default 256.
     *
     * @param maxKeyLength the bound, between 1 and 65536
     * @return this builder
     * @throws IllegalArgumentException if {@code maxKeyLength} is out of range
     */
    public Builder maxKeyLength(int maxKeyLength) {
      Checks.check(maxKeyLength >= 1 && maxKeyLength <= 65_536, "maxKeyLength", "between 1 and 65536", maxKeyLength);
      this.maxKeyLength = maxKeyLength;
      return this;
    }

    /**
     * Sets each key's fleet-wide refill rate. Unless {@link #burst(int)} is called, the burst is
     * the rate's {@link Rate#permits() permits} as written (clamped to {@link Integer#MAX_VALUE}).
     * Which rates Redis holds exactly: see {@link RedisRateLimiter.Builder#rate(Rate)}.
     *
     * @param rate the rate for each key, over the whole fleet
     * @return this builder
     * @throws IllegalArgumentException if the rate needs a time unit finer than 2^-40 µs
     * @throws NullPointerException if {@code rate} is null
     */
    public Builder rate(Rate rate) {
      config.rate(rate);
      return this;
    }

    /**
     * Shorthand for {@code rate(Rate.of(permits, period))}.
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive
     * @return this builder
     * @throws IllegalArgumentException see {@link Rate#of(long, Duration)} and {@link #rate(Rate)}
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      return rate(Rate.of(permits, period));
    }

    /**
     * Sets each key's capacity.
     *
     * @param burst the capacity, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code burst < 1}
     */
    public Builder burst(int burst) {
      config.burst(burst);
      return this;
    }

    /**
     * Sets the longest a check waits for Redis, a NOSCRIPT reload included; default 50 ms.
     *
     * @param timeout a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code timeout} is not positive
     * @throws NullPointerException if {@code timeout} is null
     */
    public Builder timeout(Duration timeout) {
      config.timeout(timeout);
      return this;
    }

    /**
     * Sets how long the limiter stays on its fallback after Redis fails before probing it again;
     * default 1 s.
     *
     * @param coolDown a positive duration
     * @return this builder
     * @throws IllegalArgumentException if {@code coolDown} is not positive
     * @throws NullPointerException if {@code coolDown} is null
     */
    public Builder coolDown(Duration coolDown) {
      config.coolDown(coolDown);
      return this;
    }

    /**
     * Sets what to decide while Redis is unavailable; default {@link FailurePolicy#FAIL_LOCAL}.
     *
     * @param failurePolicy the policy
     * @return this builder
     * @throws NullPointerException if {@code failurePolicy} is null
     */
    public Builder failurePolicy(FailurePolicy failurePolicy) {
      config.failurePolicy(failurePolicy);
      return this;
    }

    /**
     * Sets how many servers share the limit, for {@link FailurePolicy#FAIL_LOCAL}'s per-key share;
     * default 1 (set it to the fleet's size).
     *
     * @param expectedServers the fleet's size, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code expectedServers < 1}
     */
    public Builder expectedServers(int expectedServers) {
      config.expectedServers(expectedServers);
      return this;
    }

    /**
     * Sets the most keys the {@link FailurePolicy#FAIL_LOCAL} fallback holds at once; default
     * 100,000. See {@link KeyedTokenBucket} for what happens at the maximum.
     *
     * @param fallbackMaxKeys the maximum, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code fallbackMaxKeys < 1}
     */
    public Builder fallbackMaxKeys(int fallbackMaxKeys) {
      this.fallbackMaxKeys = Checks.atLeast(fallbackMaxKeys, 1, "fallbackMaxKeys");
      return this;
    }

    /**
     * Sets the time source of the cool-down, the local fallback and the fallback time; default
     * {@link Ticker#system()}. The Redis timeout is always real time.
     *
     * @param ticker the ticker
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      config.ticker(ticker);
      return this;
    }

    /**
     * Sets how waiting acquisitions wait; default {@link Sleeper#system()}.
     *
     * @param sleeper the sleeper
     * @return this builder
     * @throws NullPointerException if {@code sleeper} is null
     */
    public Builder sleeper(Sleeper sleeper) {
      config.sleeper(sleeper);
      return this;
    }

    /**
     * Sets the listener told of rejections, Redis errors and fallback switches; default
     * {@link EventListener#logging()}, wrapped with {@link EventListener#guarded(EventListener)}.
     * Events never contain keys.
     *
     * @param listener the listener
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      config.listener(listener);
      return this;
    }

    /**
     * Builds the limiter and, in the background, loads the script into Redis (best effort).
     *
     * @return a new limiter
     * @throws IllegalStateException if no connection or no rate was set
     * @throws IllegalArgumentException if the burst is too large for the rate, the default prefix
     *     built from the name is too long, or {@code expectedServers} makes this server's share an
     *     invalid rate (the message names {@code expectedServers})
     */
    public RedisKeyedRateLimiter build() {
      return new RedisKeyedRateLimiter(this);
    }
  }
}
