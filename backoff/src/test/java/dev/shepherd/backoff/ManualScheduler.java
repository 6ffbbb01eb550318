package dev.shepherd.backoff;

import dev.shepherd.core.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ScheduledExecutorService} for tests: tasks wait until the test runs them, and their
 * delays are recorded. Only one-shot {@code schedule} and {@code execute} are supported. Built on a
 * {@link Ticker} (a {@code ManualClock}), it also knows when each task is due, and
 * {@link #runDue()} runs the tasks whose time has come on that clock.
 */
final class ManualScheduler extends AbstractExecutorService implements ScheduledExecutorService {

  private final ReentrantLock lock = new ReentrantLock();
  private final List<Task> tasks = new ArrayList<>();
  private final List<Long> delays = new ArrayList<>();
  private final Ticker ticker;
  private volatile boolean shutdown;

  ManualScheduler() {
    this(() -> 0L);
  }

  ManualScheduler(Ticker ticker) {
    this.ticker = ticker;
  }

  /** Runs, oldest first, every task not cancelled that is due on the ticker; returns how many ran. */
  int runDue() {
    List<Task> due = new ArrayList<>();
    lock.lock();
    try {
      long now = ticker.read();
      for (Task t : List.copyOf(tasks)) {
        if (!t.isCancelled() && t.dueAt - now <= 0) {
          due.add(t);
          tasks.remove(t);
        }
      }
    } finally {
      lock.unlock();
    }
    due.forEach(Task::run);
    return due.size();
  }

  /** The delays, in nanoseconds, of every task scheduled so far. */
  List<Long> delays() {
    lock.lock();
    try {
      return List.copyOf(delays);
    } finally {
      lock.unlock();
    }
  }

  /** How many tasks wait to run and are not cancelled. */
  int pending() {
    lock.lock();
    try {
      return (int) tasks.stream().filter(t -> !t.isCancelled()).count();
    } finally {
      lock.unlock();
    }
  }

  /** How many scheduled tasks were cancelled. */
  int cancelled() {
    lock.lock();
    try {
      return (int) tasks.stream().filter(Task::isCancelled).count();
    } finally {
      lock.unlock();
    }
  }

  /** Runs the oldest task that is not cancelled; returns false when there is none. */
  boolean runNext() {
    Task next = null;
    lock.lock();
    try {
      for (Task t : tasks) {
        if (!t.isCancelled()) {
          next = t;
          break;
        }
      }
      if (next != null) {
        tasks.remove(next);
      }
    } finally {
      lock.unlock();
    }
    if (next == null) {
      return false;
    }
    next.run();
    return true;
  }

  /** Runs every task, cancelled or not, as a scheduler that lost the cancellation would. */
  int forceRunAll() {
    List<Task> copy;
    lock.lock();
    try {
      copy = List.copyOf(tasks);
      tasks.clear();
    } finally {
      lock.unlock();
    }
    copy.forEach(t -> t.command.run());
    return copy.size();
  }

  /** Runs tasks until none is left, at most {@code limit}; returns how many ran. */
  int runAll(int limit) {
    int ran = 0;
    while (ran < limit && runNext()) {
      ran++;
    }
    return ran;
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    if (shutdown) {
      throw new RejectedExecutionException("shut down");
    }
    Task task = new Task(command, unit.toNanos(delay), ticker.read() + unit.toNanos(delay));
    lock.lock();
    try {
      tasks.add(task);
      delays.add(unit.toNanos(delay));
    } finally {
      lock.unlock();
    }
    return task;
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException();
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }

  @Override
  public List<Runnable> shutdownNow() {
    shutdown = true;
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return shutdown;
  }

  @Override
  public boolean isTerminated() {
    return shutdown;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return shutdown;
  }

  private static final class Task implements ScheduledFuture<Object>, Runnable {
    private final Runnable command;
    private final long delayNanos;
    private final long dueAt;
    private volatile boolean cancelled;
    private volatile boolean done;

    Task(Runnable command, long delayNanos, long dueAt) {
      this.command = command;
      this.delayNanos = delayNanos;
      this.dueAt = dueAt;
    }

    @Override
    public void run() {
      if (!cancelled) {
        done = true;
        command.run();
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(delayNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(delayNanos, other.getDelay(TimeUnit.NANOSECONDS));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      if (done) {
        return false;
      }
      cancelled = true;
      return true;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return done || cancelled;
    }

    @Override
    public Object get() {
      return null;
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return null;
    }
  }
}
