package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class AdaptiveThrottleTest {

  private final ManualClock clock = new ManualClock();
  private final ScriptedRandom random = new ScriptedRandom();

  private AdaptiveThrottle.Builder throttle() {
    return AdaptiveThrottle.builder().name("cloud").window(Duration.ofSeconds(10), 10).minRequestRate(0)
        .ticker(clock).random(random).listener(EventListener.noop());
  }

  private static void send(AdaptiveThrottle throttle, int requests, int accepted) {
    for (int i = 0; i < requests; i++) {
      assertTrue(throttle.tryAcquire());
      if (i < accepted) {
        throttle.onAccepted();
      }
    }
  }

  @Test
  void aHealthyBackendIsNeverThrottledAndNoRandomIsDrawn() {
    AdaptiveThrottle throttle = throttle().build();
    send(throttle, 1000, 1000);
    assertEquals(0.0, throttle.rejectionProbability());
    assertEquals(0, random.draws);
  }

  @Test
  void theProbabilityIsTheSreFormula() {
    AdaptiveThrottle throttle = throttle().build();
    random.next = 0.99; // every draw lets the request through
    send(throttle, 20, 5);
    assertEquals(20, throttle.requests());
    assertEquals(5, throttle.accepts());
    assertEquals((20 - 2.0 * 5) / 21, throttle.rejectionProbability());
  }

  @Test
  void theProbabilityIsCappedSoTheClientKeepsProbing() {
    AdaptiveThrottle throttle = throttle().maxRejectProbability(0.75).build();
    random.next = 0.99;
    send(throttle, 100, 0);
    assertEquals(0.75, throttle.rejectionProbability());
  }

  @Test
  void belowTheMinimumRateItNeverRejects() {
    AdaptiveThrottle throttle = throttle().minRequestRate(2).build(); // 20 requests in 10 s
    random.next = 0.0;
    send(throttle, 20, 0); // the 20th request saw 19 in the window: still below the minimum
    assertEquals(0, random.draws);
    assertEquals(0.9, throttle.rejectionProbability());
    assertFalse(throttle.tryAcquire());
  }

  @Test
  void aLocalRejectionThrowsAndNeverReachesTheBackend() throws Exception {
    AdaptiveThrottle throttle = throttle().build();
    random.next = 0.99;
    send(throttle, 30, 0);
    random.next = 0.5;
    int[] reached = {0};
    ThrottledException e = assertThrows(ThrottledException.class, () -> throttle.call(() -> ++reached[0]));
    assertEquals(0, reached[0]);
    assertEquals(0.9, e.rejectionProbability());
    assertEquals("adaptive throttle 'cloud' rejected the request locally (rejection probability 0.900)",
        e.getMessage());
    assertEquals(Optional.empty(), e.retryAfter());
    assertInstanceOf(RejectedException.class, e);
    assertEquals(1, throttle.rejected());
    assertEquals(31, throttle.requests(), "a locally rejected request is still a request");
  }

  @Test
  void callCountsAcceptsAndOnlyBackendRejectionsAreNot() throws Exception {
    AdaptiveThrottle throttle = throttle().backendRejection(t -> !(t instanceof IllegalArgumentException)).build();
    assertEquals("ok", throttle.call(() -> "ok"));
    assertThrows(IllegalArgumentException.class, () -> throttle.call(() -> {
      throw new IllegalArgumentException("404: the backend answered");
    }));
    assertThrows(IOException.class, () -> throttle.call(() -> {
      throw new IOException("503");
    }));
    assertEquals(3, throttle.requests());
    assertEquals(2, throttle.accepts());
    CompletableFuture<String> reply = new CompletableFuture<>();
    CompletableFuture<String> guarded = throttle.callAsync(() -> reply).toCompletableFuture();
    reply.completeExceptionally(new IOException("overloaded"));
    assertThrows(ExecutionException.class, guarded::get);
    assertEquals(2, throttle.accepts());
  }

  @Test
  void theWindowForgetsAnOutage() {
    AdaptiveThrottle throttle = throttle().build();
    random.next = 0.99;
    send(throttle, 50, 0);
    assertEquals(0.9, throttle.rejectionProbability());
    clock.advance(Duration.ofSeconds(9));
    assertEquals(0.9, throttle.rejectionProbability(), "the outage is still in the window");
    clock.advance(Duration.ofSeconds(1));
    assertEquals(0.0, throttle.rejectionProbability());
    assertEquals(0, throttle.requests());
  }

  @Test
  void badSettingsFailNamingTheParameterAndValue() {
    CircuitBreakerTest.assertMessage("k must be finite and at least 1: 0.5", () -> AdaptiveThrottle.builder().k(0.5));
    CircuitBreakerTest.assertMessage("maxRejectProbability must be in [0, 1): 1.0",
        () -> AdaptiveThrottle.builder().maxRejectProbability(1));
    CircuitBreakerTest.assertMessage("minRequestRate must be finite and zero or positive: -1.0",
        () -> AdaptiveThrottle.builder().minRequestRate(-1));
    CircuitBreakerTest.assertMessage("window must be positive: PT0S",
        () -> AdaptiveThrottle.builder().window(Duration.ZERO, 1));
    CircuitBreakerTest.assertMessage("buckets must be in [1, 1000]: 1001",
        () -> AdaptiveThrottle.builder().window(Duration.ofMinutes(1), 1001));
  }
}
