package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.TestTime.RecordingSleeper;
import dev.shepherd.ratelimit.TestTime.WrappingTicker;
import dev.shepherd.ratelimit.TokenBucketProperties.Config;
import java.math.BigInteger;
import java.time.Duration;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * The leaky buckets' proofs. The meter answers exactly as an ideal bucket of capacity
 * 1 + tolerance / interval. The shaper hands out exactly the turns of a first-come-first-served
 * server with service time n * interval (exact rationals; each turn rounded up to a whole
 * nanosecond) that accepts a request only if its last permit starts within maxQueueDelay: so no
 * two turns are ever closer than the emission interval, no admitted caller waits more than
 * maxQueueDelay, the queue never holds more than maxQueueDelay × rate + 1 permits, a refused
 * caller's retry-after is exact, and an interrupted caller at the end of the queue gives its turn
 * back.
 */
class LeakyBucketProperties {

  record MeterScenario(Config config, long toleranceNanos, List<long[]> steps) {}

  @Provide
  Arbitrary<MeterScenario> meters() {
    return TokenBucketProperties.configs().flatMap(c -> {
      long i = Math.max(1, c.intervalFloor());
      long maxTolerance = Math.min((Rate.MAX_TAU - c.periodNanos()) / c.scale() / 2, i * 6);
      return Arbitraries.longs().between(0, maxTolerance).flatMap(tol -> {
        int maxPermits = BigInteger.valueOf(c.periodNanos()).add(BigInteger.valueOf(tol).multiply(BigInteger.valueOf(c.permits())))
            .divide(BigInteger.valueOf(c.periodNanos())).min(BigInteger.valueOf(50)).intValueExact();
        Arbitrary<long[]> step = Combinators.combine(
                Arbitraries.frequencyOf(
                    Tuple.of(3, Arbitraries.longs().between(0, 2 * i)),
                    Tuple.of(1, Arbitraries.of(0L, 1L, i - 1, i, i + 1)),
                    Tuple.of(1, Arbitraries.longs().between(0, c.maxGap()))),
                Arbitraries.integers().between(1, maxPermits))
            .as((d, n) -> new long[] {d, n});
        return step.list().ofMinSize(1).ofMaxSize(100).withSizeDistribution(RandomDistribution.uniform()).map(s -> new MeterScenario(c, tol, s));
      });
    });
  }

  @Property(tries = 400)
  void theMeterAnswersExactlyAsAnIdealBucketOfCapacityOnePlusToleranceOverInterval(@ForAll("meters") MeterScenario s) {
    Config c = s.config();
    WrappingTicker ticker = new WrappingTicker(c.origin());
    LeakyBucketMeter meter = LeakyBucketMeter.builder()
        .rate(c.permits(), Duration.ofNanos(c.periodNanos()))
        .tolerance(Duration.ofNanos(s.toleranceNanos()))
        .ticker(ticker).listener(EventListener.noop()).build();
    IdealBucket model = IdealBucket.meter(c.permits(), c.periodNanos(), s.toleranceNanos());
    for (long[] step : s.steps()) {
      ticker.advance(step[0]);
      model.advance(step[0]);
      int n = (int) step[1];
      long expected = model.waitFor(n);
      assertEquals(expected, meter.acquireOrRetryAfterNanos(n), s::toString);
      if (expected == 0) {
        assertTrue(model.tryTake(n));
      }
    }
  }

  /** An arrival: after {@code delta} ns, {@code permits} permits; {@code interrupted} callers are interrupted. */
  record Arrival(long delta, int permits, boolean interrupted, boolean waits) {}

  record QueueScenario(long permits, long periodNanos, long maxQueueDelay, long origin, List<Arrival> arrivals) {}

