package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The learned rate's two guarantees on generated completion traces: each try draws an initial
 * guess, bounds, a target and a trace of periods (a length from 200 ms to twice that, a number of
 * completions from none to tens of thousands a second, their queue delays, refusals, explicit
 * congestion signals), drives the controller through it on a manual clock and checks the rate set
 * at the end of every period against that period's completions per second {@code c}:
 * <ul>
 *   <li>margin: from the first congested period on, rate ≤ max(min, 1.1 c), and at a congested
 *       period's end rate ≤ max(min, 0.9 c); the draining rate never exceeds the rate;
 *   <li>ramp time (one period): rate ≥ min(max, 0.9 c) and draining rate ≥ min(max, 0.5 c) at the
 *       end of every period, so neither stays below half of the completions past one period.
 * </ul>
 */
class LearnedRateProperties {

  private static final long PERIOD = 200_000_000L;
  private static final double EPS = 1e-9;

  @Property(tries = 300)
  void theRateFollowsWhatTheBackendCompleted(
      @ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long seed,
      @ForAll @DoubleRange(min = 0.5, max = 100_000) double guess,
      @ForAll @DoubleRange(min = 0.5, max = 50) double min,
      @ForAll @IntRange(min = 1, max = 50) int targetMillis,
      @ForAll @IntRange(min = 5, max = 200) int periods) {
    SplittableRandom random = new SplittableRandom(seed);
    double max = random.nextBoolean() ? 1e9 : min + random.nextDouble(1, 50_000);
    ManualClock clock = ManualClock.instant();
    clock.advanceNanos(random.nextLong(Long.MAX_VALUE / 2)); // any ticker origin
    LearnedRate rate = LearnedRate.builder()
        .initialPermitsPerSecond(guess)
        .minPermitsPerSecond(min)
        .maxPermitsPerSecond(max)
        .queueDelayTarget(Duration.ofMillis(targetMillis))
        .ticker(clock)
        .listener(EventListener.noop())
        .build();
    long target = targetMillis * 1_000_000L;
    boolean congestedOnce = false;
    long start = clock.read();
    for (int k = 0; k < periods; k++) {
      long length = PERIOD + random.nextLong(PERIOD + 1);
      // A backend whose capacity jumps around, and demand that sometimes stops.
      int count = random.nextInt(8) == 0 ? 0 : random.nextInt(1 + random.nextInt(4_000));
      boolean queueing = random.nextInt(3) == 0;
      boolean explicit = random.nextInt(20) == 0;
      boolean congested = explicit;
      // Completions inside the period's first 200 ms, so only the final poll ends it.
      long step = (PERIOD - 1) / (count + 1);
      for (int i = 0; i < count; i++) {
        clock.advanceNanos(step);
        long delay = queueing ? random.nextLong(3 * target) : random.nextLong(target + 1);
        congested |= delay > target;
        rate.completed(delay);
        if (random.nextInt(50) == 0) {
          rate.saturated();
        }
      }
      if (explicit) {
        rate.congested();
      }
      long end = start + length;
      clock.advanceNanos(end - clock.read());
      rate.poll(clock.read());
      start = end;
      congestedOnce |= congested;
      double c = count * 1e9 / length;
      double r = rate.permitsPerSecond();
      double d = rate.drainingPermitsPerSecond();
      String where = "period " + k + ": c=" + c + " rate=" + r + " draining=" + d + " congested=" + congested;
      assertTrue(r >= min - EPS && r <= max + EPS, where);
      assertTrue(d <= r + EPS, where);
      if (congestedOnce && count > 0) {
        assertTrue(r <= Math.max(min, 1.1 * c) * (1 + EPS), "margin, " + where);
      }
      if (congested && count > 0) {
        assertTrue(r <= Math.max(min, 0.9 * c) * (1 + EPS), "cut, " + where);
      }
      if (count > 0) {
        assertTrue(r >= Math.min(max, 0.9 * c) * (1 - EPS), "ramp, " + where);
        assertTrue(d >= Math.min(max, 0.5 * c) * (1 - EPS), "draining ramp, " + where);
      }
    }
  }
}
