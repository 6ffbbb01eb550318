package dev.shepherd.examples;

import dev.shepherd.core.ManualClock;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The five strategies the simulator compares, from the outage to the cure.
 */
final class Strategies {

  private Strategies() {}

  /** Returns the strategies in the order of the table and the charts. */
  static List<Strategy> all() {
    return List.of(immediateRetry());
  }

  /**
   * Strategy 1, the outage: every hub reconnects the moment it notices the drop and retries the
   * moment an attempt fails; every attempt goes to the database.
   */
  static Strategy immediateRetry() {
    return new Strategy() {
      @Override
      public String name() {
        return "1 immediate retry";
      }

      @Override
      public Run start(
          StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database) {
        return new Unprotected(database) {
          @Override
          public long retryDelayNanos(int hub) {
            return 0L;
          }
        };
      }
    };
  }

  /**
   * A connect-server tier with no protection: every attempt goes to the database, and hubs make
   * their first attempt as soon as they notice the drop.
   */
  abstract static class Unprotected implements Strategy.Run {
    private final Strategy.Database database;

    Unprotected(Strategy.Database database) {
      this.database = database;
    }

    @Override
    public long firstAttemptDelayNanos(int hub) {
      return 0L;
    }

    @Override
    public long retryAfterDelayNanos(int hub, long hintNanos) {
      throw new IllegalStateException("an unprotected server never sends a retry-after hint");
    }

    @Override
    public long admit(int hub) {
      database.submit(hub);
      return TO_DATABASE;
    }
  }
}
