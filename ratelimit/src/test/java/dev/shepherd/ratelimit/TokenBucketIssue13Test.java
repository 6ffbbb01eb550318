package dev.shepherd.ratelimit;

import static dev.shepherd.ratelimit.TokenBucketTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.TestTime.RecordingSleeper;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The token bucket's behaviour and documentation that issue 13 found wrong, each with the test
 * that would have caught it; and its run-time rate change.
 */
class TokenBucketIssue13Test {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private TokenBucket.Builder bucket() {
    return TokenBucket.builder().name("connect").ticker(clock).sleeper(clock).listener(events::add);
  }

  /**
   * permitsPerSecond(999_999_937.0).burst(1) was read as one permit per nanosecond, so a bucket
   * driven once per nanosecond granted every time. At the exact rate the interval is
   * 1.000000063 ns, so one nanosecond after a grant a bucket of capacity 1 holds 0.999999937 of a
   * permit and refuses: the ideal bucket grants every other nanosecond, and so does this one.
   */
  @Test
  void anIntegerRateReadFromADoubleIsExactWhenDrivenEveryNanosecond() {
    TokenBucket b = bucket().permitsPerSecond(999_999_937.0).burst(1).listener(EventListener.noop()).build();
    assertEquals(Rate.of(999_999_937, Duration.ofSeconds(1)), b.rate());
    IdealBucket ideal = IdealBucket.tokenBucket(999_999_937, 1_000_000_000L, 1, true);
    long granted = 0;
    for (int i = 0; i < 10_000_000; i++) {
      boolean g = b.tryAcquire();
      if (i < 200_000) {
        assertEquals(ideal.tryTake(1), g, "at " + i + " ns");
        ideal.advance(1);
      }
      granted += g ? 1 : 0;
      clock.advanceNanos(1);
    }
    assertEquals(5_000_000, granted);
    for (double d : new double[] {123_456_789.0, 1_048_577.0, 7_000_001.0}) {
      assertEquals(Rate.of((long) d, Duration.ofSeconds(1)), bucket().permitsPerSecond(d).build().rate());
    }
  }

