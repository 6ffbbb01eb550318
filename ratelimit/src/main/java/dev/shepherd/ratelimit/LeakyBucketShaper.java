package dev.shepherd.ratelimit;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * A leaky bucket as a queue (a traffic shaper): callers are given turns in arrival order at a
 * constant rate, however bursty the arrivals, and wait for their turn, so work leaves evenly. A
 * caller whose turn is too far away is refused at once instead of queueing (for refusing
 * nonconforming requests without any waiting, see {@link LeakyBucketMeter}).
 *
 * <pre>{@code
 * LeakyBucketShaper toDatabase = LeakyBucketShaper.builder()
 *     .name("db-writes")
 *     .rate(200, Duration.ofSeconds(1))         // a turn every 5 ms
 *     .maxQueueDelay(Duration.ofMillis(500))    // nobody waits longer
 *     .build();
 * toDatabase.call(() -> db.write(row));         // waits for its turn, or RateLimitExceededException
 * }</pre>
 *
 * <h2>Guarantees</h2>
 * With emission interval {@code I = 1 / rate}:
 * <ul>
 *   <li><b>Even output.</b> A request for {@code n} permits occupies {@code n × I} of output: the
 *       next caller's turn is never earlier than its turn plus {@code n × I}, rounded up to a whole
 *       nanosecond (a turn is a ticker reading; a saturated queue therefore runs at most 1 ns per
 *       request slower than the exact rate, and never faster). Turns are the times the
 *       {@link Sleeper} is asked to wake callers; how punctually it does is the sleeper's business.
 *   <li><b>Bounded queue.</b> A request is accepted only if its last permit's slot starts within
 *       {@code maxQueueDelay}: its turn is at most {@code maxQueueDelay - (n - 1) × I} away. So no
 *       caller waits longer than {@code maxQueueDelay}, and the queue (the callers waiting, plus
 *       the output of the caller just released) never holds more than
 *       {@code maxQueueDelay × rate + 1} permits, whatever the size of the requests. A request may
 *       ask for at most {@code 1 + floor(maxQueueDelay / I)} permits.
 *   <li><b>Refused at once.</b> A caller whose request is not accepted is refused without queueing,
 *       with a {@link RateLimitExceededException} (or {@code false}) whose retry-after is exactly
 *       the time until the same request would be accepted.
 *   <li><b>Interrupted callers.</b> A caller whose wait ends in an exception (an interrupt, or
 *       anything the sleeper throws) gives its turn back if nobody has queued behind it since; the
 *       next caller then gets that turn. Otherwise the turn is forfeited: its slot of output passes
 *       unused, and the callers behind keep the turns they were given (nobody is moved earlier, so
 *       the spacing holds). The sleeper's exception is then rethrown as it is.
 * </ul>
 *
 * <p>The non-waiting forms ({@link #tryAcquire(int)}, {@link #acquireOrRetryAfterNanos(int)},
 * {@link #callAsync}) succeed only when the turn is now: the queue is empty and the previous
 * turn's output has passed. {@link #tryAcquire(int, Duration)} waits up to its {@code maxWait}
 * (and never beyond what the bound above accepts). Taking a turn is one compare-and-set, no lock,
 * no allocation; each refusal is reported as a {@link dev.shepherd.core.Event.Kind#REJECTED} event.
 * Thread-safe.
 */
public final class LeakyBucketShaper implements RateLimiter {

  private final Tally tally;
  private final Gcra gcra;
  private final Duration maxQueueDelay;

  private LeakyBucketShaper(Builder b) {
    Rate rate = b.rate;
    long delayUnits = rate.toUnits(Durations.toNanosSaturated(b.maxQueueDelay));
    long maxDelay = Rate.MAX_TAU - rate.intervalUnits;
    if (delayUnits > maxDelay) {
      throw Checks.invalid("maxQueueDelay", String.format(Locale.ROOT, "at most %s at %s",
          Duration.ofNanos(maxDelay / rate.scale), rate), b.maxQueueDelay);
    }
    // The shaper is the GCRA with no tolerance and no charge: a request is granted when the queue
    // is free (its turn), and the horizon, the largest debt accepted, is the queue bound.
    long horizon = delayUnits + rate.intervalUnits;
    this.maxQueueDelay = b.maxQueueDelay;
    this.tally = new Tally(b.name, Tally.guarded(b.listener));
    this.gcra = new Gcra(rate, 0, 0, horizon, (int) Math.min(Integer.MAX_VALUE, horizon / rate.intervalUnits),
        "1 + maxQueueDelay / interval", b.ticker, b.sleeper, tally, 0, b.ticker.read());
  }

  /**
   * Returns a builder; a rate and {@code maxQueueDelay} must be set.
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
   * <p>Grants only when the caller's turn is now.
   */
  @Override
  public long acquireOrRetryAfterNanos(int permits) {
    return gcra.acquire(permits);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Waits for the caller's turn if it is at most {@code maxWait} away and the request fits the
   * queue bound (see the class documentation).
   *
   * @throws InterruptedException if interrupted while waiting (any other exception the sleeper
   *     throws is rethrown as it is)
   */
  @Override
  public boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    return gcra.tryAcquire(permits, Durations.toNanosSaturated(Checks.nonNegative(maxWait, "maxWait"))) == 0;
  }

  /**
   * Takes {@code permits} permits, queueing the caller and sleeping until its turn, or throws at
   * once, without queueing, when the request does not fit the queue bound.
   *
   * @param permits how many permits, between 1 and {@code 1 + floor(maxQueueDelay / interval)}
   * @throws RateLimitExceededException if the turn is too far away; carries the exact time until
   *     the same request would be accepted
   * @throws InterruptedException if interrupted while waiting for the turn; the turn is given back
   *     if nobody has queued behind it, and forfeited otherwise (any other exception the sleeper
   *     throws is rethrown as it is, with the same give-back)
   * @throws IllegalArgumentException if {@code permits} is out of range
   */
  public void acquire(int permits) throws InterruptedException {
    long retryAfter = gcra.tryAcquire(permits, Long.MAX_VALUE);
    if (retryAfter != 0) {
      throw new RateLimitExceededException(
          tally.name, "queue full, the turn is more than " + maxQueueDelay + " away (maxQueueDelay)", retryAfter);
    }
  }

  /**
   * Runs {@code action} at the caller's turn: waits for it (up to {@code maxQueueDelay}), then
   * runs the action on the calling thread.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if the turn is too far away
   * @throws InterruptedException if interrupted while waiting (see {@link #acquire(int)})
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    acquire(1);
    return action.call();
  }

  /**
   * Returns how long until the queue is free: the wait a one-permit caller arriving now would get.
   * A snapshot for monitoring.
   *
   * @return nanoseconds, 0 when the queue is free
   */
  public long currentWaitNanos() {
    return gcra.peekWaitNanos(1);
  }

  /**
   * Returns the longest wait for a turn.
   *
   * @return the maximum queue delay
   */
  public Duration maxQueueDelay() {
    return maxQueueDelay;
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
    return "LeakyBucketShaper{'" + tally.name + "', " + gcra.rate + ", maxQueueDelay=" + maxQueueDelay + "}";
  }

  /**
   * Builds a {@link LeakyBucketShaper}. Each setter validates its own value at once;
   * {@link #build()} checks what depends on several ({@code maxQueueDelay} at the rate). Not
   * thread-safe; may build several shapers, each with its own queue.
   */
  public static final class Builder {

    private String name = "leaky-bucket-shaper";
    private Rate rate;
    private Duration maxQueueDelay;
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance name used in rejections, events and logs; default
     * {@code "leaky-bucket-shaper"}.
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
     * Sets the rate at which turns are given.
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
     * Sets the longest a caller waits for its turn; required.
     *
     * @param maxQueueDelay zero (only turns that are now) or positive
     * @return this builder
     * @throws IllegalArgumentException if {@code maxQueueDelay} is negative
     * @throws NullPointerException if {@code maxQueueDelay} is null
     */
    public Builder maxQueueDelay(Duration maxQueueDelay) {
      this.maxQueueDelay = Checks.nonNegative(maxQueueDelay, "maxQueueDelay");
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
     * Sets how callers wait for their turn; default {@link Sleeper#system()}.
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
     * Builds the shaper, reading the ticker once; its queue starts empty.
     *
     * @return a new shaper
     * @throws IllegalStateException if no rate or no {@code maxQueueDelay} was set
     * @throws IllegalArgumentException if {@code maxQueueDelay} is too long for the rate (more
     *     than 2^60 time units)
     */
    public LeakyBucketShaper build() {
      if (rate == null) {
        throw new IllegalStateException("rate must be set: call rate(Rate) or rate(permits, period)");
      }
      if (maxQueueDelay == null) {
        throw new IllegalStateException("maxQueueDelay must be set: call maxQueueDelay(Duration)");
      }
      return new LeakyBucketShaper(this);
    }
  }
}
