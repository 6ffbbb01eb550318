package dev.shepherd.ratelimit;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A learned admission rate: it follows what the backend actually completes and how long work waits
 * in its queue, so reconnect-slot admission needs no configured capacity. Give it to
 * {@link SlotAdmission.Builder#learnedRate(LearnedRate, double)}; report every completed backend
 * call with its queue delay through {@link #completed(long)}.
 *
 * <pre>{@code
 * LearnedRate capacity = LearnedRate.builder()
 *     .name("auth-db")
 *     .initialPermitsPerSecond(500)          // a guess: 10 × too high or too low is fine
 *     .build();
 * SlotAdmission admission = SlotAdmission.builder()
 *     .learnedRate(capacity, 1.0)            // or 1.0 / servers, each server holding a share
 *     .ticketKey(sharedKey)
 *     .build();
 * // after each database call:
 * capacity.completed(queueDelayNanos);       // or its latency, when the service time is small
 * }</pre>
 *
 * <h2>How it learns</h2>
 * Time is cut into control periods ({@linkplain Builder#period(Duration) default 200 ms}). At the
 * end of each, with {@code c} the completions of the period per second and the period
 * <em>congested</em> when a completion waited longer than the {@linkplain
 * Builder#queueDelayTarget(Duration) queue-delay target} (default 50 ms) or {@link #congested()}
 * was called:
 * <table class="striped">
 *   <caption>The rate at the end of a period</caption>
 *   <thead><tr><th>period</th><th>new rate</th></tr></thead>
 *   <tbody>
 *     <tr><td>congested</td><td>{@code 0.9 × c}: a little under what the backend did; ramp-up
 *         ends</td></tr>
 *     <tr><td>calm, ramping up (no congestion seen yet)</td><td>{@code max(min(rate, c) × 2, 0.9 × c)} if
 *         callers were refused in the period, else {@code max(rate, 0.9 × c)}</td></tr>
 *     <tr><td>calm, after ramp-up</td><td>{@code min(max(rate × 1.02, 0.9 × c), 1.1 × c)}</td></tr>
 *     <tr><td>calm, nothing completed</td><td>unchanged</td></tr>
 *   </tbody>
 * </table>
 * and the result is clamped to {@code [minPermitsPerSecond, maxPermitsPerSecond]}. Doubling finds
 * the capacity from a low guess in a few periods; a high guess is cut at the first period whose
 * work queues. After the first congestion the rate only ever grows by probing 2 % a period above
 * what the backend demonstrably completed.
 *
 * <p>Slots are booked at that rate. Work reaches the backend at the {@linkplain
 * #drainingPermitsPerSecond() draining rate}: the same, except after a congested period whose
 * longest queue delay was {@code d}, when it is {@code c × max(0.5, 0.9 − d / 4 s)} until the next
 * period ends, so a queue the backend built drains in a few seconds while the slots booked for
 * later keep the backend's full rate.
 *
 * <h2>Slots lock in a rate</h2>
 * A slot handed out at rate {@code r} promises its caller a turn at that rate, however the rate
 * moves before the slot comes due. {@link SlotAdmission} copes in two ways: until the first
 * congestion it hands out slots only {@linkplain Builder#startupHorizon(Duration) a short horizon}
 * ahead (default 200 ms, one period), so a wrong guess is locked into at most that much work; and
 * every ticket redeemed is metered again at the current draining rate, so when the rate is cut (a
 * fail-over) the callers over it are given a new slot instead of reaching the backend. After the
 * first congestion slots reach the admission's full horizon: the rate they lock in is then one the
 * backend has shown it serves. See {@link SlotAdmission}.
 *
 * <h2>Guarantees</h2>
 * With {@code c} the completions per second of a period that completed anything (counted at the
 * end of the period, over its length), and the rate the one set at the end of that period:
 * <ul>
 *   <li><b>Margin.</b> From the first congested period on, the rate is at most
 *       {@code max(minPermitsPerSecond, 1.1 × c)}; at a congested period's end, at most
 *       {@code max(minPermitsPerSecond, 0.9 × c)}. The draining rate is never above the rate.
 *   <li><b>Ramp time.</b> The rate is never below half of the completions for longer than one
 *       period: at the end of every period it is at least {@code min(maxPermitsPerSecond, 0.5 × c)},
 *       and at the end of every calm period at least {@code min(maxPermitsPerSecond, 0.9 × c)}; the
 *       rate (not the draining rate) is at least {@code min(maxPermitsPerSecond, 0.9 × c)} at the
 *       end of every period.
 * </ul>
 * Both hold for every trace of completions, delays and refusals (the property tests drive
 * generated traces on a manual clock).
 *
 * <h2>Sharing</h2>
 * One instance may serve several admissions that share a backend (each takes its share of the
 * rate); every server reports its completions to it. Thread-safe: reporting a completion and
 * reading the rate take no lock and allocate nothing; the period's update is done by the one
 * thread that wins a compare-and-set on the period's start (inside its call), and reports a
 * {@code LIMIT_CHANGED} event (before and after in whole permits per second) when the
 * whole-number rate changes: that call, at most one a period, allocates the event.
 * Counts that race with the update fall into one period or the next, never into none.
 */
public final class LearnedRate {

  /** The cut at a congested period, and the floor of every period: 90 % of the completions. */
  static final double CUT = 0.9;
  /** How far above the completions the rate may be after the first congestion: 10 %. */
  static final double MARGIN = 0.10;
  /** The probe above the current rate in a calm period after ramp-up: 2 %. */
  static final double PROBE = 0.02;
  /** The lowest cut: half the completions. */
  static final double FLOOR = 0.5;
  /** The time over which a cut drains the queue delay it saw: 4 s. */
  static final double DRAIN_NANOS = 4e9;
  /** The growth per calm, saturated period during ramp-up. */
  static final double RAMP = 2.0;

  private static final double NANOS_PER_SECOND = 1e9;

  private final String name;
  private final long periodNanos;
  private final long targetNanos;
  private final long startupHorizonNanos;
  private final double minRate;
  private final double maxRate;
  private final Ticker ticker;
  private final EventListener listener;

  private final AtomicLong periodStart;
  private final LongAdder completions = new LongAdder();
  private final AtomicLong maxDelay = new AtomicLong();
  private final AtomicBoolean congestion = new AtomicBoolean();
  private final AtomicBoolean saturated = new AtomicBoolean();
  private volatile double rate;
  private volatile double admitRate;
  private volatile boolean rampingUp = true;
  private volatile long congestionCount;

  private LearnedRate(Builder b) {
    this.name = b.name;
    this.periodNanos = b.periodNanos;
    this.targetNanos = b.targetNanos;
    this.startupHorizonNanos = b.startupHorizonNanos;
    this.minRate = b.minRate;
    this.maxRate = b.maxRate;
    this.ticker = b.ticker;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
    this.rate = Math.min(maxRate, Math.max(minRate, b.initialRate));
    this.admitRate = rate;
    this.periodStart = new AtomicLong(b.ticker.read());
  }

  /**
   * Returns a builder; an initial rate must be set.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reports one backend call completed, with how long it waited in the backend's queue.
   *
   * @param queueDelayNanos the time the call waited before the backend started it, in nanoseconds
   *     (its latency will do when the backend's own service time is small beside the target);
   *     negative values count as zero
   */
  public void completed(long queueDelayNanos) {
    completions.increment();
    if (queueDelayNanos > maxDelay.get()) {
      maxDelay.accumulateAndGet(queueDelayNanos, Math::max);
    }
    poll(ticker.read());
  }

  /**
   * Reports congestion seen some other way (a backend call timed out, a bulkhead in front of the
   * backend dropped work): the current period counts as congested.
   */
  public void congested() {
    congestion.set(true);
    poll(ticker.read());
  }

  /**
   * Returns the current learned rate, the whole backend's, in permits per second.
   *
   * @return the rate, within the configured bounds
   */
  public double permitsPerSecond() {
    return rate;
  }

  /**
   * Returns whether the rate is still ramping up: no congestion has been seen yet.
   *
   * @return {@code true} until the first congested period ends
   */
  public boolean isRampingUp() {
    return rampingUp;
  }

  /**
   * Returns how many periods ended congested.
   *
   * @return the count
   */
  public long congestedPeriods() {
    return congestionCount;
  }

  /**
   * Returns this controller's name.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Returns the rate at which work may reach the backend now: the learned rate, or after a congested
   * period less, to drain the queue seen (see the table above).
   *
   * @return the rate, at most {@link #permitsPerSecond()}
   */
  public double drainingPermitsPerSecond() {
    return admitRate;
  }

  /** The admissions' view: the horizon slots may reach while ramping up. */
  long startupHorizonNanos() {
    return startupHorizonNanos;
  }

  /** An admission refused a caller: the rate limited the demand in this period. */

  void saturated() {
    if (!saturated.get()) {
      saturated.set(true);
    }
  }

  /**
   * Ends the period if it is over, then returns the current rate.
   *
   * @param now a reading of the ticker
   * @return the rate
   */
  double poll(long now) {
    long start = periodStart.get();
    long elapsed = now - start;
    if (elapsed >= periodNanos && periodStart.compareAndSet(start, now)) {
      endPeriod(elapsed);
    }
    return rate;
  }

  /*
   * Only the thread whose compare-and-set moved periodStart runs this, and the next run needs
   * another full period to pass, so updates of rate and rampingUp do not overlap (a period is
   * milliseconds, an update nanoseconds). Counts taken with sumThenReset or getAndSet that race
   * with a reporting thread land in this period or the next: none is lost.
   */
  private void endPeriod(long elapsedNanos) {
    long count = completions.sumThenReset();
    long delay = maxDelay.getAndSet(0L);
    boolean congested = congestion.getAndSet(false) || delay > targetNanos;
    boolean refused = saturated.getAndSet(false);
    double before = rate;
    double completed = count * NANOS_PER_SECOND / elapsedNanos;
    double floor = CUT * completed;
    double next = congested ? floor : next(before, completed, floor, refused);
    double admit = congested ? cut(completed, delay) : next;
    if (congested) {
      rampingUp = false;
      congestionCount++;
    }
    next = Math.min(maxRate, Math.max(minRate, next));
    admit = Math.min(maxRate, Math.max(minRate, admit));
    rate = next;
    admitRate = admit;
    long beforeWhole = Math.round(before);
    long afterWhole = Math.round(next);
    if (beforeWhole != afterWhole) {
      String why = congested ? "congestion" : rampingUp ? "ramp-up" : "probe";
      listener.onEvent(Event.limitChanged(name, beforeWhole, afterWhole, why));
    }
  }

  /** 90 % of the completions, less a share that drains the queue seen within {@link #DRAIN}, at least half. */
  static double cut(double completed, long delayNanos) {
    double drain = Math.max(0L, delayNanos) / DRAIN_NANOS;
    return completed * Math.max(FLOOR, CUT - drain);
  }

  private double next(double current, double completed, double floor, boolean refused) {
    if (completed == 0) {
      return current;
    }
    if (rampingUp) {
      return Math.max(refused ? Math.min(current, completed) * RAMP : current, floor);
    }
    return Math.min(Math.max(current * (1 + PROBE), floor), (1 + MARGIN) * completed);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "LearnedRate{'%s', rate=%.1f/s, %s}", name, rate,
        rampingUp ? "ramping up" : "learned");
  }

  /**
   * Builds a {@link LearnedRate}; each setter validates its value. Not thread-safe.
   */
  public static final class Builder {

    private String name = "learned-rate";
    private double initialRate;
    private double minRate = 1;
    private double maxRate = 1e9;
    private long periodNanos = 200_000_000L;
    private long targetNanos = 50_000_000L;
    private long startupHorizonNanos = 200_000_000L;
    private Ticker ticker = Ticker.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the name used in events and logs.
     *
     * @param name a non-blank name; default {@code "learned-rate"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /** A rate setting: positive and at most 10^9 per second, else refused naming {@code what}. */
    private static double checkRate(double permitsPerSecond, String what) {
      Checks.check(permitsPerSecond > 0 && permitsPerSecond <= 1e9, what, "positive and at most 10^9",
          permitsPerSecond);
      return permitsPerSecond;
    }

    /**
     * Sets the starting guess of the backend's rate.
     *
     * @param permitsPerSecond positive, at most 10^9
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder initialPermitsPerSecond(double permitsPerSecond) {
      this.initialRate = checkRate(permitsPerSecond, "initialPermitsPerSecond");
      return this;
    }

    /**
     * Sets the lowest rate it learns: the trickle that keeps measuring a backend that completed
     * nothing.
     *
     * @param permitsPerSecond positive, at most 10^9; default 1
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder minPermitsPerSecond(double permitsPerSecond) {
      this.minRate = checkRate(permitsPerSecond, "minPermitsPerSecond");
      return this;
    }

    /**
     * Sets the highest rate it learns.
     *
     * @param permitsPerSecond positive, at most 10^9; default 10^9
     * @return this builder
     * @throws IllegalArgumentException if out of range
     */
    public Builder maxPermitsPerSecond(double permitsPerSecond) {
      this.maxRate = checkRate(permitsPerSecond, "maxPermitsPerSecond");
      return this;
    }

    /**
     * Sets the control period: how often the rate is set from the last period's measurements.
     *
     * @param period from 10 ms to 1 minute; default 200 ms
     * @return this builder
     * @throws NullPointerException if {@code period} is null
     * @throws IllegalArgumentException if out of range
     */
    public Builder period(Duration period) {
      Objects.requireNonNull(period, "period");
      Checks.check(period.compareTo(Duration.ofMillis(10)) >= 0 && period.compareTo(Duration.ofMinutes(1)) <= 0,
          "period", "between 10 ms and 1 minute", period);
      this.periodNanos = period.toNanos();
      return this;
    }

    /**
     * Sets the queue delay above which a completion signals congestion. Keep it well under the
     * callers' timeout: work that waits longer than that is wasted.
     *
     * @param target positive, at most 1 minute; default 50 ms
     * @return this builder
     * @throws NullPointerException if {@code target} is null
     * @throws IllegalArgumentException if out of range
     */
    public Builder queueDelayTarget(Duration target) {
      Checks.positive(target, "queueDelayTarget");
      Checks.check(target.compareTo(Duration.ofMinutes(1)) <= 0, "queueDelayTarget", "at most 1 minute", target);
      this.targetNanos = target.toNanos();
      return this;
    }

    /**
     * Sets how far ahead admissions hand out slots while the rate is ramping up: a wrong guess is
     * locked into at most this much work.
     *
     * @param horizon positive, at most 1 minute; default 200 ms
     * @return this builder
     * @throws NullPointerException if {@code horizon} is null
     * @throws IllegalArgumentException if out of range
     */
    public Builder startupHorizon(Duration horizon) {
      Checks.positive(horizon, "startupHorizon");
      Checks.check(horizon.compareTo(Duration.ofMinutes(1)) <= 0, "startupHorizon", "at most 1 minute", horizon);
      this.startupHorizonNanos = horizon.toNanos();
      return this;
    }

    /**
     * Sets the monotonic time source of the periods.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the listener told of every change of the whole-number rate; it is
     * {@linkplain EventListener#guarded guarded}.
     *
     * @param listener the listener; default {@link EventListener#logging()}
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the controller; its first period starts at the ticker's reading.
     *
     * @return a new controller
     * @throws IllegalStateException if no initial rate was set
     * @throws IllegalArgumentException if {@code minPermitsPerSecond > maxPermitsPerSecond}
     */
    public LearnedRate build() {
      if (initialRate == 0) {
        throw new IllegalStateException("initial rate must be set: call initialPermitsPerSecond(rate)");
      }
      Checks.check(minRate <= maxRate, "minPermitsPerSecond", "at most maxPermitsPerSecond (" + maxRate + ")",
          minRate);
      return new LearnedRate(this);
    }
  }
}
