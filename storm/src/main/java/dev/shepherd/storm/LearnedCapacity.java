package dev.shepherd.storm;

import dev.shepherd.backoff.ReconnectPlan;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.ratelimit.LearnedRate;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.testing.ManualClock;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeoutException;
import java.util.random.RandomGenerator;

/**
 * Shepherd with a learned capacity: the hubs are default {@link Reconnector}s, and each connect
 * server admits through a {@link SlotAdmission} that follows one {@link LearnedRate} shared by all
 * the servers (each its {@code 1 / servers} share), fed by every server with each database call's
 * latency. Nobody is told the database's capacity; the controller starts from a guess.
 *
 * <p>Optionally the database <em>fails over</em> at a given instant to one of half the capacity.
 * The simulator's database has a fixed rate, so this strategy models the fail-over in its own view
 * of the backend: from that instant each authentication costs the database two requests (the
 * first, a stand-in for the slower replica's extra work, is submitted just before the real one, so
 * the hub's answer comes when both are done). The simulation counts each stand-in's completion as
 * work nobody waited for; {@link Outcome#wasted(SimulationResult)} takes them out again, exactly.
 *
 * <p>Each server asks its database calls' latency of no cache: an admitted hub goes to the
 * database unless its earlier request is still there (a cache would share it). One strategy object
 * remembers its last run's {@link Outcome}; use one object per simulation.
 */
public final class LearnedCapacity implements Strategy {

  /** The row's name. */
  public static final String NAME = "Shepherd, learned capacity";

  private static final TimeoutException TIMED_OUT = new TimeoutException("no answer within the attempt timeout");

  private final double guess;
  private final long failoverAtNanos;
  private volatile Outcome outcome;

  private LearnedCapacity(double guess, long failoverAtNanos) {
    StormConfig.check(guess > 0 && guess <= 1_000, "guess", "positive and at most 1,000", guess);
    this.guess = guess;
    this.failoverAtNanos = failoverAtNanos;
  }

  /**
   * Returns the strategy starting from a guess of the capacity.
   *
   * @param guess the starting guess as a multiple of the database's true capacity, in (0, 1000]
   * @return the strategy
   * @throws IllegalArgumentException if {@code guess} is out of range
   */
  public static LearnedCapacity startingAt(double guess) {
    return new LearnedCapacity(guess, Long.MAX_VALUE);
  }

  /**
   * Returns this strategy with the database failing over to half its capacity at {@code at}.
   *
   * @param at the fail-over's instant after the drop, positive
   * @return the strategy
   * @throws IllegalArgumentException if {@code at} is not positive
   */
  public LearnedCapacity withFailoverAt(Duration at) {
    StormConfig.check(!at.isNegative() && !at.isZero(), "at", "positive", at);
    return new LearnedCapacity(guess, at.toNanos());
  }

  @Override
  public String name() {
    String base = String.format(Locale.ROOT, "%s (guess %s × C)", NAME, guess);
    return failoverAtNanos == Long.MAX_VALUE ? base
        : base + String.format(Locale.ROOT, ", C halves at %d s", failoverAtNanos / 1_000_000_000L);
  }

  /**
   * Returns what the last run measured beyond the simulation's result, or null before any run.
   *
   * @return the outcome
   */
  public Outcome outcome() {
    return outcome;
  }

