package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * A leaky bucket, in either of the two senses the name has: a {@linkplain Mode#METER meter} that
 * checks requests against a steady rate, or a {@linkplain Mode#SHAPER queue} that makes callers
 * leave at a steady rate.
 *
 * <h2>As a meter ({@code builder().meter(tolerance)}, the default)</h2>
 * Requests conform to the rate {@code r} (emission interval {@code I = 1/r}) with a small jitter
 * {@code tolerance}: the GCRA of ATM networks, {@code GCRA(I, tolerance)}. A request is granted iff
 * it is no earlier than {@code tolerance} before its theoretical time; nonconforming requests are
 * refused at once, with the exact wait. It never waits on its own. This is a token bucket whose
 * capacity is {@code 1 + tolerance / I} (not necessarily whole): with zero tolerance, exactly one
 * permit per interval and never two closer together. A request for {@code n} permits counts as
 * {@code n} back-to-back requests; {@code n} may be at most {@code 1 + floor(tolerance / I)}.
 * Everything {@link TokenBucket} guarantees (exactness in integer time units, no drift, any ticker
 * origin, lock-free, allocation-free grants) holds here.
 *
 * <h2>As a queue ({@code builder().shaper(maxQueueDelay)})</h2>
 * Callers are given turns in arrival order at the constant rate, however bursty the arrivals, and
 * {@link #acquire(int)} (or {@link #call(Callable)}) sleeps until the turn: output leaves evenly.
 * <ul>
 *   <li>A request for {@code n} permits occupies {@code ceil(n × I)} nanoseconds of output: the next
 *       turn is never earlier. So no two turns are ever closer than the emission interval (rounded up
 *       to a whole nanosecond, which a nanosecond clock requires; a saturated queue therefore runs at
 *       most 1 ns per request slower than the exact rate, and never faster). Turns are the times
 *       the sleeper is asked to wake callers; how punctually it does is the sleeper's business.
 *   <li>A caller whose turn lies more than {@code maxQueueDelay} away is refused at once, without
 *       queueing, with a {@link RateLimitExceededException} whose retry-after is the time until its
 *       turn would be exactly {@code maxQueueDelay} away. The queue therefore never holds more than
 *       {@code maxQueueDelay × rate} permits of work.
 *   <li>A caller interrupted while waiting gives its turn back if nobody has queued behind it since;
 *       the next caller then gets that turn. Otherwise the turn is forfeited: its slot of output
 *       passes unused, and the callers behind keep the turns they were given (nobody is moved
 *       earlier, so the spacing still holds). Either way {@link InterruptedException} is thrown.
 *   <li>Non-waiting forms ({@link #tryAcquire(int)}, {@link #acquireOrRetryAfterNanos(int)},
 *       {@link #callAsync}) succeed only when the turn is now, i.e. the queue is empty and the
 *       previous turn's span has passed; otherwise they report the wait. {@link
 *       #tryAcquire(int, Duration)} waits up to the smaller of its {@code maxWait} and
 *       {@code maxQueueDelay}.
 * </ul>
 *
 * <p>Both forms keep their state in one {@code long} updated by a single compare-and-set, take no
 * lock, allocate nothing when granting, and report each refusal to the listener as a
 * {@link dev.shepherd.core.Event.Kind#REJECTED} event. Thread-safe.
 */
public final class LeakyBucket implements RateLimiter {

  /** Which of the two meanings of "leaky bucket" an instance implements. */
  public enum Mode {
    /** Checks conformance to the rate with a tolerance; refuses at once, never waits. */
    METER,
    /** Queues callers and releases them at the rate; waits up to {@code maxQueueDelay}. */
    SHAPER
  }

  private final Gcra meter;
  private final Shaper shaper;
  private final Duration tolerance;

  private LeakyBucket(Builder b, EventListener listener) {
    if (b.mode == Mode.METER) {
      long toleranceUnits = b.rate.toUnits(Durations.toNanosSaturated(b.limit));
      long maxTolerance = Rate.MAX_TAU - b.rate.intervalUnits;
      if (toleranceUnits > maxTolerance) {
        throw Checks.invalid(
            "tolerance",
            String.format(Locale.ROOT, "at most %s at %s", Duration.ofNanos(maxTolerance / b.rate.scale), b.rate),
            b.limit);
      }
      this.meter = new Gcra(b.name, b.rate, b.rate.intervalUnits + toleranceUnits, "1 + tolerance / interval",
          true, b.ticker, b.sleeper, listener);
      this.shaper = null;
      this.tolerance = b.limit;
    } else {
      this.meter = null;
      this.shaper = new Shaper(b.name, b.rate, b.limit, b.ticker, b.sleeper, listener);
      this.tolerance = Duration.ZERO;
    }
  }

  /**
   * Returns a builder; a rate must be set. The default mode is a {@link Mode#METER} with zero
   * tolerance.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return meter != null ? meter.name : shaper.name;
  }

  /**
   * Returns which meaning of "leaky bucket" this instance implements.
   *
   * @return {@link Mode#METER} or {@link Mode#SHAPER}
   */
  public Mode mode() {
    return meter != null ? Mode.METER : Mode.SHAPER;
  }

  /**
   * {@inheritDoc}
   *
   * <p>A shaper grants only when the caller's turn is now.
   */
  @Override
  public long acquireOrRetryAfterNanos(int permits) {
    return meter != null ? meter.acquireOrRetryAfterNanos(permits) : shaper.acquireOrRetryAfterNanos(permits);
  }

  /**
   * {@inheritDoc}
   *
   * <p>A shaper waits at most {@code min(maxWait, maxQueueDelay)}; a meter reserves as
   * {@link TokenBucket#tryAcquire(int, Duration)} does. An interrupted caller gives its reservation
   * (turn) back only if nobody has taken permits (queued) after it; see the class documentation.
   */
  @Override
  public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    return meter != null ? meter.tryAcquire(permits, maxWait) : shaper.tryAcquire(permits, maxWait);
  }

  /**
   * Takes {@code permits} permits, waiting for the caller's turn when this is a shaper.
   *
   * <p>A shaper queues the caller and sleeps until its turn, or throws at once, without queueing,
   * when the turn lies more than {@code maxQueueDelay} away. A meter never waits: it takes the
   * permits if they conform now and throws otherwise.
   *
   * @param permits how many permits, at least 1
   * @throws RateLimitExceededException if the turn is too far away (shaper) or the request does not
   *     conform (meter); carries the exact retry-after
   * @throws InterruptedException if interrupted while waiting for the turn; the turn is given back
   *     if nobody has queued behind it, and forfeited otherwise
   * @throws IllegalArgumentException if {@code permits <= 0} or too large (see the class
   *     documentation)
   */
  public void acquire(int permits) throws InterruptedException {
    if (meter != null) {
      long wait = meter.acquireOrRetryAfterNanos(permits);
      if (wait != 0) {
        throw new RateLimitExceededException(meter.name, wait);
      }
    } else {
      shaper.queue(permits, shaper.maxQueueDelayNanos, true);
    }
  }

  /**
   * Runs {@code action} after taking one permit: a shaper first waits for the caller's turn (up to
   * {@code maxQueueDelay}), a meter never waits.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if the turn is too far away (shaper) or the call does not
   *     conform (meter)
   * @throws InterruptedException if a shaper is interrupted while waiting (see {@link #acquire(int)})
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    acquire(1);
    return action.call();
  }

  /**
   * Returns how long a request for one permit would wait now: for a shaper, until the queue is
   * free; for a meter, until one permit conforms. A snapshot for monitoring.
   *
   * @return nanoseconds, 0 when a permit would be granted at once
   */
  public long currentWaitNanos() {
    if (shaper != null) {
      return shaper.currentWaitNanos();
    }
    return meter.peekWaitNanos(1);
  }

  /**
   * Returns the meter's jitter tolerance ({@link Duration#ZERO} for a shaper).
   *
   * @return the tolerance
   */
  public Duration tolerance() {
    return tolerance;
  }

  /**
   * Returns the shaper's longest queueing delay ({@link Duration#ZERO} for a meter).
   *
   * @return the maximum queue delay
   */
  public Duration maxQueueDelay() {
    return shaper != null ? shaper.maxQueueDelay : Duration.ZERO;
  }

  /**
   * Returns the emission interval: the time between two permits at the rate, rounded up to a whole
   * nanosecond (exactly the spacing of a shaper's single-permit turns).
   *
   * @return the emission interval
   */
  public Duration emissionInterval() {
    Rate rate = meter != null ? meter.rate : shaper.rate;
    return Duration.ofNanos(rate.intervalNanosCeil());
  }

  @Override
  public long grantedCount() {
    return meter != null ? meter.grantedCount() : shaper.grantedCount();
  }

  @Override
  public long rejectedCount() {
    return meter != null ? meter.rejectedCount() : shaper.rejectedCount();
  }

  @Override
  public String toString() {
    return meter != null
        ? "LeakyBucket{'" + meter.name + "', meter, " + meter.rate + ", tolerance=" + tolerance + "}"
        : "LeakyBucket{'" + shaper.name + "', shaper, " + shaper.rate + ", maxQueueDelay=" + shaper.maxQueueDelay + "}";
  }

  /**
   * Builds a {@link LeakyBucket}. Not thread-safe; may build several buckets, each with its own
   * state.
   */
  public static final class Builder {

    private String name = "leaky-bucket";
    private Rate rate;
    private Mode mode = Mode.METER;
    private Duration limit = Duration.ZERO;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance name used in rejections, events and logs; default {@code "leaky-bucket"}.
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
     * Sets the rate to {@code permits} every {@code period}, exactly.
     *
     * @param permits permits per period, at least 1
     * @param period the period, positive
     * @return this builder
     * @throws IllegalArgumentException if {@code permits <= 0}, {@code period} is not positive, or
     *     the rate exceeds one permit per nanosecond
     * @throws NullPointerException if {@code period} is null
     */
    public Builder rate(long permits, Duration period) {
      this.rate = Rate.of(permits, period);
      return this;
    }

    /**
     * Sets the rate in permits per second, read as the simplest fraction that rounds to the given
     * {@code double} (so {@code 3.0} is exactly 3 per second; a {@code double} that is no such
     * simple fraction is approximated to within 2^-20 ns per interval).
     *
     * @param permitsPerSecond the rate, positive, finite and at most 10^9
     * @return this builder
     * @throws IllegalArgumentException if the rate is not positive, not finite or above 10^9
     */
    public Builder permitsPerSecond(double permitsPerSecond) {
      this.rate = Rate.perSecond(permitsPerSecond);
      return this;
    }

    /**
     * Makes the bucket a {@link Mode#METER} with the given jitter tolerance (the default, with zero).
     * Replaces an earlier {@link #shaper(Duration)} call.
     *
     * @param tolerance how early, at most, a request may come before its theoretical time; zero or
     *     positive
     * @return this builder
     * @throws IllegalArgumentException if {@code tolerance} is negative
     * @throws NullPointerException if {@code tolerance} is null
     */
    public Builder meter(Duration tolerance) {
      this.limit = Checks.nonNegative(tolerance, "tolerance");
      this.mode = Mode.METER;
      return this;
    }

    /**
     * Makes the bucket a {@link Mode#SHAPER} (queue) whose callers wait at most
     * {@code maxQueueDelay} for their turn. Replaces an earlier {@link #meter(Duration)} call.
     *
     * @param maxQueueDelay the longest wait for a turn; zero or positive, at most 2^60 ns (36 years)
     * @return this builder
     * @throws IllegalArgumentException if {@code maxQueueDelay} is negative or too long
     * @throws NullPointerException if {@code maxQueueDelay} is null
     */
    public Builder shaper(Duration maxQueueDelay) {
      Checks.nonNegative(maxQueueDelay, "maxQueueDelay");
      Checks.check(Durations.toNanosSaturated(maxQueueDelay) <= Rate.MAX_TAU, "maxQueueDelay",
          "at most " + Duration.ofNanos(Rate.MAX_TAU), maxQueueDelay);
      this.limit = maxQueueDelay;
      this.mode = Mode.SHAPER;
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
     * Sets how callers wait; default {@link Sleeper#system()}.
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
     * Builds the bucket, reading the ticker once; a meter starts full, a shaper's queue empty.
     *
     * @return a new bucket
     * @throws IllegalStateException if no rate was set
     * @throws IllegalArgumentException if a meter's tolerance is too long for its rate (more than
     *     2^60 time units)
     */
    public LeakyBucket build() {
      if (rate == null) {
        throw new IllegalStateException("rate must be set: call rate(permits, period) or permitsPerSecond(rate)");
      }
      return new LeakyBucket(this, EventListener.guarded(listener == null ? EventListener.logging() : listener));
    }
  }
}
