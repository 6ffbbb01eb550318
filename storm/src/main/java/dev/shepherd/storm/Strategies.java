package dev.shepherd.storm;

import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.ReconnectPlan;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.random.RandomGenerator;

/**
 * The strategies the simulator compares, from the outage to the library's defaults. Every delay a
 * hub waits and every decision a server takes comes from the library's own classes on the
 * simulation's {@link ManualClock}: {@link Backoff} schedules, the {@link ReconnectPlan} of a
 * default {@link Reconnector}, {@link SlotAdmission} and {@link CachingAuthenticator}.
 */
public final class Strategies {

  /** The first retry's scale of strategies 2 to 4: 1 second. */
  static final Duration BASE = Duration.ofSeconds(1);
  /** The backoff cap of strategies 2 to 4: 5 minutes, a common ceiling for device firmware. */
  static final Duration CAP = Duration.ofMinutes(5);
  /** How long the authentication cache trusts an answer: 1 hour. */
  static final Duration CACHE_TTL = Duration.ofHours(1);
  /** The most devices one connect server's cache holds; it does not depend on the fleet's size. */
  static final long CACHE_SIZE = 2_000_000L;
  /** The name of the row with the library's defaults. */
  public static final String SHEPHERD_DEFAULTS = "Shepherd (defaults)";

  private Strategies() {}

  /**
   * Returns the strategies of the table, in order: the four unprotected fleets, then
   * {@link #shepherd() Shepherd's defaults}, and with more than one server also
   * {@link #shepherdFleetWide() the same with one fleet-wide admission}.
   *
   * @param config the storm
   * @return the strategies
   */
  public static List<Strategy> all(StormConfig config) {
    List<Strategy> all = new ArrayList<>(
        List.of(immediateRetry(), exponential(), fullJitter(), decorrelatedJitter(), shepherd()));
    if (config.servers() > 1) {
      all.add(shepherdFleetWide());
    }
    return all;
  }

