package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class TokenBucketTest {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private TokenBucket.Builder bucket() {
    return TokenBucket.builder().name("connect").ticker(clock).sleeper(clock).listener(events::add);
  }

  @Test
  void aFullBucketGrantsItsBurstAtOnceThenOnePermitPerInterval() {
    TokenBucket b = bucket().rate(10, Duration.ofSeconds(1)).burst(5).build();
    for (int i = 0; i < 5; i++) {
      assertTrue(b.tryAcquire());
    }
    assertFalse(b.tryAcquire());
    assertEquals(100_000_000L, b.acquireOrRetryAfterNanos(1));
    clock.advance(Duration.ofMillis(99));
    assertFalse(b.tryAcquire());
    clock.advance(Duration.ofMillis(1));
    assertTrue(b.tryAcquire());
    assertFalse(b.tryAcquire());
  }

  @Test
  void threePerSecondGrantsExactlyThreeEverySecondForAYearWithoutDrift() {
    TokenBucket b = bucket().rate(3, Duration.ofSeconds(1)).burst(2000).startFull(false).build();
    long granted = 0;
    // Take everything every ~512 s (not a whole number of seconds, nor of intervals) for a year of
    // manual time: a drift of even 1 ns per permit would show as a missing or extra permit.
    long step = 1_000_000_000L / 7 * 3584;
    long end = 365L * 24 * 3600 * 1_000_000_000L;
    while (clock.read() < end) {
      clock.advanceNanos(step);
      long available = b.availablePermits();
      assertTrue(available < 2000, "never capped, so nothing is lost to the cap");
      if (available > 0) {
        assertTrue(b.tryAcquire((int) available));
        granted += available;
      }
      assertFalse(b.tryAcquire());
    }
    // One permit per 10^9/3 ns exactly: floor(3 * elapsed / 10^9) in total.
    assertEquals(clock.read() * 3 / 1_000_000_000L, granted);
  }

  @Test
  void theRetryAfterOfAFractionalIntervalIsRoundedUpToTheFirstNanosecondThatWorks() {
    TokenBucket b = bucket().rate(3, Duration.ofSeconds(1)).burst(1).build();
    assertTrue(b.tryAcquire());
    assertEquals(333_333_334L, b.acquireOrRetryAfterNanos(1)); // 333,333,333.33 rounded up
    clock.advanceNanos(333_333_333L);
    assertEquals(1L, b.acquireOrRetryAfterNanos(1));
    clock.advanceNanos(1);
    assertEquals(0L, b.acquireOrRetryAfterNanos(1));
    // With a burst of one the bucket was full (capped) for the last 2/3 ns, so the next permit is
    // one full interval after this grant: 333,333,333.33 ns, rounded up again.
    assertEquals(333_333_334L, b.acquireOrRetryAfterNanos(1));
  }

  @Test
  void anEmptyStartMakesTheFirstPermitWaitOneInterval() {
    TokenBucket b = bucket().rate(1, Duration.ofDays(1)).burst(2).startFull(false).build();
    assertEquals(Duration.ofDays(1).toNanos(), b.acquireOrRetryAfterNanos(1));
    assertEquals(Duration.ofDays(2).toNanos(), b.acquireOrRetryAfterNanos(2));
    clock.advance(Duration.ofDays(2));
    assertEquals(2, b.availablePermits());
    assertTrue(b.tryAcquire(2));
  }

  @Test
  void aBillionPerSecondIsOnePermitPerNanosecond() {
    TokenBucket b = bucket().rate(1_000_000_000, Duration.ofSeconds(1)).burst(1000).build();
    assertTrue(b.tryAcquire(1000));
    assertEquals(1, b.acquireOrRetryAfterNanos(1));
    assertEquals(1000, b.acquireOrRetryAfterNanos(1000));
    clock.advanceNanos(10);
    assertTrue(b.tryAcquire(10));
    assertFalse(b.tryAcquire());
  }

  @Test
  void aTickerStartingNearLongMaxWorksAcrossTheOverflow() {
    TestTime.WrappingTicker ticker = new TestTime.WrappingTicker(Long.MAX_VALUE - 150_000_000L);
    TokenBucket b = TokenBucket.builder().rate(10, Duration.ofSeconds(1)).burst(1)
        .ticker(ticker).listener(EventListener.noop()).build();
    assertTrue(b.tryAcquire());
    ticker.advance(100_000_000L); // still below Long.MAX_VALUE
    assertTrue(b.tryAcquire());
    ticker.advance(99_999_999L); // wraps to negative readings
    assertEquals(1, b.acquireOrRetryAfterNanos(1));
    ticker.advance(1);
    assertTrue(b.tryAcquire());
  }

  @Test
  void aSilenceThatWrapsTheStateIntoAPlausibleDebtStillFindsTheBucketFull() {
    // 1,000,003 per second: S = 1,000,003 units per ns, so one long of TAT spans 2^64 / S ns, about
    // 5 h. A silence whose length in units lands just below a multiple of 2^64 makes the old TAT
    // read as a debt of about 2^60 units, inside the horizon: only the write stamp tells it apart.
    long s = 1_000_003L;
    TokenBucket b = bucket().rate(s, Duration.ofSeconds(1)).burst(4).build();
    assertTrue(b.tryAcquire(4)); // drained: TAT = now + 4 * 10^9 units
    for (int k = 1; k <= 3; k++) {
      long phantomGap = java.math.BigInteger.ONE.shiftLeft(64).multiply(java.math.BigInteger.valueOf(k))
          .subtract(java.math.BigInteger.ONE.shiftLeft(60))
          .divide(java.math.BigInteger.valueOf(s)).longValueExact();
      clock.advanceNanos(phantomGap);
      assertEquals(4, b.availablePermits(), "silence " + k + ": hours of refill, so full");
      assertEquals(0, b.acquireOrRetryAfterNanos(4), "silence " + k);
      assertEquals(1_000L, b.acquireOrRetryAfterNanos(1), "and exact again right after: one interval, ~1 µs");
    }
  }

  @Test
  void aLongSilenceNeverHidesARealDebt() throws InterruptedException {
    // The stamp may only clear debts that cannot be real. Queue the bucket far ahead (a debt of
    // 2 * 10^18 units, 33 minutes, near its horizon of 2^61 units, 38 minutes), then stay silent
    // until 1 µs before that debt is paid: the debt left must be exactly what it is.
    long s = 1_000_003L;
    int burst = 1_000_000_000; // tau = 10^18 units
    TokenBucket b = bucket().rate(s, Duration.ofSeconds(1)).burst(burst).sleeper(d -> { }).build();
    assertTrue(b.tryAcquire(burst));
    assertTrue(b.tryAcquire(burst, Duration.ofHours(1)), "a reservation one burst ahead"); // not slept
    long debtUnits = 2_000_000_000_000_000_000L;
    long silence = debtUnits / s - 1_000;
    clock.advanceNanos(silence);
    long left = debtUnits - silence * s;
    assertEquals((left + s - 1) / s, b.acquireOrRetryAfterNanos(burst), "the whole remaining debt");
    assertEquals((1_000_000_000_000_000_000L - left) / 1_000_000_000L, b.availablePermits(), "(tau - debt) / interval");
  }

  @Test
  void tryAcquireWithAWaitReservesAndSleepsExactlyTheRetryAfter() throws InterruptedException {
    TokenBucket b = bucket().rate(2, Duration.ofSeconds(1)).burst(2).build();
    assertTrue(b.tryAcquire(2));
    assertTrue(b.tryAcquire(1, Duration.ofSeconds(1)));
    assertTrue(b.tryAcquire(1, Duration.ofMillis(500)));
    assertEquals(List.of(Duration.ofMillis(500), Duration.ofMillis(500)), clock.drainSleeps());
    // Not certain within 999 ms: refuses at once, without sleeping and without taking anything.
    assertFalse(b.tryAcquire(2, Duration.ofMillis(999)));
    assertEquals(List.of(), clock.sleeps());
    assertTrue(b.tryAcquire(2, Duration.ofSeconds(1)));
    assertEquals(List.of(Duration.ofSeconds(1)), clock.sleeps());
  }

  @Test
  void anAvailablePermitIsTakenWithoutWaitingOrLookingAtTheInterruptFlag() throws InterruptedException {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).build();
    Thread.currentThread().interrupt();
    try {
      assertTrue(b.tryAcquire(1, Duration.ofSeconds(5)));
      assertTrue(Thread.currentThread().isInterrupted());
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void anInterruptedWaiterGivesItsReservationBackWhenNobodyCameAfterIt() {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).burst(1).build();
    assertTrue(b.tryAcquire());
    clock.advance(Duration.ofMillis(300));
    Thread.currentThread().interrupt(); // ManualClock.sleep throws at once
    assertThrows(InterruptedException.class, () -> b.tryAcquire(1, Duration.ofSeconds(5)));
    assertFalse(Thread.currentThread().isInterrupted(), "the sleeper cleared the flag, as Thread.sleep does");
    // As if it had never asked: the permit is due 700 ms from now, not 1.7 s.
    assertEquals(700_000_000L, b.acquireOrRetryAfterNanos(1));
    assertEquals(0, b.grantedCount() - 1);
  }

  @Test
  void theRejectionThroughThePolicyFormNamesTheLimiterAndCarriesTheExactWait() throws Exception {
    TokenBucket b = bucket().rate(1, Duration.ofMinutes(1)).burst(1).build();
    assertEquals("ok", b.call(() -> "ok"));
    AtomicInteger ran = new AtomicInteger();
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> b.call(ran::incrementAndGet));
    assertEquals(0, ran.get());
    assertEquals("connect", e.policyName());
    assertEquals(60_000_000_000L, e.retryAfterNanos());
    assertEquals("60", e.retryAfterHeader());
    assertTrue(e.getMessage().startsWith("RateLimiter 'connect' does not permit further calls"), e.getMessage());
    clock.advance(Duration.ofSeconds(59).plusNanos(1));
    RateLimitExceededException later = assertThrows(RateLimitExceededException.class, () -> b.call(() -> "x"));
    assertEquals(Duration.ofSeconds(1).minusNanos(1), later.retryAfter().orElseThrow());
    assertEquals("1", later.retryAfterHeader());
  }

  @Test
  void theRetryAfterHeaderIsWholeSecondsRoundedUpSoAClientNeverComesBackEarly() throws Exception {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(10)).burst(1).build();
    assertTrue(b.tryAcquire());
    clock.advance(Duration.ofMillis(8_800));
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> b.call(() -> 1));
    assertEquals(1_200_000_000L, e.retryAfterNanos());
    assertEquals("2", e.retryAfterHeader(), "1.2 s rounds up to 2");
    clock.advance(Duration.ofMillis(1_200).minusNanos(1));
    e = assertThrows(RateLimitExceededException.class, () -> b.call(() -> 1));
    assertEquals(1, e.retryAfterNanos());
    assertEquals("1", e.retryAfterHeader(), "one nanosecond is still a whole second, never 0");
    clock.advanceNanos(1);
    assertEquals(1, (int) b.call(() -> 1), "granted exactly at now + retry-after");
  }

  @Test
  void callAsyncCompletesExceptionallyInsteadOfThrowing() {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).burst(1).build();
    assertEquals("a", b.callAsync(() -> java.util.concurrent.CompletableFuture.completedFuture("a")).toCompletableFuture().join());
    AtomicInteger started = new AtomicInteger();
    CompletionException e = assertThrows(CompletionException.class, () -> b.<String>callAsync(() -> {
      started.incrementAndGet();
      return java.util.concurrent.CompletableFuture.completedFuture("b");
    }).toCompletableFuture().join());
    assertTrue(e.getCause() instanceof RateLimitExceededException);
    assertEquals(0, started.get());
  }

  @Test
  void aRetryWrappedAroundTheLimiterSeesAnOrdinaryRejectedException() {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).burst(1).build();
    Policy p = Policy.compose(b);
    assertSame(b, p);
    assertTrue(b.tryAcquire());
    RejectedException e = assertThrows(RejectedException.class, () -> p.call(() -> 1));
    assertEquals(1_000_000_000L, e.retryAfterNanos());
  }

  @Test
  void onlyRejectionsAreReportedAndCounted() {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).burst(2).build();
    assertTrue(b.tryAcquire());
    assertTrue(b.tryAcquire());
    assertEquals(List.of(), events);
    assertFalse(b.tryAcquire(2));
    assertEquals(1, events.size());
    Event e = events.get(0);
    assertEquals("connect", e.source());
    assertEquals(Event.Kind.REJECTED, e.kind());
    assertEquals(Duration.ofSeconds(2), e.delay());
    assertEquals(2, b.grantedCount());
    assertEquals(1, b.rejectedCount());
  }

  @Test
  void aThrowingListenerDoesNotBreakTheLimiter() {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).burst(1)
        .listener(e -> {
          throw new IllegalStateException("broken listener");
        }).build();
    assertTrue(b.tryAcquire());
    assertEquals(1_000_000_000L, b.acquireOrRetryAfterNanos(1));
  }

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheValue() {
    assertMessage("permits must be positive: 0", () -> TokenBucket.builder().rate(0, Duration.ofSeconds(1)));
    assertMessage("permits must be positive: -3", () -> TokenBucket.builder().rate(-3, Duration.ofSeconds(1)));
    assertMessage("period must be positive: PT0S", () -> TokenBucket.builder().rate(1, Duration.ZERO));
    assertMessage("permitsPerSecond must be positive and finite: NaN", () -> TokenBucket.builder().permitsPerSecond(Double.NaN));
    assertMessage("permitsPerSecond must be positive and finite: Infinity",
        () -> TokenBucket.builder().permitsPerSecond(Double.POSITIVE_INFINITY));
    assertMessage("permitsPerSecond must be positive and finite: 0.0", () -> TokenBucket.builder().permitsPerSecond(0));
    assertMessage("permitsPerSecond must be positive and finite: -1.0", () -> TokenBucket.builder().permitsPerSecond(-1));
    assertMessage("permitsPerSecond must be at most 1e9 (one per nanosecond): 2.0E9",
        () -> TokenBucket.builder().permitsPerSecond(2e9));
    assertMessage("rate must be at most one permit per nanosecond (10^9 per second): 2 per 1 ns",
        () -> TokenBucket.builder().rate(2, Duration.ofNanos(1)));
    assertMessage("burst must be at least 1: 0", () -> TokenBucket.builder().burst(0));
    IllegalArgumentException tooSlow = assertThrows(IllegalArgumentException.class,
        () -> TokenBucket.builder().rate(1, Duration.ofDays(1)).burst(1_000_000).build());
    assertTrue(tooSlow.getMessage().startsWith("burst must be at most 13343 at 1 per 1 d"), tooSlow.getMessage());
    assertThrows(IllegalStateException.class, () -> TokenBucket.builder().build());
    assertThrows(NullPointerException.class, () -> TokenBucket.builder().ticker(null));
  }

  @Test
  void badRequestsFailClearlyAndLeaveTheStateUntouched() {
    TokenBucket b = bucket().rate(1, Duration.ofSeconds(1)).burst(3).build();
    assertTrue(b.tryAcquire());
    assertMessage("permits must be positive: 0", () -> b.tryAcquire(0));
    assertMessage("permits must be positive: -1", () -> b.acquireOrRetryAfterNanos(-1));
    assertMessage("permits must be at most 3 (the burst; more could never be granted): 4", () -> b.tryAcquire(4));
    assertMessage("maxWait must be zero or positive: PT-1S", () -> b.tryAcquire(1, Duration.ofSeconds(-1)));
    assertThrows(NullPointerException.class, () -> b.tryAcquire(1, null));
    assertEquals(2, b.availablePermits());
    assertEquals(0, b.rejectedCount());
    assertEquals(List.of(), events);
    assertEquals(List.of(), clock.sleeps());
  }

  @Test
  void permitsPerSecondReadsTheDoubleAsTheSimplestFraction() {
    TokenBucket third = bucket().permitsPerSecond(1.0 / 3).build();
    assertEquals(Rate.of(1, Duration.ofSeconds(3)), third.rate());
    assertEquals("1 per 3 s", third.rate().toString());
    assertEquals(1, third.burst());
    TokenBucket three = bucket().permitsPerSecond(3.0).build();
    assertEquals("3 per 1 s", three.rate().toString());
    assertEquals(3, three.burst());
    assertEquals(Rate.of(1, Duration.ofSeconds(10)), bucket().permitsPerSecond(0.1).build().rate());
    assertEquals(Rate.of(1, Duration.ofDays(1)), bucket().permitsPerSecond(1.0 / 86_400).build().rate());
    assertEquals(Rate.of(1, Duration.ofNanos(1)), bucket().permitsPerSecond(1e9).build().rate());
    assertEquals("TokenBucket{'connect', 3 per 1 s, burst=3}", three.toString());
  }

  @Test
  void ofBuildsAFullBucketWithBurstEqualToTheRate() {
    TokenBucket b = TokenBucket.of("hub", 5, Duration.ofSeconds(1));
    assertEquals("hub", b.name());
    assertEquals(5, b.burst());
    assertEquals(5, b.availablePermits());
  }

  static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertEquals(expected, e.getMessage());
  }
}
