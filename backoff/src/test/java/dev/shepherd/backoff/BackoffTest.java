package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Exact examples of each policy; the general bounds are in {@link BackoffProperties}. */
class BackoffTest {

  private static final long MS = 1_000_000L;
  private static final long S = 1_000_000_000L;

  /** A generator whose every long is all ones: every uniform draw returns its interval's top. */
  private static final RandomGenerator TOP = () -> -1L;

  private static long[] delays(Backoff backoff, RandomGenerator random, int count) {
    return BackoffProperties.delays(backoff.start(random), count);
  }

  private static long[] ms(long... millis) {
    return Arrays.stream(millis).map(m -> m * MS).toArray();
  }

  @Test
  void constantWaitsTheSameBeforeEveryRetry() {
    assertArrayEquals(ms(250, 250, 250, 250), delays(Backoff.constant(Duration.ofMillis(250)), TOP, 4));
  }

  @Test
  void linearGrowsByItsStepUntilTheCap() {
    Backoff linear = Backoff.linear(Duration.ofMillis(100), Duration.ofMillis(50), Duration.ofMillis(300));
    assertArrayEquals(ms(100, 150, 200, 250, 300, 300, 300), delays(linear, TOP, 7));
  }

  @Test
  void linearStopsExactlyAtTheCapWhenTheStepOvershootsIt() {
    Backoff linear = Backoff.linear(Duration.ofSeconds(1), Duration.ofMillis(700), Duration.ofSeconds(2));
    assertArrayEquals(ms(1000, 1700, 2000, 2000), delays(linear, TOP, 4));
  }

  @Test
  void exponentialMultipliesUntilTheCap() {
    Backoff doubling = Backoff.exponential(Duration.ofMillis(100), 2, Duration.ofSeconds(1));
    assertArrayEquals(ms(100, 200, 400, 800, 1000, 1000), delays(doubling, TOP, 6));
    Backoff threeHalves = Backoff.exponential(Duration.ofMillis(100), 1.5, Duration.ofSeconds(1));
    assertArrayEquals(new long[] {100 * MS, 150 * MS, 225 * MS, 337_500_000, 506_250_000, 759_375_000, S, S},
        delays(threeHalves, TOP, 8));
  }

  @Test
  void exponentialWithMultiplierOneIsConstant() {
    assertArrayEquals(ms(7, 7, 7), delays(Backoff.exponential(Duration.ofMillis(7), 1, Duration.ofSeconds(1)), TOP, 3));
  }

  @Test
  void fullJitterCeilingsDoubleUpToTheCap() {
    // TOP makes every draw the top of [0, m]: the ceilings themselves.
    Backoff full = Backoff.fullJitter(Duration.ofMillis(100), Duration.ofMillis(1000));
    assertArrayEquals(ms(100, 200, 400, 800, 1000, 1000), delays(full, TOP, 6));
  }

  @Test
  void equalJitterNeverWaitsLessThanHalfTheCeiling() {
    // TOP makes every draw of uniform[0, m/2] its top, so the delay is m - m/2: the lower end.
    Backoff equal = Backoff.equalJitter(Duration.ofNanos(101), Duration.ofNanos(1000));
    assertArrayEquals(new long[] {51, 101, 202, 404, 500, 500}, delays(equal, TOP, 6));
  }

  @Test
  void decorrelatedJitterReachesAtMostThreeTimesThePreviousDelayAndTheCap() {
    Backoff decorrelated = Backoff.decorrelatedJitter(Duration.ofSeconds(1), Duration.ofSeconds(20));
    assertArrayEquals(ms(3000, 9000, 20000, 20000), delays(decorrelated, TOP, 4));
  }

  @Test
  void decorrelatedJitterWithBaseEqualToCapIsConstant() {
    Backoff decorrelated = Backoff.decorrelatedJitter(Duration.ofSeconds(2), Duration.ofSeconds(2));
    assertArrayEquals(ms(2000, 2000, 2000), delays(decorrelated, new SplittableRandom(1), 3));
  }

