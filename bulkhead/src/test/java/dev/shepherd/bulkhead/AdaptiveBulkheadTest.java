package dev.shepherd.bulkhead;

import static dev.shepherd.bulkhead.TestSupport.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.bulkhead.TestSupport.RecordingListener;
import dev.shepherd.bulkhead.TestSupport.Waiter;
import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

@Timeout(30)
class AdaptiveBulkheadTest {

  private final ManualClock clock = new ManualClock();
  private final RecordingListener listener = new RecordingListener();

  private AdaptiveBulkhead.Builder builder() {
    return AdaptiveBulkhead.builder().name("partner").ticker(clock).listener(listener);
  }

  private static void assertInvalid(String message, Executable build) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, build).getMessage());
  }

  // ---- Configuration -----------------------------------------------------------------------------

  @Test
  void defaultsStartAtTwentyBetweenOneAndTwoHundred() {
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().build();
    assertEquals("adaptive-bulkhead", b.name());
    assertEquals(20, b.limit());
    assertEquals(1, b.minLimit());
    assertEquals(200, b.maxLimit());
    assertEquals(Duration.ZERO, b.maxWait());
    assertEquals(20, b.available());
  }

  @Test
  void theDefaultInitialLimitIsClampedIntoTheRange() {
    assertEquals(30, builder().minLimit(30).maxLimit(40).build().limit());
    assertEquals(5, builder().maxLimit(5).build().limit());
  }

  @Test
  void badLimitsAreRejectedWithTheValue() {
    assertInvalid("minLimit must be positive: 0", () -> builder().minLimit(0).build());
    assertInvalid("maxLimit must be positive: -1", () -> builder().maxLimit(-1).build());
    assertInvalid("minLimit must be at most maxLimit (5): 10", () -> builder().minLimit(10).maxLimit(5).build());
    assertInvalid("initialLimit must be in [1, 20]: 30", () -> builder().maxLimit(20).initialLimit(30).build());
    assertInvalid("initialLimit must be in [5, 20]: 4", () -> builder().minLimit(5).maxLimit(20).initialLimit(4).build());
    assertInvalid("initialLimit must be positive: 0", () -> builder().initialLimit(0).build());
  }

  @Test
  void nonPositiveLatenciesAreRejectedWithTheValue() {
    assertInvalid("latencyTarget must be positive: PT0S", () -> builder().latencyTarget(Duration.ZERO).build());
    assertInvalid("latencyTarget must be positive: PT-1S", () -> builder().latencyTarget(Duration.ofSeconds(-1)).build());
    assertInvalid("callTimeout must be positive: PT0S", () -> builder().callTimeout(Duration.ZERO).build());
    assertInvalid("minLatencyWindow must be positive: PT-0.001S",
        () -> builder().minLatencyWindow(Duration.ofMillis(-1)).build());
    assertInvalid("maxWait must be zero or positive: PT-1S", () -> builder().maxWait(Duration.ofSeconds(-1)).build());
    assertThrows(NullPointerException.class, () -> builder().latencyTarget(null));
  }

  @Test
  void badFactorsAreRejectedWithTheValue() {
    assertInvalid("latencyTolerance must be greater than 1 and finite: 1.0", () -> builder().latencyTolerance(1.0).build());
    assertInvalid("latencyTolerance must be greater than 1 and finite: NaN", () -> builder().latencyTolerance(Double.NaN).build());
    assertInvalid("latencyTolerance must be greater than 1 and finite: Infinity",
        () -> builder().latencyTolerance(Double.POSITIVE_INFINITY).build());
    assertInvalid("decreaseFactor must be in (0, 1): 1.0", () -> builder().decreaseFactor(1.0).build());
    assertInvalid("decreaseFactor must be in (0, 1): 0.0", () -> builder().decreaseFactor(0.0).build());
    assertInvalid("decreaseFactor must be in (0, 1): NaN", () -> builder().decreaseFactor(Double.NaN).build());
    assertThrows(NullPointerException.class, () -> builder().dropWhen(null));
  }

  @Test
  void toStringShowsTheLimitAndItsRange() {
    AdaptiveBulkhead b = builder().minLimit(2).maxLimit(8).initialLimit(4).build();
    b.tryAcquire();
    assertEquals("AdaptiveBulkhead{partner, inFlight=1/4 in [2, 8], waiting=0, rejected=0}", b.toString());
  }

  // ---- Decrease ----------------------------------------------------------------------------------

  @Test
  void eachDropMultipliesTheLimitByTheDecreaseFactor() {
    AdaptiveBulkhead b = builder().initialLimit(20).build();
    b.tryAcquire().dropped();
    assertEquals(18, b.limit()); // 20 * 0.9
    b.tryAcquire().dropped();
    assertEquals(16, b.limit()); // 16.2
    b.tryAcquire().dropped();
    assertEquals(14, b.limit()); // 14.58
    Event first = listener.events.stream().filter(e -> e.kind() == Event.Kind.LIMIT_CHANGED).findFirst().orElseThrow();
    assertEquals("limit 20 -> 18 (drop)", first.detail());
    assertEquals("partner", first.source());
  }

  @Test
  void dropsNeverTakeTheLimitBelowTheMinimum() {
    AdaptiveBulkhead b = builder().minLimit(3).initialLimit(5).decreaseFactor(0.5).build();
    for (int i = 0; i < 20; i++) {
      b.tryAcquire().dropped();
    }
    assertEquals(3, b.limit());
    assertEquals(3.0, b.adaptiveLimit().estimate());
  }

  @Test
  void aSuccessThatReachesTheCallTimeoutCountsAsATimeout() {
    AdaptiveBulkhead b = builder().initialLimit(10).callTimeout(Duration.ofSeconds(2)).build();
    Permit p = b.tryAcquire();
    clock.advance(Duration.ofSeconds(2));
    p.success();
    assertEquals(9, b.limit());
    assertTrue(listener.events.stream().anyMatch(e -> "limit 10 -> 9 (timeout)".equals(e.detail())));
  }

  @Test
  void latencyFarAboveTheObservedMinimumLowersTheLimit() {
    AdaptiveBulkhead b = builder().initialLimit(10).latencyTarget(Duration.ofSeconds(5)).build();
    succeedAfter(b, Duration.ofMillis(10)); // minimum and smoothed: 10 ms
    assertEquals(10, b.limit());
    succeedAfter(b, Duration.ofMillis(100)); // smoothed 19 ms: within 2 x 10 ms
    assertEquals(10, b.limit());
    succeedAfter(b, Duration.ofMillis(200)); // smoothed 37.1 ms: congested
    assertEquals(9, b.limit());
    assertEquals(10_000_000L, b.adaptiveLimit().observedMinLatencyNanos());
  }

  // ---- Increase ----------------------------------------------------------------------------------

  @Test
  void aBusyBulkheadGrowsByAboutOnePermitPerLimitsWorthOfGoodSamples() {
    AdaptiveBulkhead b = builder().initialLimit(4).maxLimit(10).build();
    Permit other = b.tryAcquire(); // keeps the bulkhead at least half busy
    // 4 -> 4.25 -> 4.485 -> 4.708 -> 4.921 -> 5.124: the fifth good sample crosses 5.
    for (int i = 0; i < 4; i++) {
      succeedAfter(b, Duration.ofMillis(10));
      assertEquals(4, b.limit());
    }
    succeedAfter(b, Duration.ofMillis(10));
    assertEquals(5, b.limit());
    assertTrue(listener.events.stream().anyMatch(e -> "limit 4 -> 5 (growth)".equals(e.detail())));
    other.close();
  }

  @Test
  void theLimitNeverGrowsAboveTheMaximum() {
    AdaptiveBulkhead b = builder().initialLimit(2).maxLimit(3).build();
    Permit other = b.tryAcquire();
    for (int i = 0; i < 100; i++) {
      succeedAfter(b, Duration.ofMillis(10));
    }
    assertEquals(3, b.limit());
    assertEquals(3.0, b.adaptiveLimit().estimate());
    other.close();
  }

  @Test
  void anIdleBulkheadDoesNotGrow() {
    AdaptiveBulkhead b = builder().initialLimit(20).build();
    for (int i = 0; i < 200; i++) {
      succeedAfter(b, Duration.ofMillis(10)); // one call at a time: nothing learned about capacity
    }
    assertEquals(20, b.limit());
  }

  @Test
  void successesSlowerThanTheTargetDoNotGrowTheLimit() {
    AdaptiveBulkhead b = builder().initialLimit(2).latencyTarget(Duration.ofMillis(50)).build();
    Permit other = b.tryAcquire();
    for (int i = 0; i < 50; i++) {
      succeedAfter(b, Duration.ofMillis(60));
    }
    assertEquals(2, b.limit());
    other.close();
  }

  @Test
  void ignoredAndUnreportedPermitsTeachNothing() {
    AdaptiveBulkhead b = builder().initialLimit(2).callTimeout(Duration.ofSeconds(1)).build();
    Permit other = b.tryAcquire();
    for (int i = 0; i < 20; i++) {
      Permit p = b.tryAcquire();
      clock.advance(Duration.ofSeconds(5)); // even far beyond the call timeout
      if (i % 2 == 0) {
        p.ignored();
      } else {
        p.close();
      }
    }
    assertEquals(2, b.limit());
    assertTrue(Double.isNaN(b.adaptiveLimit().smoothedLatencyNanos()));
    other.close();
  }

  @Test
  void theFirstReportWinsAndTheRestAreIgnored() {
    AdaptiveBulkhead b = builder().initialLimit(10).build();
    Permit p = b.tryAcquire();
    p.ignored();
    p.dropped();
    p.dropped();
    assertEquals(10, b.limit());
    assertEquals(0, b.inFlight());
  }

  // ---- Classification in call and callAsync ------------------------------------------------------

  @Test
  void callTreatsATimeoutExceptionAsADrop() {
    AdaptiveBulkhead b = builder().initialLimit(10).build();
    TimeoutException timeout = new TimeoutException("upstream");
    assertSame(timeout, assertThrows(TimeoutException.class, () -> b.call(() -> {
      throw timeout;
    })));
    assertEquals(9, b.limit());
    assertThrows(SocketTimeoutException.class, () -> b.call(() -> {
      throw new SocketTimeoutException("read timed out");
    }));
    assertEquals(8, b.limit()); // 8.1
    assertThrows(CompletionException.class, () -> b.call(() -> {
      throw new CompletionException(new TimeoutException("wrapped"));
    }));
    assertEquals(7, b.limit()); // 7.29
    assertEquals(0, b.inFlight());
  }

  @Test
  void callIgnoresOtherFailuresUnlessTheyReachTheCallTimeout() {
    AdaptiveBulkhead b = builder().initialLimit(10).callTimeout(Duration.ofSeconds(1)).build();
    assertThrows(IllegalStateException.class, () -> b.call(() -> {
      throw new IllegalStateException("bad request");
    }));
    assertEquals(10, b.limit());
    assertThrows(IllegalStateException.class, () -> b.call(() -> {
      clock.advance(Duration.ofSeconds(1));
      throw new IllegalStateException("slow failure");
    }));
    assertEquals(9, b.limit());
  }

  @Test
  void callCountsASlowSuccessAsATimeout() throws Exception {
    AdaptiveBulkhead b = builder().initialLimit(10).callTimeout(Duration.ofSeconds(1)).build();
    assertEquals("late", b.call(() -> {
      clock.advance(Duration.ofMillis(1_500));
      return "late";
    }));
    assertEquals(9, b.limit());
  }

  @Test
  void aCustomDropClassifierDecidesWhatIsADrop() {
    AdaptiveBulkhead b = builder().initialLimit(10)
        .dropWhen(e -> e instanceof IllegalStateException && e.getMessage().contains("503")).build();
    assertThrows(IllegalStateException.class, () -> b.call(() -> {
      throw new IllegalStateException("HTTP 503");
    }));
    assertEquals(9, b.limit());
    assertThrows(TimeoutException.class, () -> b.call(() -> {
      throw new TimeoutException("not a drop for this classifier");
    }));
    assertEquals(9, b.limit());
  }

  @Test
  void aBrokenClassifierNeverHidesTheCallsOwnFailure() {
    AdaptiveBulkhead b = builder().initialLimit(10).dropWhen(e -> {
      throw new IllegalArgumentException("broken classifier");
    }).build();
    IllegalStateException original = new IllegalStateException("original");
    assertSame(original, assertThrows(IllegalStateException.class, () -> b.call(() -> {
      throw original;
    })));
    assertEquals(10, b.limit());
    assertEquals(0, b.inFlight());
  }

  @Test
  void callRejectsFastWhenAtTheLimit() {
    AdaptiveBulkhead b = builder().minLimit(1).initialLimit(1).build();
    Permit held = b.tryAcquire();
    BulkheadFullException e = assertThrows(BulkheadFullException.class, () -> b.call(() -> 1));
    assertEquals("bulkhead 'partner' is full: limit of 1 concurrent calls reached", e.getMessage());
    assertEquals(1, e.limit());
    assertNull(b.tryAcquire());
    assertEquals(2, b.rejected());
    assertEquals(Duration.ZERO, clock.elapsed());
    held.close();
  }

  @Test
  void callAsyncClassifiesTheStagesOutcome() {
    AdaptiveBulkhead b = builder().initialLimit(10).build();
    CompletableFuture<String> timedOut = new CompletableFuture<>();
    CompletionStage<String> stage = b.callAsync(() -> timedOut);
    timedOut.completeExceptionally(new TimeoutException("async"));
    assertTrue(stage.toCompletableFuture().isCompletedExceptionally());
    assertEquals(9, b.limit());

    CompletableFuture<String> cancelled = new CompletableFuture<>();
    b.callAsync(() -> cancelled).toCompletableFuture().cancel(false);
    assertTrue(cancelled.isCancelled());
    assertEquals(9, b.limit(), "a cancellation is not a capacity signal");

    CompletionStage<String> refused = b.callAsync(() -> {
      throw new CompletionException(new TimeoutException("could not even start"));
    });
    assertTrue(refused.toCompletableFuture().isCompletedExceptionally());
    assertEquals(8, b.limit());
    assertEquals(0, b.inFlight());
  }

  @Test
  void callAsyncRefusesAtTheLimitWithoutStartingTheAction() {
    AdaptiveBulkhead b = builder().minLimit(1).initialLimit(1).build();
    Permit held = b.tryAcquire();
    CompletionStage<String> stage = b.callAsync(() -> {
      throw new AssertionError("must not start");
    });
    assertInstanceOf(BulkheadFullException.class,
        assertThrows(CompletionException.class, () -> stage.toCompletableFuture().join()).getCause());
    held.close();
  }

  @Test
  void callAsyncSuccessesTeachTheLimitToo() throws Exception {
    AdaptiveBulkhead b = builder().initialLimit(2).maxLimit(4).build();
    for (int round = 0; round < 10; round++) {
      CompletableFuture<String> f1 = new CompletableFuture<>();
      CompletableFuture<String> f2 = new CompletableFuture<>();
      b.callAsync(() -> f1);
      b.callAsync(() -> f2);
      clock.advance(Duration.ofMillis(10));
      f1.complete("a");
      f2.complete("b");
    }
    assertTrue(b.limit() > 2, "grew to " + b.limit());
    assertEquals(0, b.inFlight());
  }

  // ---- Waiting, like Bulkhead ---------------------------------------------------------------------

  @Test
  void aWaiterThatTimesOutHoldsNothing() throws Exception {
    AdaptiveBulkhead b = builder().minLimit(1).initialLimit(1).maxWait(Duration.ofSeconds(1)).build();
    Permit held = b.acquire();
    Waiter waiter = new Waiter("waiter", b::acquire);
    awaitTrue("the waiter is queued", () -> b.waiting() == 1);
    clock.advance(Duration.ofSeconds(1));
    assertInstanceOf(BulkheadFullException.class, waiter.join());
    assertEquals(1, b.inFlight());
    held.close();
    assertNotNull(b.tryAcquire());
  }

  @Test
  void aGrowingLimitLetsWaitersIn() throws Exception {
    AdaptiveBulkhead b = builder().minLimit(1).initialLimit(1).maxLimit(5).maxWait(Duration.ofSeconds(1)).build();
    Permit held = b.acquire();
    Waiter waiter = new Waiter("waiter", b::acquire);
    awaitTrue("the waiter is queued", () -> b.waiting() == 1);
    // Limit 1 with one in flight: each success of the held call grows the estimate by 1/e.
    clock.advance(Duration.ofMillis(10));
    held.success(); // 1 -> 2: the release and the growth both admit the waiter
    Permit handed = (Permit) waiter.join();
    assertEquals(2, b.limit());
    handed.close();
  }

  private void succeedAfter(AdaptiveBulkhead b, Duration latency) {
    Permit p = b.tryAcquire();
    assertNotNull(p, b.toString());
    clock.advance(latency);
    p.success();
  }
}
