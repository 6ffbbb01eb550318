package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import net.jqwik.api.Example;

/**
 * Fleet spread: 10,000 clients fail at one instant and each takes its first delay (or a delay deep
 * in the capped regime). Full jitter must spread them uniformly over the window; the checks and
 * their thresholds are in {@link FleetStatistics}. Each example makes one statistical check whose
 * false-failure probability is below 1e-9 (derivation there). The clients' generators are split from one fixed
 * master seed, so every run sees the same fleet.
 *
 * <p>The second half shows the checks are not vacuous: they reject the clustered fleets of an
 * unjittered exponential policy, of equal jitter and gRPC's ±20 %, of a policy that clamps jitter
 * to the cap, and of a fleet where one client in ten stampedes at one instant.
 */
class FleetSpreadProperties {

  private static final int CLIENTS = 10_000;
  private static final int SLICES = 50;
  /** The window W: 30 s minus 1 ns, so W + 1 = 50 slices of exactly 600 ms. */
  private static final long WINDOW = 30_000_000_000L - 1;
  private static final double ALPHA_SLICES = 1e-9; // union over 50 slices: 8.1e-10 < 1e-9
  private static final double ALPHA_KS = 5e-10; // DKW-Massart: at most 5e-10 < 1e-9
  private static final long MASTER_SEED = 0x5EED_2026_1121L;

  /** The first delay of each of {@code CLIENTS} clients, each with its own generator. */
  private static long[] fleet(Function<RandomGenerator, Backoff.Schedule> start) {
    return fleet(MASTER_SEED, start);
  }

  private static long[] fleet(long masterSeed, Function<RandomGenerator, Backoff.Schedule> start) {
    SplittableRandom master = new SplittableRandom(masterSeed);
    long[] delays = new long[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
      delays[i] = start.apply(master.split()).nextDelayNanos();
    }
    return delays;
  }

  private static long[] firstRetries(Backoff backoff) {
    return fleet(backoff::start);
  }

  @Example
  void theSliceBoundComesFromTheExactBinomialTail() {
    // P(Bin(10000, 1/50) > 299) = 1.62e-11; times 50 slices = 8.1e-10 < 1e-9.
    double[] tail = FleetStatistics.binomialUpperTails(CLIENTS, 1.0 / SLICES);
    assertEquals(1.6178783967e-11, tail[300], 1e-19);
    assertTrue(SLICES * tail[300] < 1e-9);
    assertTrue(SLICES * tail[299] > 1e-9, "298 would be too tight");
    assertEquals(299, FleetStatistics.sliceBound(CLIENTS, SLICES, ALPHA_SLICES));
    // The Chernoff bound agrees, more loosely.
    assertEquals(306, FleetStatistics.chernoffSliceBound(CLIENTS, SLICES, ALPHA_SLICES));
    // KS: 2 exp(-2 x^2) = 5e-10 at x = 3.3249, i.e. D <= 0.033249 for N = 10,000.
    assertEquals(0.0332487, FleetStatistics.ksThreshold(CLIENTS, ALPHA_KS), 1e-7);
  }

  @Example
  void fullJitterPutsNoMoreThanTheBinomialBoundOfTheFleetInAnySliceOfTheFirstWindow() {
    long[] delays = firstRetries(Backoff.fullJitter(Duration.ofNanos(WINDOW), Duration.ofHours(1)));
    int max = FleetStatistics.maxSliceCount(delays, WINDOW, SLICES);
    int bound = FleetStatistics.sliceBound(CLIENTS, SLICES, ALPHA_SLICES); // 299
    assertTrue(max <= bound, "busiest slice received " + max + " of 10,000 clients (ideal 200, bound " + bound + ")");
  }