  /**
   * Strategy 1, the outage: every hub reconnects the moment it notices the drop and retries the
   * moment an attempt fails; every attempt goes to the database.
   *
   * @return the strategy
   */
  public static Strategy immediateRetry() {
    return new Strategy() {
      @Override
      public String name() {
        return "1 immediate retry";
      }

      @Override
      public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
        return new Unprotected(database) {
          @Override
          public long timedOutDelayNanos(int hub) {
            return 0L;
          }
        };
      }
    };
  }

  /**
   * Strategy 2: {@link Backoff#exponential} doubling from 1 s to 5 minutes, no jitter.
   *
   * @return the strategy
   */
  public static Strategy exponential() {
    return backoff("2 exponential, no jitter", Backoff.exponential(BASE, 2.0, CAP));
  }

  /**
   * Strategy 3: {@link Backoff#fullJitter} from 1 s to 5 minutes.
   *
   * @return the strategy
   */
  public static Strategy fullJitter() {
    return backoff("3 full jitter", Backoff.fullJitter(BASE, CAP));
  }

  /**
   * Strategy 4: {@link Backoff#decorrelatedJitter} from 1 s to 5 minutes.
   *
   * @return the strategy
   */
  public static Strategy decorrelatedJitter() {
    return backoff("4 decorrelated jitter", Backoff.decorrelatedJitter(BASE, CAP));
  }

  /**
   * A fleet whose hubs retry on a backoff schedule, one per hub, against unprotected servers: the
   * first attempt is immediate (a plain retry loop), every attempt goes to the database.
   *
   * @param name the row's name
   * @param backoff the hubs' backoff
   * @return the strategy
   */
  public static Strategy backoff(String name, Backoff backoff) {
    return new Strategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
        Backoff.Schedule[] schedules = new Backoff.Schedule[config.hubs()];
        return new Unprotected(database) {
          @Override
          public long timedOutDelayNanos(int hub) {
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
   * Shepherd with nothing tuned: each hub is a {@link Reconnector} built with nothing but its
   * connector (its {@linkplain Reconnector#plan() plan} runs on the simulated clock), and each
   * connect server admits at {@code capacity / servers} through a {@link SlotAdmission} with its
   * defaults and a ticket key shared by every server, then authenticates through a
   * {@link CachingAuthenticator} that starts cold. Neither side knows the fleet's size.
   *
   * @return the strategy
   */
  public static Strategy shepherd() {
    return shepherd(SHEPHERD_DEFAULTS, false);
  }

  /**
   * {@link #shepherd()} with one admission for the whole fleet at {@code capacity} (as one shared
   * slot clock would be) instead of one per server.
   *
   * @return the strategy
   */
  public static Strategy shepherdFleetWide() {
    return shepherd(SHEPHERD_DEFAULTS + ", fleet-wide limit", true);
  }

  private static Strategy shepherd(String name, boolean fleetWide) {
    return new Strategy() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public Run start(StormConfig config, ManualClock clock, RandomGenerator random, Database database) {
        return new Protected(config, clock, random, database, fleetWide);
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
    public int attempt(int hub, int server) {
      database.submit(hub);
      return TO_DATABASE;
    }

    @Override
    public long refusedDelayNanos(int hub) {
      throw new IllegalStateException("an unprotected server never refuses");
    }
  }

  /** The library's hubs against the library's servers. */
  static final class Protected implements Strategy.Run {

    /** What a hub's attempt fails with when no answer comes within the timeout. */
    private static final TimeoutException TIMED_OUT = new TimeoutException("no answer within the attempt timeout");
    private static final byte[] SECRET = "secret".getBytes(StandardCharsets.UTF_8);

    private final ManualClock clock;
    private final Strategy.Database database;
    private final ReconnectPlan.Session[] sessions;
    private final SlotAdmission[] admissions;
    private final List<CachingAuthenticator<String>> caches = new ArrayList<>();
    private final Map<Long, CompletableFuture<Verified<String>>> pending = new HashMap<>();
    /** The refusal of the attempt just handled, which the hub hears next. */
    private RejectedException refusal;

    Protected(StormConfig config, ManualClock clock, RandomGenerator random, Strategy.Database database,
        boolean fleetWide) {
      this.clock = clock;
      this.database = database;
      // The hubs: a Reconnector with nothing but its connector; the simulation plays its plan.
      ReconnectPlan plan = Reconnector.builder(() -> {
        throw new UnsupportedOperationException("the simulation makes the attempts");
      }).build().plan();
      sessions = new ReconnectPlan.Session[config.hubs()];
      for (int hub = 0; hub < sessions.length; hub++) {
        sessions[hub] = plan.newSession(random);
      }
      // The servers: admission with its defaults at their share of the capacity, one shared key.
      byte[] key = new byte[16];
      random.nextBytes(key);
      Clock wall = new SimulatedWallClock(clock);
      int servers = config.servers();
      admissions = new SlotAdmission[servers];
      for (int server = 0; server < servers; server++) {
        admissions[server] = fleetWide && server > 0 ? admissions[0] : SlotAdmission.builder()
            .name(fleetWide ? "connect" : "connect-" + server)
            .permitsPerSecond(fleetWide ? config.capacity() : (double) config.capacity() / servers)
            .ticketKey(key)
            .ticker(clock)
            .clock(wall)
            .listener(EventListener.noop())
            .build();
        Authenticator<DeviceCredentials, Verified<String>> backend = new SimulatedBackend();
        caches.add(CachingAuthenticator.builder(backend)
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

    @Override
    public long firstAttemptDelayNanos(int hub) {
      return sessions[hub].start(clock.read());
    }

    @Override
    public int attempt(int hub, int server) {
      // The hub presents the ticket of its last refusal, as a RefusalAwareConnector would.
      RejectedException last = sessions[hub].lastRefusal();
      SlotTicket ticket = last instanceof SlotRefusedException ? ((SlotRefusedException) last).ticket().orElse(null)
          : null;
      try {
        admissions[server].acquire(hub, ticket);
      } catch (SlotRefusedException refused) {
        refusal = refused;
        return REFUSED;
      }
      DeviceCredentials device = DeviceCredentials.of("hub-" + hub, SECRET);
      CompletableFuture<String> verdict = caches.get(server).authenticateAsync(device).toCompletableFuture();
      if (!verdict.isDone()) {
        return TO_DATABASE;
      }
      try {
        verdict.join();
        return ACCEPTED;
      } catch (CompletionException e) {
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
      return sessions[hub].connectFailed(clock.read(), heard);
    }

    @Override
    public long timedOutDelayNanos(int hub) {
      return sessions[hub].connectFailed(clock.read(), TIMED_OUT);
    }

    @Override
    public void connected(int hub) {
      sessions[hub].connected(clock.read());
      sessions[hub] = null; // it stays connected: its state is no longer needed
    }

    @Override
    public boolean observesDatabase() {
      return true;
    }

    @Override
    public void databaseAnswered(int hub, int request) {
      CompletableFuture<Verified<String>> answer = pending.remove(key(hub, request));
      if (answer != null) {
        answer.complete(Verified.of("hub-" + hub));
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
        int hub = Integer.parseInt(device.deviceId().substring("hub-".length()));
        CompletableFuture<Verified<String>> answer = new CompletableFuture<>();
        pending.put(key(hub, database.submit(hub)), answer);
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
