package dev.shepherd.circuitbreaker;

/**
 * The outcomes a closed breaker judges: the last {@code n} calls, or the calls of the last stretch
 * of time. One window serves one closed period of one breaker; a new period gets a new window.
 */
abstract class Window {

  final TripRule rule;

  Window(TripRule rule) {
    this.rule = rule;
  }

  /**
   * Records one judged outcome.
   *
   * @param code the outcome code (see {@link Counts})
   * @return whether the window now breaks the trip rule
   */
  abstract boolean record(int code);

  /** Returns the window's counts now: {@code {calls, failures, slow calls}}. */
  abstract long[] counts();
}
