package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.ratelimit.Rate;
import dev.shepherd.ratelimit.RateLimitExceededException;
import dev.shepherd.ratelimit.RateLimiter;
import dev.shepherd.ratelimit.TokenBucket;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * One rate limit shared by every server of a fleet, kept in Redis: a token bucket (GCRA) decided by
 * one atomic Lua script per check, on Redis's own clock.
 *
 * <pre>{@code
 * StatefulRedisConnection<String, String> redis = RedisClient.create("redis://cache:6379").connect();
 * RedisRateLimiter connect = RedisRateLimiter.builder()
 *     .name("connect")
 *     .connection(redis)
 *     .rate(500, Duration.ofSeconds(1))    // for the whole fleet
 *     .burst(1000)
 *     .expectedServers(10)                 // fail-local share: 50 per second, burst 100
 *     .build();
 * long wait = connect.acquireOrRetryAfterNanos(1);
 * if (wait > 0) {
 *   response.setHeader("Retry-After", RetryAfter.formatNanos(wait));   // 429
 * }
 * }</pre>
 *
 * <h2>Guarantees while Redis answers</h2>
 * <ul>
 *   <li><b>One limit for the fleet.</b> Every limiter on the same key, on any server, draws from
 *       the same bucket: together they grant at most {@code burst + rate × d} permits in any
 *       interval of length {@code d} of Redis time, the bound of a local {@link TokenBucket}.
 *   <li><b>One round trip, atomic.</b> A check is one {@code EVALSHA} of a Lua script that reads the
 *       bucket, decides and writes it back; Redis runs scripts one at a time, so concurrent checks
 *       from any number of servers are decided one after another. No client-side retry loop.
 *   <li><b>One clock.</b> The script reads Redis's {@code TIME}, so the servers' clocks and their
 *       skew play no part.
 *   <li><b>Exact at Redis's resolution</b>, for every rate {@link Builder#rate(Rate)} accepts. Time
 *       is Redis's microseconds; every quantity is an integer below 2^53 (exact in Lua's doubles),
 *       in units of {@code 1/S} µs chosen so that the emission interval is whole (3 per second: a
 *       third of a microsecond; {@code S} at most 2^40): no rounding, no drift.
 *       A request is granted iff an ideal token bucket, observing Redis's clock at the instant the
 *       script runs, would grant it. The retry-after is exact in Redis time: the first whole
 *       microsecond at which the same request would be granted, in nanoseconds (a multiple of
 *       1000), measured from when the script ran; the reply's network trip only makes a caller
 *       come back a little late, never early.
 *   <li><b>Idle keys vanish.</b> Each write sets a TTL of the time until the bucket is full again
 *       (rounded up to the next millisecond), and a missing key is a full bucket: Redis holds only
 *       buckets in use.
 *   <li><b>Restarts and failovers.</b> When Redis answers {@code NOSCRIPT} (its script cache was
 *       emptied), the limiter sends the script's source once with {@code EVAL}, within the same
 *       timeout.
 *   <li><b>Standalone, Sentinel or Cluster.</b> {@link Builder#connection(StatefulRedisConnection)}
 *       takes a standalone connection or a master–replica one found through Sentinel
 *       ({@code MasterReplica.connect(client, StringCodec.UTF8, RedisURI.create(
 *       "redis-sentinel://sentinel:26379#mymaster"))}); {@link Builder#clusterConnection(
 *       StatefulRedisClusterConnection)} a Redis Cluster connection. Each check touches one key, so
 *       in a cluster it runs on that key's master; redirections ({@code MOVED}, {@code ASK}) are
 *       followed within the check's timeout, and {@code CLUSTERDOWN}, {@code TRYAGAIN} or a dead
 *       master fall back like any unavailable Redis.
 * </ul>
 *
 * <h2>Failover: what a promoted replica can grant again</h2>
 * Redis replicates asynchronously, so a failover loses the writes the promoted replica had not
 * received: the new master holds the bucket as it was {@code λ} earlier, {@code λ} being the
 * replication lag at promotion plus the time the fleet kept writing to the old master. The permits
 * granted in that window can be granted once more: at most {@code burst + rate × λ} extra per
 * failover (plus {@code rate × δ} if the new master's clock is {@code δ} ahead of the old one's).
 * The lag is the master's {@code master_repl_offset} minus the replica's {@code slave_repl_offset}
 * ({@code INFO replication}), in bytes: divided by the bytes one grant replicates, it bounds the
 * extra permits directly.
 *
 * <h2>When Redis is slow or down</h2>
 * Each check waits at most {@link Builder#timeout(Duration) timeout} (default 50 ms), including a
 * NOSCRIPT reload. After a timeout or connection failure, the limiter stops asking Redis: for a
 * {@link Builder#coolDown(Duration) cool-down} (default 1 s) every check is decided at once by the
 * {@link FailurePolicy} (default {@link FailurePolicy#FAIL_LOCAL}: an in-process token bucket at
 * this server's share, {@code rate / expectedServers}, or {@code rate / live servers} with
 * {@link Builder#heartbeat(Duration)}, see {@link #fleetServers()}); then one background {@code SCRIPT LOAD}
 * probes Redis, and the first answer brings the limiter back to the global limit. So a dead Redis
 * costs one timeout per in-flight request when it dies, and nothing after. Switching is reported
 * to the {@link EventListener} ({@code FALLBACK}, then {@code STATE_CHANGED}; the default listener
 * logs at most one summary line per 10 s), and counted ({@link #redisErrorCount()},
 * {@link #fallbackCount()}, {@link #timeInFallback()}). A reply that is not what the script
 * returns, or an error reply other than Redis being unavailable (a malformed value at the key, a
 * key of the wrong type), is reported as an error and the request is <b>refused</b>, whatever the
 * policy: never a silent grant.
 *
 * <h2>Lease mode, for a hot key</h2>
 * With {@link Builder#lease(int) lease(n)}, a check that finds this limiter's lease empty takes up
 * to {@code n} permits in one script call (at least the ones it asks for, if they are there), and
 * later checks spend the rest locally: one CAS, no round trip. One refill runs at a time; callers
 * arriving meanwhile ask Redis directly. Each limiter then holds at most {@code n} permits Redis
 * has granted but nobody has spent, so the fleet's bound becomes
 * {@code burst + rate × d + servers × n} in any window of length {@code d}; leased permits stay
 * spendable while Redis is down.
 *
 * <h2>Waiting</h2>
 * {@link #tryAcquire(int, Duration)} reserves the permits in Redis when they will be available
 * within {@code maxWait}, then sleeps through the {@link Sleeper}. Reservations queue at most
 * {@code max(1 hour, refill time)} ahead, and never more than 2^52 units of {@code 1/S} µs less
 * twice the refill time: 142 years at 10 per second, but 4.5 s at 999,999,937 per second. If the
 * sleep ends in an exception (an interrupt, or anything the sleeper throws) the reservation stays
 * consumed, as if the caller had used its permits at their time, and the exception is rethrown: it
 * never lets anyone in early.
 *
 * <h2>Threads and cost</h2>
 * Thread-safe and lock-free. The synchronous methods block the calling thread for at most the
 * timeout (uninterruptibly; the interrupt status is kept) and are virtual-thread friendly. The
 * asynchronous ones never block; their stages complete on Lettuce's I/O thread (or at once on the
 * caller's while on the fallback) and never exceptionally because of Redis. A check costs one
 * Lettuce command; the limiter adds no lock and, for one permit, no allocation besides the boxed
 * result of the asynchronous form. The connection is shared, not owned: the limiter never closes
 * it. Use a {@code String} codec (the default of {@code RedisClient.connect()}).
 */
public final class RedisRateLimiter implements RateLimiter {

  private final RedisGcra gcra;
  private final Config config;
  private final String key;
  private final String[] keys;

  private RedisRateLimiter(Builder b) {
    Config c = b.config;
    RedisRate rate = c.rate();
    this.config = c.copy();
    this.key = b.key != null ? b.key : Config.DEFAULT_PREFIX + c.name;
    Config.checkConfiguredKey(key, "key", false);
    this.keys = new String[] {key};
    Rate fleetRate = c.rate;
    int fleetBurst = c.burst;
    String localName = c.name + "-local";
    Ticker ticker = c.ticker;
    Sleeper sleeper = c.sleeper;
    // This server's share; replaced whole when the fleet's count changes (see RedisGcra.Local#share).
    AtomicReference<TokenBucket> share = new AtomicReference<>(
        shareBucket(localName, fleetRate, fleetBurst, c.initialServers(), true, ticker, sleeper));
    this.gcra = new RedisGcra(c, rate, new RedisGcra.Local() {
      @Override
      public long acquireOrRetryAfterNanos(String k, int permits) {
        return share.get().acquireOrRetryAfterNanos(permits);
      }

      @Override
      public boolean tryAcquire(String k, int permits, Duration maxWait) throws InterruptedException {
        return share.get().tryAcquire(permits, maxWait);
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
        TokenBucket b = share.get();
        return b.rate() + ", burst " + b.burst();
      }

      @Override
      public void share(int servers, boolean onFallback) {
        try {
          share.set(shareBucket(localName, fleetRate, fleetBurst, servers, !onFallback, ticker, sleeper));
        } catch (IllegalArgumentException | ArithmeticException e) {
          // A count so large that the share is no rate a bucket holds: keep the last share.
        }
      }
    });
  }

  /** One server's share among {@code servers}: rate / servers, burst max(1, burst / servers). */
  private static TokenBucket shareBucket(String name, Rate rate, int burst, int servers, boolean full,
      Ticker ticker, Sleeper sleeper) {
    return TokenBucket.builder()
        .name(name)
        .rate(Rate.of(rate.permits(), rate.period().multipliedBy(servers)))
        .burst(Math.max(1, burst / servers))
        .startFull(full)
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

  @Override
  public String name() {
    return gcra.name;
  }

  /**
   * Returns the Redis key holding this limiter's bucket.
   *
   * @return the key
   */
  public String key() {
    return key;
  }

  /**
   * Takes {@code permits} permits if they are all available now, or says how long until they would
   * be; never waits longer than the timeout. A refusal changes nothing.
   *
   * <p>Asks Redis (one round trip, at most the timeout) unless the limiter is on its fallback. The
   * retry-after is a whole number of microseconds, in nanoseconds; see the class documentation.
   *
   * @param permits how many permits, between 1 and {@link #burst()}
   * @return {@code 0} if the permits were granted, otherwise the nanoseconds (positive) until the
   *     same request would be granted
   * @throws IllegalArgumentException if {@code permits <= 0} or {@code permits > burst()}
   */
  @Override
  public long acquireOrRetryAfterNanos(int permits) {
    return gcra.acquire(keys, null, permits);
  }

  /**
   * Takes {@code permits} permits, waiting only if they are certain to be available within
   * {@code maxWait}; otherwise returns {@code false} at once.
   *
   * <p>The permits are reserved in Redis (at most as far ahead as the class documentation says; a
   * longer wait is refused as if it exceeded {@code maxWait}), then the caller sleeps. If the sleep
   * ends in an exception, the reservation stays consumed. On the fallback, the local policy decides and
   * {@link FailurePolicy#FAIL_LOCAL} may wait on the local bucket.
   *
   * @param permits how many permits, between 1 and {@link #burst()}
   * @param maxWait the longest acceptable wait, zero or more
   * @return {@code true} once the permits are granted (after any wait); {@code false} at once when
   *     they would not be available within {@code maxWait}
   * @throws InterruptedException if the thread is interrupted while waiting
   * @throws IllegalArgumentException if {@code permits} is out of range or {@code maxWait} negative
   * @throws NullPointerException if {@code maxWait} is null
   */
  @Override
  public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    return gcra.tryAcquire(keys, null, permits, maxWait);
  }

  /**
   * The asynchronous {@link #acquireOrRetryAfterNanos(int)}: never blocks, and completes with
   * {@code 0} if the permits were granted, otherwise with the retry-after in nanoseconds. The stage
   * never completes exceptionally because of Redis: a failure is decided by the failure policy.
   *
   * @param permits how many permits, between 1 and {@link #burst()}
   * @return a stage completing with the decision
   * @throws IllegalArgumentException if {@code permits <= 0} or {@code permits > burst()}
   */
  public CompletionStage<Long> acquireOrRetryAfterNanosAsync(int permits) {
    return gcra.acquireAsync(keys, null, permits);
  }

  /**
   * The asynchronous {@link #tryAcquire()}: takes one permit if available now; never blocks.
   *
   * @return a stage completing with whether the permit was granted
   */
  public CompletionStage<Boolean> tryAcquireAsync() {
    return tryAcquireAsync(1);
  }

  /**
   * The asynchronous {@link #tryAcquire(int)}; never blocks.
   *
   * @param permits how many permits, between 1 and {@link #burst()}
   * @return a stage completing with whether the permits were granted
   * @throws IllegalArgumentException if {@code permits <= 0} or {@code permits > burst()}
   */
  public CompletionStage<Boolean> tryAcquireAsync(int permits) {
    return gcra.acquireAsync(keys, null, permits).thenApply(wait -> wait == 0);
  }

  /**
   * Takes one permit and starts {@code action}, without blocking: the check is asynchronous. The
   * action is started on the thread that completes the check, which may be Lettuce's I/O thread,
   * so it must only start its work, as {@link dev.shepherd.core.Policy#callAsync} asks.
   *
   * @param action starts the guarded work and returns the stage it will complete
   * @param <T> the result type
   * @return the stage {@code action} returned, or a stage failed with a
   *     {@link RateLimitExceededException} (or with what {@code action} threw)
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    return gcra.acquireAsync(keys, null, 1).thenCompose(wait -> start(name(), wait, action));
  }

  static <T> CompletionStage<T> start(String name, long wait, Supplier<? extends CompletionStage<T>> action) {
    if (wait != 0) {
      return CompletableFuture.failedFuture(new RateLimitExceededException(name, wait));
    }
    try {
      return Objects.requireNonNull(action.get(), "action returned null");
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Returns the capacity: the most permits granted at once, and the most one request may ask for.
   *
   * @return the burst
   */
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

  @Override
  public long grantedCount() {
    return gcra.grantedCount();
  }

  @Override
  public long rejectedCount() {
    return gcra.rejectedCount();
  }

  /**
   * Returns how many checks were decided: {@link #grantedCount()} plus {@link #rejectedCount()}.
   *
   * @return the count of decided checks
   */
  public long checkCount() {
    return gcra.grantedCount() + gcra.rejectedCount();
  }

  /**
   * Returns how many Redis calls failed: timeouts, connection failures, error replies, replies of
   * the wrong shape, failed probes. Each one was also reported as a {@code FAILED} or
   * {@code FALLBACK} event carrying the exception.
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
   * Returns whether the limiter is on its fallback now: Redis failed and has not answered a probe
   * since.
   *
   * @return {@code true} while checks are decided by the failure policy
   */
  public boolean fallbackActive() {
    return gcra.fallbackActive();
  }

  /**
   * Returns the total time spent on the fallback, including the current episode, measured on the
   * limiter's {@link Ticker}.
   *
   * @return the time on the fallback since the limiter was built
   */
  public Duration timeInFallback() {
    return gcra.timeInFallback();
  }

  /**
   * Returns how many servers this limiter shares the limit with now, counting itself: the live
   * servers from the last heartbeat while Redis answers (with {@link Builder#heartbeat(Duration)}),
   * the {@link Builder#fleetSize(IntSupplier) fleet-size source}'s answer during an outage, or else
   * the last count; {@link Builder#expectedServers(int) expectedServers} until one is known.
   *
   * @return the server count behind {@link #fallbackShare()}, at least 1
   */
  public int fleetServers() {
    return gcra.fleetServers();
  }

  /**
   * Returns this server's share of the limit, what {@link FailurePolicy#FAIL_LOCAL} admits while
   * Redis is unavailable: {@code rate / fleetServers()}.
   *
   * @return the share in use now
   */
  public Rate fallbackShare() {
    return gcra.fallbackShare();
  }

  /**
   * Returns the permits this limiter has taken from Redis by lease and not yet spent: 0 unless
   * {@link Builder#lease(int) lease mode} is on, never more than the lease size.
   *
   * @return the permits held now (a snapshot)
   */
  public long leasedPermits() {
    return gcra.leasedPermits();
  }

  /**
   * Returns the fleet-wide rate.
   *
   * @return the rate every limiter on the key shares
   */
  public Rate rate() {
    return config.rate;
  }

  @Override
  public String toString() {
    return "RedisRateLimiter{" + gcra.describe() + ", key=" + key + "}";
  }

  /**
   * Builds a {@link RedisRateLimiter}. Each setter validates its own value at once;
   * {@link #build()} checks what depends on several (the burst at the rate, the default key, this
   * server's share). Not thread-safe; may build several limiters.
   */
  public static final class Builder {

    private final Config config = new Config("redis-rate-limiter");
    private String key;

    private Builder() {}

    /**
     * Sets the instance name used in rejections, events and logs, and in the default key;
     * default {@code "redis-rate-limiter"}.
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
     * Sets the connection the limiter sends its checks on; required. It is shared, not owned: the
     * limiter never closes it. A short reconnect delay on its client (for example
     * {@code ClientResources.builder().reconnectDelay(Delay.constant(Duration.ofMillis(100)))}) lets
     * the limiter return to Redis soon after a restart.
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
     * Sets a Redis Cluster connection to send checks on, instead of
     * {@link #connection(StatefulRedisConnection)}; shared, not owned. A check touches one key, so it
     * runs on that key's master; Lettuce follows {@code MOVED} and {@code ASK} within the check's
     * timeout. Enable adaptive topology refresh on the client
     * ({@code ClusterTopologyRefreshOptions.enableAllAdaptiveRefreshTriggers()}) so that a moved slot
     * costs one redirect, not one per check.
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
     * Turns on lease mode for a hot key: when this limiter's lease is empty, one script call takes
     * up to {@code lease} permits from Redis (at least the ones asked for), and later checks spend
     * them locally with one CAS, without a round trip. Exactness becomes a bound: every limiter on
     * the key together grants at most {@code burst + rate × d + servers × lease} permits in any
     * window of length {@code d} (each holds at most {@code lease} unspent permits at any instant).
     * Permits leased but not spent are withheld from the others until spent. Off by default.
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
     * Makes the fallback share follow the fleet: while Redis answers, this limiter announces itself
     * once per {@code interval} (on the first check after it is due: an idle limiter is not
     * counted) and learns how many limiters on this {@link #name(String) name} announced themselves
     * within the last three intervals; its share is then {@code rate / that count}. Off by default
     * (the share is {@code rate / expectedServers}).
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
     * Sets where the fleet's size comes from while Redis is unavailable (for example the
     * autoscaler's desired count), read at most once per heartbeat interval (1 s without
     * {@link #heartbeat(Duration)}): servers started during an outage, and those already running,
     * then share by the same count. Without {@link #heartbeat(Duration)} no heartbeat is sent and
     * the source gives the count at all times. An answer below 1, or an exception, is ignored.
     * Without a source the last count is kept through an outage.
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
     * Sets the Redis key of the bucket; default {@code "shepherd:ratelimit:" + name}. Every limiter
     * using the same key, on any server, shares one limit (and should be built with the same rate
     * and burst).
     *
     * @param key a non-empty key of at most 1024 bytes in UTF-8
     * @return this builder
     * @throws NullPointerException if {@code key} is null
     * @throws IllegalArgumentException if {@code key} is empty or longer than 1024 bytes
     */
    public Builder key(String key) {
      this.key = Config.checkConfiguredKey(key, "key", false);
      return this;
    }

    /**
     * Sets the fleet-wide refill rate. Unless {@link #burst(int)} is called, the burst is the rate's
     * {@link Rate#permits() permits} as written (clamped to {@link Integer#MAX_VALUE}). Redis holds
     * time in units of {@code 1/S} µs with {@code S} at most 2^40, which every rate with at most
     * 1,099,511,627 permits per period (in lowest terms) fits: {@code 10^9} per second does;
     * {@code 1,999,999,999} per 2,000,000,001 ns does not.
     *
     * @param rate the rate for the whole fleet
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
     * Sets the capacity: the most permits the fleet may take at once, and the largest request.
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
     * Sets the longest a check waits for Redis, a NOSCRIPT reload included; default 50 ms. A check
     * that gets no answer in time is decided by the failure policy.
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
     * Sets how many servers share the limit, so that {@link FailurePolicy#FAIL_LOCAL} admits this
     * server's share: {@code rate / expectedServers} with a burst of
     * {@code max(1, burst / expectedServers)}; default 1 (each server alone would admit the whole
     * limit: set it to the fleet's size).
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
     * Sets the time source of the cool-down, the local fallback and {@link #timeInFallback()};
     * default {@link Ticker#system()}. The Redis timeout is always real time.
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
     * Sets how {@link RedisRateLimiter#tryAcquire(int, Duration)} waits; default
     * {@link Sleeper#system()}.
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
     * @throws IllegalArgumentException if the burst is too large for the rate, the default key
     *     built from the name is too long, or {@code expectedServers} makes this server's share an
     *     invalid rate (the message names {@code expectedServers})
     */
    public RedisRateLimiter build() {
      return new RedisRateLimiter(this);
    }
  }
}
