package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Schedules that run for ever: advanced a billion times (decorrelated jitter v2, the only policy
 * whose formula still uses the attempt number after the cap) and ten million times (every policy),
 * every delay stays inside the capped interval, and the jittered ones stay spread over it. Positioned
 * schedules ({@link BackoffProperties}) cover attempt numbers up to and past
 * {@link Integer#MAX_VALUE}; these tests cover the iteration itself: no counter or growing term
 * that overflows along the way.
 */
class LongRunningScheduleTest {

  private static final Duration BASE = Duration.ofMillis(100);
  private static final Duration CAP = Duration.ofDays(7);
  private static final long CAP_NANOS = CAP.toNanos();

  /** Advances {@code schedule} {@code count} times; returns {min, max} of the delays after the first 200. */
  private static long[] range(Backoff.Schedule schedule, long count) {
    for (int i = 0; i < 200; i++) {
      schedule.nextDelayNanos();
    }
    long min = Long.MAX_VALUE;
    long max = Long.MIN_VALUE;
    for (long i = 200; i < count; i++) {
      long d = schedule.nextDelayNanos();
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    return new long[] {min, max};
  }

  @Test
  // A hang guard, not a performance bound: the loop is bounded, and takes about 20 s on an idle
  // core but 48 s on a two-core machine under load (measured), so 120 s was too close for CI.
  @Timeout(600)
  void aDecorrelatedJitterV2ScheduleAdvancedABillionTimesStaysInTheUpperHalfOfTheCap() {
    long[] range = range(Backoff.decorrelatedJitterV2(BASE, CAP).start(new SplittableRandom(2)), 1_000_000_000L);
    assertTrue(range[0] >= CAP_NANOS - CAP_NANOS / 2 && range[1] <= CAP_NANOS);
    assertTrue(range[0] < CAP_NANOS / 2 + CAP_NANOS / 1000 && range[1] > CAP_NANOS - CAP_NANOS / 1000);
  }

  @Test
  void everyPolicyAdvancedTenMillionTimesStaysInItsCappedInterval() {
    long cap = CAP_NANOS;
    long grpcMax = Duration.ofSeconds(120).toNanos();
    assertRange(cap, cap, Backoff.constant(CAP), false);
    assertRange(cap, cap, Backoff.linear(BASE, Duration.ofHours(1), CAP), false);
    assertRange(cap, cap, Backoff.exponential(BASE, 1.5, CAP), false);
    assertRange(0, cap, Backoff.fullJitter(BASE, CAP), true);
    assertRange(cap / 2, cap, Backoff.equalJitter(BASE, CAP), true);
    assertRange(BASE.toNanos(), cap, Backoff.decorrelatedJitter(BASE, CAP), false);
    assertRange(cap / 2, cap, Backoff.decorrelatedJitterV2(BASE, CAP), true);
    assertRange(grpcMax * 4 / 5, grpcMax * 6 / 5, Backoff.grpc(), true);
    assertRange(cap * 4 / 5, cap, Backoff.exponential(BASE, 2, CAP).withJitter(0.2), true);
  }

  /**
   * Checks the delays after the first 200 of ten million lie in [lo, hi] and, if {@code spread},
   * come within 1/1000 of the width of both ends: for independent uniform delays, missing one end
   * has probability {@code (1 - 1/1000)^(10^7 - 200) < e^-9000}.
   */
  private static void assertRange(long lo, long hi, Backoff backoff, boolean spread) {
    long[] range = range(backoff.start(new SplittableRandom(4)), 10_000_000);
    assertTrue(range[0] >= lo && range[1] <= hi,
        backoff + ": delays in [" + range[0] + ", " + range[1] + "], expected within [" + lo + ", " + hi + "]");
    if (spread) {
      long slack = (hi - lo) / 1000;
      assertTrue(range[0] <= lo + slack && range[1] >= hi - slack, backoff + ": not spread: [" + range[0] + ", " + range[1] + "]");
    }
  }
}
