package dev.shepherd.circuitbreaker;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ScheduledExecutorService} on a {@link ManualClock}: a task runs, on the thread that
 * advances the clock, once the clock reaches its due time; never before. Only one-shot {@code
 * schedule(Runnable, ...)} is supported. Threads under test may schedule while the test waits for
 * them with {@link #awaitPending(int, Duration)}.
 */
final class ClockScheduler extends AbstractExecutorService implements ScheduledExecutorService {

  private final ManualClock clock;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition scheduled = lock.newCondition();
  private final List<Task> tasks = new ArrayList<>();
  private long total;

  ClockScheduler(ManualClock clock) {
    this.clock = clock;
  }

  /** Moves the clock forward and runs every task that is due, in due order. */
  void advance(Duration duration) {
    clock.advance(duration);
    for (;;) {
      Task next = null;
      lock.lock();
      try {
        for (Task t : tasks) {
          if (t.due <= clock.read() && (next == null || t.due < next.due)) {
            next = t;
          }
        }
        if (next == null) {
          return;
        }
        tasks.remove(next);
      } finally {
        lock.unlock();
      }
      next.fire();
    }
  }

  /** Tasks scheduled and neither run nor cancelled. */
  int pending() {
    lock.lock();
    try {
      tasks.removeIf(t -> t.cancelled.get());
      return tasks.size();
    } finally {
      lock.unlock();
    }
  }

  /** Tasks ever scheduled. */
  long scheduledTotal() {
    lock.lock();
    try {
      return total;
    } finally {
      lock.unlock();
    }
  }

  /** Waits (in real time, bounded) until at least {@code count} tasks were ever scheduled. */
  boolean awaitScheduled(long count, Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (total < count) {
        if (left <= 0) {
          return false;
        }
        left = scheduled.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    Task t = new Task(command, clock.read() + unit.toNanos(delay));
    lock.lock();
    try {
      tasks.add(t);
      total++;
      scheduled.signalAll();
    } finally {
      lock.unlock();
    }
    return t;
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
    throw new UnsupportedOperationException();
  }

  @Override
  public void shutdown() {}

  @Override
  public List<Runnable> shutdownNow() {
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return false;
  }

  private final class Task implements ScheduledFuture<Object> {
    final Runnable command;
    final long due;
    final AtomicBoolean cancelled = new AtomicBoolean();
    final AtomicBoolean done = new AtomicBoolean();

    Task(Runnable command, long due) {
      this.command = command;
      this.due = due;
    }

    void fire() {
      if (!cancelled.get() && done.compareAndSet(false, true)) {
        command.run();
      }
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(due - clock.read(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      return !done.get() && cancelled.compareAndSet(false, true);
    }

    @Override
    public boolean isCancelled() {
      return cancelled.get();
    }

    @Override
    public boolean isDone() {
      return done.get() || cancelled.get();
    }

    @Override
    public Object get() {
      throw new UnsupportedOperationException();
    }

    @Override
    public Object get(long timeout, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }
  }
}