  @Test
  void decorrelatedJitterV2SpreadsCappedDelaysOverTheUpperHalfOfTheCap() {
    Backoff v2 = Backoff.decorrelatedJitterV2(Duration.ofSeconds(1), Duration.ofSeconds(60));
    long[] delays = delays(v2, new SplittableRandom(42), 1000);
    long[] capped = Arrays.copyOfRange(delays, 200, 1000);
    assertTrue(Arrays.stream(capped).allMatch(d -> d >= 30 * S && d <= 60 * S));
    assertTrue(Arrays.stream(capped).distinct().count() > 700); // continuous draws: no ties
  }

  @Test
  void grpcDefaultsAreThePublishedOnes() {
    GrpcConfig defaults = GrpcConfig.defaults();
    assertEquals(Duration.ofSeconds(1), defaults.initialBackoff());
    assertEquals(1.6, defaults.multiplier());
    assertEquals(0.2, defaults.jitter());
    assertEquals(Duration.ofSeconds(120), defaults.maxBackoff());
    assertEquals(defaults, GrpcConfig.builder().build());
    assertEquals("Backoff.grpc(initialBackoff=PT1S, multiplier=1.6, jitter=0.2, maxBackoff=PT2M)",
        Backoff.grpc().toString());
  }

  @Test
  void grpcWithoutJitterGrowsByOnePointSixUpToTheMaximum() {
    Backoff grpc = Backoff.grpc(GrpcConfig.builder().jitter(0).build());
    assertArrayEquals(new long[] {
        1_000_000_000L, 1_600_000_000L, 2_560_000_000L, 4_096_000_000L, 6_553_600_000L, 10_485_760_000L,
        16_777_216_000L, 26_843_545_600L, 42_949_672_960L, 68_719_476_736L, 109_951_162_777L,
        120_000_000_000L, 120_000_000_000L}, delays(grpc, new SplittableRandom(1), 13));
  }

  @Test
  void grpcAppliesItsJitterAroundTheCappedCentre() {
    // TOP gives the top of [c (1 - j), c (1 + j)]: 1.2 s first, and 144 s once capped, not 120 s.
    long[] top = delays(Backoff.grpc(), TOP, 15);
    assertEquals(1_200_000_000L, top[0]);
    assertEquals(144 * S, top[14]);
    long[] seeded = delays(Backoff.grpc(), new SplittableRandom(7), 2000);
    assertTrue(seeded[0] >= 800 * MS && seeded[0] <= 1200 * MS);
    long[] capped = Arrays.copyOfRange(seeded, 20, 2000);
    assertTrue(Arrays.stream(capped).allMatch(d -> d >= 96 * S && d <= 144 * S));
    assertTrue(Arrays.stream(capped).min().getAsLong() < 100 * S); // reaches both ends
    assertTrue(Arrays.stream(capped).max().getAsLong() > 140 * S);
  }

