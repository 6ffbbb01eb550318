package dev.shepherd.testing;

import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Ticker} and {@link Sleeper} whose time moves only when told to: the clock for testing
 * timing behaviour without waiting, in Shepherd's tests and in yours.
 *
 * <p>Two modes:
 * <ul>
 *   <li>{@link #instant()} (also {@code new ManualClock()}): {@link #sleep(Duration)} advances the
 *       clock by the requested duration and returns at once. Each sleep is recorded, so a test can
 *       assert the exact sequence of waits with {@link #sleeps()}, as Guava's fake stopwatch allows.
 *   <li>{@link #blocking()}: a sleeping thread blocks until another thread {@linkplain
 *       #advance(Duration) advances} the clock to or past its wake-up time, never before. Use it for
 *       multi-threaded tests; {@link #awaitSleepers(int, Duration)} lets the driving thread wait
 *       until the threads under test are parked before it moves time.
 * </ul>
 *
 * <p>A {@link ManualScheduler} built on this clock runs its tasks as the clock passes their
 * times: {@link #advance(Duration)} moves the clock to each due task's time in turn, runs the task
 * there on the advancing thread, and only then moves on (see {@link ManualScheduler} for the whole
 * contract). Sleeps on an instant clock move time too, but never run tasks: only {@code advance}
 * and the scheduler's own methods do, so a task never runs in the middle of the code under test.
 *
 * <p>The clock starts at zero unless given a start, never goes backwards and saturates at
 * {@link Long#MAX_VALUE} instead of overflowing. Thread-safe: reads are lock-free; advances, sleeps
 * and the record of sleeps are guarded by a {@link ReentrantLock} (not {@code synchronized}, so a
 * blocked virtual thread does not pin its carrier).
 *
 * <pre>{@code
 * ManualClock clock = new ManualClock();
 * Retry retry = Retry.builder().backoff(Backoff.constant(Duration.ofSeconds(1)))
 *     .ticker(clock).sleeper(clock).build();
 * // ... run the code under test, then:
 * assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(1)), clock.sleeps());
 * }</pre>
 */
public final class ManualClock implements Ticker, Sleeper {

  private final boolean blocking;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final List<Duration> sleeps = new ArrayList<>();
  // Written under the lock, read without it: a volatile read is all read() costs.
  private volatile long now;
  private int sleepers;
  // The schedulers whose tasks run as this clock advances, and the lock that makes the threads
  // driving them take turns, so that tasks run one at a time, in time order.
  private final List<ManualScheduler> schedulers = new CopyOnWriteArrayList<>();
  private final ReentrantLock driver = new ReentrantLock();
  private final AtomicLong taskSequence = new AtomicLong();

  /** Creates an instant clock reading zero. */
  public ManualClock() {
    this(false, 0L);
  }

  private ManualClock(boolean blocking, long start) {
    this.blocking = blocking;
    this.now = start;
  }

  /**
   * Returns a clock reading zero whose sleeps advance the clock and return at once.
   *
   * @return a new instant clock
   */
  public static ManualClock instant() {
    return new ManualClock(false, 0L);
  }

  /**
   * Returns a clock reading zero whose sleeps block until another thread advances the clock.
   *
   * @return a new blocking clock
   */
  public static ManualClock blocking() {
    return new ManualClock(true, 0L);
  }

  /**
   * Returns a clock of the given mode reading {@code startNanos}, for code that must cope with any
   * ticker origin (including negative ones and ones near overflow).
   *
   * @param startNanos the first reading
   * @param blocking whether sleeps block until the clock is advanced
   * @return a new clock
   */
  public static ManualClock startingAt(long startNanos, boolean blocking) {
    return new ManualClock(blocking, startNanos);
  }

  /**
   * Returns whether sleeps block until the clock is advanced.
   *
   * @return {@code true} for a {@link #blocking()} clock
   */
  public boolean isBlocking() {
    return blocking;
  }

  @Override
  public long read() {
    return now;
  }

  /**
   * Returns the time elapsed since this clock read zero, as a duration.
   *
   * @return the current reading as a {@link Duration}
   */
  public Duration elapsed() {
    return Duration.ofNanos(now);
  }

  /**
   * Moves the clock forward and wakes every blocked sleeper whose wake-up time has come.
   *
   * <p>When {@link ManualScheduler}s run on this clock, the clock stops at the time of each task
   * that falls due on the way (in order of time, then of scheduling), runs it on this thread, and
   * then goes on; it ends at its reading before the call plus {@code duration}.
   *
   * @param duration how far to move, zero or positive
   * @throws IllegalArgumentException if {@code duration} is negative: time never goes back
   * @throws NullPointerException if {@code duration} is null
   */
  public void advance(Duration duration) {
    Checks.nonNegative(duration, "duration");
    advanceNanos(Durations.toNanosSaturated(duration));
  }

  /**
   * Moves the clock forward by {@code nanos} nanoseconds, running due scheduler tasks on the way as
   * {@link #advance(Duration)} does.
   *
   * @param nanos how far to move, zero or positive
   * @throws IllegalArgumentException if {@code nanos} is negative
   */
  public void advanceNanos(long nanos) {
    Checks.nonNegative(nanos, "nanos");
    if (schedulers.isEmpty()) {
      lock.lock();
      try {
        now = Durations.saturatedAdd(now, nanos);
        changed.signalAll();
      } finally {
        lock.unlock();
      }
      return;
    }
    driver.lock();
    try {
      long target = Durations.saturatedAdd(now, nanos);
      runTasks(target, Integer.MAX_VALUE);
      moveTo(target);
    } finally {
      driver.unlock();
    }
  }

  /** Sets the reading to the later of itself and {@code target}, and wakes the sleepers. */
  private void moveTo(long target) {
    lock.lock();
    try {
      if (target > now) {
        now = target;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Runs, one at a time and in (due time, scheduling order), the tasks of every scheduler on this
   * clock that are due at or before {@code limit}, moving the clock to each one's time first; stops
   * after {@code maxTasks} tasks. Returns how many ran.
   */
  int runTasks(long limit, int maxTasks) {
    driver.lock();
    try {
      int ran = 0;
      while (ran < maxTasks) {
        ManualScheduler owner = null;
        ManualScheduler.Task<?> next = null;
        for (ManualScheduler scheduler : schedulers) {
          ManualScheduler.Task<?> head = scheduler.head();
          if (head != null && head.due() <= limit && (next == null || head.compareTo(next) < 0)) {
            next = head;
            owner = scheduler;
          }
        }
        if (next == null) {
          return ran;
        }
        moveTo(next.due());
        if (owner.runTask(next)) {
          ran++;
        }
      }
      return ran;
    } finally {
      driver.unlock();
    }
  }

  /** Makes {@code scheduler}'s tasks run as this clock advances. */
  void attach(ManualScheduler scheduler) {
    schedulers.add(scheduler);
  }

  /** Orders tasks scheduled for the same instant, across all schedulers on this clock. */
  long nextTaskSequence() {
    return taskSequence.getAndIncrement();
  }

  /**
   * Waits for {@code duration} on this clock and records the request.
   *
   * <p>An instant clock advances itself by {@code duration} and returns. A blocking clock returns
   * once another thread has advanced it to or past {@code read() + duration}; a zero duration
   * returns at once in both modes. An interrupted sleep throws and changes nothing else: the clock
   * keeps its reading, other sleepers keep sleeping, and the request stays recorded.
   *
   * @throws InterruptedException if the thread is interrupted before or while blocked; the
   *     interrupt status is cleared, as {@link Thread#sleep(long)} does
   * @throws IllegalArgumentException if {@code duration} is negative
   */
  @Override
  public void sleep(Duration duration) throws InterruptedException {
    Checks.nonNegative(duration, "duration");
    long nanos = Durations.toNanosSaturated(duration);
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before sleeping");
    }
    lock.lockInterruptibly();
    try {
      sleeps.add(duration);
      if (!blocking) {
        now = Durations.saturatedAdd(now, nanos);
        changed.signalAll();
        return;
      }
      long wakeAt = Durations.saturatedAdd(now, nanos);
      sleepers++;
      changed.signalAll(); // lets awaitSleepers() see this thread park
      try {
        while (now < wakeAt) {
          changed.await();
        }
      } finally {
        sleepers--;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns every sleep requested so far, in order.
   *
   * @return an immutable copy of the recorded sleeps
   */
  public List<Duration> sleeps() {
    lock.lock();
    try {
      return List.copyOf(sleeps);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns the recorded sleeps and forgets them, so the next assertion sees only new ones.
   *
   * @return an immutable copy of the sleeps recorded until now
   */
  public List<Duration> drainSleeps() {
    lock.lock();
    try {
      List<Duration> copy = List.copyOf(sleeps);
      sleeps.clear();
      return copy;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Returns how many threads are blocked in {@link #sleep(Duration)} right now (blocking mode).
   *
   * @return the number of blocked sleepers; always zero on an instant clock
   */
  public int sleepingThreads() {
    lock.lock();
    try {
      return sleepers;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits, in real time, until at least {@code count} threads are blocked in {@link
   * #sleep(Duration)}, so a test can advance the clock knowing who it will wake.
   *
   * @param count how many sleepers to wait for
   * @param timeout the longest real time to wait
   * @return {@code true} if that many threads are sleeping, {@code false} on timeout
   * @throws InterruptedException if the waiting thread is interrupted
   * @throws IllegalArgumentException if {@code count} is negative or {@code timeout} is negative
   */
  public boolean awaitSleepers(int count, Duration timeout) throws InterruptedException {
    Checks.atLeast(count, 0, "count");
    long remaining = Durations.toNanosSaturated(Checks.nonNegative(timeout, "timeout"));
    lock.lockInterruptibly();
    try {
      while (sleepers < count) {
        if (remaining <= 0) {
          return false;
        }
        remaining = changed.awaitNanos(remaining);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "ManualClock{" + (blocking ? "blocking" : "instant") + ", now=" + Duration.ofNanos(now) + "}";
  }
}
