package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.examples.RunawayReplay.Plan;
import dev.shepherd.examples.RunawayReplay.Result;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The second outage's replay on its default plan (200 requests/s, a ten-minute stall, the quota at
 * 18,000 a minute, seed 42): the numbers the README quotes. Each caller runs once for all the tests;
 * a run is deterministic, so every assertion is about a count of the simulation, never about time
 * on the machine.
 */
class RunawayUpstreamTest {

  private static final long SECOND = RunawayReplay.SECOND;
  private static final Plan PLAN = Plan.defaults();
  /** The platform's per-instance concurrency and cap. */
  private static final int CONCURRENCY = PLAN.tier().concurrency();
  private static final int CAP = PLAN.tier().maxInstances();
  /** Shepherd's bulkhead per instance: its maximum and minimum limits (RunawayCallers.shepherd). */
  private static final int BULKHEAD_MAX = 40;
  private static final int BULKHEAD_MIN = 2;

  private static Result unprotected;
  private static Result timeoutOnly;
  private static Result shepherd;

  @BeforeAll
  static void replay() {
    unprotected = RunawayReplay.run(PLAN, RunawayCallers.unprotected());
    timeoutOnly = RunawayReplay.run(PLAN, RunawayCallers.timeoutOnly());
    shepherd = RunawayReplay.run(PLAN, RunawayCallers.shepherd());
  }

  @Test
  void shepherdsCallerKeepsCallsInFlightAndInstancesBoundedAndRecoversWithinAMinute() {
    // Instances: the bulkhead's maximum (40) is below the 48 per instance at which the platform
    // scales out, so the tier never leaves its minimum of 2 (one more is the bound asserted).
    assertTrue(shepherd.maxInstances() <= PLAN.tier().minInstances() + 1, "instances " + shepherd.maxInstances());
    // Calls in flight: never above the bulkheads' maximum on the instances there were.
    assertTrue(shepherd.maxInFlight() <= shepherd.maxInstances() * BULKHEAD_MAX, "in flight " + shepherd.maxInFlight());
    // Once the stall's first minute is over, every bulkhead sits at its minimum: 2 per instance.
    for (RunawayReplay.Minute m : shepherd.timeline()) {
      if (m.stalled() && m.minute() > PLAN.beforeNanos() / (60 * SECOND)) {
        assertTrue(m.maxInFlight() <= shepherd.maxInstances() * BULKHEAD_MIN, "minute " + m);
      }
    }
    // The cost stays that of the minimum tier: at most 3 instances for the 20 minutes and the drain.
    assertTrue(shepherd.instanceMinutes() <= 3 * 21.0, "instance-minutes " + shepherd.instanceMinutes());
    assertEquals(0, shepherd.tooMany(), "it never reaches the provider's quota");
    assertEquals(0, shepherd.late(), "no call answered after its user left");
    assertTrue(shepherd.recovered() && shepherd.recoveryNanos() <= 60 * SECOND,
        "recovered after " + shepherd.recoveryNanos() / 1e9 + " s");
    assertEquals(0, shepherd.unfinished());
  }

  @Test
  void theUnprotectedCallerScalesOutToThePlatformsCapAndFloodsTheProviderOnItsReturn() {
    // Every hanging call holds a slot: the tier grows until the platform's cap, then it refuses.
    assertEquals(CAP, unprotected.maxInstances());
    assertEquals(CAP * CONCURRENCY, unprotected.maxInFlight());
    assertTrue(unprotected.platformRefused() > 0);
    assertTrue(unprotected.maxInFlight() >= 500 * shepherd.maxInFlight());
    assertTrue(unprotected.instanceMinutes() >= 100 * shepherd.instanceMinutes());
    // On its return the API works through the calls it holds: a window's quota goes to users who
    // left ten minutes ago (late), the rest and their retries are answered 429.
    assertEquals(PLAN.quotaPerMinute(), unprotected.late());
    assertTrue(unprotected.tooMany() > 2 * PLAN.quotaPerMinute(), "429s " + unprotected.tooMany());
    assertEquals(0, unprotected.unfinished());
  }

  @Test
  void theTimeoutOnlyCallerRecoversAtOnceButScalesOutInBetween() {
    assertTrue(timeoutOnly.recovered() && timeoutOnly.recoveryNanos() <= 60 * SECOND);
    assertTrue(shepherd.maxInFlight() * 50 < timeoutOnly.maxInFlight(), "in flight " + timeoutOnly.maxInFlight());
    assertTrue(timeoutOnly.maxInFlight() * 5 < unprotected.maxInFlight());
    assertTrue(shepherd.maxInstances() * 20 < timeoutOnly.maxInstances(), "instances " + timeoutOnly.maxInstances());
    assertTrue(timeoutOnly.maxInstances() * 5 < unprotected.maxInstances());
    assertTrue(shepherd.instanceMinutes() * 20 < timeoutOnly.instanceMinutes());
    assertTrue(timeoutOnly.instanceMinutes() * 4 < unprotected.instanceMinutes());
    // Three attempts of 10 s each per request during the stall: the dead API gets three calls per
    // user request, two more than it would have (1.5 is the bound asserted), and every one is wasted.
    double stallRequests = PLAN.ratePerSecond() * PLAN.stallNanos() / SECOND;
    assertTrue(timeoutOnly.apiRequests() - timeoutOnly.requests() > 1.5 * stallRequests,
        "API requests " + timeoutOnly.apiRequests() + " for " + timeoutOnly.requests());
  }

