package dev.shepherd.storm;

import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.ReconnectPlan;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.ratelimit.RateLimitExceededException;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.ratelimit.TokenBucket;
import dev.shepherd.testing.ManualClock;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.random.RandomGenerator;

/**
 * The strategies the simulator compares, from the outage to the library's defaults, and the
 * ablations that show what each piece of Shepherd buys. Every delay a hub waits and every decision a
 * server takes comes from the library's own classes on the simulation's {@link ManualClock}:
 * {@link Backoff} schedules, the {@link ReconnectPlan} of a default {@link Reconnector},
 * {@link TokenBucket}, {@link SlotAdmission}, {@link CachingAuthenticator} and (in the database's
 * queue, see {@link QueuePolicy}) {@code DeadlineGuard}.
 *
 * <p>A strategy is a fleet (how hubs wait: {@link Hubs}) and a server tier ({@link Admission},
 * {@link Cache}, {@link QueuePolicy}); {@link #of} combines any of them.
 */
public final class Strategies {

  /** The first retry's scale of the backoff rows: 1 second. */
  static final Duration BASE = Duration.ofSeconds(1);
  /** The backoff cap of the backoff rows: 5 minutes, a common ceiling for device firmware. */
  static final Duration CAP = Duration.ofMinutes(5);
  /** How long the authentication cache trusts an answer: 1 hour. */
  static final Duration CACHE_TTL = Duration.ofHours(1);
  /** The most devices one connect server's cache holds; it does not depend on the fleet's size. */
  static final long CACHE_SIZE = 2_000_000L;
  /** The name of the row with the library's defaults. */
  public static final String SHEPHERD_DEFAULTS = "Shepherd (defaults)";

  /** How the hubs of a fleet wait before and between attempts. */
  public enum Hubs {
    /** Reconnect at once after the drop and after every failure: the outage's firmware. */
    IMMEDIATE,
    /** {@link Backoff#exponential} from 1 s, doubling, capped at 5 minutes, no jitter. */
    EXPONENTIAL,
    /** {@link Backoff#fullJitter} from 1 s, capped at 5 minutes. */
    FULL_JITTER,
    /**
     * A default {@link Reconnector} (its {@link ReconnectPlan}: initial spread, jittered backoff,
     * honouring refusals' retry-after and slot tickets).
     */
    RECONNECTOR
  }

  /** What a connect server does before it authenticates an attempt. */
  public enum Admission {
    /** Nothing: every attempt is authenticated. */
    NONE,
    /**
     * A default {@link TokenBucket} at the server's share of the database's capacity (a burst of one
     * second); a refusal carries its exact retry-after.
     */
    TOKEN_BUCKET,
    /** A default {@link SlotAdmission} at the server's share: refusals carry a signed slot. */
    SLOTS
  }

  /** The connect servers' authentication cache. */
  public enum Cache {
    /** No cache: every admitted attempt is a database query. */
    NONE,
    /** A {@link CachingAuthenticator} per server, empty at the drop (the servers restarted). */
    COLD,
    /**
     * A {@link CachingAuthenticator} per server holding, at the drop, every hub that was connected
     * to it (each hub to one server at random): a hub the load balancer sends back to its old server
     * is a hit, elsewhere a miss.
     */
    WARM
  }

  private Strategies() {}

