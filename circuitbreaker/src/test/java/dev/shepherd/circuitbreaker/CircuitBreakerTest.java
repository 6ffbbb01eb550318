package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.circuitbreaker.CircuitBreaker.State;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class CircuitBreakerTest {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private CircuitBreaker.Builder breaker() {
    return CircuitBreaker.builder().name("cloud").countWindow(10).minimumCalls(10).failureRateThreshold(0.5)
        .openDuration(Duration.ofSeconds(30)).openJitter(Duration.ZERO).halfOpenProbes(3).ticker(clock)
        .listener(events::add);
  }

  private static void fail(CircuitBreaker breaker, int times) {
    for (int i = 0; i < times; i++) {
      assertThrows(IOException.class, () -> breaker.call(() -> {
        throw new IOException("cloud down");
      }));
    }
  }

  private static void succeed(CircuitBreaker breaker, int times) throws Exception {
    for (int i = 0; i < times; i++) {
      assertEquals("ok", breaker.call(() -> "ok"));
    }
  }

  @Test
  void opensWhenHalfTheWindowFailsAndRefusesWithTheExactTimeLeft() throws Exception {
    CircuitBreaker breaker = breaker().build();
    succeed(breaker, 5);
    fail(breaker, 4);
    assertEquals(State.CLOSED, breaker.state(), "9 calls: below minimumCalls");
    fail(breaker, 1);
    assertEquals(State.OPEN, breaker.state());
    assertEquals(10, breaker.windowCalls());
    assertEquals(0.5, breaker.failureRate());

    clock.advance(Duration.ofSeconds(12));
    CircuitBreakerOpenException e = assertThrows(CircuitBreakerOpenException.class, () -> breaker.call(() -> "x"));
    assertEquals(Optional.of(Duration.ofSeconds(18)), e.retryAfter());
    assertEquals("circuit breaker 'cloud' is OPEN: calls not permitted for another PT18S", e.getMessage());
    assertInstanceOf(RejectedException.class, e);
    assertEquals(1, breaker.notPermittedCalls());
  }

  @Test
  void halfOpenAdmitsAtMostKProbesAndClosesWhenTheyMostlySucceed() {
    CircuitBreaker breaker = breaker().build();
    fail(breaker, 10);
    clock.advance(Duration.ofSeconds(30));
    long p1 = breaker.tryAcquirePermission();
    long p2 = breaker.tryAcquirePermission();
    long p3 = breaker.tryAcquirePermission();
    assertEquals(State.HALF_OPEN, breaker.state());
    assertEquals(3, breaker.probesInFlight());
    assertEquals(CircuitBreaker.NOT_PERMITTED, breaker.tryAcquirePermission(), "a fourth probe");
    CircuitBreakerOpenException e = assertThrows(CircuitBreakerOpenException.class, breaker::acquirePermission);
    assertEquals(State.HALF_OPEN, e.state());
    assertEquals(Optional.empty(), e.retryAfter());

    breaker.onSuccess(p1, 0);
    breaker.onError(p2, 0, new IOException("still flaky"));
    assertEquals(State.HALF_OPEN, breaker.state(), "no verdict before k judged probes");
    breaker.onSuccess(p3, 0);
    assertEquals(State.CLOSED, breaker.state(), "1 failure of 3 is below 0.5");
    assertEquals(0, breaker.windowCalls(), "closed again with an empty window");
  }

  @Test
  void failedProbesOpenTheBreakerAgainForAFreshlyDrawnTime() {
    CircuitBreaker breaker = breaker().openJitter(Duration.ofSeconds(10)).random(new SplittableRandom(1)).build();
    fail(breaker, 10);
    long first = assertThrows(CircuitBreakerOpenException.class, breaker::acquirePermission).retryAfterNanos();
    assertTrue(first >= 30_000_000_000L && first < 40_000_000_000L);
    clock.advanceNanos(first);
    long p1 = breaker.tryAcquirePermission();
    long p2 = breaker.tryAcquirePermission();
    long p3 = breaker.tryAcquirePermission();
    breaker.onError(p1, 0, new IOException());
    breaker.onError(p2, 0, new IOException());
    breaker.onSuccess(p3, 0);
    assertEquals(State.OPEN, breaker.state());
    long second = assertThrows(CircuitBreakerOpenException.class, breaker::acquirePermission).retryAfterNanos();
    assertTrue(second >= 30_000_000_000L && second < 40_000_000_000L);
    assertTrue(second != first, "each opening draws its own jitter");
  }

  @Test
  void anOutcomeFromBeforeTheBreakerOpenedIsNotTakenForAProbe() {
    CircuitBreaker breaker = breaker().halfOpenProbes(1).build();
    long slowCall = breaker.tryAcquirePermission(); // admitted while closed, still running
    fail(breaker, 10);
    clock.advance(Duration.ofSeconds(30));
    long probe = breaker.tryAcquirePermission();
    breaker.onSuccess(slowCall, 0); // returns late: dropped
    assertEquals(State.HALF_OPEN, breaker.state());
    assertEquals(1, breaker.probesInFlight());
    breaker.onSuccess(probe, 0);
    assertEquals(State.CLOSED, breaker.state());
  }

  @Test
  void slowCallsOpenTheBreakerEvenWhenTheySucceed() throws Exception {
    CircuitBreaker breaker = breaker().slowCallDuration(Duration.ofSeconds(2)).slowCallRateThreshold(0.8).build();
    for (int i = 0; i < 10; i++) {
      boolean slow = i < 8;
      breaker.call(() -> {
        clock.advance(slow ? Duration.ofSeconds(3) : Duration.ofSeconds(1));
        return "answered";
      });
    }
    assertEquals(State.OPEN, breaker.state());
    assertEquals(8, breaker.windowSlowCalls());
    assertEquals(0, breaker.windowFailures());
  }

  @Test
  void classifiersDecideWhatCounts() throws Exception {
    CircuitBreaker breaker = breaker().minimumCalls(2).countWindow(2)
        .failureIf(t -> !(t instanceof IllegalArgumentException))  // a bad request: the cloud answered
        .ignoreIf(t -> t instanceof InterruptedException)
        .failureIfResult(r -> "503".equals(r)).build();
    assertThrows(IllegalArgumentException.class, () -> breaker.call(() -> {
      throw new IllegalArgumentException("no such device");
    }));
    assertThrows(InterruptedException.class, () -> breaker.call(() -> {
      throw new InterruptedException();
    }));
    assertEquals(1, breaker.windowCalls(), "the interrupt did not count");
    assertEquals(0, breaker.windowFailures());
    assertEquals("503", breaker.call(() -> "503"));
    assertEquals(2, breaker.windowCalls());
    assertEquals(1, breaker.windowFailures(), "a 503 result counts as a failure");
    assertEquals(State.OPEN, breaker.state());
  }

  @Test
  void aTimeWindowForgetsFailuresOlderThanItsLength() {
    CircuitBreaker breaker = breaker().timeWindow(Duration.ofSeconds(10), 10).minimumCalls(4).build();
    fail(breaker, 3);
    clock.advance(Duration.ofSeconds(10));
    assertEquals(0, breaker.windowCalls());
    fail(breaker, 3);
    assertEquals(State.CLOSED, breaker.state(), "3 failures in the window, minimumCalls is 4");
    fail(breaker, 1);
    assertEquals(State.OPEN, breaker.state());
  }

  @Test
  void callAsyncJudgesTheStageAndRefusesWithAFailedStage() {
    CircuitBreaker breaker = breaker().countWindow(1).minimumCalls(1).build();
    CompletableFuture<String> pending = new CompletableFuture<>();
    CompletableFuture<String> guarded = breaker.callAsync(() -> pending).toCompletableFuture();
    assertEquals(State.CLOSED, breaker.state());
    pending.completeExceptionally(new IOException("down"));
    assertTrue(guarded.isCompletedExceptionally());
    assertEquals(State.OPEN, breaker.state());
    CompletableFuture<String> refused = breaker.callAsync(() -> CompletableFuture.completedFuture("x"))
        .toCompletableFuture();
    ExecutionException e = assertThrows(ExecutionException.class, refused::get);
    assertInstanceOf(CircuitBreakerOpenException.class, e.getCause());
  }

  @Test
  void operatorsCanForceOpenDisableAndReset() throws Exception {
    CircuitBreaker breaker = breaker().build();
    breaker.forceOpen();
    CircuitBreakerOpenException e = assertThrows(CircuitBreakerOpenException.class, () -> breaker.call(() -> "x"));
    assertEquals(State.FORCED_OPEN, e.state());
    assertEquals(Optional.empty(), e.retryAfter());
    clock.advance(Duration.ofDays(1));
    assertEquals(State.FORCED_OPEN, breaker.state(), "stays open until reset");

    breaker.disable();
    fail(breaker, 20);
    assertEquals(State.DISABLED, breaker.state(), "a disabled breaker judges nothing");

    breaker.reset();
    assertEquals(State.CLOSED, breaker.state());
    assertEquals(3, breaker.transitions());
    assertEquals(List.of("CLOSED -> FORCED_OPEN (by an operator)", "FORCED_OPEN -> DISABLED (by an operator)",
        "DISABLED -> CLOSED (reset)"), events.stream().filter(ev -> ev.kind() == Event.Kind.STATE_CHANGED)
        .map(Event::detail).toList());
  }

  @Test
  void transitionsAndRefusalsAreReported() {
    CircuitBreaker breaker = breaker().build();
    fail(breaker, 10);
    breaker.tryAcquirePermission();
    Event opened = events.get(0);
    assertEquals(Event.Kind.STATE_CHANGED, opened.kind());
    assertEquals("cloud", opened.source());
    assertEquals(Duration.ofSeconds(30), opened.delay(), "the open time drawn");
    assertTrue(opened.detail().startsWith("CLOSED -> OPEN"), opened.detail());
    Event refused = events.get(1);
    assertEquals(Event.Kind.REJECTED, refused.kind());
    assertEquals(Duration.ofSeconds(30), refused.delay());
  }

  @Test
  void aReleasedProbeFreesItsSlot() {
    CircuitBreaker breaker = breaker().halfOpenProbes(1).build();
    fail(breaker, 10);
    clock.advance(Duration.ofSeconds(30));
    long probe = breaker.tryAcquirePermission();
    assertEquals(CircuitBreaker.NOT_PERMITTED, breaker.tryAcquirePermission());
    breaker.releasePermission(probe);
    assertFalse(breaker.tryAcquirePermission() == CircuitBreaker.NOT_PERMITTED);
  }

  @Test
  void aProbeThatNeverReportsCountsAsFailedWhenTheHalfOpenTimeIsOver() {
    CircuitBreaker breaker = breaker().halfOpenTimeout(Duration.ofSeconds(10)).build();
    fail(breaker, 10);
    clock.advance(Duration.ofSeconds(30));
    long p1 = breaker.tryAcquirePermission();
    long p2 = breaker.tryAcquirePermission();
    long lost = breaker.tryAcquirePermission(); // its caller never reports
    breaker.onSuccess(p1, 0);
    breaker.onSuccess(p2, 0);
    clock.advance(Duration.ofNanos(9_999_999_999L));
    assertEquals(State.HALF_OPEN, breaker.state(), "1 ns before the half-open time is over");
    assertEquals(1, breaker.probesInFlight());
    assertEquals(CircuitBreaker.NOT_PERMITTED, breaker.tryAcquirePermission(), "the lost probe holds its slot");
    clock.advanceNanos(1);
    assertEquals(State.CLOSED, breaker.state(), "2 successes and 1 unreported (a failure) of 3: below 0.5");
    assertEquals(0, breaker.probesInFlight());
    assertEquals(List.of("OPEN -> HALF_OPEN (open time over)",
        "HALF_OPEN -> CLOSED (half-open time over, unreported probes: 1)"), stateChanges().subList(1, 3));
    breaker.onSuccess(lost, 0); // far too late: dropped
    assertEquals(0, breaker.windowCalls());
  }

  @Test
  void unreportedProbesCanOpenTheBreakerAgainFromTheInstantTheHalfOpenTimeEnded() {
    CircuitBreaker breaker = breaker().halfOpenTimeout(Duration.ofSeconds(10)).build();
    fail(breaker, 10);
    clock.advance(Duration.ofSeconds(30));
    long p1 = breaker.tryAcquirePermission();
    breaker.tryAcquirePermission();
    breaker.tryAcquirePermission();
    breaker.onSuccess(p1, 0);
    clock.advance(Duration.ofSeconds(15)); // the period ended 5 s ago
    CircuitBreakerOpenException e = assertThrows(CircuitBreakerOpenException.class, breaker::acquirePermission);
    assertEquals(State.OPEN, e.state());
    assertEquals(Optional.of(Duration.ofSeconds(25)), e.retryAfter(), "open for 30 s from the end of the period");
    assertEquals(3, breaker.windowCalls());
    assertEquals(2, breaker.windowFailures(), "the two unreported probes");
  }

  @Test
  void aHalfOpenPeriodWithNoProbeJudgedOrOutOpensAgainWhenItsTimeIsOver() {
    CircuitBreaker breaker = breaker().halfOpenTimeout(Duration.ofSeconds(10)).build();
    fail(breaker, 10);
    clock.advance(Duration.ofSeconds(30));
    breaker.releasePermission(breaker.tryAcquirePermission());
    clock.advance(Duration.ofSeconds(10));
    assertEquals(State.OPEN, breaker.state(), "nothing was learned: no evidence of recovery");
    assertEquals(0, breaker.windowCalls());
  }

  @Test
  void anOpenBreakerWhoseTimeIsOverReadsAsHalfOpenWithoutStartingThePeriod() {
    CircuitBreaker breaker = breaker().halfOpenTimeout(Duration.ofSeconds(10)).build();
    fail(breaker, 10);
    clock.advance(Duration.ofNanos(29_999_999_999L));
    assertEquals(State.OPEN, breaker.state());
    assertEquals(10, breaker.windowCalls(), "the window that opened it");
    clock.advanceNanos(1);
    assertEquals(State.HALF_OPEN, breaker.state());
    assertEquals(0, breaker.windowCalls(), "no probe judged yet");
    assertEquals(0, breaker.probesInFlight());
    assertEquals(1, breaker.transitions(), "reading changed nothing");
    clock.advance(Duration.ofMinutes(5)); // far past any half-open timeout: no period was running
    long probe = breaker.tryAcquirePermission();
    assertFalse(probe == CircuitBreaker.NOT_PERMITTED);
    assertEquals(1, breaker.probesInFlight(), "the period began with this request");
  }

  private List<String> stateChanges() {
    return events.stream().filter(ev -> ev.kind() == Event.Kind.STATE_CHANGED).map(Event::detail).toList();
  }

  @Test
  void badSettingsFailAtBuildTimeNamingTheParameterAndValue() {
    assertMessage("size must be in [1, 1000000]: 0", () -> CircuitBreaker.builder().countWindow(0));
    assertMessage("failureRateThreshold must be in (0, 1]: 1.5",
        () -> CircuitBreaker.builder().failureRateThreshold(1.5));
    assertMessage("slowCallRateThreshold must be in (0, 1]: NaN",
        () -> CircuitBreaker.builder().slowCallRateThreshold(Double.NaN));
    assertMessage("openDuration must be positive: PT0S", () -> CircuitBreaker.builder().openDuration(Duration.ZERO));
    assertMessage("openJitter must be zero or positive: PT-1S",
        () -> CircuitBreaker.builder().openJitter(Duration.ofSeconds(-1)));
    assertMessage("halfOpenProbes must be in [1, 1000000]: 0", () -> CircuitBreaker.builder().halfOpenProbes(0));
    assertMessage("halfOpenTimeout must be positive: PT0S",
        () -> CircuitBreaker.builder().halfOpenTimeout(Duration.ZERO));
    assertMessage("minimumCalls must be positive: 0", () -> CircuitBreaker.builder().minimumCalls(0));
    assertMessage("buckets must be in [1, 1000]: 0",
        () -> CircuitBreaker.builder().timeWindow(Duration.ofSeconds(1), 0));
    assertMessage("length must be at least 10 ns (one per bucket): PT0.000000009S",
        () -> CircuitBreaker.builder().timeWindow(Duration.ofNanos(9), 10));
    assertMessage("minimumCalls must be at most the window's size 10: 11",
        () -> CircuitBreaker.builder().countWindow(10).minimumCalls(11).build());
    assertMessage("name must be non-blank: \" \"", () -> CircuitBreaker.builder().name(" "));
  }

  static void assertMessage(String message, Runnable bad) {
    assertEquals(message, assertThrows(IllegalArgumentException.class, bad::run).getMessage());
  }

  @Test
  void aNoopListenerCostsNothingAndTheDefaultsBuild() {
    CircuitBreaker breaker = CircuitBreaker.of("defaults");
    assertEquals(5, breaker.halfOpenProbes());
    assertEquals(Duration.ofMinutes(1), breaker.halfOpenTimeout());
    assertEquals(State.CLOSED, breaker.state());
    assertEquals(EventListener.noop(), EventListener.guarded(EventListener.noop()));
  }
}
