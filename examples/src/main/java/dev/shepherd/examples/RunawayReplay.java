package dev.shepherd.examples;

import dev.shepherd.core.Ticker;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * The second outage, replayed on a manual clock: users call a service on a serverless
 * {@link ServerlessTier}; the service calls a {@link ThirdPartyApi} that stops answering for a while
 * and then returns; one of {@link RunawayCallers} is the service's code. Deterministic: the same
 * plan and seed give the same numbers, whatever the machine.
 *
 * <h2>What is measured</h2>
 * <ul>
 *   <li>Each user's request ends <b>ok</b> (a 2xx within the user's patience), <b>late</b> (a 2xx
 *       after the user gave up: work nobody waits for) or <b>failed</b> (anything else: a timeout, a
 *       429 the retries did not get past, a refusal by the bulkhead or by the platform).
 *   <li><b>In flight</b>: requests open at the API, as the client sees them.
 *   <li><b>Instances</b> and <b>instance-minutes</b> from the tier; cost at a price per
 *       instance-minute.
 *   <li><b>Alert</b>: the rule {@code UpstreamCallersFailing} of
 *       {@code examples/prometheus/runaway-alerts.yml}, evaluated every 15 s on the service's
 *       completed requests: more than 5 % of those completed in the last minute failed, for one
 *       minute. A request that hangs has not completed, so it counts nowhere, as in any
 *       request-count metric. The time is from the start of the stall.
 *   <li><b>Recovery</b>: from the API's return to the first instant from which every 10-second
 *       window of arriving requests, to the end of the run, had at least 99 % of its requests ok.
 * </ul>
 */
final class RunawayReplay {

  /** One second, in nanoseconds. */
  static final long SECOND = 1_000_000_000L;

  /** Everything a run depends on; times in nanoseconds. */
  record Plan(double ratePerSecond, long beforeNanos, long stallNanos, long afterNanos, long seed,
      int quotaPerMinute, long patienceNanos, double pricePerInstanceMinute, ServerlessTier.Settings tier) {

    /** The defaults: 200 requests/s; 2 min healthy, a 10-minute stall, 8 min after; seed 42. */
    static Plan defaults() {
      return new Plan(200, 120 * SECOND, 600 * SECOND, 480 * SECOND, 42L, 18_000, 10 * SECOND, 0.0015,
          new ServerlessTier.Settings(80, 0.6, 2, 1_000, 3 * SECOND, 10 * SECOND, 300 * SECOND,
              10 * SECOND));
    }

    long totalNanos() {
      return beforeNanos + stallNanos + afterNanos;
    }
  }

  /** One minute of a run, for the timeline: counts by completion, peaks within the minute. */
  record Minute(int minute, boolean stalled, long ok, long late, long failed, long tooMany,
      int maxInFlight, int maxInstances) {}

  /** What one caller's run measured. */
  record Result(String caller, long requests, long ok, long late, long failed, long platformRefused,
      long apiRequests, long tooMany, int maxInFlight, int maxInstances, int maxInFlightDuringStall,
      double instanceMinutes, double cost, long alertAfterStallNanos, long recoveryNanos, long unfinished,
      Minute[] timeline) {

    boolean alerted() {
      return alertAfterStallNanos >= 0;
    }

    boolean recovered() {
      return recoveryNanos >= 0;
    }
  }

  /** After the last arrival the run goes on this long, so every request ends (or is counted open). */
  private static final long DRAIN_NANOS = 60 * SECOND;
  private static final int ALERT_EVERY_SECONDS = 15;
  private static final int ALERT_WINDOW_SECONDS = 60;
  private static final int ALERT_FOR_SECONDS = 60;
  private static final double ALERT_RATIO = 0.05;
  private static final int RECOVERY_WINDOW_SECONDS = 10;
  private static final double RECOVERY_OK_SHARE = 0.99;

  private RunawayReplay() {}

  /** Runs {@code caller} through {@code plan} as fast as the machine goes, without meters. */
  static Result run(Plan plan, RunawayCallers.Caller caller) {
    return run(plan, caller, null, second -> { });
  }

