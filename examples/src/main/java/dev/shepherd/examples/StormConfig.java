package dev.shepherd.examples;

import dev.shepherd.core.internal.Checks;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The parameters of one simulated storm; immutable.
 *
 * @param hubs how many hubs lose their connection at t = 0
 * @param capacity how many authentications per second the database completes at full speed
 * @param seed the seed of every random draw, so a run can be replayed exactly
 * @param durationSeconds how many seconds after the drop are simulated
 * @param timeoutNanos how long a hub waits for an answer before it gives up on an attempt
 * @param outputDir where the charts are written
 */
record StormConfig(
    int hubs, int capacity, long seed, int durationSeconds, long timeoutNanos, Path outputDir) {

  /** The default fleet: 100,000 hubs. */
  static final int DEFAULT_HUBS = 100_000;
  /** The default database capacity: 2,000 authentications per second. */
  static final int DEFAULT_CAPACITY = 2_000;
  /** The default seed. */
  static final long DEFAULT_SEED = 42L;
  /** The default simulated span after the drop: 30 minutes. */
  static final int DEFAULT_DURATION_SECONDS = 1_800;
  /** The default client timeout: 10 seconds. */
  static final int DEFAULT_TIMEOUT_SECONDS = 10;
  /** The default output folder. */
  static final Path DEFAULT_OUTPUT_DIR = Path.of("target", "storm");

  StormConfig {
    Checks.positive(hubs, "hubs");
    Checks.check(hubs <= 10_000_000, "hubs", "at most 10,000,000", hubs);
    Checks.positive(capacity, "capacity");
    Checks.positive(durationSeconds, "duration");
    Checks.check(durationSeconds <= 86_400, "duration", "at most 86,400 seconds", durationSeconds);
    Checks.positive(timeoutNanos, "timeout");
    Objects.requireNonNull(outputDir, "outputDir");
  }

  /** Returns the defaults. */
  static StormConfig defaults() {
    return new StormConfig(
        DEFAULT_HUBS,
        DEFAULT_CAPACITY,
        DEFAULT_SEED,
        DEFAULT_DURATION_SECONDS,
        DEFAULT_TIMEOUT_SECONDS * 1_000_000_000L,
        DEFAULT_OUTPUT_DIR);
  }

  /** Returns the simulated span in nanoseconds. */
  long durationNanos() {
    return durationSeconds * 1_000_000_000L;
  }
}