  @Override
  public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
    Outcome o = new Outcome(failoverAtNanos, config.capacity());
    outcome = o;
    return new LearnedRun(config, clock, random, database, o);
  }

  /** What one run measured beyond the simulation's result; read it after the run. */
  public static final class Outcome {
    private final long failoverAt;
    private final int capacity;
    long standIns;
    long rateBelowHalfAt = -1;
    long drainedAt = -1;
    long peakLatencyAfterFailover;
    double peakRate;
    double finalRate;
    long reissued;
    long congestedPeriods;

    Outcome(long failoverAt, int capacity) {
      this.failoverAt = failoverAt;
      this.capacity = capacity;
    }

    /**
     * Returns the authentications whose answer nobody waited for, the fail-over's stand-ins taken out.
     *
     * @param result the run's result
     * @return the wasted work
     */
    public long wasted(SimulationResult result) {
      return result.wastedAuthentications() - standIns;
    }

    /**
     * Returns how long after the fail-over the learned rate first fell to half the capacity or below.
     *
     * @return nanoseconds, or -1 if it never did (or there was no fail-over)
     */
    public long admissionFollowedNanos() {
      return rateBelowHalfAt < 0 ? -1 : rateBelowHalfAt - failoverAt;
    }

    /**
     * Returns the recovery time: how long after the fail-over the first completion came that waited
     * no longer than the controller's target, once the learned rate had followed the capacity down
     * (the queue the fail-over built has drained by then).
     *
     * @return nanoseconds, or -1 if it never happened (or there was no fail-over)
     */
    public long recoveredNanos() {
      return drainedAt < 0 ? -1 : drainedAt - failoverAt;
    }

    /**
     * Returns the longest a database call took after the fail-over, queueing included.
     *
     * @return nanoseconds
     */
    public long peakLatencyAfterFailoverNanos() {
      return peakLatencyAfterFailover;
    }

    /**
     * Returns the highest rate the controller learned, in authentications per second.
     *
     * @return the rate
     */
    public double peakRate() {
      return peakRate;
    }

    /**
     * Returns the controller's rate at the end of the run.
     *
     * @return the rate
     */
    public double finalRate() {
      return finalRate;
    }

    /**
     * Returns how many tickets were given a new slot because the rate was cut after they were booked.
     *
     * @return the count
     */
    public long reissued() {
      return reissued;
    }

    /**
     * Returns how many control periods ended congested.
     *
     * @return the count
     */
    public long congestedPeriods() {
      return congestedPeriods;
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "standIns=%d, followed=%d ms, recovered=%d ms, peakLatency=%d ms,"
          + " peak=%.0f/s, final=%.0f/s, reissued=%d, congested periods=%d", standIns,
          admissionFollowedNanos() / 1_000_000, recoveredNanos() / 1_000_000, peakLatencyAfterFailover / 1_000_000,
          peakRate, finalRate, reissued, congestedPeriods);
    }

    int capacity() {
      return capacity;
    }
  }

  /** The library's hubs against servers that learn the database's capacity. */
  private final class LearnedRun implements Strategy.Run {
    private static final long TARGET_NANOS = 50_000_000L;

    private final ManualClock clock;
    private final Strategy.Database database;
    private final ReconnectPlan.Session[] sessions;
    private final SlotAdmission[] admissions;
    private final LearnedRate rate;
    private final Outcome outcome;
    private final long[] submittedAt;
    private final int[] standIn;
    private final int[] inDatabase;
    private RejectedException refusal;

    LearnedRun(StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database,
        Outcome outcome) {
      this.clock = clock;
      this.database = database;
      this.outcome = outcome;
      ReconnectPlan plan = Reconnector.builder(() -> {
        throw new UnsupportedOperationException("the simulation makes the attempts");
      }).build().plan();
      sessions = new ReconnectPlan.Session[config.hubs()];
      for (int hub = 0; hub < sessions.length; hub++) {
        sessions[hub] = plan.newSession(random);
      }
      submittedAt = new long[config.hubs()];
      standIn = new int[config.hubs()];
      inDatabase = new int[config.hubs()];
      EventListener trace = event -> {
        if (event.kind() == Event.Kind.LIMIT_CHANGED) {
          double after = event.limitAfter();
          outcome.peakRate = Math.max(outcome.peakRate, after);
          if (outcome.rateBelowHalfAt < 0 && clock.read() >= outcome.failoverAt
              && after <= outcome.capacity() / 2.0) {
            outcome.rateBelowHalfAt = clock.read();
          }
        }
      };
      rate = LearnedRate.builder()
          .name("auth-db")
          .initialPermitsPerSecond(guess * config.capacity())
          .queueDelayTarget(Duration.ofNanos(TARGET_NANOS))
          .ticker(clock)
          .listener(trace)
          .build();
      outcome.peakRate = rate.permitsPerSecond();
      byte[] key = new byte[16];
      random.nextBytes(key);
      Clock wall = new Strategies.SimulatedWallClock(clock);
      admissions = new SlotAdmission[config.servers()];
      for (int server = 0; server < admissions.length; server++) {
        admissions[server] = SlotAdmission.builder()
            .name("connect-" + server)
            .learnedRate(rate, 1.0 / admissions.length)
            .ticketKey(key)
            .ticker(clock)
            .clock(wall)
            .listener(EventListener.noop())
            .build();
      }
    }

    @Override
    public long firstAttemptDelayNanos(int hub) {
      return sessions[hub].start(clock.read());
    }

    @Override
    public int attempt(int hub, int server) {
      RejectedException last = sessions[hub].lastRefusal();
      SlotTicket ticket = last instanceof SlotRefusedException ? ((SlotRefusedException) last).ticket().orElse(null)
          : null;
      try {
        admissions[server].acquire(hub, ticket);
      } catch (SlotRefusedException refused) {
        refusal = refused;
        return REFUSED;
      }
      if (inDatabase[hub] > 0) {
        return TO_DATABASE; // its earlier request is still queued: the hub waits for that one
      }
      long now = clock.read();
      submittedAt[hub] = now;
      if (now >= outcome.failoverAt) {
        standIn[hub] = database.submit(hub);
        inDatabase[hub]++;
      }
      database.submit(hub);
      inDatabase[hub]++;
      return TO_DATABASE;
    }

    @Override
    public long refusedDelayNanos(int hub) {
      RejectedException heard = refusal;
      refusal = null;
      return sessions[hub].connectFailed(clock.read(), heard);
    }

    @Override
    public long timedOutDelayNanos(int hub) {
      return sessions[hub].connectFailed(clock.read(), TIMED_OUT);
    }

    @Override
    public void connected(int hub) {
      sessions[hub].connected(clock.read());
      sessions[hub] = null;
      summarize();
    }

    private void summarize() {
      outcome.finalRate = rate.permitsPerSecond();
      outcome.congestedPeriods = rate.congestedPeriods();
      long reissued = 0;
      for (SlotAdmission admission : admissions) {
        reissued += admission.reissuedCount();
      }
      outcome.reissued = reissued;
    }

    @Override
    public boolean observesDatabase() {
      return true;
    }

    @Override
    public void databaseAnswered(int hub, int request) {
      inDatabase[hub]--;
      if (standIn[hub] == request && request != 0) {
        standIn[hub] = 0;
        outcome.standIns++;
        return;
      }
      long now = clock.read();
      long latency = now - submittedAt[hub];
      if (outcome.rateBelowHalfAt >= 0 && outcome.drainedAt < 0 && latency <= TARGET_NANOS) {
        outcome.drainedAt = now;
      }
      if (now >= outcome.failoverAt) {
        outcome.peakLatencyAfterFailover = Math.max(outcome.peakLatencyAfterFailover, latency);
      }
      rate.completed(latency);
    }
  }
}
