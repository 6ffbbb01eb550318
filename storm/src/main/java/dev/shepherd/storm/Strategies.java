package dev.shepherd.storm;

import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.BackendUnavailableException;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.RetryAfterJitter;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.ratelimit.TokenBucket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.random.RandomGenerator;

/**
 * The five strategies the simulator compares, from the outage to the cure. Every delay a hub waits
 * and every decision a server takes comes from the library's own classes: {@link Backoff}
 * schedules, {@link TokenBucket}, {@link Bulkhead} and {@link CachingAuthenticator}, all on the
 * simulation's {@link ManualClock}.
 */
public final class Strategies {

  /** The first retry's scale for every backoff: 1 second. */
  static final Duration BASE = Duration.ofSeconds(1);
  /** Every backoff's cap: 5 minutes, a common ceiling for device firmware. */
  static final Duration CAP = Duration.ofMinutes(5);
  /** How long the authentication cache trusts an answer: 1 hour. */
  static final Duration CACHE_TTL = Duration.ofHours(1);
  /** The share of the TTL over which refreshes and expiries are spread. */
  static final double REFRESH_AHEAD = 0.2;
  /** Reconnector's default rule above a retry-after hint: 20 % of the hint, at least 1 s. */
  static final RetryAfterJitter HINT_JITTER =
      RetryAfterJitter.of(0.2, Duration.ofSeconds(1), Duration.ofHours(1));
  /** The hint a connect server sends when the database's bulkhead is full: 1 second. */
  static final Duration BUSY_HINT = Duration.ofSeconds(1);

  private Strategies() {}

