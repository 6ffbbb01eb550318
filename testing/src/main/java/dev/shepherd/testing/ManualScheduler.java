package dev.shepherd.testing;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RunnableScheduledFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ScheduledExecutorService} whose time is a {@link ManualClock}: a task runs when the
 * clock is advanced to or past its time, never on its own, so code that schedules work (such as
 * {@code Retry.callAsync}) can be tested deterministically and without waiting.
 *
 * <pre>{@code
 * ManualClock clock = new ManualClock();
 * ManualScheduler scheduler = new ManualScheduler(clock);
 * Retry retry = Retry.builder().ticker(clock).scheduler(scheduler).build();
 * CompletableFuture<String> result = retry.callAsync(() -> client.fetchAsync());
 * clock.advance(Duration.ofSeconds(1));   // runs the retries due within that second, in order
 * }</pre>
 *
 * <h2>When tasks run</h2>
 * <ul>
 *   <li>A task is due at the clock's reading when it was scheduled plus its delay (a negative delay
 *       counts as zero; the sum saturates at {@link Long#MAX_VALUE}). {@link #execute(Runnable)}
 *       and the {@code submit} methods schedule with a zero delay.
 *   <li>Tasks run on the thread that calls {@link ManualClock#advance(Duration)},
 *       {@link ManualClock#advanceNanos(long)}, {@link #runDue()} or {@link #runUntilIdle(int)}, and
 *       only then: never on a thread of their own, never in the middle of the code that scheduled
 *       them, and never because of a {@link ManualClock#sleep(Duration) sleep} on the clock.
 *   <li>They run one at a time, in order of due time, then of scheduling (across every scheduler
 *       built on the same clock), and each one sees the clock read exactly its due time (later, if
 *       the clock had already passed it when it was run). A task due at or before the current
 *       reading that is scheduled by a running task runs in the same call.
 *   <li>{@link #scheduleAtFixedRate} runs at {@code initialDelay + n * period};
 *       {@link #scheduleWithFixedDelay} runs {@code delay} after the previous run ended, as read on
 *       the clock. A periodic task stops when it is cancelled, when it throws (its future then
 *       fails with the exception), or at {@link #shutdown()}. Advancing the clock by a long time
 *       runs a periodic task once per period passed.
 * </ul>
 *
 * <h2>Outcomes and cancellation</h2>
 * <p>The futures returned are real: {@link ScheduledFuture#get()} blocks (in real time) until the
 * task has run, and reports what it returned or threw; {@link ScheduledFuture#getDelay(TimeUnit)}
 * reads the manual clock. Cancelling a future removes its task from the queue at once, so it never
 * runs and no longer counts in {@link #pendingTasks()}. A task given to {@code execute} has no
 * future, so what it throws propagates out of the call that ran it, after the clock has moved to
 * the task's time; the tasks after it stay queued.
 *
 * <h2>Shutdown</h2>
 * <p>After {@link #shutdown()} new tasks are refused with a {@link RejectedExecutionException},
 * periodic tasks are cancelled, and one-shot tasks already scheduled still run when the clock
 * reaches them (as with {@link java.util.concurrent.ScheduledThreadPoolExecutor}'s defaults); the
 * scheduler is terminated once none is left and none is running. {@link #shutdownNow()} also
 * removes and returns the one-shot tasks, which then never run; it interrupts nothing, since no
 * thread belongs to this scheduler. {@link #close()} is {@code shutdownNow()}: waiting for queued
 * tasks, as {@code ExecutorService.close()} does on Java 19+, would wait forever here.
 *
 * <p>{@code invokeAll} and {@code invokeAny} block until the tasks have run, so they return only
 * if another thread advances the clock.
 *
 * <p>Thread-safe: tasks may be scheduled and cancelled from any thread. Threads that advance the
 * clock take turns, so tasks never run concurrently with each other. A task must therefore not
 * wait for another thread to advance the clock (it would wait forever).
 */
public final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService,
    AutoCloseable {

  private final ManualClock clock;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition terminated = lock.newCondition();
  private final Condition enqueued = lock.newCondition();
  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private final List<Duration> delays = new ArrayList<>();
  private boolean shutdown;
  private int running;

  /**
   * Creates a scheduler whose tasks run as {@code clock} advances.
   *
   * @param clock the clock that decides when tasks are due; an instant or a blocking one
   * @throws NullPointerException if {@code clock} is null
   */
  public ManualScheduler(ManualClock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    clock.attach(this);
  }

  /**
   * Returns the clock this scheduler runs on.
   *
   * @return the clock given at construction
   */
  public ManualClock clock() {
    return clock;
  }

  /**
   * Runs every task due now, in order, without moving the clock: the tasks given to
   * {@code execute}, those scheduled with a zero delay, and those left behind when the clock was
   * moved by a sleep. Tasks of other schedulers on the same clock that are due run too, in order.
   *
   * @return how many tasks ran
   */
  public int runDue() {
    return clock.runTasks(clock.read(), Integer.MAX_VALUE);
  }

  /**
   * Runs this scheduler's tasks one after the other, each at its own time, until none is pending
   * or {@code maxTasks} have run: the clock moves to each task's due time (running on the way any
   * earlier task of another scheduler on the same clock) and stops at the last task run.
   *
   * <p>The bound is what keeps a periodic task, or a task that keeps scheduling another, from
   * making this run forever.
   *
   * @param maxTasks the most tasks to run, at least 1
   * @return how many tasks ran (of every scheduler on the clock)
   * @throws IllegalArgumentException if {@code maxTasks < 1}
   */
  public int runUntilIdle(int maxTasks) {
    Checks.positive(maxTasks, "maxTasks");
    int ran = 0;
    while (ran < maxTasks) {
      Task<?> next = head();
      if (next == null) {
        break;
      }
      ran += clock.runTasks(next.due(), maxTasks - ran);
    }
    return ran;
  }

  /**
   * Returns how long until this scheduler's next task is due: {@link Duration#ZERO} if one is due
   * now, empty if none is pending.
   *
   * @return the wait until the earliest pending task, or empty
   */
  public Optional<Duration> nextDelay() {
    Task<?> next = head();
    return next == null ? Optional.empty() : Optional.of(Duration.ofNanos(Math.max(0, next.remainingNanos())));
  }

  /**
   * Returns how many tasks wait to run: scheduled, not run yet (or periodic and not stopped), not
   * cancelled.
   *
   * @return the number of pending tasks
   */
  public int pendingTasks() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits, in real time and at most {@code timeout}, until at least {@code count} tasks are
   * pending: for a test whose code under test arms a timer from another thread (a connect thread,
   * a callback) before the test may move the clock. Returns at once if they already are.
   *
   * @param count how many pending tasks to wait for, zero or more
   * @param timeout how long to wait at most
   * @return true if {@code count} tasks were pending before the timeout
   * @throws InterruptedException if interrupted while waiting
   * @throws NullPointerException if {@code timeout} is null
   * @throws IllegalArgumentException if {@code count} is negative
   */
  public boolean awaitPendingTasks(int count, Duration timeout) throws InterruptedException {
    Checks.nonNegative(count, "count");
    long left = Durations.toNanosSaturated(Objects.requireNonNull(timeout, "timeout"));
    lock.lock();
    try {
      while (queue.size() < count) {
        if (left <= 0) {
          return false;
        }
        left = enqueued.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the delay of every {@code schedule}, {@code scheduleAtFixedRate} and
   * {@code scheduleWithFixedDelay} call so far, in call order (the initial delay of periodic tasks;
   * a negative delay is recorded as zero). {@code execute} and {@code submit} record nothing.
   *
   * @return an immutable copy of the requested delays
   */
  public List<Duration> delays() {
    lock.lock();
    try {
      return List.copyOf(delays);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Schedules {@code command} to run once, {@code delay} after the clock's current reading.
   *
   * @throws RejectedExecutionException if this scheduler is shut down
   * @throws NullPointerException if {@code command} or {@code unit} is null
   */
  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Objects.requireNonNull(command, "command");
    return enqueue(new Task<>(Executors.callable(command), false), delay, unit, 0L, true);
  }

  /**
   * Schedules {@code callable} to run once, {@code delay} after the clock's current reading; the
   * future completes with what it returns or throws.
   *
   * @throws RejectedExecutionException if this scheduler is shut down
   * @throws NullPointerException if {@code callable} or {@code unit} is null
   */
  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    Objects.requireNonNull(callable, "callable");
    return enqueue(new Task<>(callable, false), delay, unit, 0L, true);
  }

  /**
   * Schedules {@code command} at {@code initialDelay}, then every {@code period} after that, on the
   * manual clock.
   *
   * @throws IllegalArgumentException if {@code period} is not positive
   * @throws RejectedExecutionException if this scheduler is shut down
   * @throws NullPointerException if {@code command} or {@code unit} is null
   */
  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    Objects.requireNonNull(command, "command");
    Checks.positive(period, "period");
    return enqueue(new Task<>(Executors.callable(command), false), initialDelay, unit,
        Math.max(1, unit.toNanos(period)), true);
  }

  /**
   * Schedules {@code command} at {@code initialDelay}, then {@code delay} after the end of each run,
   * as read on the manual clock.
   *
   * @throws IllegalArgumentException if {@code delay} is not positive
   * @throws RejectedExecutionException if this scheduler is shut down
   * @throws NullPointerException if {@code command} or {@code unit} is null
   */
  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    Objects.requireNonNull(command, "command");
    Checks.positive(delay, "delay");
    return enqueue(new Task<>(Executors.callable(command), false), initialDelay, unit,
        -Math.max(1, unit.toNanos(delay)), true);
  }

  /**
   * Queues {@code command} to run at the clock's current reading, that is at the next
   * {@link #runDue()} or advance of the clock; what it throws propagates out of that call.
   *
   * @throws RejectedExecutionException if this scheduler is shut down
   * @throws NullPointerException if {@code command} is null
   */
  @Override
  public void execute(Runnable command) {
    Objects.requireNonNull(command, "command");
    enqueue(new Task<>(Executors.callable(command), true), 0L, TimeUnit.NANOSECONDS, 0L, false);
  }

  private <V> Task<V> enqueue(Task<V> task, long delay, TimeUnit unit, long period, boolean record) {
    Objects.requireNonNull(unit, "unit");
    long delayNanos = Math.max(0L, unit.toNanos(delay));
    lock.lock();
    try {
      if (shutdown) {
        throw new RejectedExecutionException("ManualScheduler is shut down");
      }
      task.period = period;
      task.due = Durations.saturatedAdd(clock.read(), delayNanos);
      task.seq = clock.nextTaskSequence();
      if (record) {
        delays.add(Duration.ofNanos(delayNanos));
      }
      queue.add(task);
      enqueued.signalAll();
    } finally {
      lock.unlock();
    }
    return task;
  }

  /**
   * Stops accepting tasks and cancels the periodic ones; queued one-shot tasks still run when due.
   */
  @Override
  public void shutdown() {
    List<Task<?>> periodic = new ArrayList<>();
    lock.lock();
    try {
      shutdown = true;
      queue.removeIf(t -> t.period != 0 && periodic.add(t));
      signalIfTerminated();
    } finally {
      lock.unlock();
    }
    periodic.forEach(t -> t.cancel(false));
  }

  /**
   * Stops accepting tasks, cancels the periodic ones, and removes the queued one-shot tasks, which
   * will never run; interrupts nothing.
   *
   * @return the one-shot tasks removed from the queue (each also a {@link java.util.concurrent.Future})
   */
  @Override
  public List<Runnable> shutdownNow() {
    shutdown();
    List<Runnable> removed = new ArrayList<>();
    lock.lock();
    try {
      removed.addAll(queue);
      queue.clear();
      signalIfTerminated();
    } finally {
      lock.unlock();
    }
    return removed;
  }

  /** Same as {@link #shutdownNow()}, discarding its result. */
  @Override
  public void close() {
    shutdownNow();
  }

  @Override
  public boolean isShutdown() {
    lock.lock();
    try {
      return shutdown;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean isTerminated() {
    lock.lock();
    try {
      return isTerminatedLocked();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits, in real time, until this scheduler is terminated: shut down, with no task queued and
   * none running. Queued tasks only run when a thread advances the clock.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    long remaining = unit.toNanos(timeout);
    lock.lockInterruptibly();
    try {
      while (!isTerminatedLocked()) {
        if (remaining <= 0) {
          return false;
        }
        remaining = terminated.awaitNanos(remaining);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "ManualScheduler{pending=" + pendingTasks() + (isShutdown() ? ", shut down" : "") + ", " + clock + "}";
  }

  private boolean isTerminatedLocked() {
    return shutdown && queue.isEmpty() && running == 0;
  }

  private void signalIfTerminated() {
    if (isTerminatedLocked()) {
      terminated.signalAll();
    }
  }

  /** The earliest queued task, or null. */
  Task<?> head() {
    lock.lock();
    try {
      return queue.peek();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs {@code task} if it is still queued (it may have been cancelled since it was looked at):
   * called by the clock, which holds its driver lock and has moved to the task's time. Returns
   * whether it ran.
   */
  boolean runTask(Task<?> task) {
    lock.lock();
    try {
      if (!queue.remove(task)) {
        return false;
      }
      running++;
    } finally {
      lock.unlock();
    }
    boolean again = false;
    try {
      if (task.period == 0) {
        task.run();
      } else {
        again = task.runPeriodic();
      }
    } finally {
      lock.lock();
      try {
        running--;
        if (again && !shutdown && !task.isDone()) {
          task.due = task.period > 0
              ? Durations.saturatedAdd(task.due, task.period)
              : Durations.saturatedAdd(clock.read(), -task.period);
          task.seq = clock.nextTaskSequence();
          queue.add(task);
        } else if (again) {
          task.cancel(false);
        }
        signalIfTerminated();
      } finally {
        lock.unlock();
      }
    }
    return true;
  }

  /**
   * One scheduled task: a {@link FutureTask} with a due time on the manual clock. Ordered by due
   * time, then by scheduling order; {@code due}, {@code seq} and {@code period} are written under
   * the scheduler's lock before the task is (re)queued, and read by the clock's driver after it
   * took the task from the queue under that lock.
   */
  final class Task<V> extends FutureTask<V> implements RunnableScheduledFuture<V> {

    private final Callable<V> callable;
    private final boolean propagates;
    // 0 for a one-shot task, > 0 fixed rate, < 0 fixed delay (nanoseconds).
    private long period;
    private volatile long due;
    private long seq;

    Task(Callable<V> callable, boolean propagates) {
      super(callable);
      this.callable = callable;
      this.propagates = propagates;
    }

    long due() {
      return due;
    }

    long remainingNanos() {
      long now = clock.read();
      long d = due;
      // due - now, saturated: both may be anywhere in the long range.
      long diff = d - now;
      if (((d ^ now) & (d ^ diff)) < 0) {
        return d > now ? Long.MAX_VALUE : Long.MIN_VALUE;
      }
      return diff;
    }

    boolean runPeriodic() {
      return runAndReset();
    }

    @Override
    public void run() {
      if (!propagates) {
        super.run();
        return;
      }
      if (isDone()) {
        return;
      }
      try {
        set(callable.call());
      } catch (RuntimeException | Error e) {
        setException(e);
        throw e;
      } catch (Exception e) { // Executors.callable(Runnable) throws no checked exception
        setException(e);
        throw new IllegalStateException(e);
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled) {
        lock.lock();
        try {
          queue.remove(this);
          signalIfTerminated();
        } finally {
          lock.unlock();
        }
      }
      return cancelled;
    }

    @Override
    public boolean isPeriodic() {
      return period != 0;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(remainingNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      if (other == this) {
        return 0;
      }
      if (other instanceof Task) {
        Task<?> that = (Task<?>) other;
        int byDue = Long.compare(due, that.due);
        return byDue != 0 ? byDue : Long.compare(seq, that.seq);
      }
      return Long.compare(remainingNanos(), other.getDelay(TimeUnit.NANOSECONDS));
    }

    @Override
    public String toString() {
      return "Task{due=" + due + "ns, " + callable + "}";
    }
  }
}
