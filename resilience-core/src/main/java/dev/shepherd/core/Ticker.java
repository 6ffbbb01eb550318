package dev.shepherd.core;

/**
 * A source of monotonic time in nanoseconds, the only clock Shepherd's timing logic reads.
 *
 * <p>Values are meaningful only as differences between two reads of the same ticker; they have no
 * relation to wall-clock time and may be negative. Every time-dependent class takes a ticker so that
 * tests can drive it with a {@code ManualClock} instead of waiting on the wall clock.
 *
 * <p>Implementations must be thread-safe and must never go backwards.
 */
@FunctionalInterface
public interface Ticker {

  /**
   * Returns the current reading of this ticker.
   *
   * @return monotonic nanoseconds from an arbitrary origin
   */
  long read();

  /**
   * Returns the ticker backed by {@link System#nanoTime()}.
   *
   * @return the system ticker, a shared stateless singleton
   */
  static Ticker system() {
    return SystemTime.INSTANCE;
  }
}
