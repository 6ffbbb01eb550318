package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.RecordingListener;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The unchecked call forms {@code get(Supplier)} and {@code run(Runnable)} on every rate limiter of
 * this module: one permit each, the same exact retry-after as {@code call}, no checked exception.
 */
class CallFormsTest {

  private final ManualClock clock = new ManualClock();
  private final RecordingListener events = new RecordingListener();

  /** Every limiter here grants 2 permits at once and then one every 100 ms. */
  private List<RateLimiter> limiters() {
    KeyedRateLimiter<String> keyed = KeyedTokenBucket.builder().name("per-device").rate(10, Duration.ofSeconds(1))
        .burst(2).ticker(clock).sleeper(clock).listener(events).build();
    return List.of(
        TokenBucket.builder().name("bucket").rate(10, Duration.ofSeconds(1)).burst(2)
            .ticker(clock).sleeper(clock).listener(events).build(),
        LeakyBucketMeter.builder().name("meter").rate(10, Duration.ofSeconds(1)).tolerance(Duration.ofMillis(100))
            .ticker(clock).sleeper(clock).listener(events).build(),
        keyed.forKey("hub-1"));
  }

  @Test
  void getAndRunTakeOnePermitEachAndRefuseWithTheExactWait() {
    for (RateLimiter limiter : limiters()) {
      long grantedBefore = limiter.grantedCount();
      AtomicInteger ran = new AtomicInteger();
      assertEquals("first", limiter.get(() -> "first"));
      limiter.run(ran::incrementAndGet);
      assertEquals(1, ran.get());
      assertEquals(grantedBefore + 2, limiter.grantedCount(), limiter.name());
      RateLimitExceededException refused = assertThrows(RateLimitExceededException.class,
          () -> limiter.get(ran::incrementAndGet));
      assertEquals(Duration.ofMillis(100), refused.retryAfter().orElseThrow(), limiter.name());
      assertThrows(RateLimitExceededException.class, () -> limiter.run(ran::incrementAndGet));
      assertEquals(1, ran.get(), "a refused action never runs");
      assertEquals(2, limiter.rejectedCount());
      clock.advance(Duration.ofMillis(100));
      assertEquals(2, (int) limiter.get(ran::incrementAndGet), "granted again after exactly the wait");
    }
    assertTrue(events.count(Event.Kind.REJECTED) >= 6, events.toString());
  }

  @Test
  void whatTheActionThrowsPassesThroughAndItsPermitStaysTaken() {
    for (RateLimiter limiter : limiters()) {
      IllegalStateException boom = new IllegalStateException("boom");
      assertSame(boom, assertThrows(IllegalStateException.class, () -> limiter.get(() -> {
        throw boom;
      })));
      assertSame(boom, assertThrows(IllegalStateException.class, () -> limiter.run(() -> {
        throw boom;
      })));
      assertEquals(2, limiter.grantedCount(), "the call was made: both permits are spent");
      assertThrows(RateLimitExceededException.class, () -> limiter.run(() -> { }));
    }
  }

  @Test
  void nullActionsAreRefusedWithoutTakingAPermit() {
    for (RateLimiter limiter : limiters()) {
      assertThrows(NullPointerException.class, () -> limiter.get(null));
      assertThrows(NullPointerException.class, () -> limiter.run(null));
      assertEquals(0, limiter.grantedCount() + limiter.rejectedCount());
    }
  }
}