  /**
   * Runs {@code caller} through {@code plan}.
   *
   * @param registry where to publish the run's meters, or null
   * @param pacer called after each simulated second with its number (from 1), before the next
   */
  static Result run(Plan plan, RunawayCallers.Caller caller, MeterRegistry registry, LongConsumer pacer) {
    ManualClock clock = new ManualClock();
    ManualScheduler scheduler = new ManualScheduler(clock);
    SplittableRandom root = new SplittableRandom(plan.seed());
    SplittableRandom arrivals = root.split();
    long stallFrom = plan.beforeNanos();
    long stallUntil = stallFrom + plan.stallNanos();
    ThirdPartyApi api = new ThirdPartyApi(clock, scheduler, root.split(), stallFrom, stallUntil,
        150_000_000L, 50_000_000L, plan.quotaPerMinute(), 60 * SECOND);
    SimulatedHttpClient client = new SimulatedHttpClient(api, scheduler);
    int seconds = (int) ((plan.totalNanos() + DRAIN_NANOS) / SECOND);
    Tally tally = new Tally(clock, seconds, plan.patienceNanos(), caller.name(), registry);
    List<Object> meterOwners = Collections.synchronizedList(new ArrayList<>());
    RunawayCallers.Wiring wiring =
        new RunawayCallers.Wiring(clock, scheduler, client, root.split(), registry, meterOwners::add);
    ServerlessTier tier = new ServerlessTier(plan.tier(), clock, scheduler, caller.code(wiring));
    if (registry != null) {
      // Strong references: the endpoint is scraped after the run returns, and Micrometer would
      // otherwise let the tier, the tally and the callers' bulkheads be collected (NaN, then gone).
      meterOwners.add(tier);
      Gauge.builder("runaway.instances", meterOwners, owners -> tier.instances()).tag("caller", caller.name())
          .description("Instances of the caller tier").strongReference(true).register(registry);
      Gauge.builder("runaway.upstream.in.flight", tally.inFlightGauge, AtomicInteger::get)
          .tag("caller", caller.name()).description("Requests open at the third-party API")
          .strongReference(true).register(registry);
    }

    double meanGap = SECOND / plan.ratePerSecond();
    long next = (long) (-meanGap * StrictMath.log(1.0 - arrivals.nextDouble()));
    long lastArrival = plan.totalNanos();
    int maxInFlightDuringStall = 0;
    long counted429 = 0;
    int[] instancesPerSecond = new int[seconds];
    int[] inFlightPerSecond = new int[seconds];
    long[] tooManyPerSecond = new long[seconds];
    for (int s = 0; s < seconds; s++) {
      long secondEnd = (s + 1) * SECOND;
      while (next < secondEnd && next < lastArrival) {
        clock.advanceNanos(next - clock.read());
        tier.submit(tally.arrive(clock.read()));
        next += (long) (-meanGap * StrictMath.log(1.0 - arrivals.nextDouble()));
      }
      // Sample one nanosecond before the second ends: what happens at a whole second (the API's
      // return, say) belongs to the second it starts.
      clock.advanceNanos(secondEnd - 1 - clock.read());
      int inFlight = client.takeWindowMax();
      inFlightPerSecond[s] = inFlight;
      instancesPerSecond[s] = tier.instances();
      tooManyPerSecond[s] = api.tooManyRequests - counted429;
      counted429 = api.tooManyRequests;
      if (secondEnd > stallFrom && secondEnd - SECOND < stallUntil) {
        maxInFlightDuringStall = Math.max(maxInFlightDuringStall, inFlight);
      }
      tally.inFlightGauge.set(client.open());
      tally.secondEnded(s, tooManyPerSecond[s]);
      pacer.accept(s + 1);
    }

    int stallSecond = (int) (stallFrom / SECOND);
    int returnSecond = (int) (stallUntil / SECOND);
    int lastArrivalSecond = (int) (lastArrival / SECOND);
    Minute[] timeline = tally.timeline(stallFrom, stallUntil, inFlightPerSecond, instancesPerSecond,
        tooManyPerSecond, lastArrivalSecond);
    long alert = tally.alertFiredAt(stallSecond);
    long recovery = tally.recoveredAfter(returnSecond, lastArrivalSecond);
    double instanceMinutes = tier.instanceNanos() / (60.0 * SECOND);
    return new Result(caller.name(), tally.requests, tally.ok, tally.late, tally.failed, tier.refused(),
        api.received, api.tooManyRequests, client.maxOpen(), tier.maxInstances(), maxInFlightDuringStall,
        instanceMinutes, instanceMinutes * plan.pricePerInstanceMinute(), alert, recovery,
        tally.requests - tally.ok - tally.late - tally.failed, timeline);
  }

  /** The counts of one run, by second. */
  private static final class Tally {
    final Ticker clock;
    final long patience;
    final long[] arrived;
    final long[] okByArrival;
    final long[] doneOk;
    final long[] doneLate;
    final long[] doneFailed;
    final AtomicInteger inFlightGauge = new AtomicInteger();
    final Counter okCounter;
    final Counter lateCounter;
    final Counter failedCounter;
    final Counter tooManyCounter;
    long requests;
    long ok;
    long late;
    long failed;

