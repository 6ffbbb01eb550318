package dev.shepherd.storm;

import java.util.List;
import java.util.Locale;

/** Renders the simulator's results as the terminal table; stateless. */
public final class StormReport {

  private StormReport() {}

  /**
   * Returns the one-line description of the storm the table belongs to.
   *
   * @param config the storm
   * @return the heading
   */
  public static String heading(StormConfig config) {
    return String.format(
        Locale.ROOT,
        "Reconnect storm: %,d hubs drop at t = 0; database capacity %,d authentications/s;"
            + " client timeout %s; seed %d; %,d s simulated.",
        config.hubs(),
        config.capacity(),
        seconds(config.timeoutNanos()),
        config.seed(),
        config.durationSeconds());
  }

  /**
   * Returns the table, one row per strategy, with a header and a trailing newline.
   *
   * @param results the rows
   * @return the table
   */
  public static String table(List<SimulationResult> results) {
    int nameWidth = "strategy".length();
    for (SimulationResult result : results) {
      nameWidth = Math.max(nameWidth, result.name().length());
    }
    String row = "%-" + nameWidth + "s  %11s  %11s  %11s  %11s  %10s  %8s  %8s  %8s%n";
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, row,
        "strategy", "peak att/s", "attempts", "DB auths", "DB wasted", "rejected",
        "50 %", "99 %", "100 %"));
    for (SimulationResult r : results) {
      out.append(String.format(Locale.ROOT, row,
          r.name(),
          count(r.peakAttemptsPerSecond()),
          count(r.totalAttempts()),
          count(r.databaseAuthentications()),
          count(r.wastedAuthentications()),
          count(r.rejected()),
          time(r.nanosTo50()),
          time(r.nanosTo99()),
          time(r.nanosTo100())));
    }
    return out.toString();
  }

  private static String count(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }

  /**
   * Formats a time to reach a share of the fleet; "never" when it was not reached in the run.
   *
   * @param nanos the time, or -1 for never
   * @return the text
   */
  public static String time(long nanos) {
    return nanos < 0 ? "never" : seconds(nanos);
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
  }
}
