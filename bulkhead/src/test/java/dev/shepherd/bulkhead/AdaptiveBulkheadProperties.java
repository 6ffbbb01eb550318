package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
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

/** Invariants of the adaptive limit for any sequence of samples. */
class AdaptiveBulkheadProperties {

  /** One finished call: how many others were in flight, how long it took, how it ended. */
  record Sample(int othersInFlight, int latencyMillis, int outcome) {}

  @Provide
  Arbitrary<List<Sample>> samples() {
    Arbitrary<Sample> sample = Combinators.combine(
        Arbitraries.integers().between(0, 60),
        Arbitraries.integers().between(0, 5_000),
        Arbitraries.integers().between(0, 3))
        .as(Sample::new);
    return sample.list().ofMaxSize(300);
  }

  /**
   * For any samples, the limit stays in [minLimit, maxLimit], equals floor(estimate), a drop or
   * timeout never raises it, an ignored sample never changes it, and nothing is left in flight.
   */
  @Property(tries = 300)
  void theLimitStaysInItsRangeAndDropsNeverRaiseIt(
      @ForAll @IntRange(min = 1, max = 10) int minLimit,
      @ForAll @IntRange(min = 0, max = 40) int span,
      @ForAll @DoubleRange(min = 0.3, max = 0.99) double decreaseFactor,
      @ForAll("samples") List<Sample> samples) {
    int maxLimit = minLimit + span;
    ManualClock clock = new ManualClock();
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().minLimit(minLimit).maxLimit(maxLimit)
        .initialLimit(minLimit + span / 2).decreaseFactor(decreaseFactor)
        .latencyTarget(Duration.ofMillis(500)).callTimeout(Duration.ofSeconds(3))
        .ticker(clock).listener(EventListener.noop()).build();
    for (Sample s : samples) {
      List<Permit> others = new ArrayList<>();
      for (int i = 0; i < s.othersInFlight(); i++) {
        Permit p = b.tryAcquire();
        if (p != null) {
          others.add(p);
        }
      }
      Permit p = b.tryAcquire();
      double before = b.adaptiveLimit().estimate();
      int limitBefore = b.limit();
      clock.advance(Duration.ofMillis(s.latencyMillis()));
      if (p != null) {
        switch (s.outcome()) {
          case 0 -> p.success();
          case 1 -> p.dropped();
          case 2 -> p.ignored();
          default -> p.close();
        }
        double after = b.adaptiveLimit().estimate();
        boolean timedOut = s.latencyMillis() >= 3_000;
        if (s.outcome() == 1 || (s.outcome() == 0 && timedOut)) {
          assertTrue(after <= before, "a drop or timeout raised the estimate " + before + " -> " + after);
          assertTrue(b.limit() <= limitBefore);
          assertEquals(Math.max(minLimit, before * decreaseFactor), after, 1e-9);
        }
        if (s.outcome() >= 2) {
          assertEquals(before, after, "an ignored sample changed the estimate");
        }
      }
      others.forEach(Permit::close);
      double estimate = b.adaptiveLimit().estimate();
      assertTrue(estimate >= minLimit && estimate <= maxLimit, "estimate " + estimate);
      assertEquals((int) Math.floor(estimate), b.limit());
      assertTrue(b.limit() >= minLimit && b.limit() <= maxLimit);
      assertEquals(0, b.inFlight());
    }
    assertEquals(b.limit(), b.available());
  }

  /**
   * The stated collapse bound: from any limit, consecutive drops reach minLimit within
   * ceil(ln(maxLimit / minLimit) / ln(1 / decreaseFactor)) samples.
   */
  @Property(tries = 500)
  void consecutiveDropsReachTheMinimumWithinTheStatedBound(
      @ForAll @IntRange(min = 1, max = 50) int minLimit,
      @ForAll @IntRange(min = 0, max = 2_000) int span,
      @ForAll @IntRange(min = 0, max = 2_000) int initialOffset,
      @ForAll @DoubleRange(min = 0.1, max = 0.99) double decreaseFactor) {
    int maxLimit = minLimit + span;
    int initial = minLimit + Math.min(span, initialOffset);
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().minLimit(minLimit).maxLimit(maxLimit).initialLimit(initial)
        .decreaseFactor(decreaseFactor).ticker(new ManualClock()).listener(EventListener.noop()).build();
    long bound = (long) Math.ceil(Math.log((double) maxLimit / minLimit) / Math.log(1 / decreaseFactor));
    long drops = 0;
    while (b.limit() > minLimit) {
      b.tryAcquire().dropped();
      drops++;
      assertTrue(drops <= bound, "more than " + bound + " drops from " + initial + " to " + minLimit);
    }
  }
}
