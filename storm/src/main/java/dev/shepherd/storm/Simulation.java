package dev.shepherd.storm;

import dev.shepherd.testing.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * so the library's classes used by a strategy see exactly the simulated time (the clock reads
 * zero at the drop; a strategy's warm-up runs before, on a clock of its own). The loop keeps one
 * binary heap of pending events ({@link EventQueue}); an event is one {@code long} holding its
 * kind and its hub. Each hub has exactly one pending event at any time (its next attempt, the
 * answer it will hear, or the deadline at which it gives up), since the {@link Database} tells on
 * arrival when each request completes. A run of millions of attempts thus allocates nothing
 * beyond what the strategy itself does.
 *
 * <p>Events later than the configured duration are not processed. Same configuration and seed,
 * same result, to the last count.
 */
public final class Simulation {

  /** Hubs notice the drop within this window: 200 ms (TCP reset, keep-alive jitter). */
  public static final long DETECTION_SPREAD_NANOS = 200_000_000L;
  /** The round trip between a hub and a connect server: 50 ms. */
  public static final long ROUND_TRIP_NANOS = 50_000_000L;

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private static final long KIND_ATTEMPT = 0L;
  private static final long KIND_TIMEOUT = 1L;
  private static final long KIND_DATABASE_DONE = 2L;
  private static final long KIND_CONNECTED = 3L;

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
  public Simulation(StormConfig config, Strategy strategy, int strategyIndex) {
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
  public SimulationResult run(IntConsumer progress) {
    final int hubs = config.hubs();
    final long duration = config.durationNanos();
    final long timeout = config.timeoutNanos();
    final int seconds = config.durationSeconds();

    ManualClock clock = ManualClock.instant();
    Database database = new Database(config.capacity());
    int[] databaseDone = new int[seconds];
    long[] databaseTotal = {0};
    // What the server submitted last, for the hub whose attempt is being handled.
    long[] lastDone = {-1};
    int[] lastHub = {-1};
    boolean[] observes = {false};
    long[] nowRef = {0};
    EventQueue events = new EventQueue(hubs + 16);
    Strategy.Database gateway = hub -> {
      long done = database.submit(nowRef[0]);
      lastDone[0] = done;
      lastHub[0] = hub;
      if (done <= duration) {
        databaseTotal[0]++;
        databaseDone[(int) Math.min(seconds - 1, done / NANOS_PER_SECOND)]++;
      }
      if (observes[0]) {
        events.add(done, event(KIND_DATABASE_DONE, hub));
      }
    };
    Strategy.Run run = strategy.start(config, clock, new SplittableRandom(strategySeed), gateway);
    observes[0] = run.observesDatabase();
    long clockAt = 0; // simulated time the clock has been advanced to, relative to the drop

    int[] attempts = new int[seconds];
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

    // The same detection offsets for every strategy: they come from the seed alone.
    SplittableRandom detection = new SplittableRandom(config.seed());
    for (int hub = 0; hub < hubs; hub++) {
      long noticed = detection.nextLong(DETECTION_SPREAD_NANOS);
      events.add(noticed + run.firstAttemptDelayNanos(hub), event(KIND_ATTEMPT, hub));
    }

    int nextProgress = 10;
    long progressStep = Math.max(1, duration / 10);
    while (!events.isEmpty() && events.peekTime() <= duration) {
      long payload = events.poll();
      long now = events.lastTime();
      nowRef[0] = now;
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
      long kind = payload >>> 32;
      if (kind == KIND_TIMEOUT) {
        long delay = run.retryDelayNanos(hub);
        if (delay != 0) {
          events.add(now + delay, event(KIND_ATTEMPT, hub));
          continue;
        }
        // An immediate retry is an attempt now: handled at once, without a trip through the heap.
        kind = KIND_ATTEMPT;
      }
      if (kind == KIND_ATTEMPT) {
        totalAttempts++;
        attempts[second]++;
        lastHub[0] = -1;
        long answer = run.admit(hub);
        if (answer == Strategy.Run.ACCEPTED) {
          cacheHits++;
          events.add(now + ROUND_TRIP_NANOS, event(KIND_CONNECTED, hub));
        } else if (answer == Strategy.Run.TO_DATABASE) {
          if (lastHub[0] != hub) {
            throw new IllegalStateException(strategy.name() + " sent hub " + hub
                + " to the database without submitting a request for it");
          }
          long done = lastDone[0];
          long answerAt = done + Database.BASE_LATENCY_NANOS + ROUND_TRIP_NANOS;
          boolean inTime = answerAt <= now + timeout;
          if (!inTime && done <= duration) {
            wasted++;
          }
          // The hub hears the answer in time, or gives up at its deadline and backs off.
          events.add(inTime ? answerAt : now + timeout, event(inTime ? KIND_CONNECTED : KIND_TIMEOUT, hub));
        } else {
          rejected++;
          rejectedPerSecond[second]++;
          long wait = run.retryAfterDelayNanos(hub, answer);
          events.add(now + ROUND_TRIP_NANOS + wait, event(KIND_ATTEMPT, hub));
        }
      } else if (kind == KIND_DATABASE_DONE) {
        run.databaseAnswered(hub);
      } else { // KIND_CONNECTED
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
    return new SimulationResult(
        strategy.name(),
        hubs,
        attempts,
        databaseDone,
        rejectedPerSecond,
        connectedAtSecondEnd,
        totalAttempts,
        databaseTotal[0],
        wasted,
        rejected,
        cacheHits,
        to50,
        to99,
        to100);
  }

  /** Told how far each strategy's run has come; called from the simulation threads. */
  public interface Progress {
    /**
     * Reports the share of simulated time a strategy's run has done.
     *
     * @param strategy the strategy's index in the list given to {@link #runAll}
     * @param percent 10, 20, ... 100
     */
    void update(int strategy, int percent);

    /**
     * Reports a finished run.
     *
     * @param strategy the strategy's index
     * @param nanos the wall-clock time the run took
     */
    void done(int strategy, long nanos);
  }

  /**
   * Runs every strategy on the same storm, in parallel on up to as many threads as there are
   * processors (each run is single-threaded and deterministic).
   *
   * @param config the storm
   * @param strategies the strategies, in the order of the result
   * @param progress told of each run's progress, from the simulation threads
   * @return one result per strategy, in order
   * @throws IllegalStateException if a run fails or the calling thread is interrupted
   */
  public static List<SimulationResult> runAll(
      StormConfig config, List<Strategy> strategies, Progress progress) {
    int threads = Math.max(1, Math.min(strategies.size(), Runtime.getRuntime().availableProcessors()));
    ExecutorService pool = Executors.newFixedThreadPool(threads, runnable -> {
      Thread thread = new Thread(runnable, "storm-simulation");
      thread.setDaemon(true);
      return thread;
    });
    try {
      List<Future<SimulationResult>> futures = new ArrayList<>();
      for (int i = 0; i < strategies.size(); i++) {
        int index = i;
        Simulation simulation = new Simulation(config, strategies.get(i), i);
        futures.add(pool.submit(() -> {
          long start = System.nanoTime();
          SimulationResult result = simulation.run(percent -> progress.update(index, percent));
          progress.done(index, System.nanoTime() - start);
          return result;
        }));
      }
      List<SimulationResult> results = new ArrayList<>();
      for (Future<SimulationResult> future : futures) {
        results.add(future.get());
      }
      return results;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while simulating", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("a simulation failed", e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  private static long event(long kind, int hub) {
    return (kind << 32) | (hub & 0xFFFF_FFFFL);
  }
}
