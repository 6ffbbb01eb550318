package dev.shepherd.storm;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Prints the learned-capacity figures: {@code LearnedCapacityGrid hubs servers guess seed [failoverSeconds]}.
 * A tool for the report, not a test.
 */
final class LearnedCapacityGrid {

  private LearnedCapacityGrid() {}

  public static void main(String[] args) {
    int hubs = Integer.parseInt(args[0]);
    int servers = Integer.parseInt(args[1]);
    double guess = Double.parseDouble(args[2]);
    long seed = Long.parseLong(args[3]);
    int failover = args.length > 4 ? Integer.parseInt(args[4]) : -1;
    int capacity = 2_000;
    StormConfig config = new StormConfig(hubs, capacity, servers, seed, 3_600, 10_000_000_000L);
    LearnedCapacity strategy = LearnedCapacity.startingAt(guess);
    if (failover > 0) {
      strategy = strategy.withFailoverAt(Duration.ofSeconds(failover));
    }
    SimulationResult r = Simulation.runAll(config, List.of(strategy), StormOutcomeTest.SILENT).get(0);
    double ideal = (double) hubs / capacity;
    if (failover > 0 && failover < ideal) {
      ideal = failover + (hubs - (double) capacity * failover) / (capacity / 2.0);
    }
    LearnedCapacity.Outcome o = strategy.outcome();
    System.out.printf(Locale.ROOT, "N=%d S=%d guess=%s seed=%d failover=%d: to100=%.1f s (%.3f x ideal %.1f s),"
        + " to99=%.1f s, attempts=%.2f N, wasted=%d, peakQueue=%d, %s%n", hubs, servers, guess, seed, failover,
        r.nanosTo100() / 1e9, r.nanosTo100() / 1e9 / ideal, ideal, r.nanosTo99() / 1e9,
        (double) r.totalAttempts() / hubs, o.wasted(r), r.peakQueue(), o);
  }
}
