package dev.shepherd.ratelimit;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

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
 *   <li><b>Exact.</b> It grants a request if and only if an ideal token bucket with the same
 *       {@link Rate}, capacity and history, observing the same ticker readings, would. There is no
 *       rounding and no drift, at any rate, and across silences of any length up to 292 years of
 *       ticker time.
 *   <li><b>Exact retry-after.</b> {@link #acquireOrRetryAfterNanos(int)} returns the smallest whole
 *       number of nanoseconds after which the same request would be granted.
 *   <li><b>Any ticker origin.</b> Tickers starting near {@link Long#MIN_VALUE} or wrapping past
 *       {@link Long#MAX_VALUE} work unchanged.
 *   <li><b>A rate change</b> ({@link #setRate(Rate)}) governs every decision from the call on: the
 *       bucket keeps the permits it holds (or owes, rounded in its favour) and refills at the new
 *       rate from then; what was granted or reserved before stands.
 * </ul>
 *
 * <h2>Cost</h2>
 * One compare-and-set per grant; granting allocates nothing, takes no lock, logs nothing and emits
 * no event. Refusals emit a {@link dev.shepherd.core.Event.Kind#REJECTED} event (none, and no
 * allocation, with {@link EventListener#noop()}).
 *
 * <h2>Waiting</h2>
 * {@link #tryAcquire(int, Duration)} reserves the permits at once and sleeps until they are due. If
 * the sleep ends in an exception (an interrupt, or anything the {@link Sleeper} throws), the
 * reservation is returned if nobody has taken permits since; otherwise it stays consumed, as if the
 * caller had used its permits at their time, because the callers behind it were already promised
 * their times. The sleeper's exception is then rethrown as it is: {@link InterruptedException} for
 * an interrupt. A reservation is applied as the same request arriving at its release time (a whole
 * nanosecond), so release times obey every guarantee above. Reservations queue at most
 * {@code max(1 hour, refill time)} beyond a full burst's debt, and the whole debt never exceeds
 * 2^61 time units of {@code 1/S} ns, {@code S} being the numerator of the rate in permits per
 * nanosecond in lowest terms (1 at 10 per second, 3 at 3 per second): 73 years when {@code S = 1},
 * but only 38 minutes at 1,000,003 per second. A wait needing more is refused as if it exceeded
 * {@code maxWait}.
 *
 * <p>Thread-safe.
 */
public final class TokenBucket implements RateLimiter {

  private final Tally tally;
  private final int burst;
  /** The kernel with the bucket's cell; replaced, never mutated, by {@link #setRate(Rate)}. */
  private volatile Gcra gcra;
  private final ReentrantLock rateChange = new ReentrantLock();

  private TokenBucket(Builder b) {
    this.burst = b.burst;
    this.tally = new Tally(b.name, Tally.guarded(b.listener));
    this.gcra = Gcra.bucket(b.rate, b.burst, true, b.startFull, b.ticker, b.sleeper, tally);
  }

  /**
   * Returns a builder; {@link Builder#rate(Rate)} (or one of its shorthands) must be called before
   * {@link Builder#build()}.
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
    return tally.name;
  }

  /**
   * {@inheritDoc}
   *
   * <p>A request may ask for at most {@link #burst()} permits.
   */
  @Override
  public long acquireOrRetryAfterNanos(int permits) {
    for (;;) {
      long r = gcra.acquire(permits);
      if (r != Gcra.DEAD) { // DEAD: the rate changed under this call; decide on the new cell
        return r;
      }
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>If the wait ends in an exception, the reservation is given back when nobody has taken
   * permits since it was made, and otherwise stays consumed; see the class documentation.
   *
   * @throws InterruptedException if interrupted while waiting (any other exception the sleeper
   *     throws is rethrown as it is)
   */
  @Override
  public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    long maxWaitNanos = Durations.toNanosSaturated(Checks.nonNegative(maxWait, "maxWait"));
    for (;;) {
      long r = gcra.tryAcquire(permits, maxWaitNanos);
      if (r != Gcra.DEAD) {
        return r == 0;
      }
    }
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
   * Returns the refill rate now, as written.
   *
   * @return the rate
   */
  public Rate rate() {
    return gcra.rate;
  }

  /**
   * Changes the refill rate from now on; the burst stays. The bucket keeps the permits it holds
   * now, or the permits it owes (to granted requests and reservations beyond its capacity),
   * rounded in its favour to a whole time unit of the new rate, and refills at {@code rate} from
   * this call on: a bucket halfway full stays halfway full, and a caller told to come back in one
   * interval of the old rate may be told a different time now. Grants and reservations made before
   * stand: a sleeping reservation wakes at its time, but if its sleep ends in an exception its
   * permits are no longer given back. Calls racing with this one are decided at the old rate
   * before it or at the new rate after it, never by a mixture. Not on any grant path: it takes a
   * lock and allocates.
   *
   * @param rate the new refill rate
   * @throws IllegalArgumentException if the burst would take longer than 2^60 time units to
   *     refill at {@code rate} (the bucket is left unchanged)
   * @throws NullPointerException if {@code rate} is null
   */
  public void setRate(Rate rate) {
    Objects.requireNonNull(rate, "rate");
    rateChange.lock();
    try {
      gcra = gcra.withRate(rate);
    } finally {
      rateChange.unlock();
    }
  }

  @Override
  public long grantedCount() {
    return tally.grantedCount();
  }

  @Override
  public long rejectedCount() {
    return tally.rejectedCount();
  }

  @Override
  public String toString() {
    return "TokenBucket{'" + tally.name + "', " + gcra.rate + ", burst=" + burst + "}";
  }

  /**
   * Builds a {@link TokenBucket}. Each setter validates its own value at once; {@link #build()}
   * checks what depends on several (the burst's refill time at the rate). Not thread-safe; a
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
     * Sets the refill rate. Unless {@link #burst(int)} is called, the burst is the rate's
     * {@link Rate#permits() permits} as written (clamped to {@link Integer#MAX_VALUE}).
     *
     * @param rate the refill rate
     * @return this builder
     * @throws NullPointerException if {@code rate} is null
     */
    public Builder rate(Rate rate) {
      this.rate = Objects.requireNonNull(rate, "rate");
      if (!burstSet) {
        this.burst = (int) Math.min(Integer.MAX_VALUE, rate.permits());
      }
      return this;
    }

    /**
     * Sets the refill rate to {@code permits} every {@code period}, exactly: shorthand for
     * {@code rate(Rate.of(permits, period))}.
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive and shorter than about 292 years
     * @return this builder
     * @throws IllegalArgumentException see {@link Rate#of(long, Duration)}
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      return rate(Rate.of(permits, period));
    }

    /**
     * Sets the refill rate in permits per second, read as {@link Rate#perSecond(double)} reads it
     * (exactly for every integer and every decimal of up to nine places). Unless
     * {@link #burst(int)} is called, the burst is {@code max(1, floor(permitsPerSecond))}.
     *
     * @param permitsPerSecond the rate, positive, finite and at most 10^9
     * @return this builder
     * @throws IllegalArgumentException see {@link Rate#perSecond(double)}
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
        throw new IllegalStateException("rate must be set: call rate(Rate), rate(permits, period) or permitsPerSecond");
      }
      return new TokenBucket(this);
    }
  }
}
