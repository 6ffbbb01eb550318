package dev.shepherd.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;

/**
 * The second outage, replayed: a service on a serverless platform calls a third-party API that
 * stops answering for ten minutes and then returns, behind the API's own quota. Three callers go
 * through the same run (see {@link RunawayCallers}): without protection, with a timeout only, and
 * with Shepherd. For each it prints a timeline and a row of the table: most calls in flight,
 * instances and instance-minutes (and their cost), the API's 429s, requests ok, late and failed,
 * when the error-rate alert fired, and how long the service took to recover after the API's
 * return. The model and its measures are described in {@link RunawayReplay}, {@link ServerlessTier}
 * and {@link ThirdPartyApi}.
 *
 * <p>Simulated on a manual clock with a seeded generator: the twenty minutes take seconds, and the
 * same seed prints the same table. While it runs, a Prometheus scrape endpoint on 127.0.0.1 (its
 * address is printed first) shows the run's meters; {@code --pace N} runs N simulated seconds per
 * real second so a Prometheus can watch.
 */
public final class RunawayUpstream {

  private static final Set<String> VALUED = Set.of("rate", "before", "stall", "after", "seed", "quota", "pace");
  private static final Set<String> FLAGS = Set.of("help");

  private RunawayUpstream() {}

  /**
   * Runs the replay; exits with status 2 on a bad command line.
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
    RunawayReplay.Plan plan;
    double pace;
    try {
      CommandLine line = CommandLine.parse(args, VALUED, FLAGS);
      if (line.has("help")) {
        out.print(usage());
        return 0;
      }
      RunawayReplay.Plan d = RunawayReplay.Plan.defaults();
      plan = new RunawayReplay.Plan(
          line.decimal("rate", d.ratePerSecond(), 1, 2_000),
          minutes(line.decimal("before", 2, 0, 60)),
          minutes(line.decimal("stall", 10, 0.5, 60)),
          minutes(line.decimal("after", 8, 1, 60)),
          line.whole("seed", d.seed(), Long.MIN_VALUE, Long.MAX_VALUE),
          (int) line.whole("quota", d.quotaPerMinute(), 1, 10_000_000),
          d.patienceNanos(), d.pricePerInstanceMinute(), d.tier());
      pace = line.decimal("pace", 0, 0, 1e6);
    } catch (UsageException e) {
      err.println("runaway upstream: " + e.getMessage());
      err.println("Try --help for the options.");
      return 2;
    }
    try (MetricsEndpoint metrics = MetricsEndpoint.start()) {
      out.println("metrics: " + metrics.uri()
          + " (Prometheus; alert rules: examples/prometheus/runaway-alerts.yml)");
      printPlan(plan, out);
      List<RunawayReplay.Result> results = new ArrayList<>();
      for (RunawayCallers.Caller caller : RunawayCallers.all()) {
        RunawayReplay.Result result = RunawayReplay.run(plan, caller, metrics.registry(), pacer(pace));
        printTimeline(result, out);
        results.add(result);
      }
      out.println();
      printTable(results, out);
      return 0;
    } catch (IOException e) {
      err.println("runaway upstream: " + e.getMessage());
      return 1;
    }
  }

  static String usage() {
    return String.join(System.lineSeparator(),
        "Usage: RunawayUpstream [options]",
        "",
        "The second outage, replayed on a simulated clock: users call a service on a serverless",
        "platform; the service calls a third-party API that stops answering and then returns, behind",
        "its own quota (429 + Retry-After). Three callers: no protection, a timeout only, Shepherd.",
        "Prints a timeline per caller and a table.",
        "",
        "Options:",
        "  --rate N       users' requests per second (default 200)",
        "  --before MIN   minutes of normal service before the stall (default 2)",
        "  --stall MIN    minutes the API does not answer (default 10)",
        "  --after MIN    minutes after it returns (default 8)",
        "  --quota N      the API's quota, requests per minute (default 18000)",
        "  --seed N       the random seed (default 42)",
        "  --pace N       simulated seconds per real second, so a Prometheus can watch (default: as",
        "                 fast as possible)",
        "  --help         print this help and exit",
        "");
  }

  private static long minutes(double minutes) {
    return Math.round(minutes * 60_000) * 1_000_000L;
  }

  private static LongConsumer pacer(double pace) {
    if (pace <= 0) {
      return second -> { };
    }
    long start = System.nanoTime();
    return second -> {
      long due = start + (long) (second * 1e9 / pace);
      long wait = due - System.nanoTime();
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
  }

  private static void printPlan(RunawayReplay.Plan plan, PrintStream out) {
    ServerlessTier.Settings tier = plan.tier();
    out.printf(Locale.ROOT, "%nThe second outage, replayed (seed %d): %.0f requests/s; the API stops answering at %s"
        + " and returns at %s; its quota is %,d requests a minute.%n",
        plan.seed(), plan.ratePerSecond(), clock(plan.beforeNanos()), clock(plan.beforeNanos() + plan.stallNanos()),
        plan.quotaPerMinute());
    out.printf(Locale.ROOT, "Platform: %d requests per instance, more instances above %.0f%% of that, up to %,d;"
        + " %.0f s cold start; $%.4f per instance-minute. Users wait %.0f s.%n",
        tier.concurrency(), tier.targetUtilisation() * 100, tier.maxInstances(),
        tier.coldStartNanos() / 1e9, plan.pricePerInstanceMinute(), plan.patienceNanos() / 1e9);
  }

  static void printTimeline(RunawayReplay.Result result, PrintStream out) {
    out.printf(Locale.ROOT, "%n== %s ==%n", result.caller());
    out.println("  min  API        ok/min  late/min  failed/min    429s  in flight  instances");
    for (RunawayReplay.Minute m : result.timeline()) {
      out.printf(Locale.ROOT, "%5d  %-8s %8d  %8d  %10d  %6d  %9d  %9d%n", m.minute(),
          m.stalled() ? "STALLED" : "ok", m.ok(), m.late(), m.failed(), m.tooMany(), m.maxInFlight(),
          m.maxInstances());
    }
  }

  static void printTable(List<RunawayReplay.Result> results, PrintStream out) {
    out.println(header());
    for (RunawayReplay.Result r : results) {
      out.println(row(r));
    }
  }

  static String header() {
    return String.format(Locale.ROOT, "%-20s %9s %9s %12s %8s %9s %9s %8s %9s %12s %10s",
        "caller", "in flight", "instances", "instance-min", "cost", "429s", "ok", "late", "failed",
        "alert", "recovered");
  }

  static String row(RunawayReplay.Result r) {
    return String.format(Locale.ROOT, "%-20s %,9d %,9d %,12.0f %8s %,9d %,9d %,8d %,9d %12s %10s",
        r.caller(), r.maxInFlight(), r.maxInstances(), r.instanceMinutes(),
        String.format(Locale.ROOT, "$%.2f", r.cost()), r.tooMany(), r.ok(), r.late(), r.failed(),
        r.alerted() ? "+" + clock(r.alertAfterStallNanos()) : "never",
        r.recovered() ? String.format(Locale.ROOT, "%d s", r.recoveryNanos() / RunawayReplay.SECOND) : "never");
  }

  /** A duration as m:ss. */
  private static String clock(long nanos) {
    long seconds = nanos / RunawayReplay.SECOND;
    return String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
  }
}
