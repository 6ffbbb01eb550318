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
 * connect. A load balancer sends each attempt to one of the connect servers, uniformly at random;
 * the server either accepts it at once (a cache hit), refuses it, or sends it to the
 * {@link Database}'s queue. A hub waits for the database's answer at most {@code timeout}; an answer
 * later than that is lost (but the database did the work: <em>wasted</em>), and the hub retries
 * after its strategy's delay. Answers and refusals reach the hub one round trip
 * ({@link #ROUND_TRIP_NANOS}) after the server has them. Connected hubs stay connected.
 *
 * <p>Time is a {@link ManualClock} that the event loop advances to each event before handling it,
 * so the library's classes a strategy uses see exactly the simulated time (the clock reads zero at
 * the drop). The loop keeps one 4-ary heap of pending events ({@link EventQueue}); an event is one
 * {@code long} holding its kind, the hub and the hub's attempt number, and the hubs' state lives in
 * primitive arrays, so a run of millions of attempts allocates little beyond what the strategy's
 * library classes do.
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
  /** The time from the database's completion to the hub's hearing of it. */
  static final long REPLY_NANOS = Database.BASE_LATENCY_NANOS + ROUND_TRIP_NANOS;

  private static final long KIND_ATTEMPT = 0L;
  private static final long KIND_TIMEOUT = 1L;
  private static final long KIND_DATABASE_DONE = 2L;
  private static final long KIND_CONNECTED = 3L;
  private static final int ATTEMPT_BITS = 28;
  private static final int ATTEMPT_MASK = (1 << ATTEMPT_BITS) - 1;

  private static final byte IDLE = 0;
  private static final byte WAITING = 1;
  private static final byte ANSWERED = 2;
  private static final byte CONNECTED = 3;

  private final StormConfig config;
  private final Strategy strategy;
  private final long strategySeed;
  private final Setup setup;

  /**
   * What a proving-ground scenario changes in the storm: how fast hubs notice, which share of the
   * fleet drops (the rest stay connected), a capacity drop and the database's degradation.
   */
  record Setup(long detectionSpreadNanos, double dropFraction, double capacityFactor, long reducedUntilNanos,
      double degradation) {
    static final Setup STORM = new Setup(DETECTION_SPREAD_NANOS, 1.0, 1.0, 0L, Database.DEGRADATION);
  }

  /**
   * Creates a simulation.
   *
   * @param config the storm
   * @param strategy the strategy under test
   * @param strategyIndex distinguishes the strategies' random streams derived from the seed
   */
  public Simulation(StormConfig config, Strategy strategy, int strategyIndex) {
    this(config, strategy, strategyIndex, Setup.STORM);
  }

  Simulation(StormConfig config, Strategy strategy, int strategyIndex, Setup setup) {
    this.setup = setup;
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
    return new Run().go(progress);
  }

  /** The state of one run. */
  private final class Run {
    final int hubs = config.hubs();
    final long duration = config.durationNanos();
    final long timeout = config.timeoutNanos();
    final int seconds = config.durationSeconds();

    final ManualClock clock = ManualClock.instant();
    final Database database = new Database(config.capacity(), strategy.databaseQueue(), clock,
        new Database.Listener() {
          @Override
          public void started(long doneAt) {
            events.add(doneAt, event(KIND_DATABASE_DONE, 0, 0));
          }

          @Override
          public void dropped(int hub, int request) {
            inDatabase[hub]--;
            droppedTotal++;
            if (observes) {
              strategyRun.databaseDropped(hub, request);
            }
          }
        }, setup.degradation(), setup.capacityFactor(), setup.reducedUntilNanos());
    final EventQueue events = new EventQueue(2 * hubs + 16);
    // Per hub: its state, attempt number, deadline, the request it waits for, its last request
    // number and how many of its requests the database still holds.
    final byte[] status = new byte[hubs];
    final int[] attemptNo = new int[hubs];
    final long[] deadline = new long[hubs];
    final int[] waitingOn = new int[hubs];
    final int[] lastRequest = new int[hubs];
    final int[] inDatabase = new int[hubs];

    final int[] attempts = new int[seconds];
    final int[] databaseDone = new int[seconds];
    final int[] offered = new int[seconds];
    final int[] rejectedPerSecond = new int[seconds];
    final int[] connectedIn = new int[seconds];
    final int[] wastedPerSecond = new int[seconds];
    final int[] queuePerSecond = new int[seconds];
    Strategy.Run strategyRun;
    boolean observes;
    long droppedTotal;
    /** FNV-1a over every event handled, (time, payload): equal hashes, equal runs. */
    long trace = 0xcbf29ce484222325L;
    long now;
    long totalAttempts;
    long databaseTotal;
    long wasted;
    long rejected;
    long cacheHits;
    int connected;
    boolean submitted;

    SimulationResult go(IntConsumer progress) {
      Strategy.Database gateway = this::submit;
      Strategy.Run run = strategy.start(config, clock, new SplittableRandom(strategySeed), gateway);
      strategyRun = run;
      observes = run.observesDatabase();
      SplittableRandom balancer = new SplittableRandom(config.seed() ^ 0x10AD_BA1A_5CE5L);
      final int half = (hubs + 1) / 2;
      final int ninetyNine = (int) Math.ceil(hubs * 0.99);
      long to50 = -1;
      long to99 = -1;
      long to100 = -1;

      // The same detection offsets for every strategy: they come from the seed alone.
      SplittableRandom detection = new SplittableRandom(config.seed());
      // The first ceil(share x N) hubs drop; the others stay connected (hubs are alike).
      int dropping = (int) Math.min(hubs, Math.ceil(setup.dropFraction() * hubs));
      long[] noticed = new long[dropping];
      for (int hub = 0; hub < dropping; hub++) {
        noticed[hub] = setup.detectionSpreadNanos() == 0 ? 0 : detection.nextLong(setup.detectionSpreadNanos());
      }
      for (int hub = 0; hub < dropping; hub++) {
        events.add(noticed[hub] + run.firstAttemptDelayNanos(hub), event(KIND_ATTEMPT, hub, 0));
      }
      for (int hub = dropping; hub < hubs; hub++) {
        status[hub] = CONNECTED;
      }
      connected = hubs - dropping;
      if (connected >= half) {
        to50 = 0;
      }
      if (connected >= ninetyNine) {
        to99 = 0;
      }
      if (connected == hubs) {
        to100 = 0;
      }

      int nextProgress = 10;
      long progressStep = Math.max(1, duration / 10);
      while (!events.isEmpty() && events.peekTime() <= duration) {
        long payload = events.poll();
        advanceTo(events.lastTime());
        trace = (trace ^ now) * 0x100000001b3L;
        trace = (trace ^ payload) * 0x100000001b3L;
        while (nextProgress <= 100 && now >= progressStep * (nextProgress / 10)) {
          progress.accept(nextProgress);
          nextProgress += 10;
        }
        int second = (int) Math.min(seconds - 1, now / NANOS_PER_SECOND);
        int hub = (int) payload;
        long kind = payload >>> 60;
        int number = (int) (payload >>> 32) & ATTEMPT_MASK;
        if (kind == KIND_DATABASE_DONE) {
          int doneHub = database.currentHub();
          int request = database.currentRequest();
          inDatabase[doneHub]--;
          databaseTotal++;
          databaseDone[second]++;
          if (observes) {
            run.databaseAnswered(doneHub, request);
          }
          long answerAt = now + Database.BASE_LATENCY_NANOS + ROUND_TRIP_NANOS;
          if (status[doneHub] == WAITING && waitingOn[doneHub] == request && answerAt <= deadline[doneHub]) {
            status[doneHub] = ANSWERED;
            events.add(answerAt, event(KIND_CONNECTED, doneHub, attemptNo[doneHub]));
          } else {
            wasted++;
            wastedPerSecond[second]++;
          }
          database.finish();
          continue;
        }
        if (kind == KIND_TIMEOUT) {
          if (status[hub] != WAITING || attemptNo[hub] != number) {
            continue; // answered in time, or an older attempt's
          }
          status[hub] = IDLE;
          long delay = run.timedOutDelayNanos(hub);
          if (delay != 0) {
            events.add(now + delay, event(KIND_ATTEMPT, hub, 0));
            continue;
          }
          kind = KIND_ATTEMPT; // an immediate retry is an attempt now, without a trip through the heap
        }
        if (kind == KIND_ATTEMPT) {
          totalAttempts++;
          attempts[second]++;
          int n = (attemptNo[hub] + 1) & ATTEMPT_MASK;
          attemptNo[hub] = n;
          submitted = false;
          int server = config.servers() == 1 ? 0 : balancer.nextInt(config.servers());
          int answer = run.attempt(hub, server);
          if (answer == Strategy.Run.ACCEPTED) {
            cacheHits++;
            status[hub] = ANSWERED;
            events.add(now + ROUND_TRIP_NANOS, event(KIND_CONNECTED, hub, n));
          } else if (answer == Strategy.Run.TO_DATABASE) {
            if (submitted) {
              waitingOn[hub] = lastRequest[hub];
            } else if (inDatabase[hub] == 0) {
              throw new IllegalStateException(strategy.name() + " sent hub " + hub
                  + " to the database without a request for it");
            } // else: it waits for its latest request, which a cache shares
            status[hub] = WAITING;
            deadline[hub] = now + timeout;
            events.add(now + timeout, event(KIND_TIMEOUT, hub, n));
          } else if (answer == Strategy.Run.REFUSED) {
            rejected++;
            rejectedPerSecond[second]++;
            status[hub] = IDLE;
            long wait = run.refusedDelayNanos(hub);
            events.add(now + ROUND_TRIP_NANOS + wait, event(KIND_ATTEMPT, hub, 0));
          } else {
            throw new IllegalStateException(strategy.name() + " answered " + answer);
          }
        } else { // KIND_CONNECTED
          status[hub] = CONNECTED;
          run.connected(hub);
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
      return new SimulationResult(strategy.name(), hubs, config.capacity(), config.servers(), attempts,
          databaseDone, offered, rejectedPerSecond, connectedAtSecondEnd, totalAttempts, databaseTotal, wasted,
          rejected, cacheHits, database.peakQueue(), to50, to99, to100, wastedPerSecond, queuePerSecond,
          droppedTotal, trace);
    }

    private void advanceTo(long time) {
      if (time > now) {
        clock.advanceNanos(time - now);
        now = time;
      }
    }

    /** A server sends the database a request for {@code hub}, now. */
    private int submit(int hub) {
      int request = ++lastRequest[hub];
      inDatabase[hub]++;
      submitted = true;
      int second = (int) Math.min(seconds - 1, now / NANOS_PER_SECOND);
      offered[second]++;
      // The request carries the hub's deadline less the answer's way back, as a server forwarding
      // the remaining time would: what the guard starts in time is answered in time.
      database.offer(hub, request, now + timeout - REPLY_NANOS);
      queuePerSecond[second] = Math.max(queuePerSecond[second], database.queued());
      return request;
    }
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

  private static long event(long kind, int hub, int attempt) {
    return (kind << 60) | ((long) (attempt & ATTEMPT_MASK) << 32) | (hub & 0xFFFF_FFFFL);
  }
}
