package dev.shepherd.backoff;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;

/** Build-time checks shared by the factories, all through {@link Checks}. */
final class Args {

  private Args() {}

  /** A positive duration, in saturated nanoseconds. */
  static long positiveNanos(Duration value, String name) {
    return Durations.toNanosSaturated(Checks.positive(value, name));
  }

  /** Requires {@code value <= cap}; both already checked positive. */
  static void atMostCap(Duration value, String name, Duration cap, String capName) {
    Checks.check(value.compareTo(cap) <= 0, name, "at most " + capName + " (" + cap + ")", value);
  }

  /** A finite multiplier of at least 1 (1 means no growth). */
  static double multiplier(double value, String name) {
    Checks.check(value >= 1 && value != Double.POSITIVE_INFINITY, name, "finite and at least 1", value);
    return value;
  }

  /** A proportional jitter in {@code [0, 1)}: 1 would allow a zero delay from any delay. */
  static double jitter(double value, String name) {
    Checks.check(value >= 0 && value < 1, name, "in [0, 1)", value);
    return value;
  }
}
