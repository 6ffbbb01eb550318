package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.TestTime.WrappingTicker;
import dev.shepherd.ratelimit.TokenBucketProperties.Config;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * The keyed limiter's proofs: each key answers exactly as its own ideal bucket, whatever evictions
 * happen; and under key pressure the only difference from the ideal is the documented one (a new
 * key refused for lack of room), never a grant the ideal bucket would refuse.
 */
class KeyedTokenBucketProperties {

  /** After {@code delta} ns, {@code key} asks for {@code permits}; {@code sweep} first evicts refilled buckets. */
  record Step(long delta, int key, int permits, boolean sweep) {}

  record Scenario(Config config, List<Step> steps) {}

  @Provide
  Arbitrary<Scenario> scenarios() {
    return TokenBucketProperties.configs().flatMap(c -> {
      long i = Math.max(1, c.intervalFloor());
      Arbitrary<Step> step = Combinators.combine(
              Arbitraries.frequencyOf(
                  Tuple.of(4, Arbitraries.longs().between(0, i)),
                  Tuple.of(1, Arbitraries.longs().between(0, dev.shepherd.core.internal.Durations.saturatedMultiply(i, c.burst() + 1L))),
                  // A key may sit out every step: keep the whole run below the exactness horizon.
                  Tuple.of(1, Arbitraries.longs().between(0, c.maxGap() / 160))),
              Arbitraries.integers().between(0, 11),
              Arbitraries.integers().between(1, c.burst()),
              Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just(false)), Tuple.of(1, Arbitraries.just(true))))
          .as(Step::new);
      return step.list().ofMinSize(1).ofMaxSize(150).withSizeDistribution(RandomDistribution.uniform()).map(s -> new Scenario(c, s));
    });
  }

  private static KeyedTokenBucket<Integer> limiter(Config c, WrappingTicker ticker, int maxKeys) {
    return KeyedTokenBucket.builder()
        .rate(c.permits(), Duration.ofNanos(c.periodNanos())).burst(c.burst()).maxKeys(maxKeys)
        .ticker(ticker).listener(EventListener.noop()).build();
  }

  @Property(tries = 300)
  void withRoomEveryKeyAnswersExactlyAsItsIdealBucketWhateverIsEvicted(@ForAll("scenarios") Scenario s) {
    Config c = s.config();
    WrappingTicker ticker = new WrappingTicker(c.origin());
    KeyedTokenBucket<Integer> l = limiter(c, ticker, 12);
    Map<Integer, IdealBucket> models = new HashMap<>();
    for (Step st : s.steps()) {
      ticker.advance(st.delta());
      models.values().forEach(m -> m.advance(st.delta()));
      if (st.sweep()) {
        l.evictRefilled();
      }
      IdealBucket m = models.computeIfAbsent(st.key(), k -> IdealBucket.tokenBucket(c.permits(), c.periodNanos(), c.burst(), true));
      long expected = m.waitFor(st.permits());
      assertEquals(expected, l.acquireOrRetryAfterNanos(st.key(), st.permits()), s::toString);
      if (expected == 0) {
        m.tryTake(st.permits());
      }
    }
  }

  @Property(tries = 300)
  void underKeyPressureTheOnlyDeviationIsRefusingANewKey(
      @ForAll("scenarios") Scenario s, @ForAll @IntRange(min = 1, max = 6) int maxKeys) {
    Config c = s.config();
    WrappingTicker ticker = new WrappingTicker(c.origin());
    KeyedTokenBucket<Integer> l = limiter(c, ticker, maxKeys);
    Map<Integer, IdealBucket> models = new HashMap<>();
    for (Step st : s.steps()) {
      ticker.advance(st.delta());
      models.values().forEach(m -> m.advance(st.delta()));
      if (st.sweep()) {
        l.evictRefilled();
      }
      IdealBucket m = models.computeIfAbsent(st.key(), k -> IdealBucket.tokenBucket(c.permits(), c.periodNanos(), c.burst(), true));
      long expected = m.waitFor(st.permits());
      int sizeBefore = l.size();
      long answer = l.acquireOrRetryAfterNanos(st.key(), st.permits());
      assertTrue(l.size() <= maxKeys, "size " + l.size());
      if (answer == 0) {
        assertEquals(0, expected, () -> "granted what the ideal bucket refuses: " + s);
        m.tryTake(st.permits());
      } else if (expected > 0) {
        assertEquals(expected, answer, s::toString);
      } else {
        // Refused although the ideal bucket would grant: only a new key meeting a full table.
        assertEquals(maxKeys, sizeBefore, s::toString);
      }
    }
  }
}
