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

class LeakyBucketShaperTest {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private LeakyBucketShaper.Builder shaper(Duration maxQueueDelay) {
    return LeakyBucketShaper.builder().name("egress").maxQueueDelay(maxQueueDelay).ticker(clock).sleeper(clock)
        .listener(events::add);
  }

  @Test
  void aShaperGivesTurnsAtTheRateAndRefusesATurnBeyondMaxQueueDelayAtOnce() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper(); // records the waits; time does not move
    LeakyBucketShaper q = shaper(Duration.ofSeconds(1)).rate(10, Duration.ofSeconds(1)).sleeper(sleeper).build();
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
    LeakyBucketShaper q = shaper(Duration.ofSeconds(10)).rate(4, Duration.ofSeconds(1)).build();
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
    LeakyBucketShaper q = shaper(Duration.ofSeconds(1)).rate(10, Duration.ofSeconds(1)).sleeper(sleeper).build();
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
    LeakyBucketShaper q = shaper(Duration.ofSeconds(10)).rate(3, Duration.ofSeconds(1)).sleeper(sleeper).build();
    q.acquire(1);
    q.acquire(1);
    q.acquire(2); // occupies ceil(2 * 333,333,333.33) = 666,666,667 ns
    q.acquire(1);
    assertEquals(List.of(333_333_334L, 666_666_668L, 1_333_333_335L), sleeper.sleeps);
  }

  @Test
  void anInterruptedCallerLastInTheQueueGivesItsTurnBack() {
    RecordingSleeper sleeper = new RecordingSleeper();
    LeakyBucketShaper q = shaper(Duration.ofSeconds(1)).rate(10, Duration.ofSeconds(1)).sleeper(sleeper).build();
    assertTrue(q.tryAcquire());
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, () -> q.acquire(1));
    assertEquals(100_000_000L, q.currentWaitNanos(), "the turn at 100 ms is free again");
  }

  @Test
  void badConfigurationAndRequestsFailNamingTheValue() {
    assertMessage("maxQueueDelay must be zero or positive: PT-1S",
        () -> LeakyBucketShaper.builder().maxQueueDelay(Duration.ofSeconds(-1)));
    // 2^60 time units: at 3 per second, about 12 years.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> shaper(Duration.ofDays(365 * 20)).rate(3, Duration.ofSeconds(1)).build());
    assertTrue(e.getMessage().startsWith("maxQueueDelay must be at most PT"), e.getMessage());
    assertTrue(e.getMessage().endsWith(" at 3 per 1 s: PT175200H"), e.getMessage());
    assertMessage("permits must be positive: 0", () -> LeakyBucketShaper.builder().rate(0, Duration.ofSeconds(1)));
    assertThrows(IllegalStateException.class, () -> LeakyBucketShaper.builder().maxQueueDelay(Duration.ZERO).build());
    assertThrows(IllegalStateException.class, () -> LeakyBucketShaper.builder().rate(1, Duration.ofSeconds(1)).build());
    LeakyBucketShaper q = shaper(Duration.ofSeconds(1)).rate(10, Duration.ofSeconds(1)).build();
    assertMessage("permits must be positive: 0", () -> q.tryAcquire(0));
    assertMessage("permits must be at most 11 (1 + maxQueueDelay / interval; more could never be granted): 12",
        () -> q.tryAcquire(12, Duration.ofDays(1)));
    assertMessage("maxWait must be zero or positive: PT-1S", () -> q.tryAcquire(1, Duration.ofSeconds(-1)));
    assertEquals(0, q.currentWaitNanos());
    assertEquals(0, q.rejectedCount());
  }

  /**
   * Issue 13: "the queue never holds more than maxQueueDelay × rate permits" was false for
   * multi-permit requests: one permit per second, maxQueueDelay 1 s, acquire(1), then
   * tryAcquire(100, 1 s) was accepted, queueing 100 s of work. A request is now accepted only if its
   * last permit's slot starts within maxQueueDelay, so the queue holds at most
   * maxQueueDelay × rate + 1 permits whatever the request sizes.
   */
  @Test
  void aMultiPermitRequestIsAcceptedOnlyIfItsLastPermitStartsWithinMaxQueueDelay() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper();
    LeakyBucketShaper one = shaper(Duration.ofSeconds(1)).rate(1, Duration.ofSeconds(1)).sleeper(sleeper).build();
    one.acquire(1);
    assertMessage("permits must be at most 2 (1 + maxQueueDelay / interval; more could never be granted): 100",
        () -> one.tryAcquire(100, Duration.ofSeconds(1)));
    assertFalse(one.tryAcquire(2, Duration.ofSeconds(1)), "its second permit would start 2 s away");
    assertTrue(one.tryAcquire(1, Duration.ofSeconds(1)));

    LeakyBucketShaper q = shaper(Duration.ofSeconds(3)).rate(1, Duration.ofSeconds(1)).sleeper(sleeper).build();
    q.acquire(1);                                   // the queue is busy for 1 s
    assertFalse(q.tryAcquire(4, Duration.ofDays(1)), "turn 1 s away, but its last permit 4 s away");
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> q.acquire(4));
    assertEquals(1_000_000_000L, e.retryAfterNanos(), "accepted once the queue is empty");
    q.acquire(3);                                   // turn at 1 s, last permit at 3 s: accepted
    assertEquals(1_000_000_000L, sleeper.last());
    assertEquals(4_000_000_000L, q.currentWaitNanos(), "4 permits of work = 3 s x 1/s + 1");
    clock.advance(Duration.ofSeconds(4));
    q.acquire(4);                                   // the queue is empty now: 4 = 1 + 3 s x 1/s
    assertEquals(0, clock.sleeps().size(), "the manual clock itself was never slept on");
  }

  /** Issue 13: the docs said "either way InterruptedException is thrown"; the sleeper's own exception is. */
  @Test
  void aSleeperThatFailsGetsItsOwnExceptionBackAndTheTurnIsGivenBack() throws InterruptedException {
    LeakyBucketShaper q = shaper(Duration.ofSeconds(1)).rate(10, Duration.ofSeconds(1))
        .sleeper(d -> { throw new IllegalStateException("sleeper broke"); }).build();
    assertTrue(q.tryAcquire());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> q.acquire(1));
    assertEquals("sleeper broke", e.getMessage());
    assertEquals(100_000_000L, q.currentWaitNanos(), "the turn at 100 ms is free again");
  }

  @Test
  void describesItself() {
    LeakyBucketShaper q = shaper(Duration.ofSeconds(2)).rate(Rate.perSecond(3)).build();
    assertEquals("LeakyBucketShaper{'egress', 3 per 1 s, maxQueueDelay=PT2S}", q.toString());
    assertEquals(Duration.ofSeconds(2), q.maxQueueDelay());
    assertEquals(Rate.of(3, Duration.ofSeconds(1)), q.rate());
  }
}
