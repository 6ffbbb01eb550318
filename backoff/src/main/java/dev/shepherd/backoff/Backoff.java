package dev.shepherd.backoff;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * A backoff policy: how long to wait before each retry of one retry loop.
 *
 * <p>A {@code Backoff} is immutable and thread-safe; it holds configuration only. Each retry loop
 * (one call's retries, one connection's reconnects) calls {@link #start(RandomGenerator)} for a fresh
 * {@link Schedule}, whose {@link Schedule#nextDelayNanos()} gives the wait before retry 1, 2, 3, ...
 */
public interface Backoff {

  /**
   * Starts a schedule whose random draws come from {@code random}; a seeded generator makes the
   * schedule reproducible.
   *
   * @param random the source of jitter; used only by the returned schedule's thread(s)
   * @return a fresh schedule, positioned before retry 1
   * @throws NullPointerException if {@code random} is null
   */
  Schedule start(RandomGenerator random);

  /**
   * The waits of one retry loop. Not thread-safe: one schedule belongs to one loop.
   */
  interface Schedule {

    /**
     * Returns the wait before the next retry and moves to the one after; never negative.
     *
     * @return the wait in nanoseconds
     */
    long nextDelayNanos();

    /**
     * Returns the wait before the next retry as a {@link Duration}; allocates, unlike
     * {@link #nextDelayNanos()}.
     *
     * @return the wait
     */
    default Duration nextDelay() {
      return Duration.ofNanos(nextDelayNanos());
    }
  }
}
