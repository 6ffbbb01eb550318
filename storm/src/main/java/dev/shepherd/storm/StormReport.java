package dev.shepherd.storm;

import java.util.List;
import java.util.Locale;

/** Renders the simulator's results: the terminal table and the same numbers as JSON; stateless. */
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
        "Reconnect storm: %,d hubs drop at t = 0; %,d connect server%s, each attempt to one at random;"
            + " database capacity %,d authentications/s; attempt timeout %s; seed %d; %,d s simulated.",
        config.hubs(),
        config.servers(),
        config.servers() == 1 ? "" : "s",
        config.capacity(),
        seconds(config.timeoutNanos()),
        config.seed(),
        config.durationSeconds());
  }

  /**
   * Returns the table, one row per strategy, with a header and a trailing newline: the peak attempts
   * per second at the connect servers, the peak load offered to the database per second, attempts,
   * refusals, the database's useful and wasted authentications, requests its deadline guard dropped,
   * its peak queue, and the times until 50, 99 and 100 % of the fleet was connected.
   *
   * @param results the rows
   * @return the table
   */
  public static String table(List<SimulationResult> results) {
    int nameWidth = "strategy".length();
    for (SimulationResult result : results) {
      nameWidth = Math.max(nameWidth, result.name().length());
    }
    String row = "%-" + nameWidth + "s  %10s  %10s  %11s  %10s  %10s  %10s  %10s  %10s  %8s  %8s  %8s%n";
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, row,
        "strategy", "peak att/s", "peak DB/s", "attempts", "refused", "DB useful", "DB wasted", "DB dropped",
        "peak queue", "50 %", "99 %", "100 %"));
    for (SimulationResult r : results) {
      out.append(String.format(Locale.ROOT, row,
          r.name(),
          count(r.peakAttemptsPerSecond()),
          count(r.peakOfferedPerSecond()),
          count(r.totalAttempts()),
          count(r.rejected()),
          count(r.usefulAuthentications()),
          count(r.wastedAuthentications()),
          count(r.dropped()),
          count(r.peakQueue()),
          time(r.nanosTo50()),
          time(r.nanosTo99()),
          time(r.nanosTo100())));
    }
    return out.toString();
  }

  /**
   * Returns the results as JSON: an object with the storm's parameters and a {@code rows} array,
   * one object per strategy with the fields {@code strategy}, {@code hubs}, {@code capacity} (per
   * second), {@code servers}, {@code t50_s}, {@code t99_s}, {@code t100_s} (seconds until 50, 99
   * and 100 % of the fleet was connected, {@code null} when never), {@code attempts},
   * {@code refusals}, {@code db_auths}, {@code db_wasted}, {@code peak_offered_per_s} (the most
   * authentications sent to the database in one second) and {@code peak_queue}, followed by
   * {@code peak_attempts_per_s}, {@code db_useful}, {@code db_dropped} and {@code cache_hits}.
   *
   * @param config the storm
   * @param results the rows
   * @return the JSON text, with a trailing newline
   */
  public static String json(StormConfig config, List<SimulationResult> results) {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT,
        "{\"hubs\": %d, \"capacity\": %d, \"servers\": %d, \"seed\": %d, \"timeout_s\": %s, \"duration_s\": %d,%n",
        config.hubs(), config.capacity(), config.servers(), config.seed(), decimal(config.timeoutNanos()),
        config.durationSeconds()));
    out.append(" \"rows\": [");
    for (int i = 0; i < results.size(); i++) {
      SimulationResult r = results.get(i);
      out.append(i == 0 ? "\n" : ",\n");
      out.append(String.format(Locale.ROOT,
          "  {\"strategy\": %s, \"hubs\": %d, \"capacity\": %d, \"servers\": %d, \"t50_s\": %s, \"t99_s\": %s,"
              + " \"t100_s\": %s, \"attempts\": %d, \"refusals\": %d, \"db_auths\": %d, \"db_wasted\": %d,"
              + " \"peak_offered_per_s\": %d, \"peak_queue\": %d, \"peak_attempts_per_s\": %d,"
              + " \"db_useful\": %d, \"db_dropped\": %d, \"cache_hits\": %d}",
          quote(r.name()), r.hubs(), r.capacity(), r.servers(), orNull(r.nanosTo50()), orNull(r.nanosTo99()),
          orNull(r.nanosTo100()), r.totalAttempts(), r.rejected(), r.databaseAuthentications(),
          r.wastedAuthentications(), r.peakOfferedPerSecond(), r.peakQueue(), r.peakAttemptsPerSecond(),
          r.usefulAuthentications(), r.dropped(), r.cacheHits()));
    }
    out.append("\n ]\n}\n");
    return out.toString();
  }

  private static String orNull(long nanos) {
    return nanos < 0 ? "null" : decimal(nanos);
  }

  private static String decimal(long nanos) {
    return String.format(Locale.ROOT, "%.3f", nanos / 1e9);
  }

  private static String quote(String text) {
    StringBuilder quoted = new StringBuilder("\"");
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        quoted.append('\\').append(c);
      } else if (c < 0x20) {
        quoted.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      } else {
        quoted.append(c);
      }
    }
    return quoted.append('"').toString();
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
