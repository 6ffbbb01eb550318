package dev.shepherd.ratelimit;

import dev.shepherd.core.Policy;
import dev.shepherd.core.internal.Calls;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Admits work at a bounded rate, and says how long to wait when it does not.
 *
 * <p>Four ways to ask for permits:
 * <ul>
 *   <li>{@link #tryAcquire()} and {@link #tryAcquire(int)} never block: they take the permits if
 *       they are available now and otherwise return {@code false}.
 *   <li>{@link #acquireOrRetryAfterNanos(int)} is the same decision, allocation-free, with the answer
 *       to "when?" taken atomically with it: {@code 0} when the permits were granted, otherwise the
 *       exact number of nanoseconds (positive) until the same request would be granted if no other
 *       traffic came in between. A refusal leaves the limiter's state untouched.
 *   <li>{@link #tryAcquire(int, Duration)} waits, through the limiter's
 *       {@link dev.shepherd.core.Sleeper}, only when the permits are certain to be available within
 *       {@code maxWait}: it reserves them at once and sleeps until they are due; otherwise it returns
 *       {@code false} without waiting. The wait is interruptible; what an interrupted caller gives
 *       back is stated by each implementation.
 *   <li>As a {@link Policy}, {@link #get(Supplier)}, {@link #run(Runnable)}, {@link #call(Callable)}
 *       and {@link #callAsync(Supplier)} take one permit and run the action, or refuse with a {@link RateLimitExceededException} that names the
 *       limiter and carries the exact retry-after (also as an HTTP {@code Retry-After} value via
 *       {@link RateLimitExceededException#retryAfterHeader()}).
 * </ul>
 *
 * <p>Bad input fails fast with an {@link IllegalArgumentException} naming the value and leaves the
 * state untouched: {@code permits <= 0}, more permits than the limiter could ever grant at once
 * (which would otherwise be an eternal wait), a negative {@code maxWait}.
 *
 * <p>Every rejection is reported to the limiter's {@link dev.shepherd.core.EventListener} as a
 * {@link dev.shepherd.core.Event.Kind#REJECTED} event whose delay is the retry-after; grants are
 * not reported (they are counted, see {@link #grantedCount()}).
 *
 * <p>Implementations are thread-safe; the ones in this package are lock-free and allocate nothing
 * on the path that grants a permit.
 */
public interface RateLimiter extends Policy {

  /**
   * Takes one permit if it is available now; never blocks.
   *
   * @return whether the permit was granted
   */
  default boolean tryAcquire() {
    return acquireOrRetryAfterNanos(1) == 0;
  }

  /**
   * Takes {@code permits} permits if they are all available now; never blocks. Takes none otherwise.
   *
   * @param permits how many permits, at least 1
   * @return whether the permits were granted
   * @throws IllegalArgumentException if {@code permits <= 0} or exceeds what this limiter can ever
   *     grant at once
   */
  default boolean tryAcquire(int permits) {
    return acquireOrRetryAfterNanos(permits) == 0;
  }

  /**
   * Takes {@code permits} permits, waiting for them only if they are certain to be available within
   * {@code maxWait}; otherwise returns {@code false} at once, having taken nothing.
   *
   * <p>The permits are reserved before the wait, so a later caller cannot overtake this one. When
   * they are available at once this method neither waits nor checks the interrupt status.
   *
   * @param permits how many permits, at least 1
   * @param maxWait the longest acceptable wait, zero or more
   * @return {@code true} once the permits are granted (after any wait); {@code false} at once when
   *     they would not be available within {@code maxWait}
   * @throws InterruptedException if the thread is interrupted while waiting; what happens to the
   *     reservation is stated by the implementation
   * @throws IllegalArgumentException if {@code permits <= 0}, exceeds what this limiter can ever
   *     grant at once, or {@code maxWait} is negative
   * @throws NullPointerException if {@code maxWait} is null
   */
  boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException;

  /**
   * Takes {@code permits} permits if they are all available now, or says how long until they would
   * be; never blocks, and allocates nothing when it grants.
   *
   * <p>The decision and the wait are computed from one atomic view of the state. A refusal changes
   * nothing: asking again after exactly the returned number of nanoseconds, with no other traffic in
   * between, is granted, and asking one nanosecond earlier is not.
   *
   * @param permits how many permits, at least 1
   * @return {@code 0} if the permits were granted, otherwise the nanoseconds (positive) until the
   *     same request would be granted
   * @throws IllegalArgumentException if {@code permits <= 0} or exceeds what this limiter can ever
   *     grant at once
   */
  long acquireOrRetryAfterNanos(int permits);

  /**
   * Returns how many requests this limiter has granted since it was built (requests, not permits).
   *
   * @return the count of granted requests
   */
  long grantedCount();

  /**
   * Returns how many requests this limiter has refused since it was built.
   *
   * @return the count of refused requests
   */
  long rejectedCount();

  /**
   * Takes one permit and runs {@code action}, or throws without running it.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if no permit is available now; carries the exact wait
   * @throws Exception whatever {@code action} threw
   */
  @Override
  default <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    return admitted(action, Calls.CALLABLE);
  }

  /**
   * Takes one permit and runs {@code action}, or throws without running it; never blocks, and
   * allocates nothing when it grants.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws RateLimitExceededException if no permit is available now; carries the exact wait
   */
  @Override
  default <T> T get(Supplier<? extends T> action) {
    Objects.requireNonNull(action, "action");
    try {
      return admitted(action, Calls.SUPPLIER);
    } catch (Exception e) {
      throw Calls.unchecked(name(), e);
    }
  }

  /**
   * Takes one permit and runs {@code action}, or throws without running it; never blocks, and
   * allocates nothing when it grants.
   *
   * @param action the guarded work
   * @throws RateLimitExceededException if no permit is available now; carries the exact wait
   */
  @Override
  default void run(Runnable action) {
    Objects.requireNonNull(action, "action");
    try {
      admitted(action, Calls.RUNNABLE);
    } catch (Exception e) {
      throw Calls.unchecked(name(), e);
    }
  }

  /** The one body of the three synchronous call forms: {@code action} has the shape {@code form} names. */
  private <T> T admitted(Object action, int form) throws Exception {
    long wait = acquireOrRetryAfterNanos(1);
    if (wait != 0) {
      throw new RateLimitExceededException(name(), wait);
    }
    return Calls.invoke(action, form);
  }

  /**
   * Takes one permit and starts {@code action}, or returns a stage already completed exceptionally
   * with a {@link RateLimitExceededException}; never blocks.
   *
   * <p>If {@code action} itself throws, the returned stage completes exceptionally with what it
   * threw (the permit stays taken: the call was made).
   *
   * @param action starts the guarded work and returns the stage it will complete
   * @param <T> the result type
   * @return the stage {@code action} returned, or a failed stage
   */
  @Override
  default <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    long wait = acquireOrRetryAfterNanos(1);
    if (wait != 0) {
      return CompletableFuture.failedFuture(new RateLimitExceededException(name(), wait));
    }
    try {
      return Objects.requireNonNull(action.get(), "action returned null");
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