  /**
   * Returns the rows of the replay's table, in order: the outage, backoff without jitter, full
   * jitter, full jitter with a connect-server token bucket, {@link #shepherd() Shepherd's defaults},
   * Shepherd with a warm cache, Shepherd learning the capacity from a guess ten times too low
   * ({@link LearnedCapacity}), then the ablations (no slots, no deadline guard, no cache), and with
   * more than one server also {@link #shepherdFleetWide() one fleet-wide admission}.
   *
   * @param config the storm
   * @return the strategies
   */
  public static List<Strategy> all(StormConfig config) {
    List<Strategy> all = new ArrayList<>(List.of(
        immediateRetry(),
        exponential(),
        fullJitter(),
        fullJitterTokenBucket(),
        shepherd(),
        of("Shepherd, warm cache", Hubs.RECONNECTOR, Admission.SLOTS, false, Cache.WARM,
            QueuePolicy.shepherdDefault())));
    // Nobody knows C: the learned row starts from a guess ten times too low.
    all.add(LearnedCapacity.startingAt(0.1));
    all.addAll(List.of(
        of("Shepherd, no slots", Hubs.RECONNECTOR, Admission.TOKEN_BUCKET, false, Cache.COLD,
            QueuePolicy.shepherdDefault()),
        of("Shepherd, no deadline guard", Hubs.RECONNECTOR, Admission.SLOTS, false, Cache.COLD,
            QueuePolicy.unguarded()),
        of("Shepherd, no cache", Hubs.RECONNECTOR, Admission.SLOTS, false, Cache.NONE,
            QueuePolicy.shepherdDefault())));
    if (config.servers() > 1) {
      all.add(shepherdFleetWide());
    }
    return all;
  }

  /**
   * Returns the deadline-guard study: immediate retry (the outage's hubs) against servers that add
   * only a deadline guard to the database, first-in first-out and newest-first, each with drops
   * costing 0, 5 % and 20 % of an authentication, after the unguarded outage.
   *
   * @return seven strategies
   */
  public static List<Strategy> deadlineGuardStudy() {
    List<Strategy> rows = new ArrayList<>();
    rows.add(immediateRetry());
    for (boolean newestFirst : new boolean[] {false, true}) {
      for (double cost : new double[] {0.0, 0.05, 0.20}) {
        rows.add(immediateRetry(QueuePolicy.deadlineGuard(newestFirst, cost)));
      }
    }
    return rows;
  }

  /**
   * Returns a strategy from its parts.
   *
   * @param name the row's name
   * @param hubs how the hubs wait
   * @param admission what each connect server does first
   * @param fleetWide with admission, one limiter at the full capacity shared by every server (as
   *     one shared store would be) instead of one per server at its share
   * @param cache the servers' authentication cache
   * @param queue how the database's queue treats late work
   * @return the strategy
   * @throws NullPointerException if an argument is null
   */
  public static Strategy of(String name, Hubs hubs, Admission admission, boolean fleetWide, Cache cache,
      QueuePolicy queue) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(hubs, "hubs");
    Objects.requireNonNull(admission, "admission");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(queue, "queue");
    return new Strategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public QueuePolicy databaseQueue() {
        return queue;
      }

