package dev.shepherd.ratelimit;

import static dev.shepherd.ratelimit.TokenBucketTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class LeakyBucketMeterTest {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private LeakyBucketMeter.Builder meter() {
    return LeakyBucketMeter.builder().name("egress").ticker(clock).sleeper(clock).listener(events::add);
  }

  @Test
  void withoutToleranceItAdmitsExactlyOnePermitPerInterval() {
    LeakyBucketMeter m = meter().rate(10, Duration.ofSeconds(1)).build();
    assertTrue(m.tryAcquire());
    assertEquals(100_000_000L, m.acquireOrRetryAfterNanos(1));
    clock.advanceNanos(99_999_999L);
    assertFalse(m.tryAcquire());
    clock.advanceNanos(1);
    assertTrue(m.tryAcquire());
    assertMessage("permits must be at most 1 (1 + tolerance / interval; more could never be granted): 2",
        () -> m.tryAcquire(2));
  }

  @Test
  void itToleratesRequestsUpToToleranceEarly() {
    // 10 per second with 250 ms of tolerance: a capacity of 1 + 2.5 = 3.5 permits.
    LeakyBucketMeter m = meter().rate(10, Duration.ofSeconds(1)).tolerance(Duration.ofMillis(250)).build();
    assertEquals(Duration.ofMillis(250), m.tolerance());
    assertTrue(m.tryAcquire(3));
    assertEquals(50_000_000L, m.acquireOrRetryAfterNanos(1)); // half a permit left, half to go
    clock.advance(Duration.ofMillis(50));
    assertTrue(m.tryAcquire());
    assertEquals(100_000_000L, m.currentWaitNanos());
    assertMessage("permits must be at most 3 (1 + tolerance / interval; more could never be granted): 4",
        () -> m.tryAcquire(4));
  }

  @Test
  void itsCallNeverWaits() throws Exception {
    LeakyBucketMeter m = meter().rate(1, Duration.ofSeconds(1)).build();
    assertEquals(1, (int) m.call(() -> 1));
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> m.call(() -> 2));
    assertEquals(1_000_000_000L, e.retryAfterNanos());
    assertEquals(List.of(), clock.sleeps());
  }

  @Test
  void aToleranceTooLongForTheRateFailsInBuildNamingIt() {
    assertMessage("tolerance must be zero or positive: PT-0.001S", () -> LeakyBucketMeter.builder().tolerance(Duration.ofMillis(-1)));
    // At 3 per second a time unit is a third of a nanosecond: 2^60 units are about 12 years.
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> meter().rate(3, Duration.ofSeconds(1)).tolerance(Duration.ofDays(365 * 20)).build());
    assertTrue(e.getMessage().startsWith("tolerance must be at most PT"), e.getMessage());
    assertTrue(e.getMessage().endsWith(" at 3 per 1 s: PT175200H"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> LeakyBucketMeter.builder().build());
  }

  @Test
  void badRatesAndRequestsFailNamingTheValueAndLeaveTheMeterUntouched() {
    assertMessage("period must be positive: PT-1S", () -> LeakyBucketMeter.builder().rate(1, Duration.ofSeconds(-1)));
    LeakyBucketMeter m = meter().rate(10, Duration.ofSeconds(1)).tolerance(Duration.ofMillis(100)).build(); // capacity 2
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
    LeakyBucketMeter m = meter().rate(10, Duration.ofSeconds(1)).build();
    assertEquals("LeakyBucketMeter{'egress', 10 per 1 s, tolerance=PT0S}", m.toString());
    assertEquals(Rate.of(1, Duration.ofMillis(100)), m.rate());
  }
}