  /** The docs said "either way InterruptedException is thrown"; a failing sleeper's exception is. */
  @Test
  void aSleeperThatThrowsGetsItsOwnExceptionBackAndTheReservationIsReturned() {
    TokenBucket b = bucket().rate(10, Duration.ofSeconds(1)).burst(1)
        .sleeper(d -> { throw new IllegalStateException("sleeper broke"); }).build();
    assertTrue(b.tryAcquire());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.tryAcquire(1, Duration.ofSeconds(1)));
    assertEquals("sleeper broke", e.getMessage());
    assertEquals(100_000_000L, b.acquireOrRetryAfterNanos(1), "the reservation was given back");
  }

  /**
   * The docs promised reservations up to max(1 hour, refill time) beyond a full burst's debt; the
   * whole debt is also capped at 2^61 time units, which at 1,000,003 per second (S = 1,000,003) is
   * 38 minutes. A burst of 10^9 there refills in 16.7 minutes: the first reservation of a full
   * burst (debt 33.3 min) fits, a second (50 min) does not, though it would wait only 33 minutes.
   */
  @Test
  void reservationsAreCappedAt2To61TimeUnitsOfDebtAsDocumented() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper(); // time does not move
    TokenBucket b = bucket().rate(1_000_003, Duration.ofSeconds(1)).burst(1_000_000_000).sleeper(sleeper).build();
    long refill = 999_997_000_009L; // ns: 10^18 units / 1,000,003, rounded up
    assertTrue(b.tryAcquire(1_000_000_000));
    assertTrue(b.tryAcquire(1_000_000_000, Duration.ofHours(1)));
    assertEquals(List.of(refill), sleeper.sleeps);
    assertFalse(b.tryAcquire(1_000_000_000, Duration.ofHours(1)), "debt 3 x 10^18 > 2^61 units");
    // What still fits: (2^61 - 2 x 10^18) units = 305,843,009 permits' worth.
    assertFalse(b.tryAcquire(305_843_010, Duration.ofHours(1)));
    assertTrue(b.tryAcquire(305_843_009, Duration.ofHours(1)));
    assertEquals(1_305_839_091_483L, sleeper.last(), "21.8 minutes: within the hour the old docs promised");
  }

  /** Two builders said "validates everything in build()", but each setter validates its own value. */
  @Test
  void settersValidateTheirOwnValueAtOnceAndBuildWhatDependsOnSeveral() {
    TokenBucket.Builder b = TokenBucket.builder();
    assertMessage("burst must be at least 1: 0", () -> b.burst(0));
    assertMessage("permits must be positive: 0", () -> b.rate(0, Duration.ofSeconds(1)));
    assertMessage("name must be non-blank: \" \"", () -> b.name(" "));
    b.rate(1, Duration.ofDays(1)).burst(20_000); // each fine alone...
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build); // ...not together
    assertTrue(e.getMessage().startsWith("burst must be at most 13343 at 1 per 1 d"), e.getMessage());
    KeyedTokenBucket.Builder k = KeyedTokenBucket.builder();
    assertMessage("maxKeys must be at least 1: 0", () -> k.maxKeys(0));
    k.rate(1, Duration.ofDays(1)).burst(20_000);
    assertThrows(IllegalArgumentException.class, k::build);
  }

  // ---- setRate ----

  @Test
  void aRateChangeKeepsThePermitsHeldAndRefillsAtTheNewRateFromThen() {
    TokenBucket b = bucket().rate(10, Duration.ofSeconds(1)).burst(10).build();
    assertTrue(b.tryAcquire(5)); // 5 of 10 left
    b.setRate(Rate.of(1, Duration.ofSeconds(1)));
    assertEquals(Rate.of(1, Duration.ofSeconds(1)), b.rate());
    assertEquals(5, b.availablePermits(), "the permits held stay");
    assertTrue(b.tryAcquire(5));
    assertEquals(1_000_000_000L, b.acquireOrRetryAfterNanos(1), "one interval of the new rate");
    clock.advance(Duration.ofSeconds(3));
    assertEquals(3, b.availablePermits());
    b.setRate(Rate.of(100, Duration.ofSeconds(1)));
    assertEquals(3, b.availablePermits());
    clock.advance(Duration.ofMillis(70));
    assertEquals(10, b.availablePermits(), "capped at the burst, which a rate change keeps");
    assertEquals("TokenBucket{'connect', 100 per 1 s, burst=10}", b.toString());
  }

  @Test
  void aRateChangeKeepsWhatIsOwedToReservationsRoundedInTheBucketsFavour() throws InterruptedException {
    RecordingSleeper sleeper = new RecordingSleeper(); // time does not move
    TokenBucket b = bucket().rate(3, Duration.ofSeconds(1)).burst(1).sleeper(sleeper).build();
    assertTrue(b.tryAcquire());
    assertTrue(b.tryAcquire(1, Duration.ofSeconds(1))); // reserved at 333,333,334 ns
    assertEquals(List.of(333_333_334L), sleeper.sleeps);
    // Owed now: the grant and the reservation, 2 intervals of 333,333,333 1/3 ns plus the 2/3 ns
    // by which the reservation's release was rounded up to a whole nanosecond: 2.000000002 of them.
    // At 1 per second that is 2 s and 2 ns, rounded up in the bucket's favour.
    b.setRate(Rate.of(1, Duration.ofSeconds(1)));
    assertEquals(2_000_000_002L, b.acquireOrRetryAfterNanos(1));
    assertEquals(List.of(333_333_334L), sleeper.sleeps, "the sleeping reservation keeps its time");
    assertEquals(2, b.grantedCount());
    assertEquals(1, b.rejectedCount(), "counters survive the change");
  }

  @Test
  void aRateTooSlowForTheBurstIsRefusedAndLeavesTheBucketAsItWas() {
    TokenBucket b = bucket().rate(1_000, Duration.ofSeconds(1)).burst(1_000_000).build();
    assertThrows(IllegalArgumentException.class, () -> b.setRate(Rate.of(1, Duration.ofDays(1))));
    assertEquals(Rate.of(1_000, Duration.ofSeconds(1)), b.rate());
    assertTrue(b.tryAcquire(1_000_000));
    assertThrows(NullPointerException.class, () -> b.setRate(null));
  }
}
