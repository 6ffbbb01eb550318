package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Objects;

/**
 * An exact, lock-free token bucket: permits refill continuously at a fixed rate up to a burst
 * capacity, and a request is granted if and only if an ideal token bucket would grant it.
 *
 * <pre>{@code
 * TokenBucket connect = TokenBucket.builder()
 *     .name("connect")
 *     .rate(100, Duration.ofSeconds(1))   // refill: 100 permits per second
 *     .burst(200)                         // capacity
 *     .build();
 * long wait = connect.acquireOrRetryAfterNanos(1);
 * if (wait > 0) {
 *   response.setHeader("Retry-After", RetryAfter.formatNanos(wait));   // 429
 * }
 * }</pre>
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li><b>Never too many.</b> In any interval of length {@code d} the bucket grants at most
 *       {@code burst + rate × d} permits, for every schedule of requests and every interleaving of
 *       threads, unconditionally. It is not a fixed window, which lets through up to twice the limit
 *       around a window's edge.
 *   <li><b>Exact.</b> It grants a request if and only if an ideal token bucket with the same rate,
 *       capacity and history, observing the same ticker readings, would. There is no rounding and no
 *       drift: time is counted in units of {@code 1/S} ns, where {@code S} is the denominator of the
 *       emission interval in lowest terms (1 when the interval is a whole number of nanoseconds, for
 *       example at 10 per second; 3 at 3 per second, whose interval is 333,333,333⅓ ns), so every
 *       quantity is an integer. Exactness also holds across silences of any length (up to 292
 *       years of ticker time): one {@code long} of state cannot by itself tell every instant on a
 *       {@code 1/S} ns grid apart over a long silence (at an odd rate such as 1,000,003 per second
 *       it repeats every 5 hours), so the bucket also keeps a coarse write stamp, refreshed at most
 *       once a second, and a debt that no write since that stamp could still owe is known to be
 *       paid.
 *   <li><b>Exact retry-after.</b> {@link #acquireOrRetryAfterNanos(int)} returns the smallest whole
 *       number of nanoseconds after which the same request would be granted.
 *   <li><b>Any ticker origin.</b> Arithmetic is modular on differences, so tickers starting near
 *       {@link Long#MIN_VALUE} or wrapping past {@link Long#MAX_VALUE} work unchanged.
 * </ul>
 *
 * <h2>Implementation and cost</h2>
 * The state is a single {@code long}, the GCRA's theoretical arrival time, updated by one
 * compare-and-set; granting allocates nothing, takes no lock, logs nothing and emits no event.
 * Rejections emit a {@link dev.shepherd.core.Event.Kind#REJECTED} event. Counters are
 * {@link java.util.concurrent.atomic.LongAdder}s.
 *
 * <h2>Waiting</h2>
 * {@link #tryAcquire(int, Duration)} reserves the permits at once and sleeps until they are due. If
 * the sleep is interrupted (or the sleeper throws), the reservation is returned if nobody has taken
 * permits since; otherwise it stays consumed, as if the caller had used its permits at their time,
 * because the callers behind it were already promised their times. Either way
 * {@link InterruptedException} is thrown. A reservation is applied as the same request arriving at
 * its release time (a whole nanosecond), so release times obey every guarantee above. Reservations
 * queue at most {@code max(1 hour, refill time)} beyond a full burst's debt; a wait needing more is
 * refused as if it exceeded {@code maxWait}.
 *
 * <p>Thread-safe. Rates from one permit per day (or slower) to 10^9 per second are supported.
 */
public final class TokenBucket implements RateLimiter {

  private final Gcra gcra;
  private final int burst;

