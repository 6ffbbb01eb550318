package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * A fleet of 1,000 breakers opens in the same instant; each then starts probing at its own time,
 * spread over the jitter window.
 *
 * <p>Every breaker opens at t0 for {@code D + U}, U uniform on {@code [0, J)} (J = 10 s, a multiple
 * of 10 ns, so each tenth of the window holds exactly a tenth of the possible draws). The number of
 * first probes in one tenth is Binomial(1000, 0.1): mean 100, standard deviation 9.5. Its exact upper
 * tail is P(X ≥ 171) = 3.95e-12 (computed exactly in {@link
 * #theThresholdComesFromTheExactBinomialTail()}); by the union bound over the ten tenths, a correct
 * implementation puts more than 170 first probes in some tenth with probability below 3.96e-11, less
 * than once in 10^10 runs. The seeds are fixed, so every run sees the same fleets.
 */
class FleetJitterProperties {

  private static final int FLEET = 1_000;
  private static final int TENTHS = 10;
  private static final int MAX_PER_TENTH = 170;
  private static final long OPEN = 30_000_000_000L;
  private static final long JITTER = 10_000_000_000L;

  /** Opens a fleet at once and returns, for each breaker, the instant of its first permitted probe. */
  static long[] firstProbes(long masterSeed, long jitterNanos) {
    ManualClock clock = ManualClock.startingAt(-5_000_000_000L, false);
    SplittableRandom master = new SplittableRandom(masterSeed);
    CircuitBreaker[] fleet = new CircuitBreaker[FLEET];
    long[] retryAfter = new long[FLEET];
    long t0 = clock.read();
    for (int i = 0; i < FLEET; i++) {
      fleet[i] = CircuitBreaker.builder().countWindow(1).minimumCalls(1).openDuration(Duration.ofNanos(OPEN))
          .openJitter(Duration.ofNanos(jitterNanos)).halfOpenProbes(1).ticker(clock).random(master.split())
          .listener(EventListener.noop()).build();
      fleet[i].onError(fleet[i].tryAcquirePermission(), 0, new IllegalStateException("cloud down"));
      retryAfter[i] = assertThrows(CircuitBreakerOpenException.class, fleet[i]::acquirePermission).retryAfterNanos();
    }
    // Walk time forward through the announced instants: each breaker refuses 1 ns before its
    // instant (when the walk has not already passed it) and grants its first probe at the instant.
    Integer[] order = IntStream.range(0, FLEET).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingLong(i -> retryAfter[i]));
    long[] probes = new long[FLEET];
    for (int i : order) {
      long due = t0 + retryAfter[i];
      if (clock.read() < due - 1) {
        clock.advanceNanos(due - 1 - clock.read());
        assertEquals(CircuitBreaker.NOT_PERMITTED, fleet[i].tryAcquirePermission(), "probing before its time");
      }
      clock.advanceNanos(due - clock.read());
      assertTrue(fleet[i].tryAcquirePermission() >= 0, "no probe at the announced time");
      assertEquals(CircuitBreaker.State.HALF_OPEN, fleet[i].state());
      probes[i] = clock.read() - t0;
    }
    return probes;
  }

  static int[] perTenth(long[] probes, long jitterNanos) {
    int[] tenths = new int[TENTHS];
    for (long p : probes) {
      long u = p - OPEN;
      assertTrue(u >= 0 && u < Math.max(1, jitterNanos), "probe outside [D, D + J): " + p);
      tenths[jitterNanos == 0 ? 0 : (int) (u * TENTHS / jitterNanos)]++;
    }
    return tenths;
  }

  @Property(tries = 5, seed = "20261201")
  void firstProbesOfAFleetThatOpenedTogetherSpreadOverTheJitterWindow(@ForAll long masterSeed) {
    int[] tenths = perTenth(firstProbes(masterSeed, JITTER), JITTER);
    assertEquals(FLEET, Arrays.stream(tenths).sum());
    assertTrue(Arrays.stream(tenths).max().getAsInt() <= MAX_PER_TENTH, () -> Arrays.toString(tenths));
  }

  @Example
  void withoutJitterTheWholeFleetProbesInOneInstant() {
    long[] probes = firstProbes(7, 0);
    assertTrue(Arrays.stream(probes).allMatch(p -> p == OPEN));
    assertEquals(FLEET, perTenth(probes, 0)[0], "the check above would catch an unjittered fleet");
  }

  @Example
  void theThresholdComesFromTheExactBinomialTail() {
    MathContext mc = new MathContext(40);
    BigDecimal p = new BigDecimal("0.1");
    BigDecimal q = new BigDecimal("0.9");
    BigDecimal tail = BigDecimal.ZERO;
    BigDecimal tailFrom166 = BigDecimal.ZERO;
    for (int k = 166; k <= FLEET; k++) {
      BigDecimal term = new BigDecimal(binomial(FLEET, k)).multiply(p.pow(k, mc), mc)
          .multiply(q.pow(FLEET - k, mc), mc);
      tailFrom166 = tailFrom166.add(term, mc);
      if (k > MAX_PER_TENTH) {
        tail = tail.add(term, mc);
      }
    }
    assertEquals(3.954767e-12, tail.doubleValue(), 1e-17);
    assertTrue(tail.multiply(BigDecimal.valueOf(TENTHS)).doubleValue() < 1e-9);
    assertTrue(tailFrom166.multiply(BigDecimal.valueOf(TENTHS)).doubleValue() < 1e-9, "170 is not the tightest");
  }

  private static BigInteger binomial(int n, int k) {
    BigInteger r = BigInteger.ONE;
    for (int i = 0; i < k; i++) {
      r = r.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
    }
    return r;
  }
}
