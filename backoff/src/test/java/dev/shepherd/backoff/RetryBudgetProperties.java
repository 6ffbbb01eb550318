package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The {@link RetryBudget} inequality, over any generated traffic of first attempts and retry
 * requests at generated times on a {@link ManualClock}.
 *
 * <p>The exact statement proved: let {@code q = ⌊ttl/10⌋} (in nanoseconds, counted from the
 * budget's creation) and, for a time {@code s}, {@code W(s) = [(⌊s/q⌋ − 9)·q, s]}, the ten slices
 * ending with the one holding {@code s}. At every granted withdrawal at time {@code s}:
 * <pre>
 *   G(W(s)) ≤ ratio · R(W(s)) + minRetriesPerSecond · ttl/(1 s)                         (1)
 * </pre>
 * where {@code G} counts granted retries (this one included) and {@code R} recorded first attempts.
 * And, free of slice alignment, since {@code [s − 9q, s] ⊆ W(s) ⊆ (s − ttl, s]}:
 * <pre>
 *   G([s − 9q, s]) ≤ ratio · R((s − ttl, s]) + minRetriesPerSecond · ttl/(1 s)          (2)
 * </pre>
 * The budget must not be trivially stingy either: at one instant after {@code n} requests it grants
 * {@code ⌊ratio·n + floor·ttl⌋} retries, up to the millionth-of-a-retry rounding of its units.
 */
class RetryBudgetProperties {

  private static final long MS = 1_000_000L;

  /** One step of traffic: advance the clock, then record a first attempt or ask for a retry. */
  record Step(long advanceMillis, boolean retry) {}

  @Provide
  Arbitrary<List<Step>> traffic() {
    Arbitrary<Long> advance = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(6, Arbitraries.just(0L)),
        net.jqwik.api.Tuple.of(3, Arbitraries.longs().between(1, 500)),
        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(500, 40_000)));
    Arbitrary<Boolean> retry = Arbitraries.of(true, false);
    return Combinators.combine(advance, retry).as(Step::new).list().ofMinSize(1).ofMaxSize(400);
  }

  @Property(tries = 400)
  void grantedRetriesNeverExceedTheRatioOfRecentRequestsPlusTheFloor(
      @ForAll("traffic") List<Step> steps,
      @ForAll @DoubleRange(min = 0.0, max = 3.0) double ratio,
      @ForAll @DoubleRange(min = 0.0, max = 5.0) double floor,
      @ForAll @IntRange(min = 10, max = 30_000) int ttlMillis,
      @ForAll @LongRange(min = -1_000_000_000_000_000L, max = 1_000_000_000_000_000L) long origin) {
    ManualClock clock = ManualClock.startingAt(origin, false);
    RetryBudget budget = RetryBudget.builder().ratio(ratio).minRetriesPerSecond(floor)
        .ttl(Duration.ofMillis(ttlMillis)).ticker(clock).build();
    long ttl = ttlMillis * MS;
    long q = ttl / RetryBudget.SLICES;
    double reserve = floor * (ttl / 1e9);
    List<Long> requests = new ArrayList<>();
    List<Long> grants = new ArrayList<>();
    for (Step step : steps) {
      clock.advanceNanos(step.advanceMillis() * MS);
      long s = clock.read() - origin;
      if (!step.retry()) {
        budget.recordRequest();
        requests.add(s);
        continue;
      }
      if (!budget.tryWithdraw()) {
        continue;
      }
      grants.add(s);
      long windowStart = (Math.floorDiv(s, q) - (RetryBudget.SLICES - 1)) * q;
      long g1 = countAtOrAfter(grants, windowStart);
      long r1 = countAtOrAfter(requests, windowStart);
      assertTrue(g1 <= ratio * r1 + reserve + 1e-9,
          String.format(java.util.Locale.ROOT, "(1) at %d: %d retries > %s × %d + %s", s, g1, ratio, r1, reserve));
      long g2 = countAtOrAfter(grants, s - 9 * q);
      long r2 = countAtOrAfter(requests, s - ttl + 1);
      assertTrue(g2 <= ratio * r2 + reserve + 1e-9,
          String.format(java.util.Locale.ROOT, "(2) at %d: %d retries > %s × %d + %s", s, g2, ratio, r2, reserve));
    }
  }

  @Property(tries = 300)
  void atOneInstantItGrantsWhatTheRatioAndFloorAllowNoLess(
      @ForAll @IntRange(min = 0, max = 2_000) int requests,
      @ForAll @DoubleRange(min = 0.0, max = 3.0) double ratio,
      @ForAll @DoubleRange(min = 0.0, max = 50.0) double floor,
      @ForAll @IntRange(min = 1, max = 60) int ttlSeconds) {
    ManualClock clock = ManualClock.instant();
    RetryBudget budget = RetryBudget.builder().ratio(ratio).minRetriesPerSecond(floor)
        .ttl(Duration.ofSeconds(ttlSeconds)).ticker(clock).build();
    for (int i = 0; i < requests; i++) {
      budget.recordRequest();
    }
    long available = budget.available();
    long granted = 0;
    while (budget.tryWithdraw()) {
      granted++;
    }
    double allowance = ratio * requests + floor * ttlSeconds;
    assertTrue(granted <= allowance + 1e-9, granted + " > " + allowance);
    // units are millionths of a retry, rounded down once per request and once for the floor
    long least = (long) Math.floor(allowance - (requests + 1) * 1e-6 - 1e-9);
    assertTrue(granted >= least, granted + " < " + least);
    assertEquals(available, granted, "available() predicts the grants");
    assertEquals(0, budget.available());
  }

  @Property(tries = 200)
  void afterAWindowOfSilenceOnlyTheFloorRemains(
      @ForAll @IntRange(min = 0, max = 500) int requests,
      @ForAll @IntRange(min = 0, max = 100) int retries,
      @ForAll @DoubleRange(min = 0.0, max = 2.0) double ratio,
      @ForAll @IntRange(min = 0, max = 20) int floor,
      @ForAll @IntRange(min = 1, max = 30) int ttlSeconds) {
    ManualClock clock = ManualClock.instant();
    RetryBudget budget = RetryBudget.builder().ratio(ratio).minRetriesPerSecond(floor)
        .ttl(Duration.ofSeconds(ttlSeconds)).ticker(clock).build();
    for (int i = 0; i < requests; i++) {
      budget.recordRequest();
    }
    for (int i = 0; i < retries; i++) {
      budget.tryWithdraw();
    }
    clock.advance(Duration.ofSeconds(ttlSeconds));
    assertEquals((long) floor * ttlSeconds, budget.available());
  }

  private static long countAtOrAfter(List<Long> times, long from) {
    long n = 0;
    for (long t : times) {
      if (t >= from) {
        n++;
      }
    }
    return n;
  }
}