  private TokenBucket(Builder b) {
    this.burst = b.burst;
    this.gcra = new Gcra(
        b.name, b.rate, b.rate.tauForBurst(b.burst), "the burst", b.startFull, b.ticker, b.sleeper,
        EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener));
  }

  /**
   * Returns a builder; {@link Builder#rate(long, Duration)} (or
   * {@link Builder#permitsPerSecond(double)}) must be called before {@link Builder#build()}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a bucket named {@code name} holding {@code permits} permits and refilling them every
   * {@code period}, starting full, on the system clock with the default logging listener.
   *
   * @param name the instance name, used in rejections and events
   * @param permits the refill (and burst) in permits per {@code period}, at least 1
   * @param period the refill period, positive
   * @return the bucket
   * @throws IllegalArgumentException if a value is out of range (see {@link Builder})
   * @throws NullPointerException if an argument is null
   */
  public static TokenBucket of(String name, int permits, Duration period) {
    return builder().name(name).rate(permits, period).burst(permits).build();
  }

  @Override
  public String name() {
    return gcra.name;
  }

  /**
   * {@inheritDoc}
   *
   * <p>A request may ask for at most {@link #burst()} permits.
   */
  @Override
  public long acquireOrRetryAfterNanos(int permits) {
    return gcra.acquireOrRetryAfterNanos(permits);
  }

  /**
   * {@inheritDoc}
   *
   * <p>If interrupted while waiting, the reservation is given back when nobody has taken permits
   * since it was made, and otherwise stays consumed; see the class documentation.
   */
  @Override
  public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    return gcra.tryAcquire(permits, maxWait);
  }

  /**
   * Returns how many whole permits could be taken now; a snapshot for monitoring.
   *
   * @return the permits available now, between 0 and {@link #burst()}
   */
  public long availablePermits() {
    return gcra.availablePermits();
  }

  /**
   * Returns the capacity: the most permits granted at once, and the most one request may ask for.
   *
   * @return the burst
   */
  public int burst() {
    return burst;
  }

  /**
   * Returns the numerator of the refill rate in lowest terms: {@link #ratePermits()} permits every
   * {@link #ratePeriod()}. For {@code rate(10, 1 s)} it is 1 (per 100 ms); for 3 per second, 3.
   *
   * @return the permits per {@link #ratePeriod()}
   */
  public long ratePermits() {
    return gcra.rate.permits();
  }

  /**
   * Returns the denominator of the refill rate in lowest terms; see {@link #ratePermits()}.
   *
   * @return the period of {@link #ratePermits()} permits
   */
  public Duration ratePeriod() {
    return gcra.rate.period();
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
    return "TokenBucket{'" + gcra.name + "', " + gcra.rate + ", burst=" + burst + "}";
  }

  /**
   * Builds a {@link TokenBucket}; validates everything in {@link #build()}. Not thread-safe; a
   * builder may build several buckets, each with its own state.
   */
  public static final class Builder {

    private String name = "token-bucket";
    private Rate rate;
    private int burst;
    private boolean burstSet;
    private boolean startFull = true;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance name used in rejections, events and logs; default {@code "token-bucket"}.
     *
     * @param name a non-blank name
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the refill rate to {@code permits} every {@code period}, exactly. Unless
     * {@link #burst(int)} is called, the burst is {@code permits} too (clamped to
     * {@link Integer#MAX_VALUE}).
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive and shorter than about 292 years
     * @return this builder
     * @throws IllegalArgumentException if {@code permits <= 0}, {@code period} is not positive, or
     *     the rate exceeds one permit per nanosecond (10^9 per second)
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      this.rate = Rate.of(permits, period);
      if (!burstSet) {
        this.burst = (int) Math.min(Integer.MAX_VALUE, permits);
      }
      return this;
    }

    /**
     * Sets the refill rate in permits per second. The {@code double} is read as the simplest
     * fraction that rounds to it, so {@code 3.0}, {@code 0.1} and {@code 1.0 / 3} mean exactly 3 per
     * second, one per 10 s and one per 3 s. A {@code double} that is no such simple
     * fraction (the result of arithmetic, say) is approximated to within 2^-20 ns per interval.
     * Unless {@link #burst(int)} is called, the burst is {@code max(1, floor(permitsPerSecond))}.
     *
     * @param permitsPerSecond the rate, positive, finite and at most 10^9
     * @return this builder
     * @throws IllegalArgumentException if the rate is not positive, not finite, above 10^9 per
     *     second, or slower than one permit per 36 years
     */
    public Builder permitsPerSecond(double permitsPerSecond) {
      this.rate = Rate.perSecond(permitsPerSecond);
      if (!burstSet) {
        this.burst = (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.floor(permitsPerSecond)));
      }
      return this;
    }

    /**
     * Sets the capacity: the most permits the bucket holds, hence the largest burst and the largest
     * single request. The refill time {@code burst × interval} must not exceed 2^60 time units (36
     * years when the interval is a whole number of nanoseconds).
     *
     * @param burst the capacity, at least 1
     * @return this builder
     * @throws IllegalArgumentException if {@code burst < 1}
     */
    public Builder burst(int burst) {
      this.burst = Checks.atLeast(burst, 1, "burst");
      this.burstSet = true;
      return this;
    }

    /**
     * Sets whether the bucket starts full (the default: the first {@code burst} permits are granted
     * at once) or empty (the first permit comes one emission interval after {@link #build()}).
     *
     * @param startFull {@code true} to start full, {@code false} to start empty
     * @return this builder
     */
    public Builder startFull(boolean startFull) {
      this.startFull = startFull;
      return this;
    }

    /**
     * Sets the time source; default {@link Ticker#system()}. Tests pass a
     * {@code ManualClock}.
     *
     * @param ticker the ticker
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets how {@link TokenBucket#tryAcquire(int, Duration)} waits; default {@link Sleeper#system()}.
     *
     * @param sleeper the sleeper
     * @return this builder
     * @throws NullPointerException if {@code sleeper} is null
     */
    public Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Sets the listener told of every rejection; default {@link EventListener#logging()}. It is
     * wrapped with {@link EventListener#guarded(EventListener)}.
     *
     * @param listener the listener
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the bucket, reading the ticker once for its starting time.
     *
     * @return a new bucket
     * @throws IllegalStateException if no rate was set
     * @throws IllegalArgumentException if the burst's refill time exceeds 2^60 time units
     */
    public TokenBucket build() {
      if (rate == null) {
        throw new IllegalStateException("rate must be set: call rate(permits, period) or permitsPerSecond(rate)");
      }
      return new TokenBucket(this);
    }
  }
}