  @Test
  void theErrorRateAlertFiresWithinTwoMinutesForTimeoutsAndRefusalsButLateForHangingCalls() {
    assertTrue(shepherd.alerted() && shepherd.alertAfterStallNanos() <= 120 * SECOND);
    assertTrue(timeoutOnly.alerted() && timeoutOnly.alertAfterStallNanos() <= 120 * SECOND);
    // Hanging calls complete nothing; only the platform's refusals at its cap trip the alert.
    assertTrue(unprotected.alerted() && unprotected.alertAfterStallNanos() > 300 * SECOND,
        "alert at " + unprotected.alertAfterStallNanos() / 1e9);
  }

  @Test
  void theSameSeedGivesTheSameNumbers() {
    Result again = RunawayReplay.run(PLAN, RunawayCallers.shepherd());
    assertEquals(RunawayUpstream.row(shepherd), RunawayUpstream.row(again));
    assertArrayEquals(shepherd.timeline(), again.timeline());
  }

  @Test
  void underAQuotaBelowDemandShepherdsCallerHonoursRetryAfterInsteadOfHammering() {
    // 150 requests/s of quota for 200/s of demand, a one-minute stall: everyone meets 429s.
    Plan tight = new Plan(200, 60 * SECOND, 60 * SECOND, 180 * SECOND, 42L, 9_000, PLAN.patienceNanos(),
        PLAN.pricePerInstanceMinute(), PLAN.tier());
    Result naive = RunawayReplay.run(tight, RunawayCallers.unprotected());
    Result held = RunawayReplay.run(tight, RunawayCallers.shepherd());
    assertTrue(held.tooMany() * 5 < naive.tooMany(), "429s: " + held.tooMany() + " vs " + naive.tooMany());
    // The retry budget's bound (ratio 0.2 of first attempts, plus 10 retries a second per
    // instance): retries can never multiply the load.
    long seconds = tight.totalNanos() / SECOND + 60;
    assertTrue(held.apiRequests() <= 1.2 * held.requests() + 10 * seconds * held.maxInstances(),
        "API requests " + held.apiRequests() + " for " + held.requests());
  }

  @Test
  void theMetricsEndpointServesTheRunsMeters() throws Exception {
    Plan shortPlan = new Plan(200, 30 * SECOND, 60 * SECOND, 60 * SECOND, 42L, PLAN.quotaPerMinute(),
        PLAN.patienceNanos(), PLAN.pricePerInstanceMinute(), PLAN.tier());
    try (MetricsEndpoint metrics = MetricsEndpoint.start()) {
      Result result = RunawayReplay.run(shortPlan, RunawayCallers.shepherd(), metrics.registry(), second -> { });
      // Micrometer holds meters' objects weakly: a collection before the scrape must not lose them.
      System.gc();
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(metrics.uri())
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode());
      Map<String, Double> scrape = MetricsScrapeTest.parse(response.body());
      assertEquals(result.failed(), MetricsScrapeTest.sum(scrape, "runaway_requests_total",
          "caller=\"Shepherd\"", "outcome=\"failed\""));
      assertEquals(result.ok(), MetricsScrapeTest.sum(scrape, "runaway_requests_total",
          "caller=\"Shepherd\"", "outcome=\"ok\""));
      // The bulkheads' refusals, which the ShepherdBulkheadRefusing rule watches.
      assertTrue(MetricsScrapeTest.sum(scrape, "shepherd_bulkhead_rejected_total", "name=\"partner-api\"") > 0,
          response.body());
    }
  }

  @Test
  void theDemoPrintsATimelinePerCallerAndTheTable() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    int status = RunawayUpstream.run(new String[] {"--before", "0.5", "--stall", "1", "--after", "1"}, out,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertEquals(0, status);
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(text.startsWith("metrics: http://127.0.0.1:"), text);
    assertTrue(text.contains("STALLED") && text.contains(RunawayUpstream.header()), text);
    for (RunawayCallers.Caller caller : RunawayCallers.all()) {
      assertTrue(text.contains("== " + caller.name() + " =="), text);
      assertTrue(text.lines().anyMatch(line -> line.startsWith(caller.name() + " ")), text);
    }
  }

  @Test
  void badOptionsExitWithTwo() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = RunawayUpstream.run(new String[] {"--rate", "fast"}, new PrintStream(new ByteArrayOutputStream(),
        true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, status);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--rate"));
  }
}
