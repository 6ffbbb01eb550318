package dev.shepherd.backoff;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * A {@link Policy} that runs an action again when it fails, waiting between attempts as a
 * {@link Backoff} says, until it succeeds, runs out of attempts, time or budget, or meets an abort
 * condition.
 *
 * <pre>{@code
 * Retry retry = Retry.builder()
 *     .backoff(backoff)                        // e.g. a full-jitter Backoff
 *     .maxAttempts(5)                          // the first attempt counts: at most 4 retries
 *     .maxElapsed(Duration.ofSeconds(30))      // deadline on the Ticker, waits included
 *     .retryOn(e -> e instanceof IOException)
 *     .budget(sharedBudget)                    // optional RetryBudget, shared by many calls
 *     .build();
 * String body = retry.call(() -> fetch());
 * }</pre>
 *
 * <h2>Rules, in the order they are applied after each failed attempt</h2>
 * <ol>
 *   <li>An {@link InterruptedException}, or a failure seen while the calling thread's interrupt flag
 *       is set, stops at once; the flag stays set. So does an interrupt during the wait, even with a
 *       {@link Sleeper} that restores the flag instead of throwing: the call then throws an
 *       {@code InterruptedException} rather than retry without waiting.
 *   <li>A failure matching {@link Builder#abortOn(Predicate) abortOn} stops (event
 *       {@code GAVE_UP}); one not matching {@link Builder#retryOn(Predicate) retryOn} stops (event
 *       {@code FAILED} if it followed retries). {@link Error}s are never retried.
 *   <li>After {@code maxAttempts} attempts (the first included) it stops ({@code GAVE_UP}).
 *   <li>The wait is the backoff's next delay; if the failure carries a retry-after hint {@code h}
 *       (by default {@link RejectedException#retryAfter()} anywhere in the cause chain; see
 *       {@link Builder#hintExtractor(Function)}), the wait is at least a draw from {@code [h, h +
 *       max(h·retryAfterSpread, retryAfterMinJitter)]}, with {@code h} first clamped to
 *       {@code maxRetryAfter}. A wait is never below the hint. If the hint is a
 *       {@linkplain RejectedException#isPersonalSlot() personal slot} {@code s} (a slot the server
 *       reserved for this caller), the wait is instead a draw from {@code [s, s + slotJitter]} and
 *       the backoff does not advance.
 *   <li>With {@code maxElapsed}, measured on the {@link Ticker} from the start of the call: no
 *       attempt is scheduled after the deadline; a wait that would end past it is trimmed to end at
 *       the deadline, unless the hint itself ends past it, in which case it stops at once rather than
 *       come back before the server asked ({@code GAVE_UP}). The total of the waits is therefore
 *       never above {@code maxElapsed}. (Lateness of the sleeper itself is not counted against the
 *       final attempt.)
 *   <li>With the caller's {@link Deadline} ({@link #call(Deadline, Callable)}, {@link
 *       #callAsync(Deadline, Supplier)}): a wait is started only if it and then an attempt as long
 *       as the latest one both end before the deadline; otherwise it stops ({@code GAVE_UP}). No
 *       first attempt is made once the deadline has passed.
 *   <li>With a {@link RetryBudget}, each call deposits one request and each retry must withdraw
 *       from the budget; a refusal stops ({@code GAVE_UP}).
 * </ol>
 *
 * <p><b>Outcome.</b> When attempts stop on a failure, that last failure is thrown (or completes the
 * stage) with up to ten earlier, distinct failures attached as {@linkplain
 * Throwable#addSuppressed(Throwable) suppressed}, oldest first. When retrying stops (attempts,
 * deadline or budget spent) on a result that {@link Builder#retryOnResult(Predicate) retryOnResult}
 * still rejects, the <em>last result is returned</em>, not an exception (as Failsafe and
 * Resilience4j do), so a caller can inspect, say, the last HTTP 503 response; a {@code GAVE_UP}
 * event records it.
 *
 * <p><b>Events</b> go to the listener on slow paths only: {@code RETRY} before each wait (its delay
 * and the failure), {@code GAVE_UP} when retrying stops early, {@code SUCCEEDED} when a call
 * succeeds after at least one retry, {@code FAILED} when a non-retryable failure ends a call that
 * had retried. A first attempt that succeeds costs no event, no random draw and no schedule: only
 * one small per-call object (and a ticker read when {@code maxElapsed} is set).
 *
 * <p><b>Asynchronous calls.</b> {@link #callAsync(Supplier)} starts the first attempt on the calling
 * thread and schedules each later one on a {@link ScheduledExecutorService}, so no thread blocks
 * while waiting. Cancelling the returned future cancels the pending attempt (and the in-flight one
 * when its stage is a {@link java.util.concurrent.Future}); no attempt starts after that.
 *
 * <p><b>Randomness.</b> Each call that retries gets its own generator, seeded from the configured
 * {@link Builder#random(RandomGenerator) random} (under a short lock) or from {@link
 * ThreadLocalRandom}; with a seeded generator and sequential calls the waits are reproducible.
 *
 * <p>Immutable and thread-safe: one instance serves any number of concurrent calls.
 */
public final class Retry implements Policy {

  /** At most this many earlier failures are attached to the final one as suppressed. */
  static final int MAX_SUPPRESSED = 10;

  final String name;
  final Backoff backoff;
  final int maxAttempts;
  /** The deadline after the start of a call, or -1 for none. */
  final long maxElapsedNanos;
  final Predicate<? super Throwable> retryOn;
  final Predicate<Object> retryOnResult;
  final Predicate<? super Throwable> abortOn;
  final Predicate<Object> abortOnResult;
  final RetryBudget budget;
  final EventListener listener;
  final RetryHints hints;
  final Ticker ticker;
  final Sleeper sleeper;
  private final RandomGenerator random;
  private final ReentrantLock randomLock = new ReentrantLock();
  private final ScheduledExecutorService scheduler;

  private Retry(Builder b) {
    this.name = b.name;
    this.backoff = b.backoff;
    this.maxAttempts = b.maxAttempts;
    this.maxElapsedNanos = b.maxElapsed == null ? -1 : Durations.toNanosSaturated(b.maxElapsed);
    this.retryOn = b.retryOn;
    this.retryOnResult = b.retryOnResult;
    this.abortOn = b.abortOn;
    this.abortOnResult = b.abortOnResult;
    this.budget = b.budget;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
    this.hints = new RetryHints(
        b.hintExtractor, b.retryAfterSpread, b.retryAfterMinJitter, b.maxRetryAfter, b.slotJitter);
    this.ticker = b.ticker;
    this.sleeper = b.sleeper;
    this.random = b.random;
    this.scheduler = b.scheduler;
  }

  /**
   * Returns a builder with the defaults: name {@code "retry"}, 3 attempts, no deadline, full-jitter
   * backoff from 100 ms doubling to 10 s, retry on every {@link Exception}, no result retries, no
   * budget, the {@linkplain EventListener#logging() logging} listener, retry-after spread 0.2 with a
   * 100 ms minimum jitter and hints clamped to 5 minutes, the system ticker and sleeper.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a retry with the given backoff and attempt limit and every other setting at its
   * default.
   *
   * @param backoff the waits between attempts
   * @param maxAttempts the most attempts per call, the first included; at least 1
   * @return the retry
   * @throws NullPointerException if {@code backoff} is null
   * @throws IllegalArgumentException if {@code maxAttempts < 1}
   */
  public static Retry of(Backoff backoff, int maxAttempts) {
    return builder().backoff(backoff).maxAttempts(maxAttempts).build();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Returns the most attempts one call makes, the first included.
   *
   * @return the attempt limit, at least 1
   */
  public int maxAttempts() {
    return maxAttempts;
  }

  /**
   * Returns the deadline of one call, measured from its start, if one was set.
   *
   * @return the longest time a call may spend, or empty when unbounded
   */
  public Optional<Duration> maxElapsed() {
    return maxElapsedNanos < 0 ? Optional.empty() : Optional.of(Duration.ofNanos(maxElapsedNanos));
  }

  /**
   * Runs {@code action}, retrying it as configured; waits through the configured {@link Sleeper}.
   *
   * @param action the work to run; called once per attempt
   * @param <T> the result type
   * @return the first accepted result, or the last result when attempts ran out on results that
   *     {@code retryOnResult} rejects
   * @throws InterruptedException if the thread is interrupted while waiting, or the action throws
   *     it; the interrupt flag is set when this is thrown, and the last failure is attached to it as
   *     suppressed
   * @throws Exception the last failure of the action when retrying stops, with up to ten earlier
   *     failures attached as suppressed
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    return run(new RetryExecution(this), action);
  }

  /**
   * Runs {@code action}, retrying it as configured, and gives up at the caller's {@code deadline}:
   * no attempt starts once it has passed, and no wait starts unless the wait and then an attempt as
   * long as the latest one end before it (the call stops instead, with the last failure or result,
   * and a {@code GAVE_UP} event). {@code maxElapsed}, if set, applies too. The deadline is read on
   * its own ticker.
   *
   * @param deadline the caller's deadline
   * @param action the work to run; called once per attempt
   * @param <T> the result type
   * @return as {@link #call(Callable)}
   * @throws DeadlineExceededException if the deadline had passed before the first attempt (the
   *     action is then not called)
   * @throws InterruptedException as {@link #call(Callable)}
   * @throws Exception as {@link #call(Callable)}
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> T call(Deadline deadline, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(action, "action");
    if (deadline.isExpired()) {
      throw RetryExecution.expiredBeforeFirstAttempt(this, deadline);
    }
    return run(new RetryExecution(this, deadline), action);
  }

  private <T> T run(RetryExecution execution, Callable<? extends T> action) throws Exception {
    while (true) {
      execution.attemptStarted();
      T result;
      try {
        result = action.call();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        execution.afterFailure(e); // always STOP for an interrupt
        throw execution.finalFailure(e);
      } catch (Exception e) {
        if (Thread.currentThread().isInterrupted()) {
          execution.stopInterrupted(e);
          throw execution.finalFailure(e);
        }
        long wait = execution.afterFailure(e);
        if (wait < 0) {
          throw execution.finalFailure(e);
        }
        sleep(wait, execution);
        continue;
      }
      long wait = execution.afterResult(result);
      if (wait < 0) {
        return result;
      }
      sleep(wait, execution);
    }
  }

  private void sleep(long waitNanos, RetryExecution execution) throws InterruptedException {
    try {
      sleeper.sleep(Duration.ofNanos(waitNanos));
      if (Thread.currentThread().isInterrupted()) {
        // A sleeper that restores the flag instead of throwing (or ignores it) returns at once
        // when interrupted; going on would retry with no wait at all. Stop as a throwing one would.
        throw new InterruptedException("interrupted while waiting to retry");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      execution.interruptedWhileWaiting(e);
      Throwable last = execution.lastFailure();
      if (last != null && last != e) {
        e.addSuppressed(execution.finalFailure(last));
      }
      throw e;
    }
  }

  /**
   * Runs an asynchronous action, retrying it as configured, with retries scheduled on the
   * builder's {@link Builder#scheduler(ScheduledExecutorService) scheduler} (by default a shared
   * single daemon thread named {@code shepherd-retry-scheduler}).
   *
   * <p>The first attempt starts on the calling thread; later ones run on the scheduler's thread, so
   * {@code action} should only <em>start</em> work (for example {@code client.sendAsync(...)}) and
   * return quickly. Time is read from the configured {@link Ticker} for the deadline; the waits
   * themselves are measured by the scheduler.
   *
   * @param action starts one attempt and returns its stage; called once per attempt
   * @param <T> the result type
   * @return a future completing as {@link #call(Callable)} would return or throw; cancelling it stops
   *     further attempts
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletableFuture<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    return callAsync(action, scheduler == null ? DefaultScheduler.INSTANCE : scheduler);
  }

  /**
   * Runs an asynchronous action, retrying it as configured, with retries scheduled on
   * {@code scheduler}.
   *
   * @param action starts one attempt and returns its stage; called once per attempt
   * @param scheduler runs the later attempts after their waits
   * @param <T> the result type
   * @return a future completing with the outcome; cancelling it stops further attempts. If the
   *     scheduler refuses a task, it completes with a {@link
   *     java.util.concurrent.RejectedExecutionException} whose cause is the last failure, if any
   * @throws NullPointerException if {@code action} or {@code scheduler} is null
   * @see #callAsync(Supplier)
   */
  public <T> CompletableFuture<T> callAsync(
      Supplier<? extends CompletionStage<T>> action, ScheduledExecutorService scheduler) {
    Objects.requireNonNull(action, "action");
    Objects.requireNonNull(scheduler, "scheduler");
    RetryAsync<T> run = new RetryAsync<>(new RetryExecution(this), action, scheduler);
    run.attempt();
    return run.result();
  }

  /**
   * Runs an asynchronous action, retrying it as configured on the builder's scheduler, and gives
   * up at the caller's {@code deadline} as {@link #call(Deadline, Callable)} does.
   *
   * @param deadline the caller's deadline
   * @param action starts one attempt and returns its stage; called once per attempt
   * @param <T> the result type
   * @return a future completing as {@link #callAsync(Supplier)}'s does; failed at once with a
   *     {@link DeadlineExceededException} if the deadline had passed before the first attempt
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> CompletableFuture<T> callAsync(Deadline deadline, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(deadline, "deadline");
    Objects.requireNonNull(action, "action");
    if (deadline.isExpired()) {
      return CompletableFuture.failedFuture(RetryExecution.expiredBeforeFirstAttempt(this, deadline));
    }
    RetryAsync<T> run = new RetryAsync<>(new RetryExecution(this, deadline), action,
        scheduler == null ? DefaultScheduler.INSTANCE : scheduler);
    run.attempt();
    return run.result();
  }

  /** Returns a fresh generator for one call's jitter; called only when the call retries. */
  RandomGenerator newCallRandom() {
    if (random == null) {
      return new SplittableRandom(ThreadLocalRandom.current().nextLong());
    }
    long seed;
    randomLock.lock(); // the configured generator need not be thread-safe; the lock is short
    try {
      seed = random.nextLong();
    } finally {
      randomLock.unlock();
    }
    return new SplittableRandom(seed);
  }

  @Override
  public String toString() {
    return "Retry{name=" + name + ", maxAttempts=" + maxAttempts
        + (maxElapsedNanos < 0 ? "" : ", maxElapsed=" + Duration.ofNanos(maxElapsedNanos))
        + ", backoff=" + backoff + (budget == null ? "" : ", budget=" + budget.name()) + "}";
  }

  /** The scheduler used when none is configured: one lazily started daemon thread. */
  private static final class DefaultScheduler {
    static final ScheduledExecutorService INSTANCE = create();

    private static ScheduledExecutorService create() {
      ScheduledThreadPoolExecutor executor =
          new ScheduledThreadPoolExecutor(
              1,
              task -> {
                Thread t = new Thread(task, "shepherd-retry-scheduler");
                t.setDaemon(true);
                return t;
              });
      executor.setRemoveOnCancelPolicy(true);
      return executor;
    }
  }

  /**
   * Configures a {@link Retry}; validates every value as it is set and {@link #build() builds} an
   * immutable retry. Not thread-safe.
   */
  public static final class Builder {

    private String name = "retry";
    private Backoff backoff = Backoff.fullJitter(Duration.ofMillis(100), Duration.ofSeconds(10));
    private int maxAttempts = 3;
    private Duration maxElapsed;
    private Predicate<? super Throwable> retryOn = t -> t instanceof Exception;
    private Predicate<Object> retryOnResult = r -> false;
    private Predicate<? super Throwable> abortOn = t -> false;
    private Predicate<Object> abortOnResult = r -> false;
    private RetryBudget budget;
    private EventListener listener;
    private Function<? super Throwable, Optional<Duration>> hintExtractor = RetryHints.DEFAULT_EXTRACTOR;
    private double retryAfterSpread = 0.2;
    private Duration retryAfterMinJitter = Duration.ofMillis(100);
    private Duration maxRetryAfter = Duration.ofMinutes(5);
    private Duration slotJitter = Duration.ofMillis(100);
    private Ticker ticker = Ticker.system();
    private Sleeper sleeper = Sleeper.system();
    private RandomGenerator random;
    private ScheduledExecutorService scheduler;

    private Builder() {}

    /**
     * Names the retry in events, logs and its string form.
     *
     * @param name a non-blank name; default {@code "retry"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the waits between attempts; each call starts its own {@link Backoff.Schedule}.
     *
     * @param backoff the backoff policy; default full jitter from 100 ms doubling to 10 s
     * @return this builder
     * @throws NullPointerException if {@code backoff} is null
     */
    public Builder backoff(Backoff backoff) {
      this.backoff = Objects.requireNonNull(backoff, "backoff");
      return this;
    }

    /**
     * Sets the most attempts per call, the first one included: {@code 1} means no retry.
     *
     * @param maxAttempts at least 1; default 3
     * @return this builder
     * @throws IllegalArgumentException if {@code maxAttempts < 1}
     */
    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = Checks.atLeast(maxAttempts, 1, "maxAttempts");
      return this;
    }

    /**
     * Sets a deadline for each call, measured on the {@link Ticker} from the call's start: no
     * attempt is scheduled after it, and the wait before the last one is trimmed to end at it.
     *
     * @param maxElapsed a positive duration; default none
     * @return this builder
     * @throws NullPointerException if {@code maxElapsed} is null
     * @throws IllegalArgumentException if {@code maxElapsed} is zero or negative
     */
    public Builder maxElapsed(Duration maxElapsed) {
      this.maxElapsed = Checks.positive(maxElapsed, "maxElapsed");
      return this;
    }

    /**
     * Sets which failures are retried (replacing the default, every {@link Exception}). An
     * {@link Error} or an {@link InterruptedException} is never retried, whatever this says.
     *
     * @param retryOn true for a failure worth another attempt
     * @return this builder
     * @throws NullPointerException if {@code retryOn} is null
     */
    public Builder retryOn(Predicate<? super Throwable> retryOn) {
      this.retryOn = Objects.requireNonNull(retryOn, "retryOn");
      return this;
    }

    /**
     * Sets which results are retried (default: none). When the attempts run out on such results,
     * the last result is returned.
     *
     * @param retryOnResult true for a result worth another attempt; receives {@code null} results
     * @return this builder
     * @throws NullPointerException if {@code retryOnResult} is null
     */
    public Builder retryOnResult(Predicate<Object> retryOnResult) {
      this.retryOnResult = Objects.requireNonNull(retryOnResult, "retryOnResult");
      return this;
    }

    /**
     * Sets failures that stop retrying at once even if {@link #retryOn(Predicate)} accepts them.
     *
     * @param abortOn true for a failure that must not be retried; default none
     * @return this builder
     * @throws NullPointerException if {@code abortOn} is null
     */
    public Builder abortOn(Predicate<? super Throwable> abortOn) {
      this.abortOn = Objects.requireNonNull(abortOn, "abortOn");
      return this;
    }

    /**
     * Sets results that stop retrying at once (and are returned) even if {@link
     * #retryOnResult(Predicate)} accepts them.
     *
     * @param abortOnResult true for a result that must be returned as it is; default none
     * @return this builder
     * @throws NullPointerException if {@code abortOnResult} is null
     */
    public Builder abortOnResult(Predicate<Object> abortOnResult) {
      this.abortOnResult = Objects.requireNonNull(abortOnResult, "abortOnResult");
      return this;
    }

    /**
     * Shares a retry budget: each call {@linkplain RetryBudget#recordRequest() deposits} once and
     * each retry must {@linkplain RetryBudget#tryWithdraw() withdraw}.
     *
     * @param budget the budget, usually shared by every retry calling one service; default none
     * @return this builder
     * @throws NullPointerException if {@code budget} is null
     */
    public Builder budget(RetryBudget budget) {
      this.budget = Objects.requireNonNull(budget, "budget");
      return this;
    }

    /**
     * Sets the listener for {@code RETRY}, {@code GAVE_UP}, {@code SUCCEEDED} and {@code FAILED}
     * events; it is {@linkplain EventListener#guarded(EventListener) guarded}.
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
     * Sets how a failure's retry-after hint is read. The default reads {@link
     * RejectedException#retryAfter()} of the first rejection in the cause chain, which covers
     * Shepherd's own rejections and {@link HttpRejectedException}. An extractor that throws or
     * returns null counts as "no hint"; negative hints count as zero.
     *
     * @param hintExtractor maps a failure to the wait the server asked for
     * @return this builder
     * @throws NullPointerException if {@code hintExtractor} is null
     */
    public Builder hintExtractor(Function<? super Throwable, Optional<Duration>> hintExtractor) {
      this.hintExtractor = Objects.requireNonNull(hintExtractor, "hintExtractor");
      return this;
    }

    /**
     * Sets the jitter above a hint {@code h} as a fraction of it: the wait is drawn from
     * {@code [h, h + max(h·spread, retryAfterMinJitter)]}.
     *
     * @param spread zero or more, finite; default 0.2
     * @return this builder
     * @throws IllegalArgumentException if {@code spread} is negative, NaN or infinite
     */
    public Builder retryAfterSpread(double spread) {
      this.retryAfterSpread = Checks.inRange(spread, 0.0, Double.MAX_VALUE, "retryAfterSpread");
      return this;
    }

    /**
     * Sets the least jitter width above a hint, which spreads a fleet told "retry now" too.
     *
     * @param minJitter zero or more; default 100 ms
     * @return this builder
     * @throws NullPointerException if {@code minJitter} is null
     * @throws IllegalArgumentException if {@code minJitter} is negative
     */
    public Builder retryAfterMinJitter(Duration minJitter) {
      this.retryAfterMinJitter = Checks.nonNegative(minJitter, "retryAfterMinJitter");
      return this;
    }

    /**
     * Sets the largest hint honoured; longer hints are clamped to it (a server asking for an hour
     * gets {@code maxRetryAfter} plus jitter).
     *
     * @param maxRetryAfter zero or more; default 5 minutes
     * @return this builder
     * @throws NullPointerException if {@code maxRetryAfter} is null
     * @throws IllegalArgumentException if {@code maxRetryAfter} is negative
     */
    public Builder maxRetryAfter(Duration maxRetryAfter) {
      this.maxRetryAfter = Checks.nonNegative(maxRetryAfter, "maxRetryAfter");
      return this;
    }

    /**
     * Sets the jitter above a personal slot {@code s}: the wait is drawn from
     * {@code [s, s + slotJitter]}, whatever the slot's length, and the backoff does not advance.
     *
     * @param slotJitter zero or more; default 100 ms
     * @return this builder
     * @throws NullPointerException if {@code slotJitter} is null
     * @throws IllegalArgumentException if {@code slotJitter} is negative
     */
    public Builder slotJitter(Duration slotJitter) {
      this.slotJitter = Checks.nonNegative(slotJitter, "slotJitter");
      return this;
    }

    /**
     * Sets the time source of the deadline.
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
     * Sets how {@link Retry#call(Callable)} waits; a {@code ManualClock} makes
     * waits instant and recorded in tests.
     *
     * @param sleeper the sleeper; default {@link Sleeper#system()}
     * @return this builder
     * @throws NullPointerException if {@code sleeper} is null
     */
    public Builder sleeper(Sleeper sleeper) {
      this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
      return this;
    }

    /**
     * Sets the generator that seeds each retrying call's own generator (drawn under a lock, so it
     * need not be thread-safe); a seeded generator makes sequential calls reproducible.
     *
     * @param random the seed source; default {@link ThreadLocalRandom}
     * @return this builder
     * @throws NullPointerException if {@code random} is null
     */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Sets the scheduler of {@link Retry#callAsync(Supplier)}'s later attempts. The retry never
     * shuts it down.
     *
     * @param scheduler the scheduler; default a shared daemon thread
     * @return this builder
     * @throws NullPointerException if {@code scheduler} is null
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Builds the retry. Every value was validated when it was set.
     *
     * @return an immutable, thread-safe retry
     */
    public Retry build() {
      return new Retry(this);
    }
  }
}
