package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.Retry;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.ratelimit.RateLimitExceededException;
import dev.shepherd.ratelimit.TokenBucket;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The unchecked call forms through a composition of real policies: retry, then rate limit, then bulkhead. */
class ComposedCallFormsTest {

  private final ManualClock clock = ManualClock.instant();
  private final TokenBucket bucket = TokenBucket.builder().name("connect").rate(1, Duration.ofSeconds(1)).burst(1)
      .ticker(clock).sleeper(clock).listener(EventListener.noop()).build();
  private final Bulkhead bulkhead = Bulkhead.builder().name("db").maxConcurrent(1).ticker(clock)
      .listener(EventListener.noop()).build();

  private Retry retry(int maxAttempts) {
    return Retry.builder().name("hub").backoff(Backoff.constant(Duration.ofMillis(100))).maxAttempts(maxAttempts)
        .ticker(clock).sleeper(clock).random(new SplittableRandom(7)).listener(EventListener.noop()).build();
  }

  @Test
  void anOuterRetryWaitsOutTheInnerLimitersRefusalThroughGetAndRun() {
    Policy policy = Policy.compose(retry(5), bucket, bulkhead);
    AtomicInteger calls = new AtomicInteger();
    assertEquals(1, (int) policy.get(calls::incrementAndGet));
    assertEquals(Duration.ZERO, clock.elapsed(), "the first call is granted at once");
    policy.run(() -> assertEquals(1, bulkhead.inFlight(), "the bulkhead is held while the action runs"));
    assertTrue(clock.elapsed().compareTo(Duration.ofSeconds(1)) >= 0,
        "the retry honoured the bucket's retry-after before the second call: " + clock.elapsed());
    assertEquals(0, bulkhead.inFlight());
    assertEquals(2, bucket.grantedCount());
    assertFalse(clock.sleeps().isEmpty());
  }

  @Test
  void withTheLimiterOutsideOnePermitCoversAllAttempts() {
    Policy policy = Policy.compose(bucket, retry(3), bulkhead);
    AtomicInteger calls = new AtomicInteger();
    IllegalStateException last = assertThrows(IllegalStateException.class, () -> policy.run(() -> {
      throw new IllegalStateException("attempt " + calls.incrementAndGet());
    }));
    assertEquals("attempt 3", last.getMessage());
    assertEquals(1, bucket.grantedCount(), "one permit for the three attempts");
    assertThrows(RateLimitExceededException.class, () -> policy.get(calls::incrementAndGet));
    assertEquals(3, calls.get());
    assertEquals(0, bulkhead.inFlight());
  }
}
