package dev.shepherd.examples;

import dev.shepherd.storm.SimulationResult;
import dev.shepherd.storm.Strategies;
import java.util.Objects;

/**
 * One strategy's run as the charts see it: the per-second series they draw and the totals they
 * label, copied out of a {@link SimulationResult}. The charts depend on this record only, so that
 * when the simulator gains a series only {@link #of(SimulationResult)} changes.
 *
 * <p>Seconds are counted from the drop: index {@code s} covers {@code [s, s + 1)}.
 *
 * @param name the strategy's name, as in the table
 * @param isProtected whether the row runs Shepherd's server protection (drawn in cool colours,
 *     never in the outage's red)
 * @param attemptsPerSecond connection attempts offered to the connect servers in each second
 * @param connectedAtSecondEnd hubs connected at the end of each second
 * @param databasePerSecond authentications the database completed in each second, useful or not
 * @param databaseUsefulPerSecond of those, the ones whose answer reached a waiting hub, in each
 *     second
 * @param databaseWastedPerSecond of those, the ones whose hub had already given up, in each second
 *     (empty for a run measured without it)
 * @param databaseUseful authentications over the run whose answer reached a waiting hub
 * @param databaseWasted authentications over the run whose hub had already given up
 * @param peakQueue the most requests that waited in the database's queue at once
 */
record ChartSeries(
    String name,
    boolean isProtected,
    int[] attemptsPerSecond,
    int[] connectedAtSecondEnd,
    int[] databasePerSecond,
    int[] databaseUsefulPerSecond,
    int[] databaseWastedPerSecond,
    long databaseUseful,
    long databaseWasted,
    int peakQueue) {

  /** The word every protected row's name carries, as {@link Strategies#SHEPHERD_DEFAULTS} does. */
  private static final String SHEPHERD = "Shepherd";

  ChartSeries {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(attemptsPerSecond, "attemptsPerSecond");
    Objects.requireNonNull(connectedAtSecondEnd, "connectedAtSecondEnd");
    Objects.requireNonNull(databasePerSecond, "databasePerSecond");
    Objects.requireNonNull(databaseUsefulPerSecond, "databaseUsefulPerSecond");
    Objects.requireNonNull(databaseWastedPerSecond, "databaseWastedPerSecond");
  }

  /**
   * Adapts one simulated row. The simulator's {@code databaseAuthentications} counts every
   * authentication the database completed and {@code wastedAuthentications} the late ones among
   * them, so the useful work is their difference, over the run as in each second.
   *
   * @param result the row
   * @return its series
   */
  static ChartSeries of(SimulationResult result) {
    return new ChartSeries(
        result.name(),
        isProtected(result.name()),
        result.attemptsPerSecond(),
        result.connectedAtSecondEnd(),
        result.databasePerSecond(),
        result.dbUsefulPerSecond(),
        result.dbWastedPerSecond(),
        result.databaseAuthentications() - result.wastedAuthentications(),
        result.wastedAuthentications(),
        result.peakQueue());
  }

  /**
   * Whether a row's name says it runs Shepherd's protection: every row named after the library
   * ("Shepherd (defaults)" and its variants and ablations).
   */
  static boolean isProtected(String name) {
    return name.contains(SHEPHERD);
  }

  /** Seconds the series cover. */
  int seconds() {
    return attemptsPerSecond.length;
  }
}