      @Override
      public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
        return new Tier(config, clock, random, database, hubs, null, null, admission, fleetWide, cache);
      }
    };
  }

  /**
   * Strategy 1, the outage: every hub reconnects the moment it notices the drop and retries the
   * moment an attempt fails; every attempt goes to the database, which serves every request.
   *
   * @return the strategy
   */
  public static Strategy immediateRetry() {
    return of("1 outage: immediate retry", Hubs.IMMEDIATE, Admission.NONE, false, Cache.NONE,
        QueuePolicy.unguarded());
  }

  /**
   * The outage's hubs against servers whose database queue adds only a deadline guard.
   *
   * @param queue the guard
   * @return the strategy
   */
  public static Strategy immediateRetry(QueuePolicy queue) {
    return of("immediate retry, " + queue.label(), Hubs.IMMEDIATE, Admission.NONE, false, Cache.NONE, queue);
  }

  /**
   * Strategy 2: {@link Backoff#exponential} doubling from 1 s to 5 minutes, no jitter.
   *
   * @return the strategy
   */
  public static Strategy exponential() {
    return of("2 backoff, no jitter", Hubs.EXPONENTIAL, Admission.NONE, false, Cache.NONE, QueuePolicy.unguarded());
  }

  /**
   * Strategy 3: {@link Backoff#fullJitter} from 1 s to 5 minutes.
   *
   * @return the strategy
   */
  public static Strategy fullJitter() {
    return of("3 full jitter", Hubs.FULL_JITTER, Admission.NONE, false, Cache.NONE, QueuePolicy.unguarded());
  }

  /**
   * Strategy 4, the real outage's fix: full jitter, and a {@link TokenBucket} on each connect
   * server at its share of the database's capacity.
   *
   * @return the strategy
   */
  public static Strategy fullJitterTokenBucket() {
    return of("4 full jitter + token bucket", Hubs.FULL_JITTER, Admission.TOKEN_BUCKET, false, Cache.NONE,
        QueuePolicy.unguarded());
  }

  /**
   * A fleet whose hubs retry on a backoff schedule, one per hub, against unprotected servers: the
   * first attempt is immediate (a plain retry loop), every attempt goes to the database.
   *
   * @param name the row's name
   * @param backoff the hubs' backoff
   * @return the strategy
   * @throws NullPointerException if an argument is null
   */
  public static Strategy backoff(String name, Backoff backoff) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(backoff, "backoff");
    return new Strategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
        return new Tier(config, clock, random, database, Hubs.FULL_JITTER, backoff, null, Admission.NONE, false,
            Cache.NONE);
      }
    };
  }

  /**
   * Shepherd with nothing tuned: each hub is a {@link Reconnector} built with nothing but its
   * connector (its {@linkplain Reconnector#plan() plan} runs on the simulated clock); each connect
   * server admits at {@code capacity / servers} through a {@link SlotAdmission} with its defaults
   * and a ticket key shared by every server, then authenticates through a
   * {@link CachingAuthenticator} that starts cold; the database's queue is a default
   * {@code DeadlineGuard} (newest first). Neither side knows the fleet's size.
   *
   * @return the strategy
   */
  public static Strategy shepherd() {
    return of(SHEPHERD_DEFAULTS, Hubs.RECONNECTOR, Admission.SLOTS, false, Cache.COLD, QueuePolicy.shepherdDefault());
  }

  /**
   * {@link #shepherd()} with one admission for the whole fleet at {@code capacity} (as one shared
   * slot clock would be) instead of one per server.
   *
   * @return the strategy
   */
  public static Strategy shepherdFleetWide() {
    return of(SHEPHERD_DEFAULTS + ", fleet-wide limit", Hubs.RECONNECTOR, Admission.SLOTS, true, Cache.COLD,
        QueuePolicy.shepherdDefault());
  }

  /** A strategy from a proving ground's fleet and server tier. */
  static Strategy of(String name, Fleet fleet, ServerTier tier) {
    return new Strategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public QueuePolicy databaseQueue() {
        return tier.queue();
      }

      @Override
      public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
        return new Tier(config, clock, random, database, fleet.hubs(), fleet.backoff(), fleet.plan(),
            tier.admission(), tier.fleetWide(), tier.cache());
      }
    };
  }

  /** One run of a fleet against a server tier. */
  static final class Tier implements Strategy.Run {

    /** What a hub's attempt fails with when no answer comes within the timeout. */
    private static final TimeoutException TIMED_OUT = new TimeoutException("no answer within the attempt timeout");
    private static final DeadlineExceededException DROPPED =
        new DeadlineExceededException("auth-database", "the database dropped the request: its deadline passed");
    private static final byte[] SECRET = "secret".getBytes(StandardCharsets.UTF_8);

    private final ManualClock clock;
    private final RandomGenerator random;
    private final Strategy.Database database;
    private final Hubs hubs;
    private final Backoff backoff;
    private final ReconnectPlan.Session[] sessions;
    private final Backoff.Schedule[] schedules;
    private final SlotAdmission[] slots;
    private final TokenBucket[] buckets;
    private final List<CachingAuthenticator<String>> caches = new ArrayList<>();
    private final Map<Long, CompletableFuture<Verified<String>>> pending = new HashMap<>();
    /** The request the guard dropped the instant it was submitted (a timeout shorter than the reply). */
    private long droppedOnArrival = -1;
    /** While warming the caches, the backend answers at once. */
    private boolean warming;
    /** The refusal of the attempt just handled, which the hub hears next. */
    private RejectedException refusal;

    Tier(StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database, Hubs hubs,
        Backoff backoff, ReconnectPlan givenPlan, Admission admission, boolean fleetWide, Cache cache) {
      this.clock = clock;
      this.random = random;
      this.database = database;
      this.hubs = hubs;
      this.backoff = backoff != null ? backoff
          : hubs == Hubs.EXPONENTIAL ? Backoff.exponential(BASE, 2.0, CAP) : Backoff.fullJitter(BASE, CAP);
      if (hubs == Hubs.RECONNECTOR) {
        // The hubs: a Reconnector with nothing but its connector; the simulation plays its plan.
        ReconnectPlan plan = givenPlan != null ? givenPlan : Reconnector.builder(() -> {
          throw new UnsupportedOperationException("the simulation makes the attempts");
        }).build().plan();
        sessions = new ReconnectPlan.Session[config.hubs()];
        for (int hub = 0; hub < sessions.length; hub++) {
          sessions[hub] = plan.newSession(random);
        }
        schedules = null;
      } else {
        sessions = null;
        schedules = hubs == Hubs.IMMEDIATE ? null : new Backoff.Schedule[config.hubs()];
      }
      int servers = config.servers();
      double share = fleetWide ? config.capacity() : (double) config.capacity() / servers;
      slots = admission == Admission.SLOTS ? new SlotAdmission[servers] : null;
      buckets = admission == Admission.TOKEN_BUCKET ? new TokenBucket[servers] : null;
      byte[] key = new byte[16];
      if (slots != null) {
        random.nextBytes(key);
      }
      Clock wall = new SimulatedWallClock(clock);
      for (int server = 0; server < servers; server++) {
        String name = fleetWide ? "connect" : "connect-" + server;
        boolean shared = fleetWide && server > 0;
        if (slots != null) {
          slots[server] = shared ? slots[0] : SlotAdmission.builder()
              .name(name)
              .permitsPerSecond(share)
              .ticketKey(key)
              .ticker(clock)
              .clock(wall)
              .listener(EventListener.noop())
              .build();
        }
        if (buckets != null) {
          buckets[server] = shared ? buckets[0] : TokenBucket.builder()
              .name(name)
              .permitsPerSecond(share)
              .ticker(clock)
              .listener(EventListener.noop())
              .build();
        }
        if (cache != Cache.NONE) {
          caches.add(CachingAuthenticator.builder(new SimulatedBackend())
              .name("device-auth-" + server)
              .ttl(CACHE_TTL)
              .maximumSize(CACHE_SIZE)
              .ticker(clock)
              .random(random)
              .executor(Runnable::run)
              .listener(EventListener.noop())
              .build());
        }
      }
      if (cache == Cache.WARM) {
        warming = true;
        for (int hub = 0; hub < config.hubs(); hub++) {
          int server = servers == 1 ? 0 : random.nextInt(servers);
          caches.get(server).authenticateAsync(credentials(hub));
        }
        warming = false;
      }
    }

    private static DeviceCredentials credentials(int hub) {
      return DeviceCredentials.of("hub-" + hub, SECRET);
    }

    @Override
    public long firstAttemptDelayNanos(int hub) {
      return sessions != null ? sessions[hub].start(clock.read()) : 0L;
    }

    @Override
    public int attempt(int hub, int server) {
      if (slots != null) {
        // The hub presents the ticket of its last refusal, as a RefusalAwareConnector would.
        RejectedException last = sessions != null ? sessions[hub].lastRefusal() : null;
        SlotTicket ticket = last instanceof SlotRefusedException ? ((SlotRefusedException) last).ticket().orElse(null)
            : null;
        try {
          slots[server].acquire(hub, ticket);
        } catch (SlotRefusedException refused) {
          refusal = refused;
          return REFUSED;
        }
      } else if (buckets != null) {
        long wait = buckets[server].acquireOrRetryAfterNanos(1);
        if (wait > 0) {
          refusal = new RateLimitExceededException(buckets[server].name(), wait);
          return REFUSED;
        }
      }
      if (caches.isEmpty()) {
        database.submit(hub);
        return TO_DATABASE;
      }
      CompletableFuture<String> verdict = caches.get(server).authenticateAsync(credentials(hub)).toCompletableFuture();
      if (!verdict.isDone()) {
        return TO_DATABASE;
      }
      try {
        verdict.join();
        return ACCEPTED;
      } catch (CompletionException e) {
        // The cache refuses a device whose last load failed (the database dropped it) until its
        // cool-down ends, and says when to come back: the hub hears a refusal.
        if (e.getCause() instanceof RejectedException) {
          refusal = (RejectedException) e.getCause();
          return REFUSED;
        }
        throw new IllegalStateException("the simulated database refused a valid device", e);
      }
    }

    @Override
    public long refusedDelayNanos(int hub) {
      RejectedException heard = refusal;
      refusal = null;
      return failed(hub, heard);
    }

    @Override
    public long timedOutDelayNanos(int hub) {
      return failed(hub, TIMED_OUT);
    }

    private long failed(int hub, Throwable why) {
      if (sessions != null) {
        return sessions[hub].connectFailed(clock.read(), why);
      }
      if (hubs == Hubs.IMMEDIATE) {
        return 0L;
      }
      Backoff.Schedule schedule = schedules[hub];
      if (schedule == null) {
        schedule = backoff.start(random);
        schedules[hub] = schedule;
      }
      return schedule.nextDelayNanos();
    }

    @Override
    public void connected(int hub) {
      if (sessions != null) {
        sessions[hub].connected(clock.read());
        sessions[hub] = null; // it stays connected: its state is no longer needed
      } else if (schedules != null) {
        schedules[hub] = null;
      }
    }

    @Override
    public boolean observesDatabase() {
      return !caches.isEmpty();
    }

    @Override
    public void databaseAnswered(int hub, int request) {
      CompletableFuture<Verified<String>> answer = pending.remove(key(hub, request));
      if (answer != null) {
        answer.complete(Verified.of("hub-" + hub));
      }
    }

    @Override
    public void databaseDropped(int hub, int request) {
      CompletableFuture<Verified<String>> answer = pending.remove(key(hub, request));
      if (answer != null) {
        answer.completeExceptionally(DROPPED); // the cache's load fails: the device cools down
      } else {
        droppedOnArrival = key(hub, request); // dropped inside submit, before the backend holds it
      }
    }

    private static long key(int hub, int request) {
      return ((long) hub << 32) | (request & 0xFFFF_FFFFL);
    }

    /** A cache's backend: a query to the simulated database, answered when the database is done. */
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
        long key = key(hub, database.submit(hub));
        if (key == droppedOnArrival) {
          droppedOnArrival = -1;
          return CompletableFuture.failedFuture(DROPPED);
        }
        CompletableFuture<Verified<String>> answer = new CompletableFuture<>();
        pending.put(key, answer);
        return answer;
      }
    }
  }

  /** The servers' wall clock, in step with the simulated clock: epoch milliseconds. */
  static final class SimulatedWallClock extends Clock {
    /** The drop happens at 2026-01-01T00:00:00Z. */
    private static final long EPOCH_MILLIS = 1_767_225_600_000L;
    private final ManualClock clock;

    SimulatedWallClock(ManualClock clock) {
      this.clock = clock;
    }

    @Override
    public long millis() {
      return EPOCH_MILLIS + Math.floorDiv(clock.read(), 1_000_000L);
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("the simulated wall clock is UTC");
    }
  }
}
