package dev.shepherd.ratelimit;

import static dev.shepherd.ratelimit.TokenBucketTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.ratelimit.TestTime.RecordingSleeper;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class LeakyBucketTest {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private LeakyBucket.Builder leaky() {
    return LeakyBucket.builder().name("egress").ticker(clock).sleeper(clock).listener(events::add);
  }

  // ---- meter ----

  @Test
  void aMeterWithoutToleranceAdmitsExactlyOnePermitPerInterval() {
    LeakyBucket m = leaky().rate(10, Duration.ofSeconds(1)).build();
    assertEquals(LeakyBucket.Mode.METER, m.mode());
    assertTrue(m.tryAcquire());
    assertEquals(100_000_000L, m.acquireOrRetryAfterNanos(1));
    clock.advanceNanos(99_999_999L);
    assertFalse(m.tryAcquire());
    clock.advanceNanos(1);
    assertTrue(m.tryAcquire());
    assertMessage("permits must be at most 1 (1 + tolerance / interval; more could never be granted): 2", () -> m.tryAcquire(2));
  }

  @Test
  void aMeterToleratesRequestsUpToToleranceEarly() {
    // 10 per second with 250 ms of tolerance: a capacity of 1 + 2.5 = 3.5 permits.
    LeakyBucket m = leaky().rate(10, Duration.ofSeconds(1)).meter(Duration.ofMillis(250)).build();
    assertEquals(Duration.ofMillis(250), m.tolerance());
    assertTrue(m.tryAcquire(3));
    assertEquals(50_000_000L, m.acquireOrRetryAfterNanos(1)); // half a permit left, half to go
    clock.advance(Duration.ofMillis(50));
    assertTrue(m.tryAcquire());
    assertEquals(100_000_000L, m.currentWaitNanos());
    assertMessage("permits must be at most 3 (1 + tolerance / interval; more could never be granted): 4", () -> m.tryAcquire(4));
  }

  @Test
  void aMeterNeverWaitsInCallOrAcquire() throws Exception {
    LeakyBucket m = leaky().rate(1, Duration.ofSeconds(1)).build();
    assertEquals(1, (int) m.call(() -> 1));
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> m.call(() -> 2));
    assertEquals(1_000_000_000L, e.retryAfterNanos());
    assertThrows(RateLimitExceededException.class, () -> m.acquire(1));
    assertEquals(List.of(), clock.sleeps());
  }

  // ---- shaper ----

  @Test
  void aShaperGivesTurnsAtTheRateAndRefusesATurnBeyondMaxQueueDelayAtOnce() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper(); // records the waits; time does not move
    LeakyBucket q = leaky().rate(10, Duration.ofSeconds(1)).shaper(Duration.ofSeconds(1)).sleeper(sleeper).build();
    assertEquals(LeakyBucket.Mode.SHAPER, q.mode());
    for (int i = 0; i <= 10; i++) {
      q.acquire(1);
    }
    assertEquals(List.of(100_000_000L, 200_000_000L, 300_000_000L, 400_000_000L, 500_000_000L, 600_000_000L,
        700_000_000L, 800_000_000L, 900_000_000L, 1_000_000_000L), sleeper.sleeps);
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> q.acquire(1));
    assertEquals(100_000_000L, e.retryAfterNanos()); // then its turn would be exactly 1 s away
    assertEquals("RateLimiter 'egress' does not permit further calls: queue full, the turn is more than PT1S away"
        + " (maxQueueDelay); retry after PT0.1S", e.getMessage());
    assertEquals(10, sleeper.sleeps.size(), "the refused caller did not queue");
    clock.advance(Duration.ofMillis(100));
    q.acquire(1);
    assertEquals(1_000_000_000L, sleeper.last());
    assertEquals(Event.Kind.REJECTED, events.get(0).kind());
  }

  @Test
  void aShapersCallWaitsForTheTurnThenRuns() throws Exception {
    LeakyBucket q = leaky().rate(4, Duration.ofSeconds(1)).shaper(Duration.ofSeconds(10)).build();
    long[] ranAt = new long[3];
    for (int i = 0; i < 3; i++) {
      int k = i;
      q.call(() -> ranAt[k] = clock.read());
    }
    // The instant clock moves while each caller sleeps: back-to-back callers leave 250 ms apart.
    assertEquals(0, ranAt[0]);
    assertEquals(250_000_000L, ranAt[1]);
    assertEquals(500_000_000L, ranAt[2]);
  }

  @Test
  void theNonWaitingFormsOfAShaperSucceedOnlyWhenTheTurnIsNow() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper();
    LeakyBucket q = leaky().rate(10, Duration.ofSeconds(1)).shaper(Duration.ofSeconds(1)).sleeper(sleeper).build();
    assertTrue(q.tryAcquire());
    assertEquals(100_000_000L, q.acquireOrRetryAfterNanos(1));
    assertFalse(q.tryAcquire(1, Duration.ofMillis(99)));
    assertTrue(q.tryAcquire(1, Duration.ofMillis(100)));
    // maxWait beyond maxQueueDelay is capped by it.
    for (int i = 0; i < 9; i++) {
      assertTrue(q.tryAcquire(1, Duration.ofDays(1)));
    }
    assertEquals(1_100_000_000L, q.currentWaitNanos());
    assertFalse(q.tryAcquire(1, Duration.ofDays(1)));
    assertEquals(10, sleeper.sleeps.size());
    assertEquals(1_000_000_000L, sleeper.last(), "a turn exactly maxQueueDelay away is admitted");
  }

  @Test
  void turnsOfAFractionalIntervalAreRoundedUpSoTheyAreNeverCloserThanTheInterval() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper();
    LeakyBucket q = leaky().rate(3, Duration.ofSeconds(1)).shaper(Duration.ofSeconds(10)).sleeper(sleeper).build();
    assertEquals(Duration.ofNanos(333_333_334L), q.emissionInterval());
    q.acquire(1);
    q.acquire(1);
    q.acquire(2); // occupies ceil(2 * 333,333,333.33) = 666,666,667 ns
    q.acquire(1);
    assertEquals(List.of(333_333_334L, 666_666_668L, 1_333_333_335L), sleeper.sleeps);
  }

  @Test
  void anInterruptedCallerLastInTheQueueGivesItsTurnBack() {
    RecordingSleeper sleeper = new RecordingSleeper();
    LeakyBucket q = leaky().rate(10, Duration.ofSeconds(1)).shaper(Duration.ofSeconds(1)).sleeper(sleeper).build();
    assertTrue(q.tryAcquire());
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, () -> q.acquire(1));
    assertEquals(100_000_000L, q.currentWaitNanos(), "the turn at 100 ms is free again");
  }

  @Test
  void badConfigurationAndRequestsFailNamingTheValue() {
    assertMessage("tolerance must be zero or positive: PT-0.001S", () -> LeakyBucket.builder().meter(Duration.ofMillis(-1)));
    assertMessage("maxQueueDelay must be zero or positive: PT-1S", () -> LeakyBucket.builder().shaper(Duration.ofSeconds(-1)));
    assertMessage("maxQueueDelay must be at most PT320255H58M24.606846976S: PT3000000H",
        () -> LeakyBucket.builder().shaper(Duration.ofHours(3_000_000)));
    assertMessage("permits must be positive: 0", () -> LeakyBucket.builder().rate(0, Duration.ofSeconds(1)));
    assertThrows(IllegalStateException.class, () -> LeakyBucket.builder().build());
    LeakyBucket q = leaky().rate(10, Duration.ofSeconds(1)).shaper(Duration.ofSeconds(1)).build();
    assertMessage("permits must be positive: 0", () -> q.tryAcquire(0));
    assertMessage("maxWait must be zero or positive: PT-1S", () -> q.tryAcquire(1, Duration.ofSeconds(-1)));
    assertEquals(0, q.currentWaitNanos());
    assertEquals(0, q.rejectedCount());
  }

  @Test
  void badRatesAndRequestsFailNamingTheValueAndLeaveAMeterUntouched() {
    assertMessage("permitsPerSecond must be positive and finite: NaN", () -> LeakyBucket.builder().permitsPerSecond(Double.NaN));
    assertMessage("permitsPerSecond must be positive and finite: Infinity",
        () -> LeakyBucket.builder().permitsPerSecond(Double.POSITIVE_INFINITY));
    assertMessage("permitsPerSecond must be positive and finite: -2.0", () -> LeakyBucket.builder().permitsPerSecond(-2));
    assertMessage("period must be positive: PT-1S", () -> LeakyBucket.builder().rate(1, Duration.ofSeconds(-1)));
    LeakyBucket m = leaky().rate(10, Duration.ofSeconds(1)).meter(Duration.ofMillis(100)).build(); // capacity 2
    assertTrue(m.tryAcquire());
    assertMessage("permits must be positive: -1", () -> m.acquireOrRetryAfterNanos(-1));
    assertMessage("permits must be at most 2 (1 + tolerance / interval; more could never be granted): 3",
        () -> m.tryAcquire(3, Duration.ofHours(1)));
    assertMessage("maxWait must be zero or positive: PT-0.000000001S", () -> m.tryAcquire(1, Duration.ofNanos(-1)));
    assertEquals(0, m.currentWaitNanos(), "one permit is still there");
    assertEquals(0, m.rejectedCount());
    assertEquals(List.of(), events);
    assertEquals(List.of(), clock.sleeps());
    assertTrue(m.tryAcquire());
    assertEquals(100_000_000L, m.acquireOrRetryAfterNanos(1));
  }

  @Test
  void describesItself() {
    assertEquals("LeakyBucket{'egress', meter, 1 per PT0.1S, tolerance=PT0S}", leaky().rate(10, Duration.ofSeconds(1)).build().toString());
    LeakyBucket q = leaky().permitsPerSecond(3).shaper(Duration.ofSeconds(2)).build();
    assertEquals("LeakyBucket{'egress', shaper, 3 per PT1S, maxQueueDelay=PT2S}", q.toString());
    assertEquals(Duration.ofSeconds(2), q.maxQueueDelay());
    assertEquals(Duration.ZERO, q.tolerance());
  }
}