    Tally(Ticker clock, int seconds, long patience, String caller, MeterRegistry registry) {
      this.clock = clock;
      this.patience = patience;
      arrived = new long[seconds];
      okByArrival = new long[seconds];
      doneOk = new long[seconds];
      doneLate = new long[seconds];
      doneFailed = new long[seconds];
      okCounter = counter(registry, caller, "ok");
      lateCounter = counter(registry, caller, "late");
      failedCounter = counter(registry, caller, "failed");
      tooManyCounter = registry == null ? null : Counter.builder("runaway.provider.responses")
          .tag("caller", caller).tag("status", "429").description("The API's 429 answers").register(registry);
    }

    private static Counter counter(MeterRegistry registry, String caller, String outcome) {
      return registry == null ? null : Counter.builder("runaway.requests").tag("caller", caller)
          .tag("outcome", outcome).description("Users' requests, by how they ended").register(registry);
    }

    ServerlessTier.Request arrive(long now) {
      int second = (int) (now / SECOND);
      arrived[second]++;
      requests++;
      return new ServerlessTier.Request() {
        @Override
        public long arrivedAt() {
          return now;
        }

        @Override
        public void finished(Object result, Throwable failure) {
          end(now, result, failure);
        }
      };
    }

    void end(long arrivedAt, Object result, Throwable failure) {
      long now = clock.read();
      int second = (int) Math.min(doneOk.length - 1, now / SECOND);
      boolean success = failure == null && result instanceof HttpResponse
          && ((HttpResponse<?>) result).statusCode() / 100 == 2;
      if (!success) {
        failed++;
        doneFailed[second]++;
        increment(failedCounter);
      } else if (now - arrivedAt <= patience) {
        ok++;
        okByArrival[(int) (arrivedAt / SECOND)]++;
        doneOk[second]++;
        increment(okCounter);
      } else {
        late++;
        doneLate[second]++;
        increment(lateCounter);
      }
    }

    private static void increment(Counter counter) {
      if (counter != null) {
        counter.increment();
      }
    }

    void secondEnded(int second, long tooMany) {
      if (tooManyCounter != null && tooMany > 0) {
        tooManyCounter.increment(tooMany);
      }
    }

    /** Nanoseconds from the stall's start to the alert's first firing, or -1. */
    long alertFiredAt(int stallSecond) {
      int pendingSince = -1;
      for (int t = ALERT_EVERY_SECONDS; t <= doneOk.length; t += ALERT_EVERY_SECONDS) {
        long good = 0;
        long bad = 0;
        for (int s = Math.max(0, t - ALERT_WINDOW_SECONDS); s < t; s++) {
          good += doneOk[s] + doneLate[s];
          bad += doneFailed[s];
        }
        boolean condition = bad + good > 0 && bad > ALERT_RATIO * (bad + good);
        if (!condition) {
          pendingSince = -1;
        } else if (pendingSince < 0) {
          pendingSince = t;
        }
        if (condition && t - pendingSince >= ALERT_FOR_SECONDS) {
          return (t - (long) stallSecond) * SECOND;
        }
      }
      return -1;
    }

    /** Nanoseconds from the API's return to recovery, or -1 if the run ended first. */
    long recoveredAfter(int returnSecond, int lastArrivalSecond) {
      int recoveredAt = -1;
      for (int t = lastArrivalSecond - RECOVERY_WINDOW_SECONDS; t >= returnSecond; t--) {
        long in = 0;
        long good = 0;
        for (int s = t; s < t + RECOVERY_WINDOW_SECONDS; s++) {
          in += arrived[s];
          good += okByArrival[s];
        }
        if (in > 0 && good < RECOVERY_OK_SHARE * in) {
          break;
        }
        recoveredAt = t;
      }
      return recoveredAt < 0 ? -1 : (recoveredAt - (long) returnSecond) * SECOND;
    }

    Minute[] timeline(long stallFrom, long stallUntil, int[] inFlight, int[] instances, long[] tooMany,
        int lastArrivalSecond) {
      int minutes = (lastArrivalSecond + 59) / 60;
      Minute[] rows = new Minute[minutes];
      for (int m = 0; m < minutes; m++) {
        long okSum = 0;
        long lateSum = 0;
        long failedSum = 0;
        long tooManySum = 0;
        int flight = 0;
        int inst = 0;
        for (int s = m * 60; s < Math.min(lastArrivalSecond, (m + 1) * 60); s++) {
          okSum += doneOk[s];
          lateSum += doneLate[s];
          failedSum += doneFailed[s];
          tooManySum += tooMany[s];
          flight = Math.max(flight, inFlight[s]);
          inst = Math.max(inst, instances[s]);
        }
        long start = m * 60 * SECOND;
        boolean stalled = start + 60 * SECOND > stallFrom && start < stallUntil;
        rows[m] = new Minute(m, stalled, okSum, lateSum, failedSum, tooManySum, flight, inst);
      }
      return rows;
    }
  }
}
