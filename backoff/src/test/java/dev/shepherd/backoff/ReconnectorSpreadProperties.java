package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

/**
 * The {@link Reconnector}'s initial spread spreads a fleet: N = 10,000 reconnectors that lost their
 * connection in the same instant, each with its own generator split from one fixed master seed, draw
 * their first wait with {@link Reconnector#initialDelayNanos} (the exact draw the loop makes; see
 * {@code ReconnectorTest.theFirstAttemptFollowsADrawFromTheInitialSpread}).
 *
 * <p>Two checks, with a false-failure budget of 1e-9 for the whole class, split in halves:
 * <ul>
 *   <li><b>No slice is crowded.</b> Cut the window W = [0, 30 s] into 50 slices of W/50. A slice's
 *       count is Binomial(N, p) with p ≤ (W/50 + 1)/(W + 1) (the draw is uniform on the W + 1
 *       nanosecond values 0..W; the last slice also holds W itself), so its mean is 200. We need k
 *       with 50 · P(Bin(N, p) > k) ≤ 5e-10 (union bound over the 50 slices). The exact binomial
 *       tail, computed below in log space, gives k = 301: P(X > 301) = 6.89e-12, so the union is
 *       3.44e-10 ≤ 5e-10, while k = 300 would give 5.29e-10. (A Chernoff bound
 *       P(X ≥ (1+d)μ) ≤ exp(−μd²/(2+d)) would only certify k = 313.) So no slice may exceed 301,
 *       1.5 times the ideal N/50.
 *   <li><b>Kolmogorov–Smirnov.</b> By the Dvoretzky–Kiefer–Wolfowitz inequality with Massart's
 *       constant, P(sup |F_N − F| > ε) ≤ 2·exp(−2Nε²) for any F; setting that to 5e-10 gives
 *       ε = sqrt(ln(2 / 5e-10) / (2N)) = sqrt(22.11 / 20000) = 0.03325. F is the uniform law on the
 *       W + 1 values, which differs from x/W by at most 1/(W + 1) ≈ 3e-11; that is added.
 * </ul>
 * Total false-failure probability ≤ 3.44e-10 + 5e-10 < 1e-9.
 */
class ReconnectorSpreadProperties {

  private static final int N = 10_000;
  private static final int SLICES = 50;
  private static final long W = 30_000_000_000L; // 30 s in nanoseconds
  private static final long MASTER_SEED = 0x5EED_2026_1121L;
  private static final double BUDGET_PER_CHECK = 5e-10;

  private static long[] fleetFirstWaits() {
    SplittableRandom master = new SplittableRandom(MASTER_SEED);
    long[] waits = new long[N];
    for (int i = 0; i < N; i++) {
      waits[i] = Reconnector.initialDelayNanos(master.split(), W);
    }
    return waits;
  }

  @Example
  void noSliceOfTheWindowGetsMoreThanTheBinomialTailAllows() {
    double p = (W / SLICES + 1.0) / (W + 1.0);
    int k = smallestKWithUnionTailBelow(N, p, SLICES, BUDGET_PER_CHECK);
    assertEquals(301, k, "the derivation in the class comment");
    int[] counts = new int[SLICES];
    for (long wait : fleetFirstWaits()) {
      assertTrue(wait >= 0 && wait <= W, "wait out of [0, W]: " + wait);
      counts[(int) Math.min(SLICES - 1, wait / (W / SLICES))]++;
    }
    int max = Arrays.stream(counts).max().orElseThrow();
    assertTrue(max <= k, "a slice got " + max + " first attempts, above " + k + ": " + Arrays.toString(counts));
  }

  @Example
  void theFirstWaitsPassAKolmogorovSmirnovTestAgainstTheUniformLaw() {
    double epsilon = Math.sqrt(Math.log(2 / BUDGET_PER_CHECK) / (2.0 * N)) + 1.0 / (W + 1.0);
    assertEquals(0.03325, epsilon, 1e-5, "the derivation in the class comment");
    long[] waits = fleetFirstWaits();
    Arrays.sort(waits);
    double d = 0;
    for (int i = 0; i < N; i++) {
      double f = (double) waits[i] / W;
      d = Math.max(d, Math.max((i + 1.0) / N - f, f - (double) i / N));
    }
    assertTrue(d <= epsilon, "KS distance " + d + " above " + epsilon);
  }

  @Example
  void differentSeedsGiveDifferentWaitsAndTheSameSeedTheSame() {
    assertEquals(Reconnector.initialDelayNanos(new SplittableRandom(7), W),
        Reconnector.initialDelayNanos(new SplittableRandom(7), W));
    long[] waits = fleetFirstWaits();
    assertTrue(Arrays.stream(waits).distinct().count() > N - 5, "the fleet's waits must differ");
    assertNotEquals(waits[0], waits[1]);
  }

  @Property(tries = 500)
  void everyDrawLiesInZeroToTheSpreadForAnySpread(
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long spread, @ForAll long seed) {
    long wait = Reconnector.initialDelayNanos(new SplittableRandom(seed), spread);
    assertTrue(wait >= 0 && wait <= spread, wait + " outside [0, " + spread + "]");
    assertEquals(0, Reconnector.initialDelayNanos(new SplittableRandom(seed), 0));
    long max = Reconnector.initialDelayNanos(new SplittableRandom(seed), Long.MAX_VALUE);
    assertTrue(max >= 0);
  }

  /**
   * Returns the least k with {@code slices · P(Binomial(n, p) > k) ≤ budget}, summing the exact
   * upper tail in log space (the pmf by its ratio recurrence, from the mode outwards).
   */
  static int smallestKWithUnionTailBelow(int n, double p, int slices, double budget) {
    double[] logPmf = new double[n + 1];
    logPmf[0] = n * Math.log1p(-p);
    double logRatio = Math.log(p) - Math.log1p(-p);
    for (int j = 1; j <= n; j++) {
      logPmf[j] = logPmf[j - 1] + Math.log((n - j + 1.0) / j) + logRatio;
    }
    double tail = 0; // P(X > k), accumulated from the top down
    for (int k = n; k >= 0; k--) {
      if (slices * tail > budget) {
        return k + 1;
      }
      tail += Math.exp(logPmf[k]);
    }
    return 0;
  }
}
