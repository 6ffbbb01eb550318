package dev.shepherd.examples;

import dev.shepherd.auth.AuthenticationException;
import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.BackendUnavailableException;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.micrometer.AuthMetrics;
import dev.shepherd.micrometer.BackoffMetrics;
import dev.shepherd.micrometer.BulkheadMetrics;
import dev.shepherd.micrometer.MetricsListener;
import dev.shepherd.micrometer.RateLimiterMetrics;
import dev.shepherd.ratelimit.TokenBucket;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The reconnect storm for real, on loopback: a {@link ConnectServer} in front of a device registry
 * in a real database, a fleet of hubs each kept connected by a {@link Reconnector}, and, mid-run,
 * the server dropping every connection at once. Prints a timeline and a summary and writes the
 * charts of database queries per second around the drop ({@code live.png} draws
 * the protected and the unprotected run together once both have run into the same folder).
 * Bounded in time; stops by itself.
 *
 * <p>Protected (the default): the server admits hellos through a {@link TokenBucket} and answers
 * {@code RETRY <seconds>} beyond it; it authenticates through a {@link CachingAuthenticator}
 * (warmed as the fleet first connects) whose database calls pass a {@link Bulkhead}; the hubs'
 * reconnectors spread their first attempt and back off with full jitter, honouring the server's
 * hints. With {@code --unprotected}: every hello queries the database, and hubs retry every second
 * without backoff or spread, as in the outage.
 *
 * <p>While it runs, a Prometheus scrape endpoint on 127.0.0.1 (its address is printed first) shows
 * the storm: the hubs' reconnect attempts and states, the server's admission, cache and bulkhead;
 * {@code examples/prometheus/shepherd-alerts.yml} holds alert rules for it.
 */
public final class LiveFleet {

  private static final Set<String> VALUED = Set.of(
      "hubs", "capacity", "admission", "ramp", "drop-at", "max-seconds", "timeout", "seed",
      "jdbc-url", "jdbc-user", "jdbc-password", "out");
  private static final Set<String> FLAGS = Set.of("unprotected", "help");

  private LiveFleet() {}

  /** What to run. */
  record Settings(int hubs, int capacity, int admission, Duration ramp, Duration dropAt,
      Duration maxRun, Duration hubTimeout, long seed, String jdbcUrl, String jdbcUser,
      String jdbcPassword, boolean unprotected, Path outputDir) {

    /** The defaults: 2,000 hubs, a database of 400 queries/s, protected. */
    static Settings defaults() {
      return new Settings(2_000, 400, 500, Duration.ofSeconds(8), Duration.ofSeconds(15),
          Duration.ofSeconds(60), Duration.ofSeconds(2), 42L, null, null, null, false,
          Path.of("target", "live"));
    }

    String mode() {
      return unprotected ? "unprotected" : "protected";
    }
  }

  /** What one run measured, around the drop. */
  record Summary(Settings settings, int dropped, long nanosToReconnectAll, long attemptsAfterDrop,
      long queriesBeforeDrop, long queriesAfterDrop, long rejectedAfterDrop, int connectedAtEnd,
      LiveFleetChart.Run timeline) {}

