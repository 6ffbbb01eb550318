package dev.shepherd.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A scheduler whose time is a {@link TestTicker}: tasks run only inside {@link #advance(Duration)},
 * on the test's thread, each at its due time in order. Only periodic and one-shot runnables are
 * supported, which is all core needs. Core's own tests use it because the public {@code
 * ManualScheduler} lives in the testing module, which depends on core.
 */
final class TestScheduler extends AbstractExecutorService implements ScheduledExecutorService {

  private final TestTicker ticker;
  private final List<Task> tasks = new ArrayList<>();
  private boolean shutdown;

  TestScheduler(TestTicker ticker) {
    this.ticker = ticker;
  }

  /** Moves time forward by {@code duration}, running every task that falls due, at its due time. */
  void advance(Duration duration) {
    long end = ticker.read() + duration.toNanos();
    for (;;) {
      Task next = null;
      for (Task t : tasks) {
        if (!t.cancelled && t.due <= end && (next == null || t.due < next.due)) {
          next = t;
        }
      }
      if (next == null) {
        break;
      }
      if (next.due > ticker.read()) {
        ticker.advanceNanos(next.due - ticker.read());
      }
      if (next.period > 0) {
        next.due += next.period;
      } else {
        next.cancelled = true;
      }
      next.command.run();
    }
    ticker.advanceNanos(end - ticker.read());
  }

  /** Returns how many tasks are scheduled and not cancelled. */
  int liveTasks() {
    return (int) tasks.stream().filter(t -> !t.cancelled).count();
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return add(command, unit.toNanos(delay), 0);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("not needed by core's tests");
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
    return add(command, unit.toNanos(initialDelay), unit.toNanos(period));
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
    return add(command, unit.toNanos(initialDelay), unit.toNanos(delay));
  }

  private Task add(Runnable command, long delayNanos, long periodNanos) {
    Task t = new Task(command, ticker.read() + delayNanos, periodNanos);
    tasks.add(t);
    return t;
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

  @Override
  public void execute(Runnable command) {
    command.run();
  }

  private final class Task implements ScheduledFuture<Object> {
    final Runnable command;
    final long period;
    long due;
    boolean cancelled;

    Task(Runnable command, long due, long period) {
      this.command = command;
      this.due = due;
      this.period = period;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - ticker.read(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean was = cancelled;
      cancelled = true;
      return !was;
    }

    @Override
    public boolean isCancelled() {
      return cancelled;
    }

    @Override
    public boolean isDone() {
      return cancelled;
    }

    @Override
    public Object get() {
      throw new CancellationException("periodic tasks never complete");
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      return get();
    }
  }
}
