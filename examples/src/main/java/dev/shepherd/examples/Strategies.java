package dev.shepherd.examples;

import dev.shepherd.backoff.Backoff;
import dev.shepherd.core.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The strategies the simulator compares, from the outage to the cure. Every delay a hub waits
 * comes from the library's own {@link Backoff} schedules.
 */
final class Strategies {

  /** The first retry's scale for every backoff: 1 second. */
  static final Duration BASE = Duration.ofSeconds(1);
  /** Every backoff's cap: 5 minutes, a common ceiling for device firmware. */
  static final Duration CAP = Duration.ofMinutes(5);
  /** How long the authentication cache trusts an answer: 1 hour. */
  static final Duration CACHE_TTL = Duration.ofHours(1);
  /** The share of the TTL over which refreshes and expiries are spread. */
  static final double REFRESH_AHEAD = 0.2;
  /** Reconnector's default jitter above a retry-after hint: 20 % of the hint... */
  static final double RETRY_AFTER_SPREAD = 0.2;
  /** ...and at least 1 second. */
  static final Duration RETRY_AFTER_MIN_JITTER = Duration.ofSeconds(1);
  /** The hint a connect server sends when the database's bulkhead is full: 1 second. */
  static final Duration BUSY_HINT = Duration.ofSeconds(1);

  private Strategies() {}

  /** Returns the strategies in the order of the table and the charts. */
  static List<Strategy> all() {
    // Strategy 5 (spread + token bucket + caching authenticator + bulkhead) waits for the ratelimit
    // and auth modules.
    return List.of(immediateRetry(), exponential(), fullJitter(), decorrelatedJitter());
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

  /** Strategy 2: {@link Backoff#exponential} doubling from {@link #BASE} to {@link #CAP}, no jitter. */
  static Strategy exponential() {
    return backoff("2 exponential, no jitter", Backoff.exponential(BASE, 2.0, CAP));
  }

  /** Strategy 3: {@link Backoff#fullJitter} from {@link #BASE} to {@link #CAP}. */
  static Strategy fullJitter() {
    return backoff("3 full jitter", Backoff.fullJitter(BASE, CAP));
  }

  /** Strategy 4: {@link Backoff#decorrelatedJitter} from {@link #BASE} to {@link #CAP}. */
  static Strategy decorrelatedJitter() {
    return backoff("4 decorrelated jitter", Backoff.decorrelatedJitter(BASE, CAP));
  }

  /**
   * A fleet whose hubs retry on a backoff schedule, one per hub, against unprotected servers: the
   * first attempt is immediate (a plain retry loop), every attempt goes to the database.
   */
  static Strategy backoff(String name, Backoff backoff) {
    return new Strategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Run start(
          StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database) {
        Backoff.Schedule[] schedules = new Backoff.Schedule[config.hubs()];
        return new Unprotected(database) {
          @Override
          public long retryDelayNanos(int hub) {
            Backoff.Schedule schedule = schedules[hub];
            if (schedule == null) {
              schedule = backoff.start(random);
              schedules[hub] = schedule;
            }
            return schedule.nextDelayNanos();
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