  /**
   * Returns the strategies in the order of the table and the charts.
   *
   * @return the strategies
   */
  public static List<Strategy> all() {
    return List.of(immediateRetry(), exponential(), fullJitter(), decorrelatedJitter(), shepherd());
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
   * Strategy 5, everything the library offers: hubs that spread even their first reconnect and
   * back off with full jitter, honouring the server's retry-after with jitter above it; connect
   * servers that admit through a token bucket, authenticate through a cache warmed before the
   * drop, and reach the database through a bulkhead.
   */
  static Strategy shepherd() {
    return new Strategy() {
      @Override
      public String name() {
        return "5 Shepherd: spread + bucket + cache + bulkhead";
      }

      @Override
      public Run start(
          StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database) {
        return new Protected(config, clock, random, database);
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

  /** Strategy 5's run: the hubs' side mirrors {@code Reconnector}, the servers' side is real. */
  static final class Protected implements Strategy.Run {

    private final RandomGenerator random;
    private final Strategy.Database database;
    private final Backoff spread;
    private final Backoff backoff = Backoff.fullJitter(BASE, CAP);
    private final Backoff.Schedule[] schedules;
    private final TokenBucket admission;
    private final Bulkhead bulkhead;
    private final CachingAuthenticator<String> authenticator;
    private final DeviceCredentials[] credentials;
    private final List<CompletableFuture<Verified<String>>> pending;
    private boolean warming = true;

    Protected(StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database) {
      int hubs = config.hubs();
      this.random = random;
      this.database = database;
      // Reconnector's initial spread, sized by the operator for the fleet: N / C seconds, so that
      // the fleet's first attempts arrive, on average, at the admission rate. Random bunching
      // above it is what the token bucket refuses, with a retry-after.
      long spreadNanos = Math.max(1_000_000_000L, Math.round(1.0e9 * hubs / config.capacity()));
      // Reconnector draws the first wait uniformly on [0, spread]: the first delay of a full
      // jitter backoff whose base and cap are the spread is that same draw.
      this.spread = Backoff.fullJitter(Duration.ofNanos(spreadNanos), Duration.ofNanos(spreadNanos));
      this.schedules = new Backoff.Schedule[hubs];
      this.admission = TokenBucket.builder()
          .name("connect-admission")
          .permitsPerSecond(config.capacity())
          .burst(Math.max(1, config.capacity() / 10))
          .ticker(clock)
          .listener(EventListener.noop())
          .build();
      this.bulkhead = Bulkhead.builder()
          .name("database")
          .maxConcurrent(Math.max(1, config.capacity() / 4))
          .maxWait(Duration.ZERO)
          .ticker(clock)
          .listener(EventListener.noop())
          .build();
      this.credentials = new DeviceCredentials[hubs];
      this.pending = new ArrayList<>(Collections.nCopies(hubs, null));
      Authenticator<DeviceCredentials, Verified<String>> backend = new SimulatedBackend();
      this.authenticator = CachingAuthenticator.builder(backend)
          .name("device-auth")
          .ttl(CACHE_TTL)
          .refreshAhead(REFRESH_AHEAD)
          .maxStale(Duration.ofMinutes(30))
          .failureCooldown(Duration.ofSeconds(1))
          .maximumSize(2L * hubs)
          .guard(bulkhead)
          .ticker(clock)
          .random(random)
          .executor(Runnable::run)
          .listener(EventListener.noop())
          .build();
      for (int hub = 0; hub < hubs; hub++) {
        credentials[hub] = DeviceCredentials.of(
            "hub-" + hub, ("secret-" + hub).getBytes(StandardCharsets.UTF_8));
      }
      warmUp(clock, hubs);
    }

    /**
     * Before the drop, every connected hub's session was re-validated once per TTL, so the cache
     * holds every device, written at ages spread evenly over the last TTL.
     */
    private void warmUp(ManualClock clock, int hubs) {
      long step = Math.max(1L, CACHE_TTL.toNanos() / hubs);
      for (int hub = 0; hub < hubs; hub++) {
        authenticator.authenticateAsync(credentials[hub]).toCompletableFuture().join();
        clock.advanceNanos(step);
      }
      warming = false;
    }

    @Override
    public long firstAttemptDelayNanos(int hub) {
      return spread.start(random).nextDelayNanos();
    }

    @Override
    public long retryDelayNanos(int hub) {
      return schedule(hub).nextDelayNanos();
    }

    @Override
    public long retryAfterDelayNanos(int hub, long hintNanos) {
      // As Reconnector does: the next wait is the backoff's, but at least the hint plus jitter
      // above it (the library's RetryAfterJitter rule, with Reconnector's defaults).
      return Math.max(schedule(hub).nextDelayNanos(), HINT_JITTER.waitNanos(hintNanos, random));
    }

    private Backoff.Schedule schedule(int hub) {
      Backoff.Schedule schedule = schedules[hub];
      if (schedule == null) {
        schedule = backoff.start(random);
        schedules[hub] = schedule;
      }
      return schedule;
    }

    @Override
    public long admit(int hub) {
      long wait = admission.acquireOrRetryAfterNanos(1);
      if (wait > 0) {
        return wait;
      }
      CompletableFuture<String> verdict = authenticator.authenticateAsync(credentials[hub]).toCompletableFuture();
      if (!verdict.isDone()) {
        return TO_DATABASE; // a miss: the backend has just sent this hub's query to the database
      }
      try {
        verdict.join();
        return ACCEPTED;
      } catch (CompletionException e) {
        if (e.getCause() instanceof BackendUnavailableException) {
          long hint = ((BackendUnavailableException) e.getCause()).retryAfterNanos();
          return hint >= 0 ? hint : BUSY_HINT.toNanos();
        }
        throw new IllegalStateException("the simulated database refused a valid device", e);
      }
    }

    @Override
    public boolean observesDatabase() {
      return true;
    }

    @Override
    public void databaseAnswered(int hub) {
      CompletableFuture<Verified<String>> answer = pending.set(hub, null);
      if (answer != null) {
        answer.complete(Verified.of("hub-" + hub));
      }
    }

    /** The cache's backend: a query to the simulated database, answered when the database is done. */
    private final class SimulatedBackend implements Authenticator<DeviceCredentials, Verified<String>> {
      @Override
      public Verified<String> authenticate(DeviceCredentials device) {
        throw new UnsupportedOperationException("the simulated database answers asynchronously");
      }

      @Override
      public CompletionStage<Verified<String>> authenticateAsync(DeviceCredentials device) {
        if (warming) {
          return CompletableFuture.completedFuture(Verified.of(device.deviceId()));
        }
        int hub = Integer.parseInt(device.deviceId().substring("hub-".length()));
        CompletableFuture<Verified<String>> answer = new CompletableFuture<>();
        pending.set(hub, answer);
        database.submit(hub);
        return answer;
      }
    }
  }
}
