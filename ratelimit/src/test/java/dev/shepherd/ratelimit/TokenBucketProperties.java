package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.ratelimit.TestTime.WrappingTicker;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;

/**
 * The token bucket's proofs: for any rate from one per day to 10^9 per second (including intervals
 * that are not whole nanoseconds), any burst, any ticker origin (also near and across the long
 * overflow) and any schedule of requests, plain and waiting, the bucket's every answer equals that of
 * an ideal token bucket computed in exact rational arithmetic, and no window of length d ever sees
 * more than burst + rate * d permits.
 */
class TokenBucketProperties {

  /** A rate of {@code permits} per {@code periodNanos}, a burst, a start and a ticker origin. */
  record Config(long permits, long periodNanos, int burst, boolean startFull, long origin) {

    long scale() {
      return permits / Rate.gcd(permits, periodNanos);
    }

    /**
     * Longest gap drawn: 2^62 ns (146 years). Exactness holds for every gap, including the ones
     * whose length in units wraps the state into a plausible debt (a fraction up to 1/8 of long gaps
     * for large S), which the write stamp must tell apart.
     */
    long maxGap() {
      return 1L << 62;
    }

    long intervalFloor() {
      return periodNanos / permits;
    }
  }

  /** One request: let {@code delta} ns pass, then ask for {@code permits}, waiting up to maxWait (-1: never). */
  record Step(long delta, int permits, long maxWait) {}

  record Scenario(Config config, List<Step> steps) {}

  // ---- generators ----

  @Provide
  Arbitrary<Scenario> scenarios() {
    return configs().flatMap(c -> steps(c).list().ofMinSize(1).ofMaxSize(120).withSizeDistribution(RandomDistribution.uniform()).map(s -> new Scenario(c, s)));
  }

