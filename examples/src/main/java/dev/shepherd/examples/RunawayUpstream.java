package dev.shepherd.examples;

import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.micrometer.BulkheadMetrics;
import dev.shepherd.micrometer.MetricsListener;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Replays the runaway-upstream outage on loopback: a service calls a third-party API (a {@link
 * StubUpstream}) at a steady rate; mid-run the API stops answering. Without a bulkhead the calls in
 * flight grow for as long as the stall lasts; through an {@code AdaptiveBulkhead} they stay bounded
 * and callers are refused at once. Prints a timeline per run and a summary; bounded in time.
 *
 * <p>While it runs, a Prometheus scrape endpoint on 127.0.0.1 (its address is printed first) shows
 * the bulkhead's calls in flight, its limit falling to its minimum and its refusals.
 */
public final class RunawayUpstream {

  private static final Set<String> VALUED = Set.of("rate", "before", "stall", "after");
  private static final Set<String> FLAGS = Set.of("help");

  private RunawayUpstream() {}

  /**
   * Runs the demo; exits with status 2 on a bad command line.
   *
   * @param args the options; {@code --help} lists them
   */
  public static void main(String[] args) {
    int status = run(args, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  /** The timings and load of one demo run. */
  record Plan(int ratePerSecond, Duration before, Duration stall, Duration after) {
    Duration total() {
      return before.plus(stall).plus(after);
    }
  }

  /** What one run measured. */
  record Summary(String caller, long offered, long succeeded, long rejected, long failed,
      int maxInFlight, int inFlightAtStallEnd, int leftInFlight) {}

  /** How the service calls the upstream: directly, or through a bulkhead. */
  interface Caller {
    /** A name for the timeline. */
    String name();

    /**
     * Starts one call; the stage completes with the response, or exceptionally with a rejection
     * or a failure.
     */
    CompletionStage<HttpResponse<Void>> call(Supplier<CompletionStage<HttpResponse<Void>>> upstream);

    /** The current concurrency limit, or -1 when there is none. */
    default int limit() {
      return -1;
    }

    /** How long one request may take before the client aborts it; {@code null} for no limit. */
    default Duration timeout() {
      return null;
    }
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    Plan plan;
    try {
      CommandLine line = CommandLine.parse(args, VALUED, FLAGS);
      if (line.has("help")) {
        out.print(usage());
        return 0;
      }
      plan = new Plan(
          (int) line.whole("rate", 200, 1, 2_000),
          Duration.ofMillis(Math.round(line.decimal("before", 2, 0, 60) * 1000)),
          Duration.ofMillis(Math.round(line.decimal("stall", 6, 0.5, 120) * 1000)),
          Duration.ofMillis(Math.round(line.decimal("after", 3, 0, 60) * 1000)));
    } catch (UsageException e) {
      err.println("runaway upstream: " + e.getMessage());
      err.println("Try --help for the options.");
      return 2;
    }
    try (MetricsEndpoint metrics = MetricsEndpoint.start()) {
      out.println("metrics: " + metrics.uri() + " (Prometheus; alert rules: examples/prometheus/shepherd-alerts.yml)");
      List<Summary> summaries = new ArrayList<>();
      for (Caller caller : callers(metrics.registry())) {
        summaries.add(replay(plan, caller, out));
      }
      out.println();
      for (Summary s : summaries) {
        out.printf(Locale.ROOT,
            "%-34s offered %,6d  ok %,6d  rejected %,6d  failed %,6d  max in flight %,5d%n",
            s.caller(), s.offered(), s.succeeded(), s.rejected(), s.failed(), s.maxInFlight());
      }
      return 0;
    } catch (IOException e) {
      err.println("runaway upstream: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("runaway upstream: interrupted");
      return 1;
    }
  }

  static String usage() {
    return String.join(System.lineSeparator(),
        "Usage: RunawayUpstream [options]",
        "",
        "A service calls a third-party API on 127.0.0.1 at a steady rate; mid-run the API stops",
        "answering. Run once without a bulkhead and once through an AdaptiveBulkhead; prints a",
        "timeline of calls in flight, successes and rejections, then a summary.",
        "",
        "Options:",
        "  --rate N       calls per second (default 200)",
        "  --before SEC   seconds of normal service before the stall (default 2)",
        "  --stall SEC    seconds the upstream stalls (default 6)",
        "  --after SEC    seconds after it recovers (default 3)",
        "  --help         print this help and exit",
        "");
  }

  /** The callers compared, in order; each call makes fresh ones, with meters in {@code registry}. */
  static List<Caller> callers(MeterRegistry registry) {
    return List.of(unprotected(), adaptive(registry));
  }

  /**
   * The fix: an {@link AdaptiveBulkhead} between 2 and 50 concurrent calls, and a 1-second
   * timeout on each request so that a stalled call ends and teaches the bulkhead to shrink.
   */
  static Caller adaptive() {
    return adaptive(null);
  }

  /** {@link #adaptive()}, its bulkhead bound to {@code registry} unless that is null. */
  static Caller adaptive(MeterRegistry registry) {
    AdaptiveBulkhead bulkhead = AdaptiveBulkhead.builder()
        .name("partner-api")
        .minLimit(2)
        .maxLimit(50)
        .initialLimit(20)
        .latencyTarget(Duration.ofMillis(250))
        .latencyTolerance(4.0)
        .callTimeout(Duration.ofSeconds(1))
        .dropWhen(failure -> failure instanceof HttpTimeoutException || failure instanceof TimeoutException)
        .listener(registry == null ? EventListener.noop() : new MetricsListener(registry))
        .build();
    if (registry != null) {
      BulkheadMetrics.of(bulkhead).bindTo(registry);
    }
    return new Caller() {
      @Override
      public String name() {
        return "AdaptiveBulkhead + 1 s timeout";
      }

      @Override
      public CompletionStage<HttpResponse<Void>> call(
          Supplier<CompletionStage<HttpResponse<Void>>> upstream) {
        return bulkhead.callAsync(upstream);
      }

      @Override
      public int limit() {
        return bulkhead.limit();
      }

      @Override
      public Duration timeout() {
        return Duration.ofSeconds(1);
      }
    };
  }

  /** The outage: every call goes straight to the upstream and waits as long as it takes. */
  static Caller unprotected() {
    return new Caller() {
      @Override
      public String name() {
        return "no bulkhead, no timeout";
      }

      @Override
      public CompletionStage<HttpResponse<Void>> call(
          Supplier<CompletionStage<HttpResponse<Void>>> upstream) {
        return upstream.get();
      }
    };
  }

  /**
   * Runs one caller against a fresh stub: {@code before} healthy, {@code stall} stalled,
   * {@code after} recovered; then releases everything and waits (bounded) for the calls to end.
   */
  static Summary replay(Plan plan, Caller caller, PrintStream out)
      throws IOException, InterruptedException {
    out.printf(Locale.ROOT, "%n== %s: %d calls/s; the upstream stalls from %.1f s to %.1f s ==%n",
        caller.name(), plan.ratePerSecond(), seconds(plan.before()), seconds(plan.before().plus(plan.stall())));
    out.println("     t  upstream   offered/s  ok/s  rejected/s  failed/s  in flight  limit");
    AtomicLong offered = new AtomicLong();
    AtomicLong succeeded = new AtomicLong();
    AtomicLong rejected = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxInFlight = new AtomicInteger();
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "runaway-load");
      thread.setDaemon(true);
      return thread;
    });
    int inFlightAtStallEnd;
    try (StubUpstream upstream = StubUpstream.start(50)) {
      HttpClient client = HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .executor(Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "runaway-client");
            thread.setDaemon(true);
            return thread;
          }))
          .build();
      HttpRequest.Builder builder = HttpRequest.newBuilder(upstream.api()).GET();
      if (caller.timeout() != null) {
        builder.timeout(caller.timeout());
      }
      HttpRequest request = builder.build();
      Supplier<CompletionStage<HttpResponse<Void>>> call =
          () -> client.sendAsync(request, HttpResponse.BodyHandlers.discarding());
      // Calls are started in 10 ms ticks, carrying the fractional remainder, at the planned rate.
      long tickNanos = 10_000_000L;
      double perTick = plan.ratePerSecond() * (tickNanos / 1e9);
      double[] owed = {0};
      Runnable tick = () -> {
        owed[0] += perTick;
        while (owed[0] >= 1) {
          owed[0] -= 1;
          offered.incrementAndGet();
          int now = inFlight.incrementAndGet();
          maxInFlight.accumulateAndGet(now, Math::max);
          CompletionStage<HttpResponse<Void>> stage;
          try {
            stage = caller.call(call);
          } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
          }
          stage.whenComplete((response, failure) -> {
            inFlight.decrementAndGet();
            if (failure == null) {
              succeeded.incrementAndGet();
            } else if (isRejection(failure)) {
              rejected.incrementAndGet();
            } else {
              failed.incrementAndGet();
            }
          });
        }
      };
      // Warm the client and the stub (connections, JIT) so the first second is not a cold start.
      HttpRequest warm = HttpRequest.newBuilder(upstream.api()).GET().build();
      for (int i = 0; i < 20; i++) {
        client.sendAsync(warm, HttpResponse.BodyHandlers.discarding()).join();
      }
      long stallAt = plan.before().toNanos();
      long recoverAt = plan.before().plus(plan.stall()).toNanos();
      long end = plan.total().toNanos();
      AtomicInteger atStallEnd = new AtomicInteger(-1);
      long start = System.nanoTime();
      ticker.scheduleAtFixedRate(tick, 0, tickNanos, TimeUnit.NANOSECONDS);
      ticker.schedule(upstream::stall, stallAt, TimeUnit.NANOSECONDS);
      ticker.schedule(() -> {
        atStallEnd.set(inFlight.get());
        upstream.recover();
      }, recoverAt, TimeUnit.NANOSECONDS);
      long step = 500_000_000L;
      long[] last = {0, 0, 0, 0};
      for (long t = step; t <= end; t += step) {
        long wait = t - (System.nanoTime() - start);
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
        long[] totals = {offered.get(), succeeded.get(), rejected.get(), failed.get()};
        double span = step / 1e9;
        out.printf(Locale.ROOT, "%6.1f  %-9s  %9.0f  %4.0f  %10.0f  %8.0f  %9d  %5s%n",
            t / 1e9,
            upstream.isStalled() ? "STALLED" : "ok",
            (totals[0] - last[0]) / span,
            (totals[1] - last[1]) / span,
            (totals[2] - last[2]) / span,
            (totals[3] - last[3]) / span,
            inFlight.get(),
            caller.limit() < 0 ? "-" : Integer.toString(caller.limit()));
        last = totals;
      }
      ticker.shutdownNow();
      ticker.awaitTermination(5, TimeUnit.SECONDS);
      inFlightAtStallEnd = atStallEnd.get() < 0 ? inFlight.get() : atStallEnd.get();
      // Let the released calls finish, for a bounded while, before the stub goes away.
      long drainUntil = System.nanoTime() + 5_000_000_000L;
      while (inFlight.get() > 0 && System.nanoTime() < drainUntil) {
        TimeUnit.MILLISECONDS.sleep(20);
      }
    } finally {
      ticker.shutdownNow();
    }
    return new Summary(caller.name(), offered.get(), succeeded.get(), rejected.get(), failed.get(),
        maxInFlight.get(), inFlightAtStallEnd, inFlight.get());
  }

  private static boolean isRejection(Throwable failure) {
    Throwable cause = failure;
    while (cause != null) {
      if (cause instanceof dev.shepherd.core.RejectedException) {
        return true;
      }
      cause = cause.getCause();
    }
    return false;
  }

  private static double seconds(Duration duration) {
    return duration.toNanos() / 1e9;
  }
}
