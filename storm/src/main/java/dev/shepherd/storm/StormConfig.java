package dev.shepherd.storm;

import java.util.Locale;

/**
 * The parameters of one simulated storm; immutable.
 *
 * @param hubs how many hubs lose their connection at t = 0
 * @param capacity how many authentications per second the database completes at full speed
 * @param servers how many connect servers share the load, each attempt sent to one of them at random
 * @param seed the seed of every random draw, so a run can be replayed exactly
 * @param durationSeconds how many seconds after the drop are simulated
 * @param timeoutNanos how long a hub waits for an answer before it gives up on an attempt
 */
public record StormConfig(
    int hubs, int capacity, int servers, long seed, int durationSeconds, long timeoutNanos) {

  /** The default fleet: 100,000 hubs. */
  public static final int DEFAULT_HUBS = 100_000;
  /** The default database capacity: 2,000 authentications per second. */
  public static final int DEFAULT_CAPACITY = 2_000;
  /**
   * The default number of connect servers: 4, behind a load balancer that sends each attempt to one
   * at random, so a hub rarely comes back to the server whose cache knows it.
   */
  public static final int DEFAULT_SERVERS = 4;
  /** The default seed. */
  public static final long DEFAULT_SEED = 42L;
  /** The default simulated span after the drop: 30 minutes. */
  public static final int DEFAULT_DURATION_SECONDS = 1_800;
  /** The default client timeout: 10 seconds. */
  public static final int DEFAULT_TIMEOUT_SECONDS = 10;

  /**
   * Validates the parameters.
   *
   * @param hubs how many hubs lose their connection at t = 0, 1 to 10,000,000
   * @param capacity the database's authentications per second at full speed, positive
   * @param servers the connect servers, 1 to 1,000
   * @param seed the seed of every random draw
   * @param durationSeconds the simulated span, 1 to 86,400 seconds
   * @param timeoutNanos how long a hub waits for an answer, positive
   * @throws IllegalArgumentException if a count or duration is not positive, or out of range
   */
  public StormConfig {
    check(hubs > 0 && hubs <= 10_000_000, "hubs", "between 1 and 10,000,000", hubs);
    check(capacity > 0, "capacity", "positive", capacity);
    check(servers > 0 && servers <= 1_000, "servers", "between 1 and 1,000", servers);
    check(durationSeconds > 0 && durationSeconds <= 86_400, "durationSeconds", "between 1 and 86,400",
        durationSeconds);
    check(timeoutNanos > 0, "timeoutNanos", "positive", timeoutNanos);
  }

  /**
   * Returns the defaults.
   *
   * @return 100,000 hubs, 2,000/s, 4 connect servers, seed 42, 30 minutes, 10 s timeout
   */
  public static StormConfig defaults() {
    return new StormConfig(
        DEFAULT_HUBS,
        DEFAULT_CAPACITY,
        DEFAULT_SERVERS,
        DEFAULT_SEED,
        DEFAULT_DURATION_SECONDS,
        DEFAULT_TIMEOUT_SECONDS * 1_000_000_000L);
  }

  /**
   * Returns the simulated span in nanoseconds.
   *
   * @return the duration
   */
  public long durationNanos() {
    return durationSeconds * 1_000_000_000L;
  }

  /**
   * Returns this storm with another fleet size.
   *
   * @param hubs the fleet size
   * @return the new configuration
   */
  public StormConfig withHubs(int hubs) {
    return new StormConfig(hubs, capacity, servers, seed, durationSeconds, timeoutNanos);
  }

  /**
   * Returns this storm with another number of connect servers.
   *
   * @param servers the connect servers
   * @return the new configuration
   */
  public StormConfig withServers(int servers) {
    return new StormConfig(hubs, capacity, servers, seed, durationSeconds, timeoutNanos);
  }

  /**
   * Returns this storm with another seed.
   *
   * @param seed the seed
   * @return the new configuration
   */
  public StormConfig withSeed(long seed) {
    return new StormConfig(hubs, capacity, servers, seed, durationSeconds, timeoutNanos);
  }

  static void check(boolean ok, String parameter, String rule, Object value) {
    if (!ok) {
      throw new IllegalArgumentException(
          String.format(Locale.ROOT, "%s must be %s: %s", parameter, rule, value));
    }
  }
}