  static Arbitrary<Config> configs() {
    Arbitrary<long[]> named = Arbitraries.of(
        new long[] {1, 86_400_000_000_000L},        // one per day
        new long[] {1_000_000_000, 1_000_000_000},  // 10^9 per second
        new long[] {3, 1_000_000_000},              // 333,333,333.33 ns
        new long[] {999_999_999, 1_000_000_000},    // interval just above 1 ns, S ~ 10^9
        new long[] {7, 60_000_000_000L},
        new long[] {10, 1_000_000_000},
        new long[] {2, 3},
        new long[] {1_000_003, 1_000_000_000});
    // Random rates with a fractional interval: T = P * whole + r, interval = whole + r / P.
    Arbitrary<long[]> random = Combinators.combine(
            Arbitraries.longs().between(1, 1_000_000),
            Arbitraries.longs().between(1, 10_000_000),
            Arbitraries.longs().between(0, 999_999))
        .as((p, whole, r) -> new long[] {p, p * whole + (r % p)});
    Arbitrary<long[]> rates = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(2, named), net.jqwik.api.Tuple.of(3, random));
    Arbitrary<Long> origins = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(1, Arbitraries.just(Long.MIN_VALUE)),
        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(Long.MAX_VALUE - 1_000_000_000_000L, Long.MAX_VALUE)),
        net.jqwik.api.Tuple.of(1, Arbitraries.of(-1L, 0L, 1L)),
        net.jqwik.api.Tuple.of(2, Arbitraries.longs()));
    return Combinators.combine(rates, Arbitraries.integers().between(1, 40), Arbitraries.of(true, false), origins)
        .as((r, burst, full, origin) -> {
          long maxBurst = Rate.MAX_TAU / (r[1] / Rate.gcd(r[0], r[1]));
          return new Config(r[0], r[1], (int) Math.min(burst, maxBurst), full, origin);
        });
  }

  static Arbitrary<Step> steps(Config c) {
    long i = Math.max(1, c.intervalFloor());
    Arbitrary<Long> deltas = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(4, Arbitraries.longs().between(0, 2 * i)),
        net.jqwik.api.Tuple.of(2, Arbitraries.of(0L, 1L, i - 1, i, i + 1)),
        net.jqwik.api.Tuple.of(2, Arbitraries.longs().between(0, Math.min(c.maxGap(), Durations2.mul(i, c.burst() + 2L)))),
        net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(0, c.maxGap())));
    Arbitrary<Long> maxWaits = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(5, Arbitraries.just(-1L)),
        net.jqwik.api.Tuple.of(2, Arbitraries.longs().between(0, Durations2.mul(i, 3))));
    return Combinators.combine(deltas, Arbitraries.integers().between(1, c.burst()), maxWaits).as(Step::new);
  }

  /** Saturating multiply for generator bounds. */
  static final class Durations2 {
    static long mul(long a, long b) {
      return dev.shepherd.core.internal.Durations.saturatedMultiply(a, b);
    }
  }

  // ---- the run ----

  /** What one run observed: grant times (elapsed ns since the start, exact) and their permits. */
  record Grant(BigInteger at, int permits) {}

  static List<Grant> runAgainstModel(Scenario s) throws InterruptedException {
    Config c = s.config();
    WrappingTicker ticker = new WrappingTicker(c.origin());
    long[] slept = new long[1];
    TokenBucket bucket = TokenBucket.builder()
        .rate(c.permits(), Duration.ofNanos(c.periodNanos()))
        .burst(c.burst())
        .startFull(c.startFull())
        .ticker(ticker)
        .sleeper(d -> {
          slept[0] += d.toNanos();
          ticker.advance(d.toNanos());
        })
        .listener(EventListener.noop())
        .build();
    IdealBucket model = IdealBucket.tokenBucket(c.permits(), c.periodNanos(), c.burst(), c.startFull());
    BigInteger elapsed = BigInteger.ZERO;
    List<Grant> grants = new ArrayList<>();
    int step = 0;
    for (Step st : s.steps()) {
      step++;
      ticker.advance(st.delta());
      model.advance(st.delta());
      elapsed = elapsed.add(BigInteger.valueOf(st.delta()));
      long expected = model.waitFor(st.permits());
      int at = step;
      java.util.function.Supplier<String> where = () -> "step " + at + " of " + s;
      if (st.maxWait() < 0) {
        assertEquals(Math.min(model.whole(), c.burst()), bucket.availablePermits(), where);
        long answer = bucket.acquireOrRetryAfterNanos(st.permits());
        assertEquals(expected, answer, where);
        if (expected == 0) {
          assertTrue(model.tryTake(st.permits()), where);
          grants.add(new Grant(elapsed, st.permits()));
        }
      } else {
        slept[0] = 0;
        boolean granted = bucket.tryAcquire(st.permits(), Duration.ofNanos(st.maxWait()));
        assertEquals(expected <= st.maxWait(), granted, where);
        if (granted) {
          assertEquals(expected, slept[0], where);
          // A reservation is the same request arriving at its release time, decided early.
          model.advance(expected);
          assertTrue(model.tryTake(st.permits()), where);
          elapsed = elapsed.add(BigInteger.valueOf(expected));
          grants.add(new Grant(elapsed, st.permits()));
        }
      }
    }
    return grants;
  }

  @Property(tries = 600)
  void everyAnswerEqualsTheIdealBucket(@ForAll("scenarios") Scenario s) throws InterruptedException {
    runAgainstModel(s);
  }

  @Property(tries = 400)
  void noWindowEverSeesMoreThanBurstPlusRateTimesItsLength(@ForAll("scenarios") Scenario s)
      throws InterruptedException {
    List<Grant> grants = runAgainstModel(s);
    Config c = s.config();
    BigInteger p = BigInteger.valueOf(c.permits());
    BigInteger t = BigInteger.valueOf(c.periodNanos());
    BigInteger b = BigInteger.valueOf(c.burst());
    for (int i = 0; i < grants.size(); i++) {
      long sum = 0;
      for (int j = i; j < grants.size(); j++) {
        sum += grants.get(j).permits();
        BigInteger d = grants.get(j).at().subtract(grants.get(i).at());
        // sum <= burst + (P / T) * d, in integers: (sum - burst) * T <= P * d
        assertTrue(BigInteger.valueOf(sum).subtract(b).multiply(t).compareTo(p.multiply(d)) <= 0,
            () -> "window exceeded in " + s);
      }
    }
  }

  @Property(tries = 400)
  void aRefusedRequestIsGrantedExactlyAfterItsRetryAfter(@ForAll("scenarios") Scenario s, @ForAll("permitsFraction") double f) {
    Config c = s.config();
    WrappingTicker ticker = new WrappingTicker(c.origin());
    TokenBucket bucket = TokenBucket.builder()
        .rate(c.permits(), Duration.ofNanos(c.periodNanos())).burst(c.burst()).startFull(c.startFull())
        .ticker(ticker).listener(EventListener.noop()).build();
    for (Step st : s.steps()) {
      ticker.advance(st.delta());
      bucket.acquireOrRetryAfterNanos(st.permits());
    }
    int n = (int) Math.max(1, Math.min(c.burst(), Math.ceil(f * c.burst())));
    long r = bucket.acquireOrRetryAfterNanos(n);
    if (r > 0) {
      ticker.advance(r - 1);
      assertEquals(1, bucket.acquireOrRetryAfterNanos(n), "one nanosecond early, " + s);
      ticker.advance(1);
      assertEquals(0, bucket.acquireOrRetryAfterNanos(n), "at now + retry-after, " + s);
    }
  }

  @Provide
  Arbitrary<Double> permitsFraction() {
    return Arbitraries.doubles().between(0, 1);
  }

  @Property(tries = 200)
  void aManualClockNearLongMaxStopsTimeWithoutBreakingAnything(
      @ForAll("scenarios") Scenario s) {
    // ManualClock saturates at Long.MAX_VALUE: time stops there. Answers must still match the model
    // fed with the clock's actual movement.
    Config c = s.config();
    ManualClock clock = ManualClock.startingAt(Long.MAX_VALUE - 3 * Math.max(1, c.intervalFloor()), false);
    TokenBucket bucket = TokenBucket.builder()
        .rate(c.permits(), Duration.ofNanos(c.periodNanos())).burst(c.burst()).startFull(c.startFull())
        .ticker(clock).listener(EventListener.noop()).build();
    IdealBucket model = IdealBucket.tokenBucket(c.permits(), c.periodNanos(), c.burst(), c.startFull());
    for (Step st : s.steps()) {
      long before = clock.read();
      clock.advanceNanos(st.delta());
      model.advance(clock.read() - before);
      long expected = model.waitFor(st.permits());
      assertEquals(expected, bucket.acquireOrRetryAfterNanos(st.permits()), s::toString);
      if (expected == 0) {
        model.tryTake(st.permits());
      }
    }
  }
}
