package dev.shepherd.core;

import java.time.Duration;

/**
 * Waits for a duration: the only way Shepherd's blocking code passes time.
 *
 * <p>Paired with a {@link Ticker}, a sleeper lets tests replace real waiting with a
 * {@code ManualClock}, which records each requested wait so a test can assert the exact sequence.
 *
 * <p>Implementations must be thread-safe and interruptible, and must not pin a virtual thread
 * (no {@code synchronized} around the wait).
 */
@FunctionalInterface
public interface Sleeper {

  /**
   * Waits for {@code duration}; a zero duration returns at once.
   *
   * @param duration how long to wait, zero or positive
   * @throws InterruptedException if the thread is interrupted before or during the wait; the
   *     interrupt status is cleared, as {@link Thread#sleep(long)} does
   * @throws IllegalArgumentException if {@code duration} is negative
   * @throws NullPointerException if {@code duration} is null
   */
  void sleep(Duration duration) throws InterruptedException;

  /**
   * Returns the sleeper that really waits, on {@link java.util.concurrent.TimeUnit#sleep(long)}.
   *
   * @return the system sleeper, a shared stateless singleton
   */
  static Sleeper system() {
    return SystemTime.INSTANCE;
  }
}
