package dev.shepherd.circuitbreaker;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * A circuit breaker: stops calling a dependency that keeps failing, lets it recover, and tries it
 * again with a bounded number of probes, at a time of its own so that a fleet does not probe
 * together.
 *
 * <pre>{@code
 * CircuitBreaker cloud = CircuitBreaker.builder().name("cloud").build();
 * State state = cloud.call(() -> api.state(deviceId));   // CircuitBreakerOpenException while open
 * }</pre>
 *
 * <p><b>States.</b>
 * <ul>
 *   <li>{@link State#CLOSED}: calls pass; their outcomes fill a sliding window, either the last
 *       {@code n} calls ({@link Builder#countWindow(int)}) or the calls of the last stretch of time
 *       ({@link Builder#timeWindow(Duration, int)}). After each outcome, if the window holds at
 *       least {@link Builder#minimumCalls(int) minimumCalls} calls and the share of failures
 *       reaches the {@link Builder#failureRateThreshold(double) failure-rate threshold}, or the
 *       share of slow calls reaches the {@link Builder#slowCallRateThreshold(double) slow-call rate
 *       threshold}, the breaker opens.
 *   <li>{@link State#OPEN}: calls are refused with a {@link CircuitBreakerOpenException} whose
 *       {@link CircuitBreakerOpenException#retryAfter() retry-after} is the exact time left. The
 *       breaker stays open for {@code openDuration + U}, where {@code U} is drawn uniformly from
 *       {@code [0, openJitter)} by {@code random.nextLong(openJitter in nanoseconds)} at the moment
 *       it opens: a thousand breakers that open in the same instant start probing spread over the
 *       whole jitter window, not together.
 *   <li>{@link State#HALF_OPEN}: the half-open period begins at the first permission request once
 *       the open time is over. At most {@link Builder#halfOpenProbes(int) k} probe calls are in
 *       flight at any time, and the verdict comes after {@code k} judged probes: if their failure
 *       rate or slow-call rate reaches its threshold the breaker opens again (with a fresh draw),
 *       otherwise it closes with an empty window. Other calls are refused meanwhile, without a
 *       retry-after hint. The period lasts at most {@link Builder#halfOpenTimeout(Duration)
 *       halfOpenTimeout}: if the verdict has not come by then, the period ends at that instant with
 *       a verdict on what is known, every probe still unreported counting as a failed probe (a
 *       probe that never reports cannot hold its slot for ever). The failure and slow-call rates
 *       are then judged over the probes judged plus those unreported, fewer than {@code k}; a
 *       period in which no probe was judged and none is out (every one was given back or ignored)
 *       opens the breaker again. Outcomes reported after the period ended are dropped.
 *   <li>{@link State#FORCED_OPEN} and {@link State#DISABLED}: set by an operator with {@link
 *       #forceOpen()} (refuse everything) or {@link #disable()} (permit everything, judge nothing),
 *       until {@link #reset()} closes the breaker with an empty window.
 * </ul>
 *
 * <p><b>What counts.</b> An exception is ignored (neither success nor failure, and a probe's
 * permission is given back) if it matches {@link Builder#ignoreIf(Predicate) ignoreIf}, else a
 * failure if it matches {@link Builder#failureIf(Predicate) failureIf} (default: every exception),
 * else a success. A result is a failure if it matches {@link Builder#failureIfResult(Predicate)
 * failureIfResult} (default: none). A call is slow if it took longer than {@link
 * Builder#slowCallDuration(Duration) slowCallDuration} (default: slow calls are not judged).
 *
 * <p><b>Ways in.</b> {@link #call(Callable)} and {@link #callAsync(Supplier)} do everything. Code
 * that cannot be wrapped in a lambda, or must not allocate, uses the permission form:
 * <pre>{@code
 * long permission = breaker.tryAcquirePermission();
 * if (permission == CircuitBreaker.NOT_PERMITTED) { ...fall back... }
 * long start = System.nanoTime();
 * try {
 *   Reply reply = client.send(request);
 *   breaker.onSuccess(permission, System.nanoTime() - start);
 * } catch (IOException e) {
 *   breaker.onError(permission, System.nanoTime() - start, e);
 * }
 * }</pre>
 * Every permission must end in exactly one {@link #onSuccess(long, long)}, {@link #onError(long,
 * long, Throwable)} or {@link #releasePermission(long)}; a half-open probe that never reports keeps
 * its slot until the half-open period times out, and then counts as failed. An outcome reported
 * after the breaker changed state is dropped (the permission names the period that granted it), so
 * a slow call from before an opening never counts as a probe.
 *
 * <p><b>Reading the state.</b> {@link #state()} and the window getters never start a half-open
 * period (its clock must start with its first probe), but they report what a permission request
 * would find: an open breaker whose open time is over reads as {@code HALF_OPEN} with no probe
 * judged, and a half-open period past its timeout is ended (as above) before it is read.
 *
 * <p><b>Cost.</b> A permitted call in the closed state takes no lock and, once warm, allocates nothing: a
 * volatile read to be permitted; to record, with a count window, one atomic increment plus, only
 * when the outcome differs from the one it displaces, one swap and one atomic add; with a time
 * window, one ticker read and one atomic add to a striped counter (plus one for a failure or a
 * slow call). The striped counter allocates its cells, at most one per processor, the first time
 * threads collide on it in a closed period; never again until the next one. The ticker is read
 * around the call only when slow calls are judged.
 * Transitions and rejections are the slow paths that allocate and report.
 *
 * <p><b>Events.</b> Each transition is reported as {@link Event.Kind#STATE_CHANGED} (detail {@code
 * "CLOSED -> OPEN"}; for an opening, {@link Event#delay()} is the open time drawn) and each refusal
 * as {@link Event.Kind#REJECTED}.
 *
 * <p>Thread-safe. With a {@link Builder#random(RandomGenerator) configured generator} draws are
 * made under a short lock, so the generator need not be thread-safe.
 */
public final class CircuitBreaker implements Policy {

  /*
   * Design note: one compare-and-set per transition, and epochs.
   *
   * The whole state is one reference to an immutable-identity Epoch (state, number, and the
   * mutable counters that belong to that state only). A transition builds the next epoch and
   * compare-and-sets it in place of the one it judged; exactly one thread wins, and only the
   * winner reports the event. So there is no moment at which a window belongs to two states, and
   * a closed window is never reset under a writer: the next closed period gets a new one.
   *
   * A permission is the number of the epoch that granted it. An outcome is judged only by that
   * same epoch, so a call admitted while closed that returns after the breaker opened and went
   * half-open is dropped, and half-open probes are exactly those its epoch handed out. Within a
   * half-open epoch, probesLeft starts at k and only a returned (unused or ignored) permission
   * gives one back, so taken − returned ≤ k at all times: at most k probes in flight. Judged
   * probes are counted with one atomic add, and the add that brings the count to k is unique,
   * so exactly one thread delivers the verdict.
   *
   * Time-driven ends are applied lazily, by whoever comes first after them. A half-open epoch
   * carries its end (halfOpenUntil); the first permission request, outcome, release or read at or
   * after it ends the epoch with a compare-and-set, dated at halfOpenUntil, and the outcomes of
   * that epoch that arrive later are stale like any other. The verdict reads probesLeft and the
   * judged counts one after the other: a probe that reports or is released between the two reads
   * may be counted as unreported. This race is benign: only a report that raced with the end of the
   * period (its own ticker read came just before halfOpenUntil) can be counted as a failure, and
   * the compare-and-set still lets exactly one verdict through. An open epoch is never ended by a
   * read: reads derive HALF_OPEN from openUntil, so that the half-open clock starts with a real
   * probe, not with a metrics scrape.
   *
   * Worked example (count window 10, minimumCalls 10, threshold 0.5, open 30 s + [0, 15 s), k 3):
   * calls 1-5 succeed, 6-10 fail: after call 10 the window holds 10 calls and 5 failures, 5 ≥ 0.5
   * × 10, the breaker opens at t = 0 and draws U = 7.2 s. A call at t = 20 s is refused with
   * retry-after 17.2 s. A call at t = 37.2 s moves the breaker to half-open and is probe 1; probes
   * 2 and 3 are granted, a fourth caller is refused. Probes 1 and 3 succeed and probe 2 fails: 1
   * failure of 3 is below 0.5 × 3, so the breaker closes with an empty window.
   */

  /** What {@link #tryAcquirePermission()} returns when the call is not permitted. */
  public static final long NOT_PERMITTED = -1L;

  /** The states of a breaker. */
  public enum State {
    /** Calls pass and are judged. */
    CLOSED,
    /** Calls are refused until the open time, drawn at opening, is over. */
    OPEN,
    /** At most {@code k} probes are in flight; their outcomes decide between closed and open. */
    HALF_OPEN,
    /** An operator opened the breaker; calls are refused until {@link CircuitBreaker#reset()}. */
    FORCED_OPEN,
    /** An operator disabled the breaker; calls pass and are not judged until a reset. */
    DISABLED
  }

  private final String name;
  private final Ticker ticker;
  private final RandomGenerator random;
  private final ReentrantLock randomLock = new ReentrantLock();
  private final EventListener listener;
  private final boolean listening;
  private final TripRule rule;
  private final int windowSize;
  private final int buckets;
  private final long bucketNanos;
  private final long slowCallNanos;
  private final long openNanos;
  private final long openJitterNanos;
  private final int probes;
  private final long halfOpenNanos;
  private final Predicate<? super Throwable> failureIf;
  private final Predicate<? super Throwable> ignoreIf;
  private final Predicate<Object> failureIfResult;
  private final AtomicReference<Epoch> epoch;
  private final LongAdder notPermitted = new LongAdder();
  private final LongAdder transitions = new LongAdder();

  private CircuitBreaker(Builder b) {
    this.name = b.name;
    this.ticker = b.ticker;
    this.random = b.random;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
    this.listening = listener != EventListener.noop();
    this.rule = new TripRule(b.minimumCalls, b.failureRateThreshold,
        b.slowCallDuration == null ? Double.NaN : b.slowCallRateThreshold);
    this.windowSize = b.windowSize;
    this.buckets = b.buckets;
    this.bucketNanos = b.bucketNanos;
    this.slowCallNanos = b.slowCallDuration == null ? -1 : Durations.toNanosSaturated(b.slowCallDuration);
    this.openNanos = Durations.toNanosSaturated(b.openDuration);
    this.openJitterNanos = Durations.toNanosSaturated(b.openJitter);
    this.probes = b.halfOpenProbes;
    this.halfOpenNanos = Durations.toNanosSaturated(b.halfOpenTimeout);
    this.failureIf = b.failureIf;
    this.ignoreIf = b.ignoreIf;
    this.failureIfResult = b.failureIfResult;
    long now = ticker.read();
    this.epoch = new AtomicReference<>(Epoch.closed(0, now, newWindow(now)));
  }

  /**
   * Returns a builder with the defaults: name {@code "circuitbreaker"}, a count window of the last
   * 100 calls, at least 20 calls before judging, failure-rate threshold 0.5, slow calls not judged,
   * open for 30 s plus a jitter drawn from {@code [0, 15 s)}, 5 half-open probes with 60 s to report,
   * every exception a failure, the system ticker, {@link ThreadLocalRandom}, the logging listener.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a breaker with the given name and the defaults of {@link #builder()}.
   *
   * @param name the instance's name, used in rejections and events
   * @return a new closed breaker
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is blank
   */
  public static CircuitBreaker of(String name) {
    return builder().name(name).build();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Asks to make one call, without allocating when the answer is yes.
   *
   * <p>Moves an open breaker whose open time is over to half-open. A refusal is counted and
   * reported; it allocates only the event, and nothing when the listener is {@link
   * EventListener#noop()}.
   *
   * @return a permission (zero or more) to hand to exactly one of {@link #onSuccess(long, long)},
   *     {@link #onError(long, long, Throwable)} or {@link #releasePermission(long)}, or {@link
   *     #NOT_PERMITTED}
   */
  public long tryAcquirePermission() {
    Epoch e = epoch.get();
    if (e.state == State.CLOSED || e.state == State.DISABLED) {
      return e.id;
    }
    return acquireSlow(e, false);
  }

  /**
   * Asks to make one call, and throws if the breaker refuses.
   *
   * @return a permission to hand to exactly one of {@link #onSuccess(long, long)}, {@link
   *     #onError(long, long, Throwable)} or {@link #releasePermission(long)}
   * @throws CircuitBreakerOpenException if the call is not permitted; when the breaker is open its
   *     retry-after is the exact time left until probes are allowed
   */
  public long acquirePermission() {
    Epoch e = epoch.get();
    if (e.state == State.CLOSED || e.state == State.DISABLED) {
      return e.id;
    }
    return acquireSlow(e, true);
  }

  /**
   * Reports that a permitted call succeeded.
   *
   * @param permission what {@link #tryAcquirePermission()} or {@link #acquirePermission()} returned
   * @param durationNanos how long the call took, judged against {@code slowCallDuration}
   */
  public void onSuccess(long permission, long durationNanos) {
    judge(permission, Counts.code(false, isSlow(durationNanos)));
  }

  /**
   * Reports that a permitted call failed; the classifiers decide whether it counts as a failure,
   * a success, or not at all.
   *
   * @param permission what {@link #tryAcquirePermission()} or {@link #acquirePermission()} returned
   * @param durationNanos how long the call took, judged against {@code slowCallDuration}
   * @param error what the call threw
   * @throws NullPointerException if {@code error} is null
   */
  public void onError(long permission, long durationNanos, Throwable error) {
    Objects.requireNonNull(error, "error");
    if (test(ignoreIf, error, false)) {
      releasePermission(permission);
      return;
    }
    judge(permission, Counts.code(test(failureIf, error, true), isSlow(durationNanos)));
  }

  /**
   * Gives back a permission whose call was not made (or whose outcome must not count): a
   * half-open breaker may hand it to another probe. Give each permission back at most once.
   *
   * @param permission what {@link #tryAcquirePermission()} or {@link #acquirePermission()} returned
   */
  public void releasePermission(long permission) {
    Epoch e = epoch.get();
    if (e.id == permission && e.state == State.HALF_OPEN && !expired(e)) {
      e.returnProbe();
    }
  }

  /**
   * Runs {@code action} if the breaker permits it, and judges its outcome.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws CircuitBreakerOpenException if the breaker refused the call ({@code action} did not run)
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    long permission = acquirePermission();
    long start = slowCallNanos >= 0 ? ticker.read() : 0;
    T result;
    try {
      result = action.call();
    } catch (Throwable t) {
      onError(permission, elapsedSince(start), t);
      throw t;
    }
    onResult(permission, elapsedSince(start), result);
    return result;
  }

  /**
   * Starts {@code action} if the breaker permits it, and judges the outcome of its stage when it
   * completes. Never blocks.
   *
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does, after its outcome was judged; or failed with
   *     a {@link CircuitBreakerOpenException} (the action is then not started), or with what
   *     {@code action} threw
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    long permission;
    try {
      permission = acquirePermission();
    } catch (CircuitBreakerOpenException e) {
      return CompletableFuture.failedFuture(e);
    }
    long start = slowCallNanos >= 0 ? ticker.read() : 0;
    CompletionStage<T> stage;
    try {
      stage = Objects.requireNonNull(action.get(), "action returned a null stage");
    } catch (Throwable t) {
      onError(permission, elapsedSince(start), t);
      return CompletableFuture.failedFuture(t);
    }
    return stage.whenComplete((result, failure) -> {
      if (failure == null) {
        onResult(permission, elapsedSince(start), result);
      } else {
        onError(permission, elapsedSince(start),
            failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure);
      }
    });
  }

  /**
   * Opens the breaker until {@link #reset()}: every call is refused, without a retry-after hint.
   * For operators; reported as a state change.
   */
  public void forceOpen() {
    manual(State.FORCED_OPEN);
  }

  /**
   * Disables the breaker until {@link #reset()}: every call is permitted and none is judged. For
   * operators; reported as a state change.
   */
  public void disable() {
    manual(State.DISABLED);
  }

  /**
   * Closes the breaker with an empty window, from any state. For operators and tests; reported as
   * a state change.
   */
  public void reset() {
    long now = ticker.read();
    for (;;) {
      Epoch e = epoch.get();
      if (transition(e, Epoch.closed(e.id + 1, now, newWindow(now)), "reset")) {
        return;
      }
    }
  }

  /**
   * Returns the current state, as the next permission request would find it: an open breaker whose
   * open time is over reads as {@code HALF_OPEN} (the half-open period itself begins at that
   * request), and a half-open period past its {@code halfOpenTimeout} is ended first. Reads the
   * ticker unless the breaker is closed, forced open or disabled.
   *
   * @return the state
   */
  public State state() {
    Epoch e = current();
    return probing(e) ? State.HALF_OPEN : e.state;
  }

  /**
   * Returns the calls in the current window: the closed window; the judged probes when half-open
   * (none yet when the open time is over but no probe was asked for); the window that opened the
   * breaker when open; zero when forced open or disabled.
   *
   * @return calls counted
   */
  public long windowCalls() {
    return counts()[0];
  }

  /**
   * Returns the failures among {@link #windowCalls()}.
   *
   * @return failures counted
   */
  public long windowFailures() {
    return counts()[1];
  }

  /**
   * Returns the slow calls among {@link #windowCalls()} (zero when slow calls are not judged).
   *
   * @return slow calls counted
   */
  public long windowSlowCalls() {
    return counts()[2];
  }

  /**
   * Returns the failure rate of {@link #windowCalls()}, whether or not there are enough calls to
   * judge.
   *
   * @return failures / calls in {@code [0, 1]}, or 0 when the window is empty
   */
  public double failureRate() {
    long[] c = counts();
    return c[0] == 0 ? 0 : (double) c[1] / c[0];
  }

  /**
   * Returns the slow-call rate of {@link #windowCalls()}.
   *
   * @return slow calls / calls in {@code [0, 1]}, or 0 when the window is empty
   */
  public double slowCallRate() {
    long[] c = counts();
    return c[0] == 0 ? 0 : (double) c[2] / c[0];
  }

  /**
   * Returns the half-open probes handed out and neither judged nor given back; never more than
   * {@code halfOpenProbes}.
   *
   * @return probes in flight, or 0 when not half-open
   */
  public int probesInFlight() {
    Epoch e = current();
    return e.state == State.HALF_OPEN ? e.probesInFlight(probes) : 0;
  }

  /**
   * Returns how many calls the breaker has refused since it was built.
   *
   * @return refusals, in every state
   */
  public long notPermittedCalls() {
    return notPermitted.sum();
  }

  /**
   * Returns how many state changes the breaker has made since it was built, manual ones included.
   *
   * @return transitions
   */
  public long transitions() {
    return transitions.sum();
  }

  /**
   * Returns the configured number of half-open probes.
   *
   * @return {@code k}
   */
  public int halfOpenProbes() {
    return probes;
  }

  /**
   * Returns the longest a half-open period waits for its verdict.
   *
   * @return the configured {@code halfOpenTimeout}
   */
  public Duration halfOpenTimeout() {
    return Duration.ofNanos(halfOpenNanos);
  }

  @Override
  public String toString() {
    long[] c = counts();
    return "CircuitBreaker{" + name + ", " + state() + ", window " + c[1] + " failed / " + c[2] + " slow / "
        + c[0] + " calls, notPermitted=" + notPermittedCalls() + "}";
  }

  // ---------------------------------------------------------------------------------------------

  private long[] counts() {
    Epoch e = current();
    switch (e.state) {
      case CLOSED:
        return e.window.counts();
      case OPEN:
        return probing(e) ? new long[3] : e.trippedBy.clone();
      case HALF_OPEN:
        return e.probeCounts();
      default:
        return new long[3];
    }
  }

  private Window newWindow(long origin) {
    return windowSize > 0 ? new CountWindow(windowSize, rule)
        : new TimeWindow(buckets, bucketNanos, ticker, origin, rule);
  }

  /** The current epoch, after ending a half-open period whose time is over. */
  private Epoch current() {
    Epoch e = epoch.get();
    while (expired(e)) {
      e = epoch.get();
    }
    return e;
  }

  /** Whether {@code e} is open with its open time over: the next request would begin a half-open period. */
  private boolean probing(Epoch e) {
    return e.state == State.OPEN && ticker.read() >= e.openUntil;
  }

  /**
   * If {@code e} is a half-open period whose time is over, ends it (or sees another thread end it)
   * and returns {@code true}; otherwise returns {@code false}. The verdict is dated at the period's
   * end, not at the moment it is noticed: a new open time or closed window starts then.
   */
  private boolean expired(Epoch e) {
    if (e.state != State.HALF_OPEN || ticker.read() < e.halfOpenUntil) {
      return false;
    }
    // Probes racing with this read may be counted as unreported or as judged; the compare-and-set
    // in transition() lets exactly one verdict through, and later reports are stale.
    long judged = e.probeOutcomes();
    long unreported = Math.max(0, e.probesInFlight(probes));
    long calls = Counts.calls(judged) + unreported;
    long failures = Counts.failures(judged) + unreported;
    long slow = Counts.slow(judged);
    long at = e.halfOpenUntil;
    String why = String.format(Locale.ROOT, "half-open time over, unreported probes: %d", unreported);
    if (calls == 0 || rule.breaks(calls, failures, slow)) {
      open(e, at, new long[] {calls, failures, slow}, why);
    } else {
      transition(e, Epoch.closed(e.id + 1, at, newWindow(at)), why);
    }
    return true;
  }

  private boolean isSlow(long durationNanos) {
    return slowCallNanos >= 0 && durationNanos > slowCallNanos;
  }

  private long elapsedSince(long start) {
    return slowCallNanos >= 0 ? ticker.read() - start : 0;
  }

  private void onResult(long permission, long durationNanos, Object result) {
    boolean failure = failureIfResult != null && test(failureIfResult, result, true);
    judge(permission, Counts.code(failure, isSlow(durationNanos)));
  }

  /** A classifier that throws is a bug in it; the outcome then counts as {@code onThrow}. */
  private static <X> boolean test(Predicate<? super X> classifier, X value, boolean onThrow) {
    try {
      return classifier.test(value);
    } catch (RuntimeException e) {
      return onThrow;
    }
  }

  private void judge(long permission, int code) {
    Epoch e = epoch.get();
    if (e.id != permission) {
      return; // stale: granted by an earlier period, or not a permission at all
    }
    if (e.state == State.CLOSED) {
      if (e.window.record(code)) {
        open(e, ticker.read(), e.window.counts(), "failure rate or slow-call rate reached its threshold");
      }
    } else if (e.state == State.HALF_OPEN && !expired(e)) {
      long judged = e.judgeProbe(code);
      if (Counts.calls(judged) == probes) {
        long failures = Counts.failures(judged);
        long slow = Counts.slow(judged);
        long now = ticker.read();
        if (rule.breaks(probes, failures, slow)) {
          open(e, now, new long[] {probes, failures, slow}, "probes failed");
        } else {
          transition(e, Epoch.closed(e.id + 1, now, newWindow(now)), "probes succeeded");
        }
      }
    }
  }

  private void open(Epoch from, long now, long[] trippedBy, String why) {
    long openFor = Durations.saturatedAdd(openNanos, drawJitter());
    transition(from, Epoch.open(from.id + 1, now, Durations.saturatedAdd(now, openFor), trippedBy),
        String.format(Locale.ROOT, "%s: %d failed, %d slow of %d calls", why, trippedBy[1], trippedBy[2],
            trippedBy[0]));
  }

  private long drawJitter() {
    if (openJitterNanos == 0) {
      return 0;
    }
    if (random == null) {
      return ThreadLocalRandom.current().nextLong(openJitterNanos);
    }
    randomLock.lock(); // the configured generator need not be thread-safe; the lock is short
    try {
      return random.nextLong(openJitterNanos);
    } finally {
      randomLock.unlock();
    }
  }

  private void manual(State state) {
    long now = ticker.read();
    for (;;) {
      Epoch e = epoch.get();
      if (e.state == state || transition(e, Epoch.manual(state, e.id + 1, now), "by an operator")) {
        return;
      }
    }
  }

  private boolean transition(Epoch from, Epoch to, String why) {
    if (!epoch.compareAndSet(from, to)) {
      return false;
    }
    transitions.increment();
    if (listening) {
      Duration delay = to.state == State.OPEN ? Duration.ofNanos(to.openUntil - to.since) : Duration.ZERO;
      listener.onEvent(new Event(name, Event.Kind.STATE_CHANGED, delay, from.state + " -> " + to.state + " (" + why
          + ")", null));
    }
    return true;
  }

  /** The slow path of a permission request: open, half-open, forced open. */
  private long acquireSlow(Epoch e, boolean throwing) {
    for (;;) {
      switch (e.state) {
        case CLOSED:
        case DISABLED:
          return e.id;
        case HALF_OPEN:
          if (expired(e)) {
            break;
          }
          if (e.takeProbe()) {
            return e.id;
          }
          return refuse(e, -1, throwing);
        case OPEN: {
          long now = ticker.read();
          if (now < e.openUntil) {
            return refuse(e, e.openUntil - now, throwing);
          }
          transition(e, Epoch.halfOpen(e.id + 1, now, Durations.saturatedAdd(now, halfOpenNanos), probes),
              "open time over");
          break;
        }
        default:
          return refuse(e, -1, throwing);
      }
      e = epoch.get();
    }
  }

  /** Counts and reports a refusal; throws it when {@code throwing}, else returns {@link #NOT_PERMITTED}. */
  private long refuse(Epoch e, long retryAfterNanos, boolean throwing) {
    notPermitted.increment();
    CircuitBreakerOpenException exception =
        throwing ? new CircuitBreakerOpenException(name, e.state, retryAfterNanos) : null;
    if (listening) {
      listener.onEvent(new Event(name, Event.Kind.REJECTED,
          retryAfterNanos < 0 ? Duration.ZERO : Duration.ofNanos(retryAfterNanos), "circuit " + e.state, exception));
    }
    if (throwing) {
      throw exception;
    }
    return NOT_PERMITTED;
  }

  /**
   * Builds a {@link CircuitBreaker}. Each setter validates its argument at once and throws an
   * {@link IllegalArgumentException} naming the parameter and the value; {@link #build()} checks
   * the settings against each other. Not thread-safe; the built breaker does not change when the
   * builder is reused.
   */
  public static final class Builder {
    private String name = "circuitbreaker";
    private int windowSize = 100;
    private int buckets;
    private long bucketNanos;
    private int minimumCalls = 20;
    private double failureRateThreshold = 0.5;
    private Duration slowCallDuration;
    private double slowCallRateThreshold = 1.0;
    private Duration openDuration = Duration.ofSeconds(30);
    private Duration openJitter = Duration.ofSeconds(15);
    private int halfOpenProbes = 5;
    private Duration halfOpenTimeout = Duration.ofMinutes(1);
    private Predicate<? super Throwable> failureIf = t -> true;
    private Predicate<? super Throwable> ignoreIf = t -> false;
    private Predicate<Object> failureIfResult;
    private Ticker ticker = Ticker.system();
    private RandomGenerator random;
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance's name, used in rejections, events and logs.
     *
     * @param name a non-blank name; default {@code "circuitbreaker"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Judges the last {@code size} calls (the default, with 100). Replaces a time window.
     *
     * @param size calls in the window, in {@code [1, 1000000]}
     * @return this builder
     * @throws IllegalArgumentException if {@code size} is out of range
     */
    public Builder countWindow(int size) {
      Checks.check(size >= 1 && size <= Counts.MAX, "size", "in [1, " + Counts.MAX + "]", size);
      this.windowSize = size;
      return this;
    }

    /**
     * Judges the calls of the last {@code length} of time, counted in {@code buckets} steps on the
     * ticker: a call leaves the window between {@code length − length/buckets} and {@code length}
     * after it was judged. Replaces a count window.
     *
     * @param length the window's length, at least {@code buckets} nanoseconds
     * @param buckets the number of steps, in {@code [1, 1000]}
     * @return this builder
     * @throws NullPointerException if {@code length} is null
     * @throws IllegalArgumentException if {@code length} is not positive or shorter than {@code
     *     buckets} nanoseconds, or {@code buckets} is out of range
     */
    public Builder timeWindow(Duration length, int buckets) {
      Checks.positive(length, "length");
      Checks.check(buckets >= 1 && buckets <= 1000, "buckets", "in [1, 1000]", buckets);
      long nanos = Durations.toNanosSaturated(length);
      Checks.check(nanos >= buckets, "length", "at least " + buckets + " ns (one per bucket)", length);
      this.buckets = buckets;
      this.bucketNanos = nanos / buckets;
      this.windowSize = 0;
      return this;
    }

    /**
     * Sets how many calls the window must hold before the breaker judges it. With a count window
     * it must not exceed the window's size (checked by {@link #build()}).
     *
     * @param minimumCalls at least 1; default 20
     * @return this builder
     * @throws IllegalArgumentException if {@code minimumCalls < 1}
     */
    public Builder minimumCalls(int minimumCalls) {
      this.minimumCalls = Checks.positive(minimumCalls, "minimumCalls");
      return this;
    }

    /**
     * Sets the share of failures at or above which the breaker opens.
     *
     * @param threshold in {@code (0, 1]}; default 0.5
     * @return this builder
     * @throws IllegalArgumentException if {@code threshold} is out of range or NaN
     */
    public Builder failureRateThreshold(double threshold) {
      this.failureRateThreshold = fraction(threshold, "failureRateThreshold");
      return this;
    }

    /**
     * Judges slow calls: a call that takes longer than {@code duration} on the ticker is slow.
     *
     * @param duration positive
     * @return this builder
     * @throws NullPointerException if {@code duration} is null
     * @throws IllegalArgumentException if {@code duration} is not positive
     */
    public Builder slowCallDuration(Duration duration) {
      this.slowCallDuration = Checks.positive(duration, "slowCallDuration");
      return this;
    }

    /**
     * Sets the share of slow calls at or above which the breaker opens; used only with {@link
     * #slowCallDuration(Duration)}.
     *
     * @param threshold in {@code (0, 1]}; default 1.0
     * @return this builder
     * @throws IllegalArgumentException if {@code threshold} is out of range or NaN
     */
    public Builder slowCallRateThreshold(double threshold) {
      this.slowCallRateThreshold = fraction(threshold, "slowCallRateThreshold");
      return this;
    }

    /**
     * Sets the shortest time the breaker stays open.
     *
     * @param duration positive; default 30 s
     * @return this builder
     * @throws NullPointerException if {@code duration} is null
     * @throws IllegalArgumentException if {@code duration} is not positive
     */
    public Builder openDuration(Duration duration) {
      this.openDuration = Checks.positive(duration, "openDuration");
      return this;
    }

    /**
     * Sets the width of the window from which each opening draws its extra open time: the breaker
     * stays open for {@code openDuration + U}, {@code U} uniform in {@code [0, jitter)}.
     *
     * @param jitter zero (no jitter: a fleet that opened together probes together) or positive;
     *     default 15 s
     * @return this builder
     * @throws NullPointerException if {@code jitter} is null
     * @throws IllegalArgumentException if {@code jitter} is negative
     */
    public Builder openJitter(Duration jitter) {
      this.openJitter = Checks.nonNegative(jitter, "openJitter");
      return this;
    }

    /**
     * Sets {@code k}, the most probe calls in flight when half-open and the number of judged
     * probes that decide.
     *
     * @param probes in {@code [1, 1000000]}; default 5
     * @return this builder
     * @throws IllegalArgumentException if {@code probes} is out of range
     */
    public Builder halfOpenProbes(int probes) {
      Checks.check(probes >= 1 && probes <= Counts.MAX, "halfOpenProbes", "in [1, " + Counts.MAX + "]", probes);
      this.halfOpenProbes = probes;
      return this;
    }

    /**
     * Sets the longest a half-open period waits for its verdict, counted from its first probe
     * request. When it is over before {@code k} probes were judged, each probe still unreported
     * counts as failed and the verdict is taken on what is known (see the class comment); a report
     * that comes later is dropped. Choose it longer than a healthy call takes, or the probes of a
     * slow but healthy dependency count as failed.
     *
     * @param timeout positive; default 60 s
     * @return this builder
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is not positive
     */
    public Builder halfOpenTimeout(Duration timeout) {
      this.halfOpenTimeout = Checks.positive(timeout, "halfOpenTimeout");
      return this;
    }

    /**
     * Sets which exceptions count as failures; the others (not ignored) count as successes, as
     * when the dependency answered "not found".
     *
     * @param failureIf the classifier; default: every exception. A classifier that throws counts
     *     the call as failed.
     * @return this builder
     * @throws NullPointerException if {@code failureIf} is null
     */
    public Builder failureIf(Predicate<? super Throwable> failureIf) {
      this.failureIf = Objects.requireNonNull(failureIf, "failureIf");
      return this;
    }

    /**
     * Sets which exceptions do not count at all (checked before {@link #failureIf(Predicate)}): a
     * call that throws one is as if it had not been made, and a half-open probe's slot is given
     * back.
     *
     * @param ignoreIf the classifier; default: none. A classifier that throws ignores nothing.
     * @return this builder
     * @throws NullPointerException if {@code ignoreIf} is null
     */
    public Builder ignoreIf(Predicate<? super Throwable> ignoreIf) {
      this.ignoreIf = Objects.requireNonNull(ignoreIf, "ignoreIf");
      return this;
    }

    /**
     * Sets which results count as failures, as an HTTP 503 returned rather than thrown.
     *
     * @param failureIfResult the classifier, given each result (possibly null); default: none. A
     *     classifier that throws counts the call as failed.
     * @return this builder
     * @throws NullPointerException if {@code failureIfResult} is null
     */
    public Builder failureIfResult(Predicate<Object> failureIfResult) {
      this.failureIfResult = Objects.requireNonNull(failureIfResult, "failureIfResult");
      return this;
    }

    /**
     * Sets the time source for open times, time windows and slow calls.
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
     * Sets the generator of open-time jitter, one {@code nextLong(bound)} per opening; a seeded
     * generator makes a fleet's schedule reproducible. Drawn under a lock: it need not be
     * thread-safe.
     *
     * @param random the generator; default {@link ThreadLocalRandom#current()} at each draw
     * @return this builder
     * @throws NullPointerException if {@code random} is null
     */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Sets the listener for transitions and refusals; it is wrapped with {@link
     * EventListener#guarded(EventListener)}.
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
     * Builds the breaker, closed with an empty window.
     *
     * @return a new breaker
     * @throws IllegalArgumentException if {@code minimumCalls} exceeds the size of a count window
     */
    public CircuitBreaker build() {
      if (windowSize > 0 && minimumCalls > windowSize) {
        throw Checks.invalid("minimumCalls", "at most the window's size " + windowSize, minimumCalls);
      }
      return new CircuitBreaker(this);
    }

    private static double fraction(double value, String name) {
      Checks.check(value > 0 && value <= 1, name, "in (0, 1]", value);
      return value;
    }
  }
}
