package dev.shepherd.ratelimit;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * A leaky bucket as a meter: requests must conform to a steady rate, with a small jitter
 * tolerance, and nonconforming ones are refused at once. It never makes a caller wait on its own
 * (for that, see {@link LeakyBucketShaper}).
 *
 * <pre>{@code
 * LeakyBucketMeter telemetry = LeakyBucketMeter.builder()
 *     .name("telemetry")
 *     .rate(10, Duration.ofSeconds(1))          // one report per 100 ms...
 *     .tolerance(Duration.ofMillis(20))         // ...each up to 20 ms early
 *     .build();
 * if (!telemetry.tryAcquire()) { ... }          // too early: refuse
 * }</pre>
 *
 * <h2>Guarantees</h2>
 * With emission interval {@code I = 1 / rate}, a request is granted iff it comes no earlier than
 * {@code tolerance} before its theoretical time: the Generic Cell Rate Algorithm of ATM networks,
 * {@code GCRA(I, tolerance)}. It is exactly a token bucket of capacity {@code 1 + tolerance / I}
 * (not necessarily whole): with zero tolerance, exactly one permit per interval and never two
 * closer together; in any interval of length {@code d}, at most
 * {@code 1 + (tolerance + d) / I} permits. A request for {@code n} permits counts as {@code n}
 * back-to-back requests; {@code n} may be at most {@code 1 + floor(tolerance / I)}. Decisions are
 * exact and the retry-after of a refusal is the exact wait, as for {@link TokenBucket} (same
 * algorithm, same arithmetic). {@link #tryAcquire(int, Duration)} reserves as
 * {@link TokenBucket#tryAcquire(int, Duration)} does.
 *
 * <p>Granting takes one compare-and-set, no lock and no allocation; each refusal is reported as a
 * {@link dev.shepherd.core.Event.Kind#REJECTED} event. Thread-safe.
 */
public final class LeakyBucketMeter implements RateLimiter {

  private final Tally tally;
  private final Gcra gcra;
  private final Duration tolerance;

  private LeakyBucketMeter(Builder b) {
    Rate rate = b.rate;
    long toleranceUnits = rate.toUnits(Durations.toNanosSaturated(b.tolerance));
    long maxTolerance = Rate.MAX_TAU - rate.intervalUnits;
    if (toleranceUnits > maxTolerance) {
      throw Checks.invalid("tolerance", String.format(Locale.ROOT, "at most %s at %s",
          Duration.ofNanos(maxTolerance / rate.scale), rate), b.tolerance);
    }
    long tau = rate.intervalUnits + toleranceUnits;
    this.tolerance = b.tolerance;
    this.tally = new Tally(b.name, Tally.guarded(b.listener));
    this.gcra = new Gcra(rate, tau, rate.intervalUnits, rate.horizon(tau),
        (int) Math.min(Integer.MAX_VALUE, tau / rate.intervalUnits), "1 + tolerance / interval",
        b.ticker, b.sleeper, tally, 0, b.ticker.read());
  }

  /**
   * Returns a builder; a rate must be set. The tolerance defaults to zero.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return tally.name;
  }

  /**
   * {@inheritDoc}
   *
   * <p>A request may ask for at most {@code 1 + floor(tolerance / interval)} permits.
   */
  @Override
  public long acquireOrRetryAfterNanos(int permits) {
    return gcra.acquire(permits);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Reserves as {@link TokenBucket#tryAcquire(int, Duration)} does, including what happens when
   * the wait ends in an exception.
   *
   * @throws InterruptedException if interrupted while waiting (any other exception the sleeper
   *     throws is rethrown as it is)
   */
  @Override
  public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    return gcra.tryAcquire(permits, Durations.toNanosSaturated(Checks.nonNegative(maxWait, "maxWait"))) == 0;
  }

  /**
   * Returns how long a request for one permit would wait now until it conforms; a snapshot for
   * monitoring.
   *
   * @return nanoseconds, 0 when a permit would be granted at once
   */
  public long currentWaitNanos() {
    return gcra.peekWaitNanos(1);
  }

  /**
   * Returns the jitter tolerance: how early, at most, a request may come before its theoretical time.
   *
   * @return the tolerance
   */
  public Duration tolerance() {
    return tolerance;
  }

  /**
   * Returns the rate, as written.
   *
   * @return the rate
   */
  public Rate rate() {
    return gcra.rate;
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
    return "LeakyBucketMeter{'" + tally.name + "', " + gcra.rate + ", tolerance=" + tolerance + "}";
  }

  /**
   * Builds a {@link LeakyBucketMeter}. Each setter validates its own value at once; {@link #build()}
   * checks what depends on several (the tolerance at the rate). Not thread-safe; may build several
   * meters, each with its own state.
   */
  public static final class Builder {

    private String name = "leaky-bucket-meter";
    private Rate rate;
    private Duration tolerance = Duration.ZERO;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance name used in rejections, events and logs; default
     * {@code "leaky-bucket-meter"}.
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
     * Sets the rate requests must conform to.
     *
     * @param rate the rate
     * @return this builder
     * @throws NullPointerException if {@code rate} is null
     */
    public Builder rate(Rate rate) {
      this.rate = Objects.requireNonNull(rate, "rate");
      return this;
    }

    /**
     * Shorthand for {@code rate(Rate.of(permits, period))}.
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive
     * @return this builder
     * @throws IllegalArgumentException see {@link Rate#of(long, Duration)}
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      return rate(Rate.of(permits, period));
    }

    /**
     * Sets the jitter tolerance; default zero (one permit per interval, never two closer).
     *
     * @param tolerance how early, at most, a request may come before its theoretical time; zero or
     *     positive
     * @return this builder
     * @throws IllegalArgumentException if {@code tolerance} is negative
     * @throws NullPointerException if {@code tolerance} is null
     */
    public Builder tolerance(Duration tolerance) {
      this.tolerance = Checks.nonNegative(tolerance, "tolerance");
      return this;
    }

    /**
     * Sets the time source; default {@link Ticker#system()}.
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
     * Sets how {@link LeakyBucketMeter#tryAcquire(int, Duration)} waits; default
     * {@link Sleeper#system()}.
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
     * Sets the listener told of every rejection; default {@link EventListener#logging()}, wrapped
     * with {@link EventListener#guarded(EventListener)}.
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
     * Builds the meter, reading the ticker once; it starts conforming (full).
     *
     * @return a new meter
     * @throws IllegalStateException if no rate was set
     * @throws IllegalArgumentException if the tolerance is too long for the rate (more than 2^60
     *     time units)
     */
    public LeakyBucketMeter build() {
      if (rate == null) {
        throw new IllegalStateException("rate must be set: call rate(Rate) or rate(permits, period)");
      }
      return new LeakyBucketMeter(this);
    }
  }
}
