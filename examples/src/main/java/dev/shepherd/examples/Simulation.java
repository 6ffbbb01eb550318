package dev.shepherd.examples;

import dev.shepherd.core.ManualClock;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * A deterministic discrete-event simulation of one reconnect storm under one {@link Strategy}.
 *
 * <p>At t = 0 every hub loses its connection. Each notices within {@link #DETECTION_SPREAD_NANOS}
 * (a seeded draw, the same for every strategy), waits what its strategy says, and attempts to
 * connect. The attempt reaches a connect server, whose strategy either accepts it at once (a cache
 * hit), refuses it with a retry-after hint, or sends it to the {@link Database}. The hub waits for
 * the answer at most {@code timeout}; an answer later than that is lost (but the database did the
 * work), and the hub retries after its strategy's delay. An answer reaches the hub one round trip
 * ({@link #ROUND_TRIP_NANOS}) after the server has it. Connected hubs stay connected.
 *
 * <p>Time is a {@link ManualClock} that the event loop advances to each event before handling it,
 * so the library's classes used by a strategy see exactly the simulated time. The loop keeps one
 * binary heap of pending events ({@link EventQueue}) and the fleet's state in primitive arrays; an
 * event is one {@code long} holding its kind, the hub and the hub's attempt number, so a run of
 * millions of attempts allocates almost nothing beyond what the strategy itself does.
 *
 * <p>Events later than the configured duration are not processed. Same configuration and seed,
 * same result, to the last count.
 */
final class Simulation {

  /** Hubs notice the drop within this window: 200 ms (TCP reset, keep-alive jitter). */
  static final long DETECTION_SPREAD_NANOS = 200_000_000L;
  /** The round trip between a hub and a connect server: 50 ms. */
  static final long ROUND_TRIP_NANOS = 50_000_000L;

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private static final long KIND_ATTEMPT = 0L;
  private static final long KIND_TIMEOUT = 1L;
  private static final long KIND_DATABASE_DONE = 2L;
  private static final long KIND_CONNECTED = 3L;

  private static final byte WAITING = 0;
  private static final byte ATTEMPTING = 1;
  private static final byte ANSWERED = 2;
  private static final byte CONNECTED = 3;

  private final StormConfig config;
  private final Strategy strategy;
  private final long strategySeed;

  /**
   * Creates a simulation.
   *
   * @param config the storm
   * @param strategy the strategy under test
   * @param strategyIndex distinguishes the strategies' random streams derived from the seed
   */
  Simulation(StormConfig config, Strategy strategy, int strategyIndex) {
    this.config = config;
    this.strategy = strategy;
    this.strategySeed = new SplittableRandom(config.seed() + 1_000_003L * (strategyIndex + 1)).nextLong();
  }

  /**
   * Runs the storm to the configured duration.
   *
   * @param progress receives the percentage of simulated time done, in steps of 10
   * @return what was measured
   */
  SimulationResult run(IntConsumer progress) {
    final int hubs = config.hubs();
    final long duration = config.durationNanos();
    final long timeout = config.timeoutNanos();
    final int seconds = config.durationSeconds();

    ManualClock clock = ManualClock.instant();
    Strategy.Run run = strategy.start(config, clock, new SplittableRandom(strategySeed));
    // The strategy may have run a warm-up on the clock; the drop happens at the clock's reading now.
    final long origin = clock.read();
    long clockAt = 0;

    byte[] state = new byte[hubs];
    int[] attempt = new int[hubs];
    long[] deadline = new long[hubs];
    int[] attempts = new int[seconds];
    int[] databaseDone = new int[seconds];
    int[] rejectedPerSecond = new int[seconds];
    int[] connectedIn = new int[seconds];
    long totalAttempts = 0;
    long wasted = 0;
    long rejected = 0;
    long cacheHits = 0;
    int connected = 0;
    final int half = (hubs + 1) / 2;
    final int ninetyNine = (int) Math.ceil(hubs * 0.99);
    long to50 = -1;
    long to99 = -1;
    long to100 = -1;

    Database database = new Database(config.capacity());
    EventQueue events = new EventQueue(2 * hubs + 16);
    // The same detection offsets for every strategy: they come from the seed alone.
    SplittableRandom detection = new SplittableRandom(config.seed());
    for (int hub = 0; hub < hubs; hub++) {
      long noticed = detection.nextLong(DETECTION_SPREAD_NANOS);
      events.add(noticed + run.firstAttemptDelayNanos(hub), event(KIND_ATTEMPT, 0, hub));
    }

    int nextProgress = 10;
    long progressStep = Math.max(1, duration / 10);
    while (!events.isEmpty() && events.peekTime() <= duration) {
      long payload = events.poll();
      long now = events.lastTime();
      if (now > clockAt) {
        clock.advanceNanos(now - clockAt);
        clockAt = now;
      }
      while (nextProgress <= 100 && now >= progressStep * (nextProgress / 10)) {
        progress.accept(nextProgress);
        nextProgress += 10;
      }
      int second = (int) Math.min(seconds - 1, now / NANOS_PER_SECOND);
      int hub = (int) payload;
      long kind = payload >>> 60;
      if (kind == KIND_ATTEMPT) {
        totalAttempts++;
        attempts[second]++;
        int number = ++attempt[hub];
        long answer = run.admit(hub);
        if (answer == Strategy.Run.ACCEPTED) {
          cacheHits++;
          state[hub] = ANSWERED;
          events.add(now + ROUND_TRIP_NANOS, event(KIND_CONNECTED, number, hub));
        } else if (answer == Strategy.Run.TO_DATABASE) {
          state[hub] = ATTEMPTING;
          deadline[hub] = now + timeout;
          long done = database.submit(job(number, hub), now);
          if (done >= 0) {
            events.add(done, event(KIND_DATABASE_DONE, 0, 0));
          }
          events.add(now + timeout, event(KIND_TIMEOUT, number, hub));
        } else {
          rejected++;
          rejectedPerSecond[second]++;
          state[hub] = WAITING;
          long wait = run.retryAfterDelayNanos(hub, answer);
          events.add(now + ROUND_TRIP_NANOS + wait, event(KIND_ATTEMPT, 0, hub));
        }
      } else if (kind == KIND_TIMEOUT) {
        if (state[hub] == ATTEMPTING && attempt[hub] == attemptOf(payload)) {
          state[hub] = WAITING;
          events.add(now + run.retryDelayNanos(hub), event(KIND_ATTEMPT, 0, hub));
        }
      } else if (kind == KIND_DATABASE_DONE) {
        long job = database.complete(now);
        databaseDone[second]++;
        int owner = (int) job;
        int number = (int) (job >>> 32);
        run.databaseAnswered(owner);
        long answerAt = now + Database.BASE_LATENCY_NANOS + ROUND_TRIP_NANOS;
        if (state[owner] == ATTEMPTING && attempt[owner] == number && answerAt <= deadline[owner]) {
          state[owner] = ANSWERED;
          events.add(answerAt, event(KIND_CONNECTED, number, owner));
        } else {
          wasted++;
        }
        long next = database.nextCompletion(now);
        if (next >= 0) {
          events.add(next, event(KIND_DATABASE_DONE, 0, 0));
        }
      } else { // KIND_CONNECTED
        state[hub] = CONNECTED;
        connected++;
        connectedIn[second]++;
        if (connected == half) {
          to50 = now;
        }
        if (connected == ninetyNine) {
          to99 = now;
        }
        if (connected == hubs) {
          to100 = now;
        }
      }
    }
    while (nextProgress <= 100) {
      progress.accept(nextProgress);
      nextProgress += 10;
    }

    int[] connectedAtSecondEnd = new int[seconds];
    int running = 0;
    for (int s = 0; s < seconds; s++) {
      running += connectedIn[s];
      connectedAtSecondEnd[s] = running;
    }
    assert clock.read() - origin == clockAt;
    return new SimulationResult(
        strategy.name(),
        hubs,
        attempts,
        databaseDone,
        rejectedPerSecond,
        connectedAtSecondEnd,
        totalAttempts,
        database.completed(),
        wasted,
        rejected,
        cacheHits,
        to50,
        to99,
        to100);
  }

  private static long event(long kind, int number, int hub) {
    return (kind << 60) | ((long) (number & 0x0FFF_FFFF) << 32) | (hub & 0xFFFF_FFFFL);
  }

  private static int attemptOf(long payload) {
    return (int) ((payload >>> 32) & 0x0FFF_FFFF);
  }

  private static long job(int number, int hub) {
    return ((long) number << 32) | (hub & 0xFFFF_FFFFL);
  }
}
