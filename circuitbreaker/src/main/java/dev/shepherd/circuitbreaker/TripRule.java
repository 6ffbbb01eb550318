package dev.shepherd.circuitbreaker;

/**
 * When a breaker's outcomes say "open": the thresholds of one breaker, immutable.
 *
 * <p>Rates are compared as {@code failures >= failureRateThreshold * calls}, in {@code double},
 * the same expression everywhere (the closed window, the half-open verdict, and the reference
 * model of the tests), so that no two places can round differently.
 */
final class TripRule {

  final int minimumCalls;
  final double failureRateThreshold;
  /** The slow-call rate that opens the breaker; {@code NaN} when slow calls are not judged. */
  final double slowCallRateThreshold;

  /** The fewest failures (slow calls) that can trip a closed window: the threshold × minimumCalls. */
  private final double fewestFailures;
  private final double fewestSlow;

  TripRule(int minimumCalls, double failureRateThreshold, double slowCallRateThreshold) {
    this.minimumCalls = minimumCalls;
    this.failureRateThreshold = failureRateThreshold;
    this.slowCallRateThreshold = slowCallRateThreshold;
    this.fewestFailures = failureRateThreshold * minimumCalls;
    this.fewestSlow = slowCallRateThreshold * minimumCalls;
  }

  /**
   * Whether a closed window with these failures and slow calls could trip, for some number of
   * calls: if not, {@link #trips} is false whatever the calls, and they need not be read. Exact,
   * not a heuristic: {@code trips} needs {@code calls >= minimumCalls} and {@code failures >=
   * threshold * calls}, and rounding is monotone, so {@code threshold * calls >= threshold *
   * minimumCalls}.
   */
  boolean mayTrip(long failures, long slow) {
    return failures >= fewestFailures || slow >= fewestSlow;
  }

  /** Whether a closed window holding these counts opens the breaker. */
  boolean trips(long calls, long failures, long slow) {
    return calls >= minimumCalls && breaks(calls, failures, slow);
  }

  /** Whether these counts break a threshold, whatever their number. */
  boolean breaks(long calls, long failures, long slow) {
    if (calls <= 0) {
      return false;
    }
    // A comparison with NaN is false: with slow calls not judged, only failures count.
    return failures >= failureRateThreshold * calls || slow >= slowCallRateThreshold * calls;
  }
}
