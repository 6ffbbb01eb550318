package dev.shepherd.storm;

import java.time.Duration;
import java.util.Objects;

/**
 * What starts the trouble in a {@link Scenario}, at t = 0, and when it is removed: a share of the
 * fleet loses its connection at once (a load spike: the trigger is over the instant it happens), and
 * optionally the database runs at a fraction of its capacity for a while (a capacity drop, removed
 * when it ends). Immutable.
 *
 * @param dropFraction the share of clients that lose their connection at t = 0, above 0 and at most 1
 *     (the others stay connected throughout)
 * @param capacityFactor the database's capacity during the capacity drop, as a fraction of normal,
 *     above 0 and at most 1 (1: no capacity drop)
 * @param capacityDropLength how long the capacity drop lasts from t = 0; zero for none
 */
public record Trigger(double dropFraction, double capacityFactor, Duration capacityDropLength) {

  /**
   * Validates the trigger.
   *
   * @param dropFraction above 0, at most 1
   * @param capacityFactor above 0, at most 1
   * @param capacityDropLength zero to 1 day
   * @throws IllegalArgumentException if a value is out of range
   * @throws NullPointerException if {@code capacityDropLength} is null
   */
  public Trigger {
    StormConfig.check(dropFraction > 0 && dropFraction <= 1, "dropFraction", "above 0 and at most 1",
        dropFraction);
    StormConfig.check(capacityFactor > 0 && capacityFactor <= 1, "capacityFactor", "above 0 and at most 1",
        capacityFactor);
    Objects.requireNonNull(capacityDropLength, "capacityDropLength");
    StormConfig.check(!capacityDropLength.isNegative() && capacityDropLength.compareTo(Duration.ofDays(1)) <= 0,
        "capacityDropLength", "between 0 and 1 day", capacityDropLength);
  }

  /**
   * Returns the whole fleet losing its connection at once: the reconnect storm.
   *
   * @return the trigger, removed at t = 0
   */
  public static Trigger fleetDrop() {
    return new Trigger(1.0, 1.0, Duration.ZERO);
  }

  /**
   * Returns a share of the fleet losing its connection at once (a network partition, a load
   * balancer's restart).
   *
   * @param fraction above 0, at most 1
   * @return the trigger, removed at t = 0
   * @throws IllegalArgumentException if out of range
   */
  public static Trigger partialDrop(double fraction) {
    return new Trigger(fraction, 1.0, Duration.ZERO);
  }

  /**
   * Returns this trigger with the database at {@code factor} of its capacity from t = 0 for
   * {@code length} (a failover, a noisy neighbour).
   *
   * @param factor above 0, at most 1
   * @param length zero to 1 day
   * @return the new trigger, removed when the capacity drop ends
   * @throws IllegalArgumentException if out of range
   */
  public Trigger withCapacityDrop(double factor, Duration length) {
    return new Trigger(dropFraction, factor, length);
  }

  /**
   * Returns when the trigger is removed: the end of the capacity drop, or t = 0 without one.
   *
   * @return nanoseconds after t = 0
   */
  public long removedAtNanos() {
    return capacityFactor == 1.0 ? 0L : capacityDropLength.toNanos();
  }
}