  @Example
  void fullJitterFirstDelaysPassKolmogorovSmirnovAgainstTheUniformLaw() {
    long[] delays = firstRetries(Backoff.fullJitter(Duration.ofNanos(WINDOW), Duration.ofHours(1)));
    double d = FleetStatistics.ksDistance(delays, WINDOW);
    assertTrue(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS), "KS distance " + d);
  }

  /** Deep in the capped regime (retry 2^31 - 8) every ceiling is the cap: delays uniform on [0, cap]. */
  private static long[] cappedFleet() {
    FullJitterBackoff backoff = (FullJitterBackoff) Backoff.fullJitter(Duration.ofMillis(10), Duration.ofNanos(WINDOW));
    // Its own master seed: a different fleet from the first-retry one (same window, same law).
    return fleet(MASTER_SEED + 1, random -> backoff.startAt(Integer.MAX_VALUE - 8, random));
  }

  @Example
  void aCappedFullJitterFleetPutsNoMoreThanTheBinomialBoundInAnySliceOfTheCap() {
    long[] delays = cappedFleet();
    int max = FleetStatistics.maxSliceCount(delays, WINDOW, SLICES);
    assertTrue(max <= FleetStatistics.sliceBound(CLIENTS, SLICES, ALPHA_SLICES), "busiest slice received " + max);
  }

  @Example
  void aCappedFullJitterFleetPassesKolmogorovSmirnovOverTheWholeCap() {
    long[] delays = cappedFleet();
    assertTrue(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS),
        "KS distance " + FleetStatistics.ksDistance(delays, WINDOW));
  }

  @Example
  void decorrelatedJitterV2FirstDelaysDoNotCollapseOntoFewInstants() {
    // V2's first delay is not uniform (no KS here), but it is continuous: among 10,000 draws over
    // about 4e10 nanoseconds the expected number of collisions is about 0.001.
    long[] delays = firstRetries(Backoff.decorrelatedJitterV2(Duration.ofNanos(WINDOW), Duration.ofHours(1)));
    long distinct = Arrays.stream(delays).distinct().count();
    assertTrue(distinct >= CLIENTS - 10, "distinct first delays: " + distinct);
  }

  // ---- The checks are not vacuous: they reject clustered fleets. ----

  @Example
  void theChecksRejectAnUnjitteredExponentialFleet() {
    long[] delays = firstRetries(Backoff.exponential(Duration.ofNanos(WINDOW), 2, Duration.ofHours(1)));
    assertEquals(CLIENTS, FleetStatistics.maxSliceCount(delays, WINDOW, SLICES)); // all in one instant
    assertFalse(FleetStatistics.slicesPass(delays, WINDOW, SLICES, ALPHA_SLICES));
    assertFalse(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS));
  }

  @Example
  void theChecksRejectEqualJitterWhichLeavesTheFirstHalfOfTheWindowEmpty() {
    long[] delays = firstRetries(Backoff.equalJitter(Duration.ofNanos(WINDOW), Duration.ofHours(1)));
    assertFalse(FleetStatistics.slicesPass(delays, WINDOW, SLICES, ALPHA_SLICES)); // ~400 per slice
    assertFalse(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS)); // D near 0.5
  }

  @Example
  void theChecksRejectGrpcsTwentyPercentJitterAroundTheCentre() {
    // Centre W / 1.2: delays spread over [2/3 W, W], a third of the window.
    GrpcConfig config = GrpcConfig.builder().initialBackoff(Duration.ofNanos(WINDOW * 5 / 6)).build();
    long[] delays = firstRetries(Backoff.grpc(config));
    assertFalse(FleetStatistics.slicesPass(delays, WINDOW, SLICES, ALPHA_SLICES));
    assertFalse(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS));
  }

  @Example
  void theChecksRejectAFleetWhoseJitterIsClampedToTheCap() {
    // The peer's trap: min(cap, d * U[0.8, 1.2]) with d = cap puts half the fleet exactly on cap.
    long[] delays = fleet(random -> () -> Math.min(WINDOW, (long) (WINDOW * (0.8 + 0.4 * random.nextDouble()))));
    assertFalse(FleetStatistics.slicesPass(delays, WINDOW, SLICES, ALPHA_SLICES));
    assertFalse(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS));
  }

  @Example
  void theChecksRejectAFleetWhereOneClientInTenStampedes() {
    Backoff fullJitter = Backoff.fullJitter(Duration.ofNanos(WINDOW), Duration.ofHours(1));
    long[] delays = firstRetries(fullJitter);
    for (int i = 0; i < CLIENTS; i += 10) {
      delays[i] = WINDOW / 2; // 1,000 clients at one instant, on top of ~180 uniform ones
    }
    assertFalse(FleetStatistics.slicesPass(delays, WINDOW, SLICES, ALPHA_SLICES));
    assertFalse(FleetStatistics.ksPasses(delays, WINDOW, ALPHA_KS)); // D near 0.1 > 0.033
  }
}