  /**
   * Runs the live fleet; exits with status 2 on a bad command line.
   *
   * @param args the options; {@code --help} lists them
   */
  public static void main(String[] args) {
    int status = run(args, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    Settings settings;
    try {
      CommandLine line = CommandLine.parse(args, VALUED, FLAGS);
      if (line.has("help")) {
        out.print(usage());
        return 0;
      }
      settings = configure(line);
    } catch (UsageException e) {
      err.println("live fleet: " + e.getMessage());
      err.println("Try --help for the options.");
      return 2;
    }
    try {
      Summary summary = run(settings, out);
      out.println();
      out.print(describe(summary));
      List<Path> charts = LiveFleetChart.write(summary.timeline(), settings.outputDir());
      for (Path chart : charts) {
        out.println("chart: " + chart.toAbsolutePath().normalize());
      }
      return 0;
    } catch (SQLException e) {
      err.println("live fleet: the database failed: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      err.println("live fleet: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("live fleet: interrupted");
      return 1;
    }
  }

  static String usage() {
    return String.join(System.lineSeparator(),
        "Usage: LiveFleet [options]",
        "",
        "A connect server and a fleet of hubs on 127.0.0.1. The fleet connects over --ramp",
        "seconds; at --drop-at the server drops every connection at once; the run ends when every",
        "hub is back (plus two seconds) or at --max-seconds. Prints a timeline and a summary and",
        "writes charts: live-<mode>.png, and live.png with both modes once both have run into --out.",
        "",
        "Line protocol (TCP, UTF-8, one message per line): the hub sends",
        "HELLO <deviceId> <secret>; the server answers OK (the connection then stays open),",
        "RETRY <seconds> or DENIED (then closes).",
        "",
        "Options:",
        "  --hubs N             hubs in the fleet (default 2,000)",
        "  --capacity Q         database queries per second at most (default 400)",
        "  --admission A        hellos per second the server admits, protected mode (default 500)",
        "  --ramp SEC           seconds over which the fleet first comes online (default 8)",
        "  --drop-at SEC        when the server drops every connection, once all are connected",
        "                       (default 15; at half of --max-seconds at the latest)",
        "  --max-seconds SEC    the longest run (default 60)",
        "  --timeout SEC        how long a hub waits for an answer (default 2)",
        "  --seed S             seed of the hubs' jitter (default 42)",
        "  --jdbc-url URL       the device database (default: embedded H2 in memory); the table",
        "                       shepherd_devices is created, replacing one of that name",
        "  --jdbc-user U, --jdbc-password P   credentials for --jdbc-url",
        "  --unprotected        no admission, cache or bulkhead; hubs retry every second",
        "  --out DIR            folder for the charts (default target/live)",
        "  --help               print this help and exit",
        "");
  }

  static Settings configure(CommandLine line) throws UsageException {
    Settings d = Settings.defaults();
    int hubs = (int) line.whole("hubs", d.hubs(), 1, 10_000);
    Duration ramp = seconds(line.decimal("ramp", 8, 0, 600));
    Duration dropAt = seconds(line.decimal("drop-at", 15, 0.5, 600));
    Duration maxRun = seconds(line.decimal("max-seconds", 60, 1, 3_600));
    if (dropAt.multipliedBy(2).compareTo(maxRun) > 0) {
      throw new UsageException("--drop-at must be at most half of --max-seconds");
    }
    return new Settings(
        hubs,
        (int) line.whole("capacity", d.capacity(), 1, 1_000_000),
        (int) line.whole("admission", d.admission(), 1, 1_000_000),
        ramp,
        dropAt,
        maxRun,
        seconds(line.decimal("timeout", 2, 0.05, 60)),
        line.whole("seed", d.seed(), Long.MIN_VALUE, Long.MAX_VALUE),
        line.string("jdbc-url", null),
        line.string("jdbc-user", null),
        line.string("jdbc-password", null),
        line.has("unprotected"),
        Path.of(line.string("out", d.outputDir().toString())));
  }

  private static Duration seconds(double value) {
    return Duration.ofNanos(Math.round(value * 1e9));
  }

  /**
   * Runs the fleet and the server; returns when every hub is back after the drop (plus two
   * seconds) or at {@code maxRun}, having stopped every thread it started.
   */
  static Summary run(Settings s, PrintStream out) throws SQLException, IOException, InterruptedException {
    out.printf(Locale.ROOT, "Live fleet (%s): %,d hubs on 127.0.0.1; database %,d queries/s%s.%n",
        s.mode(), s.hubs(), s.capacity(),
        s.unprotected() ? "" : String.format(Locale.ROOT, "; admission %,d hellos/s", s.admission()));
    try (MetricsEndpoint metrics = MetricsEndpoint.start();
        DeviceDatabase database = DeviceDatabase.open(
            s.jdbcUrl(), s.jdbcUser(), s.jdbcPassword(), s.hubs(), s.capacity());
        LossWatcher watcher = new LossWatcher();
        ConnectServer server = ConnectServer.start(
            s.unprotected() ? unprotectedGate(database) : protectedGate(s, database, metrics.registry()));
        Fleet fleet = new Fleet(s, new InetSocketAddress(Loopback.ADDRESS, server.port()), watcher,
            metrics.registry())) {
      out.println("metrics: " + metrics.uri() + " (Prometheus; alert rules: examples/prometheus/shepherd-alerts.yml)");
      out.println("     t  connected  attempts/s  db queries/s  rejected/s");
      List<int[]> rows = new ArrayList<>();
      long start = System.nanoTime();
      fleet.start();
      long dropAt = s.dropAt().toNanos();
      long plannedDrop = dropAt;
      long maxRun = s.maxRun().toNanos();
      long[] previous = {0, 0, 0};
      boolean droppedYet = false;
      int dropped = 0;
      long attemptsAtDrop = 0;
      long queriesAtDrop = 0;
      long rejectedAtDrop = 0;
      long reconnectedAt = -1;
      long endAt = maxRun;
      long step = 1_000_000_000L;
      for (long t = step; t <= endAt; t += step) {
        // The drop happens once its time has come and the whole fleet is connected (so that
        // every hub is dropped and the cache is warm); at half the longest run at the latest.
        if (!droppedYet && t - step >= dropAt
            && (fleet.connected.get() == s.hubs() || t - step >= maxRun / 2)) {
          dropAt = t - step;
          attemptsAtDrop = fleet.attempts.get();
          queriesAtDrop = database.queries();
          rejectedAtDrop = server.refused();
          dropped = fleet.connected.get();
          server.dropAll();
          droppedYet = true;
          out.printf(Locale.ROOT, "%6.1f  -- the load balancer drops all %,d connections --%n", dropAt / 1e9, dropped);
          if (dropAt > plannedDrop && dropped < s.hubs()) {
            out.println("        (not every hub had connected by then)");
          }
        }
        sleepUntil(start, t);
        long[] totals = {fleet.attempts.get(), database.queries(), server.refused()};
        int connected = fleet.connected.get();
        rows.add(new int[] {
            (int) (totals[0] - previous[0]), (int) (totals[1] - previous[1]),
            (int) (totals[2] - previous[2]), connected});
        out.printf(Locale.ROOT, "%6.1f  %9d  %10d  %12d  %10d%n",
            t / 1e9, connected, totals[0] - previous[0], totals[1] - previous[1], totals[2] - previous[2]);
        previous = totals;
        if (droppedYet && reconnectedAt < 0 && connected == s.hubs()) {
          reconnectedAt = fleet.lastConnectNanos() - start;
          endAt = Math.min(maxRun, t + 2 * step);
        }
      }
      int connectedAtEnd = fleet.connected.get();
      fleet.stop();
      LiveFleetChart.Run timeline = LiveFleetChart.run(s.unprotected(), s.hubs(), s.capacity(), dropAt, rows);
      return new Summary(s, dropped, reconnectedAt < 0 ? -1 : reconnectedAt - dropAt,
          fleet.attempts.get() - attemptsAtDrop, queriesAtDrop, database.queries() - queriesAtDrop,
          server.refused() - rejectedAtDrop, connectedAtEnd, timeline);
    }
  }

  private static void sleepUntil(long start, long offset) throws InterruptedException {
    long wait = offset - (System.nanoTime() - start);
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  static String describe(Summary summary) {
    Settings s = summary.settings();
    StringBuilder text = new StringBuilder();
    text.append(String.format(Locale.ROOT,
        "Summary (%s): the drop closed %,d connections.%n", s.mode(), summary.dropped()));
    if (summary.nanosToReconnectAll() >= 0) {
      text.append(String.format(Locale.ROOT,
          "  every hub was back %.1f s after the drop%n", summary.nanosToReconnectAll() / 1e9));
    } else {
      text.append(String.format(Locale.ROOT,
          "  only %,d of %,d hubs were back when the run ended%n", summary.connectedAtEnd(), s.hubs()));
    }
    text.append(String.format(Locale.ROOT,
        "  after the drop: %,d connection attempts, %,d database queries, %,d answered RETRY%n",
        summary.attemptsAfterDrop(), summary.queriesAfterDrop(), summary.rejectedAfterDrop()));
    text.append(String.format(Locale.ROOT, "  before the drop (first connection of the fleet): %,d database queries%n",
        summary.queriesBeforeDrop()));
    return text.toString();
  }

  /** The outage's server: every hello is a database query. */
  static ConnectServer.Gate unprotectedGate(DeviceDatabase database) {
    return (deviceId, secret) -> {
      try {
        return database.verify(deviceId, secret) ? "OK" : "DENIED";
      } catch (SQLException e) {
        return "ERROR database unavailable";
      }
    };
  }

  /** The protected server: admission, then the cache, whose database calls pass a bulkhead. */
  static ConnectServer.Gate protectedGate(Settings s, DeviceDatabase database, MeterRegistry registry) {
    MetricsListener events = new MetricsListener(registry);
    TokenBucket admission = TokenBucket.builder()
        .name("connect-admission")
        .permitsPerSecond(s.admission())
        .burst(Math.max(1, s.admission() / 10))
        .listener(events)
        .build();
    RateLimiterMetrics.of(admission).bindTo(registry);
    Bulkhead bulkhead = Bulkhead.builder()
        .name("device-db")
        .maxConcurrent(DeviceDatabase.POOL)
        .maxWait(Duration.ofMillis(100))
        .listener(events)
        .build();
    BulkheadMetrics.of(bulkhead).bindTo(registry);
    Authenticator<DeviceCredentials, Verified<String>> backend = credentials -> {
      try {
        if (database.verify(credentials.deviceId(), credentials.secret())) {
          return Verified.of(credentials.deviceId());
        }
        throw new AuthenticationException("unknown device or wrong secret");
      } catch (SQLException e) {
        throw new BackendUnavailableException("device-db", "the query failed", null, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BackendUnavailableException("device-db", "interrupted");
      }
    };
    CachingAuthenticator<String> authenticator = CachingAuthenticator.builder(backend)
        .name("device-auth")
        .ttl(Duration.ofMinutes(10))
        .maxStale(Duration.ofMinutes(30))
        .maximumSize(2L * s.hubs())
        .guard(bulkhead)
        .listener(events)
        .build();
    AuthMetrics.of(authenticator).bindTo(registry);
    long busyHint = TimeUnit.SECONDS.toNanos(1);
    return (deviceId, secret) -> {
      long wait = admission.acquireOrRetryAfterNanos(1);
      if (wait > 0) {
        return ConnectServer.retryLine(wait);
      }
      DeviceCredentials credentials = DeviceCredentials.of(deviceId, secret);
      try {
        authenticator.authenticate(credentials);
        return "OK";
      } catch (AuthenticationException e) {
        return "DENIED";
      } catch (BackendUnavailableException e) {
        long hint = e.retryAfterNanos();
        return ConnectServer.retryLine(hint > 0 ? hint : busyHint);
      } finally {
        credentials.wipe();
      }
    };
  }

  /** The hubs: one {@link Reconnector} each, started over the ramp. */
  static final class Fleet implements AutoCloseable {
    final AtomicInteger connected = new AtomicInteger();
    final AtomicLong attempts = new AtomicLong();
    private final AtomicLong lastConnect = new AtomicLong();
    private final List<Reconnector<HubLink>> hubs = new ArrayList<>();
    private final Settings settings;
    private final Thread starter;

    Fleet(Settings s, InetSocketAddress server, LossWatcher watcher, MeterRegistry registry) {
      this.settings = s;
      Duration spread = s.unprotected() ? Duration.ZERO
          : Duration.ofNanos(Math.round(1.2e9 * s.hubs() / s.admission()));
      Backoff backoff = s.unprotected() ? Backoff.constant(Duration.ofSeconds(1))
          : Backoff.fullJitter(Duration.ofMillis(250), Duration.ofSeconds(10));
      for (int i = 0; i < s.hubs(); i++) {
        String id = DeviceDatabase.deviceId(i);
        String secret = DeviceDatabase.secretOf(i);
        Reconnector<HubLink> hub = Reconnector.<HubLink>builder(() -> {
              attempts.incrementAndGet();
              return HubLink.open(server, id, secret, s.hubTimeout(), watcher, () -> {
                connected.incrementAndGet();
                lastConnect.set(System.nanoTime());
              }, connected::decrementAndGet);
            })
            .name("hub-" + i)
            .initialSpread(spread)
            .backoff(backoff)
            .stableAfter(Duration.ofSeconds(1))
            .random(new SplittableRandom(s.seed() * 1_000_003L + i))
            .listener(EventListener.noop())
            .build();
        hubs.add(hub);
      }
      // One group, not one set of series per hub: the fleet's attempts and how many hubs are in each state.
      BackoffMetrics.reconnectors("hubs", hubs).bindTo(registry);
      this.starter = new Thread(this::startAll, "fleet-starter");
      this.starter.setDaemon(true);
    }

    void start() {
      starter.start();
    }

    long lastConnectNanos() {
      return lastConnect.get();
    }

    private void startAll() {
      long begin = System.nanoTime();
      long ramp = settings.ramp().toNanos();
      for (int i = 0; i < hubs.size(); i++) {
        long due = ramp * i / hubs.size();
        long wait = due - (System.nanoTime() - begin);
        try {
          if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
        } catch (InterruptedException e) {
          return;
        }
        hubs.get(i).start();
      }
    }

    /**
     * Closes every hub's reconnector and waits, at most ten seconds in all, for their threads to
     * end; idempotent.
     */
    void stop() {
      starter.interrupt();
      try {
        starter.join(5_000);
        for (Reconnector<HubLink> hub : hubs) {
          hub.close();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Reconnector<HubLink> hub : hubs) {
          long left = deadline - System.nanoTime();
          if (left <= 0 || !hub.awaitTermination(Duration.ofNanos(left))) {
            break;
          }
        }
      } catch (InterruptedException e) {
        for (Reconnector<HubLink> hub : hubs) {
          hub.close();
        }
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void close() {
      stop();
    }
  }
}