  @Test
  void withJitterKeepsItsTopBelowTheCapOfThePolicyItWraps() {
    Backoff jittered = Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(30)).withJitter(0.2);
    assertArrayEquals(ms(1200, 2400, 4800, 9600, 19200, 30000, 30000), delays(jittered, TOP, 7));
    long[] capped = Arrays.copyOfRange(delays(jittered, new SplittableRandom(3), 2000), 10, 2000);
    assertTrue(Arrays.stream(capped).allMatch(d -> d >= 24 * S && d <= 30 * S));
    assertTrue(Arrays.stream(capped).min().getAsLong() < 25 * S);
  }

  @Test
  void withJitterOnAPolicyWithoutCapSpreadsOnBothSides() {
    Backoff jittered = Backoff.constant(Duration.ofSeconds(1)).withJitter(0.5);
    assertArrayEquals(ms(1500, 1500), delays(jittered, TOP, 2));
    long[] seeded = delays(jittered, new SplittableRandom(5), 1000);
    assertTrue(Arrays.stream(seeded).allMatch(d -> d >= 500 * MS && d <= 1500 * MS));
    assertTrue(Arrays.stream(seeded).min().getAsLong() < 600 * MS);
  }

  @Test
  void withJitterWorksOnAForeignPolicyAndZeroLeavesDelaysUnchanged() {
    Backoff foreign = random -> () -> 10 * MS;
    assertArrayEquals(ms(12, 12), delays(foreign.withJitter(0.2), TOP, 2));
    Backoff linear = Backoff.linear(Duration.ofMillis(1), Duration.ofMillis(1), Duration.ofMillis(3));
    assertArrayEquals(ms(1, 2, 3, 3), delays(linear.withJitter(0), new SplittableRandom(9), 4));
  }

  @Test
  void toStringNamesThePolicyAndItsParameters() {
    assertEquals("Backoff.fullJitter(base=PT0.1S, cap=PT30S)",
        Backoff.fullJitter(Duration.ofMillis(100), Duration.ofSeconds(30)).toString());
    assertEquals("Backoff.exponential(base=PT1S, multiplier=2.0, cap=PT1M).withJitter(0.25)",
        Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofMinutes(1)).withJitter(0.25).toString());
  }

  @Test
  void nextDelayIsTheNanosAsADuration() {
    Backoff.Schedule schedule = Backoff.constant(Duration.ofMillis(30)).start(TOP);
    assertEquals(Duration.ofMillis(30), schedule.nextDelay());
  }

  @Test
  void everyPolicyRejectsANullGenerator() {
    for (Backoff backoff : allPolicies()) {
      assertThrows(NullPointerException.class, () -> backoff.start(null), backoff.toString());
    }
  }

  @Test
  void startWithoutAGeneratorDrawsFromTheCurrentThreadsRandom() throws Exception {
    Backoff full = Backoff.fullJitter(Duration.ofSeconds(1), Duration.ofSeconds(8));
    Backoff.Schedule schedule = full.start();
    long first = schedule.nextDelayNanos();
    // The schedule moves to another thread: it must not carry this thread's generator with it.
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      long second = CompletableFuture.supplyAsync(schedule::nextDelayNanos, other).get(10, TimeUnit.SECONDS);
      assertTrue(first >= 0 && first <= S && second >= 0 && second <= 2 * S);
    } finally {
      other.shutdownNow();
    }
    assertEquals("ThreadLocalRandom.current()", Randoms.CurrentThread.INSTANCE.toString());
    double u = Randoms.CurrentThread.INSTANCE.nextDouble();
    assertTrue(u >= 0 && u < 1);
  }

  @Test
  @Timeout(10)
  void positioningAtTheLastAttemptIsImmediateForEveryPolicy() {
    // O(1): no policy loops over attempts (a loop of 2^31 steps per policy would take seconds).
    for (Backoff backoff : allPolicies()) {
      for (int i = 0; i < 1000; i++) {
        long delay = ((BuiltInBackoff) backoff).startAt(Integer.MAX_VALUE, new SplittableRandom(i)).nextDelayNanos();
        assertTrue(delay >= 0 && delay <= ((BuiltInBackoff) backoff).capNanos(), backoff.toString());
      }
    }
  }

  @Test
  void theSameBackoffMayBeStartedFromManyLoopsAtOnce() {
    Backoff backoff = Backoff.fullJitter(Duration.ofMillis(1), Duration.ofSeconds(1));
    Backoff.Schedule a = backoff.start(new SplittableRandom(1));
    Backoff.Schedule b = backoff.start(new SplittableRandom(1));
    a.nextDelayNanos();
    a.nextDelayNanos();
    // b is independent of a: its first delay is a's first delay, not a's third.
    assertEquals(backoff.start(new SplittableRandom(1)).nextDelayNanos(), b.nextDelayNanos());
  }

  static List<Backoff> allPolicies() {
    Duration base = Duration.ofMillis(100);
    Duration cap = Duration.ofSeconds(30);
    return List.of(
        Backoff.constant(base),
        Backoff.linear(base, base, cap),
        Backoff.exponential(base, 2, cap),
        Backoff.fullJitter(base, cap),
        Backoff.equalJitter(base, cap),
        Backoff.decorrelatedJitter(base, cap),
        Backoff.decorrelatedJitterV2(base, cap),
        Backoff.grpc(),
        Backoff.exponential(base, 2, cap).withJitter(0.2),
        Backoff.fullJitter(base, cap).withJitter(0.5));
  }
}
