package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The throttle's rejection probability follows the SRE formula over generated traces, and in a
 * simulated outage a fleet of 10,000 throttled clients sends the backend what the formula allows.
 */
class AdaptiveThrottleProperties {

  record Config(double k, int buckets, long bucketNanos, double maxReject, int minRequests) {}

  /** ADVANCE moves the clock by {@code value} ns; REQUEST draws {@code value / 1000.0}, then maybe an accept. */
  record Step(boolean advance, long value, boolean accepted) {}

  @Provide
  Arbitrary<Config> configs() {
    return Combinators.combine(Arbitraries.of(1.0, 1.5, 2.0, 3.0), Arbitraries.integers().between(1, 5),
        Arbitraries.longs().between(1, 40), Arbitraries.of(0.0, 0.5, 0.9, 0.99), Arbitraries.integers().between(0, 6))
        .as(Config::new);
  }

  @Provide
  Arbitrary<List<Step>> traces() {
    Arbitrary<Step> advance = Arbitraries.longs().between(0, 60).map(n -> new Step(true, n, false));
    Arbitrary<Step> request = Combinators.combine(Arbitraries.longs().between(0, 999), Arbitraries.of(true, false))
        .as((u, a) -> new Step(false, u, a));
    return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, advance), net.jqwik.api.Tuple.of(5, request))
        .list().ofMaxSize(300);
  }

  @Property(tries = 400)
  void everyDecisionFollowsTheFormulaOverTheWindow(@ForAll("configs") Config c, @ForAll("traces") List<Step> trace) {
    ManualClock clock = ManualClock.startingAt(-123_456_789L, false);
    ScriptedRandom random = new ScriptedRandom();
    long windowNanos = c.bucketNanos() * c.buckets();
    // The rate that makes minRequestRate × window exactly minRequests, computed as the builder does.
    double rate = c.minRequests() / (windowNanos / 1e9);
    AdaptiveThrottle throttle = AdaptiveThrottle.builder().k(c.k()).window(Duration.ofNanos(windowNanos), c.buckets())
        .maxRejectProbability(c.maxReject()).minRequestRate(rate).ticker(clock).random(random)
        .listener(EventListener.noop()).build();
    double minRequests = rate * (windowNanos / 1e9);
    long origin = clock.read();
    List<long[]> requests = new ArrayList<>(); // bucket of each request
    List<long[]> accepts = new ArrayList<>();
    long rejected = 0;
    for (Step step : trace) {
      if (step.advance()) {
        clock.advanceNanos(step.value());
        continue;
      }
      long bucket = (clock.read() - origin) / c.bucketNanos();
      long first = bucket - c.buckets() + 1;
      long r = requests.stream().filter(b -> b[0] >= first).count();
      long a = accepts.stream().filter(b -> b[0] >= first).count();
      double p = r < minRequests ? 0 : Math.min(c.maxReject(), Math.max(0, (r - c.k() * a) / (r + 1.0)));
      assertEquals(p, throttle.rejectionProbability(), () -> "p with " + r + " requests, " + a + " accepts");
      assertEquals(r, throttle.requests());
      assertEquals(a, throttle.accepts());

      random.next = step.value() / 1000.0;
      int drawsBefore = random.draws;
      boolean sent = throttle.tryAcquire();
      assertEquals(p > 0 ? 1 : 0, random.draws - drawsBefore, "a draw exactly when p > 0");
      assertEquals(!(p > 0 && random.next < p), sent, () -> "decision with p = " + p + ", draw " + random.next);
      requests.add(new long[] {bucket});
      if (!sent) {
        rejected++;
      } else if (step.accepted()) {
        throttle.onAccepted();
        accepts.add(new long[] {bucket});
      }
      assertEquals(rejected, throttle.rejected());
    }
  }

  // ------------------------------------------------------------------------------------------------
  // A fleet in an outage.
  //
  // 10,000 clients each send one request every 500 ms (each with its own phase, in whole ms) to a
  // backend that refuses everything. Each throttle: K = 2, a 10 s window in 10 buckets of 1 s,
  // maxRejectProbability 0.9, minRequestRate 0.1/s (1 request in the window).
  //
  // Warm-up: in the first 10 s a client's window fills up. From t = 10 s on, every window holds
  // the client's requests of the last 9 to 10 s: at least 18, so r/(r+1) ≥ 18/19 > 0.9 and, with no
  // accept ever, every request is rejected with probability exactly p = 0.9, independently (each
  // client has its own generator, and nothing the backend does feeds back). In a measurement window
  // of 10 s the fleet sends R = 10,000 × 20 = 200,000 requests; those reaching the backend are
  // Binomial(R, 0.1): mean 20,000 = max(K × accepts, (1 − 0.9) × R), since accepts = 0, and variance
  // σ² = R × 0.1 × 0.9 = 18,000. Bernstein's inequality bounds either tail:
  //   P(|X − mean| ≥ t) ≤ 2 exp(−t² / (2(σ² + t/3))).
  // With t = 950 that is 2 × 1.02e-10 per window; over the 3 windows measured, 6.1e-10 < 1e-9 (see
  // theSlackComesFromBernsteinsInequality). So a correct throttle stays within the bound plus 950,
  // and keeps probing at no less than the bound minus 950, failing less than once in a billion runs.
  // ------------------------------------------------------------------------------------------------

  private static final int CLIENTS = 10_000;
  private static final int PERIOD_MS = 500;
  private static final int WINDOW_MS = 10_000;
  private static final int MEASURED_WINDOWS = 3;
  private static final double K = 2.0;
  private static final double MAX_REJECT = 0.9;
  private static final long SLACK = 950;

  @Example
  void theSlackComesFromBernsteinsInequality() {
    double requests = CLIENTS * (WINDOW_MS / PERIOD_MS);
    double variance = requests * (1 - MAX_REJECT) * MAX_REJECT;
    double oneTail = Math.exp(-SLACK * (double) SLACK / (2 * (variance + SLACK / 3.0)));
    assertTrue(2 * MEASURED_WINDOWS * oneTail < 1e-9, "failure probability " + 2 * MEASURED_WINDOWS * oneTail);
  }

  @Property(tries = 2, seed = "20261201")
  void inAnOutageTheFleetSendsWhatTheFormulaAllowsAndKeepsProbing(@ForAll long masterSeed) {
    ManualClock clock = new ManualClock();
    SplittableRandom master = new SplittableRandom(masterSeed);
    AdaptiveThrottle[] fleet = new AdaptiveThrottle[CLIENTS];
    List<List<Integer>> byPhase = new ArrayList<>();
    for (int ms = 0; ms < PERIOD_MS; ms++) {
      byPhase.add(new ArrayList<>());
    }
    for (int i = 0; i < CLIENTS; i++) {
      fleet[i] = AdaptiveThrottle.builder().k(K).window(Duration.ofMillis(WINDOW_MS), 10)
          .maxRejectProbability(MAX_REJECT).minRequestRate(0.1).ticker(clock).random(master.split())
          .listener(EventListener.noop()).build();
      byPhase.get(master.nextInt(PERIOD_MS)).add(i);
    }
    long[] requests = new long[1 + MEASURED_WINDOWS];
    long[] reached = new long[1 + MEASURED_WINDOWS];
    long accepts = 0; // the backend is down: nothing is ever accepted
    for (int ms = 0; ms < WINDOW_MS * (1 + MEASURED_WINDOWS); ms++) {
      int window = ms / WINDOW_MS;
      for (int client : byPhase.get(ms % PERIOD_MS)) {
        requests[window]++;
        if (fleet[client].tryAcquire()) {
          reached[window]++; // refused by the backend: no onAccepted()
        }
      }
      clock.advance(Duration.ofMillis(1));
    }
    for (int w = 1; w <= MEASURED_WINDOWS; w++) {
      double allowed = Math.max(K * accepts, (1 - MAX_REJECT) * requests[w]);
      assertEquals(CLIENTS * (WINDOW_MS / PERIOD_MS), requests[w]);
      long got = reached[w];
      int at = w;
      assertTrue(got <= allowed + SLACK, () -> "window " + at + ": " + got + " reached the backend, bound " + allowed);
      assertTrue(got >= allowed - SLACK, () -> "window " + at + ": only " + got + " probes, expected about " + allowed);
    }
    assertTrue(reached[0] > reached[1], "the warm-up window lets more through, as its windows fill");
  }

  // ------------------------------------------------------------------------------------------------
  // A fleet in a partial outage.
  //
  // The same fleet and schedule, but the backend accepts each request that reaches it with
  // probability 1/4 (below 1/K: the throttle does reject). Now accepts feed back, and each client's
  // rejection probability moves with its own window. The guarantee is per request: given the
  // window's r requests (r ≥ the minimum) and a accepts before it, a request reaches the backend with
  // probability exactly
  //   P = max(1 − maxRejectProbability, min(1, (1 + K × a) / (r + 1))),
  // and for a client that sends n requests in a window, each with at least r0 requests and at most
  // a0 accepts in its window, that is at most n × max(1 − maxP, (1 + K × a0) / (r0 + 1)): the
  // closed-form bound the javadoc states.
  //
  // The test reads r and a before every decision and sums both sides over each window of 10 s.
  // reached − ΣP is a martingale with steps in [−1, 1] and conditional variance at most R/4 for R
  // requests, so Freedman's inequality bounds either tail by exp(−t² / (2(R/4 + t/3))); with
  // R = 200,000 and t = 1,520 that is 1.5e-10 per tail, and 9.1e-10 < 1e-9 over the two tails of 3
  // windows (theFreedmanSlackIsBelowOneInABillion). Every bound below follows from P (or from
  // P ≥ 1 − maxP), so a correct throttle fails this test less than once in a billion runs.
  // ------------------------------------------------------------------------------------------------

  private static final double ACCEPTED_SHARE = 0.25;
  private static final long FREEDMAN_SLACK = 1_520;

  @Example
  void theFreedmanSlackIsBelowOneInABillion() {
    double requests = CLIENTS * (WINDOW_MS / PERIOD_MS);
    double t = FREEDMAN_SLACK;
    double oneTail = Math.exp(-t * t / (2 * (requests / 4 + t / 3)));
    assertTrue(2 * MEASURED_WINDOWS * oneTail < 1e-9, "failure probability " + 2 * MEASURED_WINDOWS * oneTail);
  }

  @Property(tries = 2, seed = "20261202")
  void inAPartialOutageEachClientSendsWhatItsOwnWindowAllows(@ForAll long masterSeed) {
    ManualClock clock = new ManualClock();
    SplittableRandom master = new SplittableRandom(masterSeed);
    SplittableRandom backend = master.split();
    AdaptiveThrottle[] fleet = new AdaptiveThrottle[CLIENTS];
    List<List<Integer>> byPhase = new ArrayList<>();
    for (int ms = 0; ms < PERIOD_MS; ms++) {
      byPhase.add(new ArrayList<>());
    }
    for (int i = 0; i < CLIENTS; i++) {
      fleet[i] = AdaptiveThrottle.builder().k(K).window(Duration.ofMillis(WINDOW_MS), 10)
          .maxRejectProbability(MAX_REJECT).minRequestRate(0.1).ticker(clock).random(master.split())
          .listener(EventListener.noop()).build();
      byPhase.get(master.nextInt(PERIOD_MS)).add(i);
    }
    int windows = 1 + MEASURED_WINDOWS;
    long[] requests = new long[windows];
    long[] reached = new long[windows];
    long[] accepted = new long[windows];
    double[] expected = new double[windows]; // ΣP
    long[][] sent = new long[windows][CLIENTS];
    long[][] fewestRequests = new long[windows][CLIENTS];
    long[][] mostAccepts = new long[windows][CLIENTS];
    for (long[] w : fewestRequests) {
      java.util.Arrays.fill(w, Long.MAX_VALUE);
    }
    for (int ms = 0; ms < WINDOW_MS * windows; ms++) {
      int w = ms / WINDOW_MS;
      for (int client : byPhase.get(ms % PERIOD_MS)) {
        AdaptiveThrottle throttle = fleet[client];
        long r = throttle.requests();
        long a = throttle.accepts();
        double p = r < 1 ? 1 : Math.max(1 - MAX_REJECT, Math.min(1, (1 + K * a) / (r + 1.0)));
        expected[w] += p;
        requests[w]++;
        sent[w][client]++;
        fewestRequests[w][client] = Math.min(fewestRequests[w][client], r);
        mostAccepts[w][client] = Math.max(mostAccepts[w][client], a);
        if (throttle.tryAcquire()) {
          reached[w]++;
          if (backend.nextDouble() < ACCEPTED_SHARE) {
            throttle.onAccepted();
            accepted[w]++;
          }
        }
      }
      clock.advance(Duration.ofMillis(1));
    }
    for (int w = 1; w < windows; w++) {
      double closedForm = 0;
      for (int c = 0; c < CLIENTS; c++) {
        double perRequest = Math.max(1 - MAX_REJECT, Math.min(1, (1 + K * mostAccepts[w][c])
            / (fewestRequests[w][c] + 1.0)));
        closedForm += sent[w][c] * perRequest;
      }
      long got = reached[w];
      double sum = expected[w];
      double bound = closedForm;
      double floor = (1 - MAX_REJECT) * requests[w];
      int at = w;
      assertEquals(CLIENTS * (WINDOW_MS / PERIOD_MS), requests[w]);
      assertTrue(Math.abs(got - sum) <= FREEDMAN_SLACK,
          () -> "window " + at + ": " + got + " reached the backend, the per-request law says " + sum);
      assertTrue(got <= bound + FREEDMAN_SLACK, () -> "window " + at + ": " + got + " above the bound " + bound);
      assertTrue(got >= floor - FREEDMAN_SLACK, () -> "window " + at + ": only " + got + ", floor " + floor);
      // What the total-outage bound would allow is not a bound here: each client's share is the larger
      // of its two terms, and the fleet sends the sum of those, well above the larger of the sums.
      double totalOutageBound = Math.max(K * accepted[w], floor);
      assertTrue(got > 1.3 * totalOutageBound, () -> "window " + at + ": " + got + " vs " + totalOutageBound);
    }
  }
}
