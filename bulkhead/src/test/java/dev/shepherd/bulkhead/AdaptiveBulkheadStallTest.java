package dev.shepherd.bulkhead;

import static dev.shepherd.bulkhead.TestSupport.millis;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.bulkhead.UpstreamSimulation.Reply;
import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The runaway-upstream outage, replayed on a {@link dev.shepherd.testing.ManualClock}: an upstream
 * answering in 10 ms slows down 100x, then stops answering (every call times out after 2 s), then
 * recovers. Demand is infinite throughout. The numbers asserted are the bounds stated in
 * {@link AdaptiveBulkhead}'s algorithm section, derived here for this configuration.
 */
class AdaptiveBulkheadStallTest {

  private static final int MIN = 2;
  private static final int MAX = 50;
  private static final int INITIAL = 10;
  private static final long NORMAL = millis(10);
  private static final long SLOW = millis(1_000); // 100x
  private static final long TIMEOUT = millis(2_000);

  /*
   * Bounds, with decreaseFactor 0.9, smoothing 0.1, latencyTolerance 2, all samples congested or
   * all good as the phase dictates (every latency in a phase is equal, and demand keeps the
   * bulkhead full, so the "at least half in use" condition holds for every grant after the first
   * fill):
   *
   * GROW_FROM_INITIAL: (e + 1/e)^2 > e^2 + 2, so n good samples take e^2 above INITIAL^2 + 2n; MAX
   *   is reached within (MAX^2 - INITIAL^2) / 2 = 1200 good samples, plus the first fill's grants
   *   made while less than half the limit was in use (at most INITIAL / 2 = 5 samples).
   * COLLAPSE: from the first slow sample on, the smoothed latency is at least 0.9 * 10 + 0.1 * 1000
   *   = 109 ms > 2 * 10 ms, so every sample multiplies the estimate by 0.9: the limit reaches MIN
   *   within ceil(ln(MAX / MIN) / ln(1 / 0.9)) = ceil(30.55) = 31 samples.
   * RECOVER: the smoothed latency is at most 1000 ms when latency returns to 10 ms; it falls under
   *   2 * 10 ms after ceil(ln(990 / 10) / ln(1 / 0.9)) = ceil(43.6) = 44 samples; from then on
   *   growing from MIN to MAX takes at most (MAX^2 - MIN^2) / 2 = 1248 good samples: 1292 in all.
   */
  private static final int GROW_FROM_INITIAL = 1_200 + INITIAL / 2;
  private static final int COLLAPSE = 31;
  private static final int RECOVER = 44 + 1_248;

  @Test
  void theLimitCollapsesWhenTheUpstreamStallsAndClimbsBackWhenItRecovers() throws Exception {
    UpstreamSimulation sim = new UpstreamSimulation();
    AdaptiveBulkhead bulkhead = AdaptiveBulkhead.builder().name("partner").minLimit(MIN).maxLimit(MAX)
        .initialLimit(INITIAL).latencyTarget(Duration.ofMillis(100)).callTimeout(Duration.ofMillis(2_000))
        .ticker(sim.clock).listener(EventListener.noop()).build();
    sim.use(bulkhead);

    // Phase 1: a healthy upstream. The limit grows to its maximum.
    sim.upstream(now -> Reply.success(NORMAL));
    long healthy = stepsUntil(sim, () -> bulkhead.limit() == MAX, GROW_FROM_INITIAL, "reach MAX");
    assertTrue(healthy <= GROW_FROM_INITIAL);

    // Phase 2a: latency jumps 100x. Count samples from the first slow one.
    sim.upstream(now -> Reply.success(SLOW));
    long jumpedAt = sim.clock.read();
    while (sim.clock.read() < jumpedAt + SLOW) {
      sim.step(); // calls started before the jump still come back fast
    }
    long collapse = stepsUntil(sim, () -> bulkhead.limit() == MIN, COLLAPSE, "fall to MIN");
    assertTrue(collapse <= COLLAPSE, "took " + collapse + " samples");
    // Calls granted under the old limit drain; none is granted above the current limit meanwhile.
    while (sim.clock.read() < jumpedAt + 5 * SLOW) {
      sim.step();
    }
    assertEquals(MIN, bulkhead.limit());
    assertTrue(sim.callsInFlight() <= MIN, "the surplus drained");

    // Phase 2b: the upstream stops answering; every call times out after 2 s, at a steady rate.
    sim.upstream(now -> Reply.timeout(TIMEOUT));
    long refusedBefore = sim.refusals;
    long admittedBefore = sim.admitted;
    sim.maxInFlight = 0;
    long stallStart = sim.clock.read();
    for (int i = 0; i < 200; i++) {
      sim.fill();
      // A caller arriving now is refused at once: no waiting, no time spent.
      long t = sim.clock.read();
      assertThrows(BulkheadFullException.class, () -> bulkhead.call(() -> "never runs"));
      assertEquals(t, sim.clock.read());
      sim.step();
      assertEquals(MIN, bulkhead.limit(), "steady timeouts must hold the limit at its minimum");
    }
    long stallSeconds = (sim.clock.read() - stallStart) / 1_000_000_000L;
    assertTrue(sim.maxInFlight <= MIN, "in flight stayed within the minimum: " + sim.maxInFlight);
    // At most MIN calls per timeout period reached the dead upstream; everyone else was refused.
    assertTrue(sim.admitted - admittedBefore <= MIN * (stallSeconds / 2 + 1));
    assertTrue(sim.refusals - refusedBefore >= 400);

    // Phase 3: the upstream recovers. Stop, let the timed-out calls finish, then resume.
    sim.admitting(false);
    while (sim.callsInFlight() > 0) {
      sim.step();
    }
    sim.admitting(true);
    sim.upstream(now -> Reply.success(NORMAL));
    long recover = stepsUntil(sim, () -> bulkhead.limit() == MAX, RECOVER, "climb back to MAX");
    assertTrue(recover <= RECOVER, "took " + recover + " samples");
    assertTrue(sim.maxInFlight <= MAX);
  }

  /** Steps until {@code reached} holds; fails after {@code bound} samples. Returns the count. */
  private static long stepsUntil(UpstreamSimulation sim, BooleanSupplier reached, int bound,
      String what) {
    long start = sim.samples;
    while (!reached.getAsBoolean()) {
      assertTrue(sim.samples - start < bound, "did not " + what + " within " + bound + " samples");
      sim.step();
    }
    return sim.samples - start;
  }
}
