package dev.shepherd.bulkhead;

import dev.shepherd.core.internal.Calls;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.Ticker;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A bulkhead whose limit follows the upstream: it grows while calls come back fast and shrinks
 * multiplicatively when they time out, are refused by the upstream, or slow down far beyond the
 * fastest recently seen, always staying within {@code [minLimit, maxLimit]}.
 *
 * <pre>{@code
 * AdaptiveBulkhead bulkhead = AdaptiveBulkhead.builder().name("partner-api")
 *     .minLimit(2).maxLimit(100).latencyTarget(Duration.ofMillis(250))
 *     .callTimeout(Duration.ofSeconds(2)).build();
 * Quote quote = bulkhead.call(() -> partner.quote(order));  // TimeoutException lowers the limit
 * }</pre>
 *
 * <p>Admission works exactly as in {@link Bulkhead} (same permit pool, same guarantees: no grant
 * above the limit in force, no lost or invented permit, waiting only in {@link #acquire()} and
 * {@link #call(Callable)}, fail-fast in {@link #tryAcquire()} and {@link #callAsync(Supplier)}).
 * When the limit shrinks below the number in flight, the surplus drains as calls finish.
 *
 * <h2>Algorithm</h2>
 * The limit is {@code floor(estimate)}, where {@code estimate} is a real number in
 * {@code [minLimit, maxLimit]}, starting at {@code initialLimit}. Every finished call is a sample,
 * judged on this bulkhead's {@link Ticker} from the grant to the outcome:
 * <ol>
 *   <li><b>Drop</b> (the permit reported {@link Permit#dropped()}; or {@code call}/{@code callAsync}
 *       failed with an exception accepted by {@link Builder#dropWhen(Predicate)}): {@code estimate =
 *       max(minLimit, estimate * decreaseFactor)}.
 *   <li><b>Timeout</b> (any sample except an ignored one whose latency reached {@code callTimeout},
 *       even if it succeeded): the same multiplicative decrease. Drops and timeouts never raise the
 *       limit: an upstream that times out at a steady rate drives the limit down, to
 *       {@code minLimit} if every call times out (a gradient limiter that only looks at latency
 *       changes grows to its maximum in that situation, see Netflix/concurrency-limits#137).
 *   <li><b>Success</b>: the latency updates the smoothed latency {@code s = s + 0.1 * (latency -
 *       s)} and the observed minimum {@code m} (the smallest success latency over the last one to
 *       two {@code minLatencyWindow}s). Then:
 *       <ul>
 *         <li>if {@code s > latencyTolerance * m}, the upstream is queueing: the same multiplicative
 *             decrease;
 *         <li>else if {@code latency > latencyTarget}: no change;
 *         <li>else if fewer than half the permits were in use when this one was granted: no change
 *             (an idle bulkhead learns nothing about the upstream's capacity);
 *         <li>else additive increase: {@code estimate = min(maxLimit, estimate + 1 / estimate)},
 *             that is about one more permit per limit's worth of good samples, about one per
 *             round trip when the bulkhead is busy.
 *       </ul>
 *   <li><b>Ignored</b> ({@link Permit#ignored()}, {@link Permit#close()} without an outcome, an
 *       exception that is not a drop and did not reach {@code callTimeout}, a cancellation): no
 *       change.
 * </ol>
 *
 * <p>Consequences worth knowing, with the defaults ({@code decreaseFactor} 0.9, smoothing 0.1,
 * tolerance 2): {@code k} consecutive drops (or congested samples) multiply the estimate by
 * {@code decreaseFactor^k}, so any limit falls to {@code minLimit} within
 * {@code ceil(ln(maxLimit / minLimit) / ln(1 / decreaseFactor))} of them (44 for 100 to 1). After
 * the latency returns to normal from {@code r} times the minimum, the smoothed latency is back
 * under the tolerance within {@code ceil(ln((r - 1) / (latencyTolerance - 1)) / ln(1 / (1 -
 * 0.1)))} samples (44 for r = 100); from then on, growing from {@code a} to {@code b} takes at
 * most {@code (b² - a²) / 2} good samples, because {@code (e + 1/e)² > e² + 2}. A steady drop rate
 * {@code p} settles the estimate near {@code sqrt((1 - p) / (p * (1 - decreaseFactor)))}. Limit
 * changes are reported as {@link Event.Kind#LIMIT_CHANGED}, rejections as
 * {@link Event.Kind#REJECTED}.
 *
 * <p><b>The caller's {@link Deadline}</b> ({@link #call(Deadline, Callable)}, {@link
 * #callAsync(Deadline, Supplier)}): a call whose deadline has passed is refused at once with a
 * {@link DeadlineExceededException}, without taking a permit, and so is, with {@link
 * Builder#dropIfCannotFinish(boolean)}, a call with less time left than the smoothed latency of
 * successes (once there is one). A call waits for a permit at most until its deadline, and one
 * whose deadline passed while it waited gives its permit back unused. Each such refusal is counted
 * ({@link #refusedLate()}) and reported as {@link Event.Kind#REJECTED}; it is no sample for the
 * limit.
 *
 * <p><b>Cost.</b> Granting is one compare-and-set plus a ticker read; a sample is a few atomic
 * updates with no lock and no allocation; only a change of the integer limit calls the listener.
 * {@link #call(Callable)} allocates nothing of its own on success. Thread-safe.
 */
public final class AdaptiveBulkhead implements Policy {

  /** The default drop classifier; see {@link #isTimeout(Throwable)}. */
  private static final Predicate<Throwable> DEFAULT_DROPS = AdaptiveBulkhead::isTimeout;
  /** Matched by name, so that this module does not need the {@code java.net.http} module. */
  private static final String HTTP_TIMEOUT = "java.net.http.HttpTimeoutException";

  private final String name;
  private final Ticker ticker;
  private final Duration maxWait;
  private final long maxWaitNanos;
  private final EventListener listener;
  private final Predicate<? super Throwable> dropWhen;
  private final int minLimit;
  private final int maxLimit;
  private final PermitPool pool;
  private final AdaptiveLimit limit;
  private final boolean dropIfCannotFinish;
  private final LongAdder refusedLate = new LongAdder();

  private AdaptiveBulkhead(Builder b, int initialLimit) {
    this.name = b.name;
    this.ticker = b.ticker;
    this.maxWait = b.maxWait;
    this.maxWaitNanos = Durations.toNanosSaturated(b.maxWait);
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
    Predicate<? super Throwable> drops = b.dropWhen;
    this.dropWhen = t -> {
      try {
        return drops.test(t);
      } catch (RuntimeException brokenPredicate) {
        return false; // a broken classifier must not replace the call's own failure
      }
    };
    this.minLimit = b.minLimit;
    this.maxLimit = b.maxLimit;
    this.dropIfCannotFinish = b.dropIfCannotFinish;
    this.pool = new PermitPool(b.name, initialLimit, b.fair, b.ticker);
    this.limit = new AdaptiveLimit(name, pool, b.ticker, listener, b.minLimit, b.maxLimit, initialLimit,
        Durations.toNanosSaturated(b.latencyTarget),
        b.callTimeout == null ? Long.MAX_VALUE : Durations.toNanosSaturated(b.callTimeout),
        Durations.toNanosSaturated(b.minLatencyWindow), b.latencyTolerance, b.decreaseFactor);
    pool.attach(limit);
  }

  /**
   * Returns whether a failure is a timeout, the default test for a drop: the failure or one of its
   * causes (followed up to 16 deep) is a {@link TimeoutException}, an {@link InterruptedIOException}
   * (which includes {@link java.net.SocketTimeoutException}), a
   * {@code java.net.http.HttpTimeoutException} (which includes {@code HttpConnectTimeoutException}),
   * or a {@link java.nio.channels.InterruptedByTimeoutException}.
   *
   * @param failure the failure of a call; may be null (not a timeout)
   * @return {@code true} if the failure is, or was caused by, one of those timeouts
   */
  public static boolean isTimeout(Throwable failure) {
    Throwable t = failure;
    for (int depth = 0; t != null && depth < AsyncCalls.MAX_CAUSE_DEPTH; depth++) {
      if (t instanceof TimeoutException || t instanceof InterruptedIOException
          || t instanceof java.nio.channels.InterruptedByTimeoutException || isHttpTimeout(t.getClass())) {
        return true;
      }
      t = t.getCause();
    }
    return false;
  }

  private static boolean isHttpTimeout(Class<?> type) {
    for (Class<?> c = type; c != null && java.io.IOException.class.isAssignableFrom(c); c = c.getSuperclass()) {
      if (HTTP_TIMEOUT.equals(c.getName())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Returns a builder with the defaults listed on each of its setters.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Takes a permit if one is free now, without waiting. Report the outcome on the permit
   * ({@link Permit#success()}, {@link Permit#dropped()}, {@link Permit#ignored()}) so the limit can
   * learn from it; latency is measured from this grant.
   *
   * @return a permit, or {@code null} if the bulkhead is at its current limit
   */
  public Permit tryAcquire() {
    int before = pool.tryAcquire();
    if (before < 0) {
      rejected(null);
      return null;
    }
    return new Permit(pool, startOrRelease(), before);
  }

  /**
   * Takes a permit, waiting up to {@code maxWait} for one to free up; latency is measured from the
   * grant, not from the start of the wait.
   *
   * @return a permit on which to report the outcome
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws InterruptedException if the thread was interrupted while it had to wait
   */
  public Permit acquire() throws InterruptedException {
    int before = acquireSlot();
    return new Permit(pool, startOrRelease(), before);
  }

  /**
   * Runs {@code action} holding a permit and classifies the outcome: a result is a success (a
   * timeout if it took {@code callTimeout} or longer), an exception accepted by
   * {@link Builder#dropWhen(Predicate)} is a drop, any other exception is ignored unless it took
   * {@code callTimeout} or longer.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws InterruptedException if interrupted while waiting for a permit, or thrown by
   *     {@code action}
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    return guarded(acquireSlot(), action, Calls.CALLABLE);
  }

  /**
   * Runs {@code action} holding a permit, as {@link #call(Callable)} does, if it can start before
   * the caller's {@code deadline}: refused at once if the deadline has passed (or, with {@code
   * dropIfCannotFinish}, if less time is left than the smoothed latency), and waiting for a permit
   * at most until the earlier of {@code maxWait} and the deadline.
   *
   * @param deadline the caller's deadline
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws DeadlineExceededException if the call was refused because of its deadline, on arrival
   *     or after waiting for a permit (no permit is kept, the action is not invoked)
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}, before the deadline
   * @throws InterruptedException if interrupted while waiting for a permit, or thrown by
   *     {@code action}
   * @throws Exception whatever {@code action} threw
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> T call(Deadline deadline, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(action, "action");
    long remaining = deadline.remainingNanos();
    if (cannotFinish(remaining)) {
      throw refusedLate(remaining, "on arrival");
    }
    int before = pool.acquire(Math.min(maxWaitNanos, remaining));
    if (before < 0) {
      remaining = deadline.remainingNanos();
      if (remaining <= 0) {
        throw refusedLate(remaining, "while waiting for a permit");
      }
      throw rejected(maxWait);
    }
    try {
      remaining = deadline.remainingNanos();
    } catch (Throwable brokenTicker) {
      pool.release();
      throw brokenTicker;
    }
    if (remaining <= 0) {
      pool.release(); // granted as the deadline passed: handed back unused, no sample
      throw refusedLate(remaining, "before starting");
    }
    return guarded(before, action, Calls.CALLABLE);
  }

  /**
   * Runs {@code action} holding a permit and classifies the outcome, as {@link #call(Callable)}
   * does, without a checked exception; allocation-free when the permit is granted.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws dev.shepherd.core.UncheckedCallException around the {@link InterruptedException} if the
   *     thread was interrupted while waiting for a permit (its interrupt status is set again)
   */
  @Override
  public <T> T get(Supplier<? extends T> action) {
    Objects.requireNonNull(action, "action");
    try {
      return guarded(acquireSlot(), action, Calls.SUPPLIER);
    } catch (Exception e) {
      throw Calls.unchecked(name, e);
    }
  }

  /**
   * Runs {@code action} holding a permit and classifies the outcome, as {@link #get(Supplier)} does.
   *
   * @param action the guarded work
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws dev.shepherd.core.UncheckedCallException around the {@link InterruptedException} if the
   *     thread was interrupted while waiting for a permit (its interrupt status is set again)
   */
  @Override
  public void run(Runnable action) {
    Objects.requireNonNull(action, "action");
    try {
      guarded(acquireSlot(), action, Calls.RUNNABLE);
    } catch (Exception e) {
      throw Calls.unchecked(name, e);
    }
  }

  /**
   * The one body of the call forms, holding the permit granted with {@code before} in flight:
   * {@code action} has the shape {@code form} names.
   */
  private <T> T guarded(int before, Object action, int form) throws Exception {
    long start = startOrRelease();
    int outcome = Permit.FAILED;
    try {
      T result = Calls.invoke(action, form);
      outcome = Permit.SUCCESS;
      return result;
    } catch (Throwable t) {
      outcome = AsyncCalls.classify(t, dropWhen);
      throw t;
    } finally {
      try {
        limit.record(start, outcome, before);
      } finally {
        pool.release();
      }
    }
  }

  /**
   * Starts an asynchronous action holding a permit, without waiting; the permit is released and
   * the outcome classified (as in {@link #call(Callable)}) when the stage completes, fails or is
   * cancelled, or when the returned stage is completed, failed or cancelled by anyone (a failure
   * the classifier calls a drop, say {@code orTimeout}'s {@link TimeoutException}, is a drop). As in
   * {@link Bulkhead#callAsync(Supplier)} the release always happens before the returned stage
   * completes. A cancellation is passed on to the action's stage and counts as ignored unless it
   * came after {@code callTimeout}.
   *
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does, or failed with a {@link BulkheadFullException}
   *     if the bulkhead is at its limit (the action is then not started)
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    int before = pool.tryAcquire();
    if (before < 0) {
      return CompletableFuture.failedFuture(rejected(Duration.ZERO));
    }
    return AsyncCalls.run(new Permit(pool, startOrRelease(), before), action, dropWhen);
  }

  /**
   * Starts an asynchronous action holding a permit, as {@link #callAsync(Supplier)} does, unless
   * the caller's {@code deadline} has passed (or, with {@code dropIfCannotFinish}, less time is
   * left than the smoothed latency): then the action is not started and no permit is taken.
   *
   * @param deadline the caller's deadline
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does; or failed with a {@link
   *     DeadlineExceededException} if refused because of the deadline, or with a {@link
   *     BulkheadFullException} if the bulkhead is at its limit
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> CompletionStage<T> callAsync(Deadline deadline, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(action, "action");
    long remaining = deadline.remainingNanos();
    if (cannotFinish(remaining)) {
      return CompletableFuture.failedFuture(refusedLate(remaining, "on arrival"));
    }
    return callAsync(action);
  }

  /**
   * Returns how many calls were refused because of their {@link Deadline}: on arrival, while
   * waiting for a permit, or when granted after it.
   *
   * @return the total since the bulkhead was built
   */
  public long refusedLate() {
    return refusedLate.sum();
  }

  /**
   * Returns the limit in force.
   *
   * @return the current concurrency limit, in {@code [minLimit(), maxLimit()]}
   */
  public int limit() {
    return pool.limit();
  }

  /**
   * Returns the lowest the limit can go.
   *
   * @return the configured minimum limit
   */
  public int minLimit() {
    return minLimit;
  }

  /**
   * Returns the highest the limit can go.
   *
   * @return the configured maximum limit
   */
  public int maxLimit() {
    return maxLimit;
  }

  /**
   * Returns how long {@link #acquire()} and {@link #call(Callable)} wait for a permit.
   *
   * @return the configured wait; zero means fail fast
   */
  public Duration maxWait() {
    return maxWait;
  }

  /**
   * Returns the number of permits granted and not yet released.
   *
   * @return permits in flight; may exceed the limit while a shrink drains
   */
  public int inFlight() {
    return pool.inFlight();
  }

  /**
   * Returns how many permits could be granted right now.
   *
   * @return {@code max(0, limit() - inFlight())}
   */
  public int available() {
    return pool.available();
  }

  /**
   * Returns the number of callers currently waiting for a permit.
   *
   * @return queued waiters
   */
  public int waiting() {
    return pool.waiting();
  }

  /**
   * Returns how many calls this bulkhead has refused since it was built.
   *
   * @return the total of refused acquisitions
   */
  public long rejected() {
    return pool.rejected();
  }

  @Override
  public String toString() {
    return "AdaptiveBulkhead{" + name + ", inFlight=" + pool.inFlight() + "/" + pool.limit() + " in ["
        + minLimit + ", " + maxLimit + "], waiting=" + pool.waiting() + ", rejected=" + pool.rejected() + "}";
  }

  /** The algorithm's state, for tests in this package. */
  AdaptiveLimit adaptiveLimit() {
    return limit;
  }

  private int acquireSlot() throws InterruptedException {
    int before = pool.acquire(maxWaitNanos);
    if (before < 0) {
      throw rejected(maxWait);
    }
    return before;
  }

  /** Reads the ticker for a permit just granted; if the ticker throws, gives the permit back first. */
  private long startOrRelease() {
    try {
      return ticker.read();
    } catch (Throwable brokenTicker) {
      pool.release();
      throw brokenTicker;
    }
  }

  /** Whether a call with {@code remaining} nanoseconds left is refused before it takes a permit. */
  private boolean cannotFinish(long remaining) {
    // NaN before the first success: no estimate, and a comparison with NaN is false
    return remaining <= 0 || dropIfCannotFinish && remaining < limit.smoothedLatencyNanos();
  }

  private DeadlineExceededException refusedLate(long remaining, String when) {
    refusedLate.increment();
    String why = remaining <= 0
        ? "deadline passed " + Duration.ofNanos(-Math.max(remaining, -Long.MAX_VALUE)) + " ago"
        : String.format(Locale.ROOT, "cannot finish in time: %s left, smoothed latency %s",
            Duration.ofNanos(remaining), Duration.ofNanos((long) limit.smoothedLatencyNanos()));
    DeadlineExceededException e =
        new DeadlineExceededException(name, "adaptive bulkhead '" + name + "' refused a call " + when + ": " + why);
    if (listener != EventListener.noop()) {
      listener.onEvent(Event.rejected(name, Duration.ZERO, 1, e.getMessage(), e));
    }
    return e;
  }

  private BulkheadFullException rejected(Duration waited) {
    pool.countRejection();
    int current = pool.limit();
    BulkheadFullException e = waited == null ? null : new BulkheadFullException(name, current, waited);
    if (listener != EventListener.noop()) { // nobody listens: build no event (issue 13)
      listener.onEvent(Event.rejected(name, Duration.ZERO, 1, "limit of " + current + " concurrent calls reached", e));
    }
    return e;
  }

  /**
   * Builds an {@link AdaptiveBulkhead}. Setters validate their argument at once; {@link #build()}
   * checks that the limits are consistent. Every failure is an {@link IllegalArgumentException}
   * naming the parameter and the value. Not thread-safe.
   */
  public static final class Builder {
    private String name = "adaptive-bulkhead";
    private int minLimit = 1;
    private int maxLimit = 200;
    private int initialLimit = -1;
    private Duration latencyTarget = Duration.ofSeconds(1);
    private double latencyTolerance = 2.0;
    private double decreaseFactor = 0.9;
    private Duration callTimeout;
    private Duration minLatencyWindow = Duration.ofSeconds(30);
    private Predicate<? super Throwable> dropWhen = DEFAULT_DROPS;
    private Duration maxWait = Duration.ZERO;
    private boolean dropIfCannotFinish;
    private boolean fair;
    private Ticker ticker = Ticker.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance's name, used in rejections, events and logs.
     *
     * @param name a non-blank name; default {@code "adaptive-bulkhead"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the lowest the limit can fall, however badly the upstream behaves.
     *
     * @param minLimit at least 1, at most {@code maxLimit}; default 1
     * @return this builder
     * @throws IllegalArgumentException if {@code minLimit < 1}
     */
    public Builder minLimit(int minLimit) {
      this.minLimit = Checks.positive(minLimit, "minLimit");
      return this;
    }

    /**
     * Sets the highest the limit can grow, however well the upstream behaves.
     *
     * @param maxLimit at least 1 and at least {@code minLimit}; default 200
     * @return this builder
     * @throws IllegalArgumentException if {@code maxLimit < 1}
     */
    public Builder maxLimit(int maxLimit) {
      this.maxLimit = Checks.positive(maxLimit, "maxLimit");
      return this;
    }

    /**
     * Sets the limit to start from.
     *
     * @param initialLimit in {@code [minLimit, maxLimit]}; default 20, clamped into that range
     * @return this builder
     * @throws IllegalArgumentException if {@code initialLimit < 1}
     */
    public Builder initialLimit(int initialLimit) {
      this.initialLimit = Checks.positive(initialLimit, "initialLimit");
      return this;
    }

    /**
     * Sets the latency above which a successful call does not justify a higher limit (it does not
     * lower it either; see {@link #latencyTolerance(double)} and {@link #callTimeout(Duration)}).
     *
     * @param latencyTarget positive; default one second. Set it to what the upstream should answer in.
     * @return this builder
     * @throws NullPointerException if {@code latencyTarget} is null
     * @throws IllegalArgumentException if {@code latencyTarget} is zero or negative
     */
    public Builder latencyTarget(Duration latencyTarget) {
      this.latencyTarget = Checks.positive(latencyTarget, "latencyTarget");
      return this;
    }

    /**
     * Sets how far above the observed minimum latency the smoothed latency may rise before it is
     * taken as queueing at the upstream and the limit is lowered.
     *
     * @param latencyTolerance a finite factor greater than 1; default 2.0
     * @return this builder
     * @throws IllegalArgumentException if {@code latencyTolerance} is not finite or not above 1
     */
    public Builder latencyTolerance(double latencyTolerance) {
      Checks.check(latencyTolerance > 1.0 && latencyTolerance < Double.POSITIVE_INFINITY,
          "latencyTolerance", "greater than 1 and finite", latencyTolerance);
      this.latencyTolerance = latencyTolerance;
      return this;
    }

    /**
     * Sets the factor the limit is multiplied by on each drop, timeout or congested sample.
     *
     * @param decreaseFactor strictly between 0 and 1; default 0.9
     * @return this builder
     * @throws IllegalArgumentException if {@code decreaseFactor} is not in {@code (0, 1)}
     */
    public Builder decreaseFactor(double decreaseFactor) {
      Checks.check(decreaseFactor > 0.0 && decreaseFactor < 1.0, "decreaseFactor", "in (0, 1)", decreaseFactor);
      this.decreaseFactor = decreaseFactor;
      return this;
    }

    /**
     * Sets the latency at which a call counts as timed out (a drop) even if it eventually
     * succeeded or failed for another reason.
     *
     * @param callTimeout positive; default none (only reported drops and exceptions count)
     * @return this builder
     * @throws NullPointerException if {@code callTimeout} is null
     * @throws IllegalArgumentException if {@code callTimeout} is zero or negative
     */
    public Builder callTimeout(Duration callTimeout) {
      this.callTimeout = Checks.positive(callTimeout, "callTimeout");
      return this;
    }

    /**
     * Sets how long a minimum latency is remembered: the observed minimum spans the current and the
     * previous window, so an upstream whose normal latency really changed is re-learned within two
     * windows.
     *
     * @param minLatencyWindow positive; default 30 seconds
     * @return this builder
     * @throws NullPointerException if {@code minLatencyWindow} is null
     * @throws IllegalArgumentException if {@code minLatencyWindow} is zero or negative
     */
    public Builder minLatencyWindow(Duration minLatencyWindow) {
      this.minLatencyWindow = Checks.positive(minLatencyWindow, "minLatencyWindow");
      return this;
    }

    /**
     * Sets which exceptions from {@code call} and {@code callAsync} are drops (the upstream timed
     * out, refused or shed the call), tested after unwrapping {@code CompletionException} and
     * {@code ExecutionException}. Other exceptions are ignored unless they took
     * {@code callTimeout}. A predicate that throws counts as "not a drop".
     *
     * @param dropWhen the classifier; default {@link AdaptiveBulkhead#isTimeout(Throwable)}: the JDK's
     *     timeout exceptions, also as a cause
     * @return this builder
     * @throws NullPointerException if {@code dropWhen} is null
     */
    public Builder dropWhen(Predicate<? super Throwable> dropWhen) {
      this.dropWhen = Objects.requireNonNull(dropWhen, "dropWhen");
      return this;
    }

    /**
     * Sets how long {@link AdaptiveBulkhead#acquire()} and {@link AdaptiveBulkhead#call(Callable)}
     * wait for a permit before refusing.
     *
     * @param maxWait zero (the default: fail fast) or positive
     * @return this builder
     * @throws NullPointerException if {@code maxWait} is null
     * @throws IllegalArgumentException if {@code maxWait} is negative
     */
    public Builder maxWait(Duration maxWait) {
      this.maxWait = Checks.nonNegative(maxWait, "maxWait");
      return this;
    }

    /**
     * Sets whether {@link AdaptiveBulkhead#call(Deadline, Callable)} and {@link
     * AdaptiveBulkhead#callAsync(Deadline, Supplier)} refuse at once a call with less time left
     * than the smoothed latency of successes, which would most likely answer after its caller left.
     * Off by default: then only calls whose deadline has passed are refused.
     *
     * @param dropIfCannotFinish {@code true} to refuse by the smoothed latency
     * @return this builder
     */
    public Builder dropIfCannotFinish(boolean dropIfCannotFinish) {
      this.dropIfCannotFinish = dropIfCannotFinish;
      return this;
    }

    /**
     * Sets whether waiters are served strictly first come, first served.
     *
     * @param fair {@code true} for FIFO fairness; default {@code false}
     * @return this builder
     */
    public Builder fair(boolean fair) {
      this.fair = fair;
      return this;
    }

    /**
     * Sets the time source that measures latencies, windows and {@code maxWait}. A ticker that
     * throws never costs a permit: at a grant the permit is given back and the exception thrown
     * (the call does not run); when a call ends it costs only that call's sample, and the call's
     * own result or failure reaches the caller unchanged.
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
     * Sets the listener for rejections and limit changes; it is wrapped with
     * {@link EventListener#guarded(EventListener)}.
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
     * Builds the bulkhead.
     *
     * @return a new adaptive bulkhead at its initial limit with all permits available
     * @throws IllegalArgumentException if {@code minLimit > maxLimit}, or an explicitly set
     *     {@code initialLimit} lies outside {@code [minLimit, maxLimit]}
     */
    public AdaptiveBulkhead build() {
      Checks.check(minLimit <= maxLimit, "minLimit", "at most maxLimit (" + maxLimit + ")", minLimit);
      int initial;
      if (initialLimit < 0) {
        initial = Math.max(minLimit, Math.min(maxLimit, 20));
      } else {
        Checks.check(initialLimit >= minLimit && initialLimit <= maxLimit, "initialLimit",
            "in [" + minLimit + ", " + maxLimit + "]", initialLimit);
        initial = initialLimit;
      }
      return new AdaptiveBulkhead(this, initial);
    }
  }
}