  @Provide
  Arbitrary<QueueScenario> queues() {
    return TokenBucketProperties.configs().flatMap(c -> {
      long i = Math.max(1, c.intervalFloor());
      Arbitrary<Long> maxDelay = Arbitraries.frequencyOf(
          Tuple.of(1, Arbitraries.just(0L)),
          Tuple.of(4, Arbitraries.longs().between(0, Math.min(Rate.MAX_TAU, dev.shepherd.core.internal.Durations.saturatedMultiply(i, 20)))));
      Arbitrary<Arrival> arrival = Combinators.combine(
              Arbitraries.frequencyOf(
                  Tuple.of(3, Arbitraries.just(0L)),
                  Tuple.of(3, Arbitraries.longs().between(0, 2 * i)),
                  Tuple.of(1, Arbitraries.longs().between(0, 30 * i))),
              Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.just(1)), Tuple.of(1, Arbitraries.integers().between(1, 5))),
              Arbitraries.frequencyOf(Tuple.of(9, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true))),
              Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.just(true)), Tuple.of(1, Arbitraries.just(false))))
          .as(Arrival::new);
      return maxDelay.flatMap(md -> arrival.list().ofMinSize(1).ofMaxSize(100).withSizeDistribution(RandomDistribution.uniform())
          .map(a -> new QueueScenario(c.permits(), c.periodNanos(), md, c.origin(), a)));
    });
  }

  @Property(tries = 500)
  void theShaperHandsOutTurnsFirstComeFirstServedNeverCloserThanTheIntervalWithinItsBound(
      @ForAll("queues") QueueScenario s) {
    WrappingTicker ticker = new WrappingTicker(s.origin());
    RecordingSleeper sleeper = new RecordingSleeper(); // waits are recorded, time does not move
    LeakyBucketShaper q = LeakyBucketShaper.builder()
        .rate(s.permits(), Duration.ofNanos(s.periodNanos()))
        .maxQueueDelay(Duration.ofNanos(s.maxQueueDelay()))
        .ticker(ticker).sleeper(sleeper).listener(EventListener.noop()).build();
    BigInteger p = BigInteger.valueOf(s.permits());
    BigInteger t = BigInteger.valueOf(s.periodNanos());
    // Times in units of 1/P ns, so that every turn plus whole intervals is an integer.
    BigInteger bound = BigInteger.valueOf(s.maxQueueDelay()).multiply(p).add(t); // maxQueueDelay + I
    int maxPermits = bound.divide(t).min(BigInteger.valueOf(Integer.MAX_VALUE)).intValueExact();
    long now = 0; // elapsed since the start; no wrap inside a scenario
    BigInteger free = BigInteger.ZERO; // the model: when the server is next free, in 1/P ns
    long lastTurn = Long.MIN_VALUE;
    int lastPermits = 0;
    for (Arrival a : s.arrivals()) {
      ticker.advance(a.delta());
      now += a.delta();
      int n = Math.min(a.permits(), maxPermits);
      BigInteger cost = BigInteger.valueOf(n).multiply(t);
      BigInteger nowP = BigInteger.valueOf(now).multiply(p);
      BigInteger debt = free.subtract(nowP).max(BigInteger.ZERO);
      long wait = ceil(debt, p);
      int before = sleeper.sleeps.size();
      long at = now;
      java.util.function.Supplier<String> where = () -> "at " + at + " in " + s;
      assertEquals(wait, q.currentWaitNanos(), where);
      if (!a.waits()) {
        long answer = q.acquireOrRetryAfterNanos(n);
        assertEquals(wait, answer, where);
        if (wait == 0) {
          lastTurn = check(now, lastTurn, lastPermits, p, t, where);
          lastPermits = n;
          free = nowP.add(cost);
        }
        continue;
      }
      // Accepted iff the span, starting at the turn now + wait, ends within maxQueueDelay + I.
      BigInteger end = BigInteger.valueOf(wait).multiply(p).add(cost);
      if (end.compareTo(bound) > 0) {
        RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> q.acquire(n), where);
        // The least x with (wait - x) * P + cost <= bound, and the retry is then accepted.
        long retry = wait - bound.subtract(cost).divide(p).longValueExact();
        assertEquals(retry, e.retryAfterNanos(), where);
        assertEquals(before, sleeper.sleeps.size(), () -> "a refused caller never queues: " + where.get());
        continue;
      }
      if (a.interrupted() && wait > 0) {
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> q.acquire(n), where);
        // It was last in the queue, so its turn is free again: the model does not change.
        assertEquals(wait, q.currentWaitNanos(), where);
        continue;
      }
      try {
        q.acquire(n);
      } catch (InterruptedException e) {
        throw new AssertionError(where.get(), e);
      }
      long slept = sleeper.sleeps.size() == before ? 0 : sleeper.last();
      assertEquals(wait, slept, where);
      assertTrue(slept <= s.maxQueueDelay(), where);
      lastTurn = check(now + slept, lastTurn, lastPermits, p, t, where);
      lastPermits = n;
      free = BigInteger.valueOf(now + wait).multiply(p).add(cost);
      // The queue's work from now: at most maxQueueDelay x rate + 1 permits.
      assertTrue(free.subtract(nowP).compareTo(bound) <= 0, where);
    }
  }

  private static long ceil(BigInteger x, BigInteger d) {
    BigInteger[] qr = x.divideAndRemainder(d);
    return (qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE)).longValueExact();
  }

  /** Asserts the turn is at least lastPermits emission intervals (exactly, in rationals) after the last. */
  private static long check(long turn, long lastTurn, int lastPermits, BigInteger p, BigInteger t,
      java.util.function.Supplier<String> where) {
    if (lastTurn != Long.MIN_VALUE) {
      // (turn - lastTurn) >= lastPermits * T / P
      assertTrue(BigInteger.valueOf(turn - lastTurn).multiply(p).compareTo(BigInteger.valueOf(lastPermits).multiply(t)) >= 0,
          () -> "turns closer than the emission interval " + where.get());
    }
    return turn;
  }
}
