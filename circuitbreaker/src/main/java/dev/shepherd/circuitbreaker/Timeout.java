package dev.shepherd.circuitbreaker;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * A time limit that ends the <em>caller's</em> wait at the deadline, whatever the callee does, and
 * cancels the callee as well as Java allows (an interrupt), without a thread per call.
 *
 * <pre>{@code
 * ExecutorService calls = Executors.newFixedThreadPool(16);        // bounded: yours
 * Timeout timeout = Timeout.builder().name("cloud").timeout(Duration.ofSeconds(2)).executor(calls).build();
 * State state = timeout.call(() -> api.state(deviceId));           // TimeoutExceededException after 2 s
 * }</pre>
 *
 * <p><b>Three ways to run.</b>
 * <ul>
 *   <li><b>On your executor</b> ({@link Builder#executor(Executor)} set): {@link #call(Callable)}
 *       runs the action on that executor and the caller waits for its outcome. At the deadline the
 *       caller gets a {@link TimeoutExceededException} at once, even if the callee ignores
 *       interrupts and runs on (the callee's thread is interrupted; a callee not yet started never
 *       starts, and is removed from a {@link ThreadPoolExecutor}'s queue). The executor's bound is
 *       the bound on threads: a saturated executor refuses the call with a {@link RejectedException}
 *       (caused by its {@link RejectedExecutionException}) before any waiting.
 *   <li><b>On the caller's thread</b> (no executor): the action runs on the calling thread, which is
 *       interrupted at the deadline; the caller gets a {@link TimeoutExceededException} when the
 *       action returns or throws. Enough for callees that honour interrupts (blocking queues, NIO
 *       channels, {@code Thread.sleep}); a callee that ignores them holds the caller until it ends.
 *       The interrupt this policy delivered is cleared before the exception is thrown.
 *   <li><b>Asynchronous</b>: {@link #callAsync(Supplier)} races the action's own stage against a
 *       timer; the returned stage fails with a {@link TimeoutExceededException} at the deadline and
 *       the action's stage is cancelled ({@code toCompletableFuture().cancel(true)}, when the stage
 *       allows it). No thread waits.
 * </ul>
 *
 * <p><b>Timing.</b> Deadlines fire on a {@link ScheduledExecutorService}: the one given to {@link
 * Builder#scheduler(ScheduledExecutorService)} (give it {@code setRemoveOnCancelPolicy(true)} if it
 * is a {@link ScheduledThreadPoolExecutor}, so timers of calls that finished in time do not linger),
 * or else one daemon timer thread shared by every {@code Timeout} of the JVM. Each call schedules
 * one timer and cancels it when the call ends first. A call's deadline counts from the moment it
 * schedules its timer; the per-call {@link #call(Duration, Callable)} and {@link
 * #callAsync(Duration, Supplier)} replace the configured limit for one call.
 *
 * <p><b>The caller's {@link Deadline}</b> ({@link #call(Deadline, Callable)}, {@link
 * #callAsync(Deadline, Supplier)}): the limit of the call is the earlier of the configured limit
 * and the deadline. A call whose deadline has already passed is refused at once with a {@link
 * DeadlineExceededException}: the action is not invoked (nor handed to the executor) and no timer
 * is scheduled.
 *
 * <p><b>Events.</b> Each call ended by its deadline is counted ({@link #timedOut()}) and reported as
 * {@link Event.Kind#FAILED} with the {@link TimeoutExceededException} as its cause; each call
 * refused because its {@link Deadline} had passed is counted ({@link #refusedLate()}) and reported
 * as {@link Event.Kind#REJECTED}.
 *
 * <p>Immutable and thread-safe.
 */
public final class Timeout implements Policy {

  /*
   * Design note: who may interrupt whom, and when.
   *
   * On an executor, the callee is a FutureTask; the timer cancels it with cancel(true). FutureTask
   * guarantees that exactly one of "completed" and "cancelled" happens, that cancel releases every
   * waiter at once (the caller's get() throws CancellationException) whether or not the runner
   * stops, and that a task cancelled before it started never runs. The task records that the
   * timer, not someone else, cancelled it. The interrupt lands on the executor's worker, which a
   * ThreadPoolExecutor clears before its next task.
   *
   * On the caller's thread, an interrupt that arrives after the call returned would hit whatever
   * the caller does next, so caller and timer race through one compare-and-set: RUNNING -> DONE
   * (the caller finished first: the timer will do nothing) or RUNNING -> FIRING -> FIRED (the timer
   * won: it interrupts, then says so). A caller that loses waits, briefly, until FIRED, and then
   * clears its interrupt status: the interrupt it clears is the one the timer delivered.
   */

  private final String name;
  private final long timeoutNanos;
  private final Executor executor;
  private final ScheduledExecutorService scheduler;
  private final EventListener listener;
  private final LongAdder timedOut = new LongAdder();
  private final LongAdder refusedLate = new LongAdder();

  private Timeout(Builder b) {
    this.name = b.name;
    this.timeoutNanos = Durations.toNanosSaturated(b.timeout);
    this.executor = b.executor;
    this.scheduler = b.scheduler;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
  }

  /**
   * Returns a builder with the defaults: name {@code "timeout"}, a limit of 10 s, no executor (sync
   * calls run on the caller's thread), the shared timer, the logging listener.
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
   * Returns the time limit of {@link #call(Callable)} and {@link #callAsync(Supplier)}.
   *
   * @return the limit
   */
  public Duration timeout() {
    return Duration.ofNanos(timeoutNanos);
  }

  /**
   * Returns how many calls this policy has ended at their deadline.
   *
   * @return calls timed out since it was built
   */
  public long timedOut() {
    return timedOut.sum();
  }

  /**
   * Returns how many calls this policy has refused because their {@link Deadline} had passed
   * before they started.
   *
   * @return calls refused since it was built
   */
  public long refusedLate() {
    return refusedLate.sum();
  }

  /**
   * Runs {@code action} with the configured time limit.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned within the limit
   * @throws TimeoutExceededException if the limit passed first
   * @throws RejectedException if the executor refused the action
   * @throws InterruptedException if the caller was interrupted while waiting (the callee is then
   *     cancelled too), or the action threw it
   * @throws Exception whatever {@code action} threw within the limit
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    return run(timeoutNanos, action);
  }

  /**
   * Runs {@code action} with a limit for this call only.
   *
   * @param timeout the limit, positive
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned within the limit
   * @throws TimeoutExceededException if the limit passed first
   * @throws RejectedException if the executor refused the action
   * @throws InterruptedException if the caller was interrupted while waiting, or the action threw it
   * @throws Exception whatever {@code action} threw within the limit
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  public <T> T call(Duration timeout, Callable<? extends T> action) throws Exception {
    return run(Durations.toNanosSaturated(Checks.positive(timeout, "timeout")), action);
  }

  /**
   * Runs {@code action} until the earlier of the configured limit and the caller's {@code
   * deadline}, or refuses it at once if the deadline has already passed.
   *
   * @param deadline the caller's deadline
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned within the limit
   * @throws DeadlineExceededException if the deadline had passed before the call (the action is
   *     not invoked)
   * @throws TimeoutExceededException if the limit passed first
   * @throws RejectedException if the executor refused the action
   * @throws InterruptedException if the caller was interrupted while waiting, or the action threw it
   * @throws Exception whatever {@code action} threw within the limit
   * @throws NullPointerException if {@code deadline} or {@code action} is null
   */
  public <T> T call(Deadline deadline, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    return run(limitBefore(deadline), action);
  }

  /**
   * Starts {@code action} and fails the returned stage with a {@link TimeoutExceededException} if
   * the action's stage has not completed within the configured limit.
   *
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does, or failed at the deadline; cancelling it
   *     cancels the action's stage
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    return runAsync(timeoutNanos, action);
  }

  /**
   * Starts {@code action} with a limit for this call only.
   *
   * @param timeout the limit, positive
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does, or failed at the deadline
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code timeout} is not positive
   */
  public <T> CompletionStage<T> callAsync(Duration timeout, Supplier<? extends CompletionStage<T>> action) {
    return runAsync(Durations.toNanosSaturated(Checks.positive(timeout, "timeout")), action);
  }

  /**
   * Starts {@code action} with the earlier of the configured limit and the caller's {@code
   * deadline} as its limit; if the deadline has already passed, the action is not started.
   *
   * @param deadline the caller's deadline
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does, or failed at the limit; or failed with a
   *     {@link DeadlineExceededException} at once if the deadline had passed
   * @throws NullPointerException if an argument is null
   */
  public <T> CompletionStage<T> callAsync(Deadline deadline, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    long nanos;
    try {
      nanos = limitBefore(deadline);
    } catch (DeadlineExceededException e) {
      return CompletableFuture.failedFuture(e);
    }
    return runAsync(nanos, action);
  }

  @Override
  public String toString() {
    return "Timeout{" + name + ", " + timeout() + (executor == null ? ", caller's thread" : ", executor")
        + ", timedOut=" + timedOut() + "}";
  }

  // ---------------------------------------------------------------------------------------------

  private ScheduledExecutorService timer() {
    return scheduler != null ? scheduler : SharedTimer.INSTANCE;
  }

  /**
   * Returns the limit of a call with {@code deadline}: the earlier of the configured limit and the
   * time left. Refuses, counting and reporting it, a deadline that has passed.
   */
  private long limitBefore(Deadline deadline) {
    long remaining = Objects.requireNonNull(deadline, "deadline").remainingNanos();
    if (remaining > 0) {
      return Math.min(timeoutNanos, remaining);
    }
    refusedLate.increment();
    String detail = "deadline passed " + Duration.ofNanos(-Math.max(remaining, -Long.MAX_VALUE)) + " ago";
    DeadlineExceededException e =
        new DeadlineExceededException(name, "timeout '" + name + "' refused a call: " + detail);
    if (listener != EventListener.noop()) {
      listener.onEvent(Event.rejected(name, Duration.ZERO, 1, detail, e));
    }
    throw e;
  }

  private TimeoutExceededException timeoutException(long nanos, Throwable cause) {
    timedOut.increment();
    TimeoutExceededException e = new TimeoutExceededException(name, nanos, cause);
    if (listener != EventListener.noop()) {
      listener.onEvent(new Event(name, Event.Kind.FAILED, Duration.ZERO, "timed out after " + Duration.ofNanos(nanos),
          e));
    }
    return e;
  }

  private <T> T run(long nanos, Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    return executor == null ? runOnCaller(nanos, action) : runOnExecutor(nanos, action);
  }

  private <T> T runOnExecutor(long nanos, Callable<? extends T> action) throws Exception {
    Callee<T> task = new Callee<>(action, executor);
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      throw new RejectedException(name, "timeout '" + name + "': the executor refused the call", null, e);
    }
    ScheduledFuture<?> timer = timer().schedule(task::expire, nanos, TimeUnit.NANOSECONDS);
    try {
      return task.get();
    } catch (CancellationException e) {
      if (task.expired) {
        throw timeoutException(nanos, null);
      }
      throw e;
    } catch (ExecutionException e) {
      throw rethrow(e.getCause());
    } catch (InterruptedException e) {
      task.cancel(true); // the caller left: so does the callee
      throw e;
    } finally {
      timer.cancel(false);
    }
  }

  private <T> T runOnCaller(long nanos, Callable<? extends T> action) throws Exception {
    CallerTimer race = new CallerTimer(Thread.currentThread());
    ScheduledFuture<?> timer = timer().schedule(race, nanos, TimeUnit.NANOSECONDS);
    T result = null;
    Throwable failure = null;
    try {
      result = action.call();
    } catch (Throwable t) {
      failure = t;
    }
    if (race.finish()) {
      timer.cancel(false);
      if (failure != null) {
        throw rethrow(failure);
      }
      return result;
    }
    race.awaitFired();
    Thread.interrupted(); // clear the interrupt the timer delivered, so it does not hit the caller's next step
    throw timeoutException(nanos, failure);
  }

  private <T> CompletionStage<T> runAsync(long nanos, Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    CompletionStage<T> stage;
    try {
      stage = Objects.requireNonNull(action.get(), "action returned a null stage");
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
    CompletableFuture<T> callee = asFuture(stage);
    if (callee != null && callee.isDone()) {
      return stage; // no race to run
    }
    CompletableFuture<T> result = new CompletableFuture<>();
    ScheduledFuture<?> timer = timer().schedule(() -> {
      if (!result.isDone() && result.completeExceptionally(timeoutException(nanos, null)) && callee != null) {
        callee.cancel(true);
      }
    }, nanos, TimeUnit.NANOSECONDS);
    stage.whenComplete((value, failure) -> {
      timer.cancel(false);
      if (failure == null) {
        result.complete(value);
      } else {
        result.completeExceptionally(failure);
      }
    });
    result.whenComplete((value, failure) -> {
      if (failure instanceof CancellationException) { // the caller gave up: so does the callee
        timer.cancel(false);
        if (callee != null) {
          callee.cancel(true);
        }
      }
    });
    return result;
  }

  private static <T> CompletableFuture<T> asFuture(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture();
    } catch (UnsupportedOperationException e) {
      return null; // a stage that will not be cancelled from outside: the race still ends the caller's wait
    }
  }

  private static Exception rethrow(Throwable t) {
    if (t instanceof Error) {
      throw (Error) t;
    }
    return (Exception) t;
  }

  /** A callee on the executor; {@code expire} is the timer's cancellation. */
  private static final class Callee<T> extends FutureTask<T> {
    private final Executor executor;
    private volatile boolean expired;

    Callee(Callable<? extends T> action, Executor executor) {
      super(action::call);
      this.executor = executor;
    }

    void expire() {
      expired = true; // set first: a caller released by the cancel must see why
      // Free its queue slot, if it never started, before the cancel releases the caller: a caller
      // that retries at once then finds the slot free. A task still queued has not begun, so
      // taking it out first loses no run; one that has begun is not in the queue.
      if (executor instanceof ThreadPoolExecutor) {
        ((ThreadPoolExecutor) executor).remove(this);
      }
      if (!cancel(true)) {
        expired = false; // the callee completed first (or its caller cancelled it): that stands
      }
    }
  }

  /** The race between a caller running its own action and the timer that interrupts it. */
  private static final class CallerTimer extends AtomicInteger implements Runnable {
    private static final long serialVersionUID = 1L;
    private static final int RUNNING = 0;
    private static final int DONE = 1;
    private static final int FIRING = 2;
    private static final int FIRED = 3;

    private final transient Thread caller;

    CallerTimer(Thread caller) {
      this.caller = caller;
    }

    @Override
    public void run() {
      if (compareAndSet(RUNNING, FIRING)) {
        caller.interrupt();
        set(FIRED);
      }
    }

    /** The caller's side: true if it finished before the timer fired (no interrupt will come). */
    boolean finish() {
      return compareAndSet(RUNNING, DONE);
    }

    /** Waits the few instructions between the timer's compare-and-set and its interrupt. */
    void awaitFired() {
      while (get() != FIRED) {
        Thread.onSpinWait();
      }
    }
  }

  /** The daemon timer shared by every {@code Timeout} given no scheduler: one thread, created on first use. */
  private static final class SharedTimer {
    static final ScheduledThreadPoolExecutor INSTANCE = create();

    private static ScheduledThreadPoolExecutor create() {
      ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "shepherd-timeout");
        t.setDaemon(true);
        return t;
      });
      timer.setRemoveOnCancelPolicy(true);
      return timer;
    }
  }

  /**
   * Builds a {@link Timeout}. Each setter validates its argument at once and throws an {@link
   * IllegalArgumentException} naming the parameter and the value. Not thread-safe; the built policy
   * does not change when the builder is reused.
   */
  public static final class Builder {
    private String name = "timeout";
    private Duration timeout = Duration.ofSeconds(10);
    private Executor executor;
    private ScheduledExecutorService scheduler;
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance's name, used in exceptions, events and logs.
     *
     * @param name a non-blank name; default {@code "timeout"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the time limit of each call.
     *
     * @param timeout positive; default 10 s
     * @return this builder
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is not positive
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Checks.positive(timeout, "timeout");
      return this;
    }

    /**
     * Runs synchronous calls on this executor, so the caller can be released at the deadline even
     * when the callee ignores interrupts. Bound it (a fixed pool with a bounded queue): its bound
     * is the bound on threads the calls use. It is not shut down by this policy.
     *
     * @param executor the executor; default none (calls run on the caller's thread)
     * @return this builder
     * @throws NullPointerException if {@code executor} is null
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Fires deadlines on this scheduler. It is not shut down by this policy.
     *
     * @param scheduler the scheduler; default a daemon timer thread shared by the JVM's timeouts
     * @return this builder
     * @throws NullPointerException if {@code scheduler} is null
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Sets the listener for timed-out calls; it is wrapped with {@link
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
     * Builds the policy.
     *
     * @return a new timeout
     */
    public Timeout build() {
      return new Timeout(this);
    }
  }
}
