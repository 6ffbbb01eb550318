package dev.shepherd.bulkhead;

import static dev.shepherd.bulkhead.TestSupport.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class BulkheadTest {

  private final ManualClock clock = new ManualClock();
  private final RecordingListener listener = new RecordingListener();

  private Bulkhead bulkhead(int limit) {
    return Bulkhead.builder().name("db").maxConcurrent(limit).ticker(clock).listener(listener).build();
  }

  private Bulkhead waiting(int limit, boolean fair) {
    return Bulkhead.builder().name("db").maxConcurrent(limit).maxWait(Duration.ofSeconds(1)).fair(fair)
        .ticker(clock).listener(listener).build();
  }

  // ---- Configuration -----------------------------------------------------------------------------

  @Test
  void defaultsAreAFailFastUnfairBulkheadOfTwentyFive() {
    Bulkhead b = Bulkhead.builder().build();
    assertEquals("bulkhead", b.name());
    assertEquals(25, b.maxConcurrent());
    assertEquals(Duration.ZERO, b.maxWait());
    assertFalse(b.isFair());
    assertEquals(25, b.available());
    assertEquals(0, b.inFlight());
    assertEquals(0, b.waiting());
    assertEquals(0, b.rejected());
  }

  @Test
  void ofNamesTheBulkheadAndSetsItsLimit() {
    Bulkhead b = Bulkhead.of("inventory", 3);
    assertEquals("inventory", b.name());
    assertEquals(3, b.maxConcurrent());
    assertTrue(b instanceof Policy);
  }

  @Test
  void aLimitBelowOneIsRejectedWithTheValue() {
    IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
        () -> Bulkhead.builder().maxConcurrent(0).build());
    assertEquals("maxConcurrent must be positive: 0", zero.getMessage());
    IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> Bulkhead.of("x", -3));
    assertEquals("maxConcurrent must be positive: -3", negative.getMessage());
  }

  @Test
  void aNegativeMaxWaitIsRejectedWithTheValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Bulkhead.builder().maxWait(Duration.ofMillis(-1)).build());
    assertEquals("maxWait must be zero or positive: PT-0.001S", e.getMessage());
  }

  @Test
  void aBlankOrNullNameIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bulkhead.of(" ", 1));
    assertEquals("name must be non-blank: \" \"", e.getMessage());
    assertThrows(NullPointerException.class, () -> Bulkhead.of(null, 1));
    assertThrows(NullPointerException.class, () -> Bulkhead.builder().ticker(null));
    assertThrows(NullPointerException.class, () -> Bulkhead.builder().listener(null));
  }

  @Test
  void aLimitChangeBelowOneIsRejectedAndChangesNothing() {
    Bulkhead b = bulkhead(2);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.setMaxConcurrent(0));
    assertEquals("maxConcurrent must be positive: 0", e.getMessage());
    assertEquals(2, b.maxConcurrent());
  }

  @Test
  void toStringShowsTheNameAndTheCounters() {
    Bulkhead b = bulkhead(2);
    b.tryAcquire();
    assertEquals("Bulkhead{db, inFlight=1/2, waiting=0, rejected=0}", b.toString());
  }

  // ---- Permits -----------------------------------------------------------------------------------

  @Test
  void tryAcquireGrantsUpToTheLimitThenRefusesWithoutThrowing() {
    Bulkhead b = bulkhead(2);
    Permit first = b.tryAcquire();
    Permit second = b.tryAcquire();
    assertNotNull(first);
    assertNotNull(second);
    assertNull(b.tryAcquire());
    assertEquals(2, b.inFlight());
    assertEquals(0, b.available());
    assertEquals(1, b.rejected());
    assertEquals(1, listener.count(Event.Kind.REJECTED));
    first.close();
    assertEquals(1, b.inFlight());
    assertNotNull(b.tryAcquire());
  }

  @Test
  void aPermitClosedTwiceIsReleasedOnce() {
    Bulkhead b = bulkhead(2);
    Permit a = b.tryAcquire();
    b.tryAcquire();
    a.close();
    a.close();
    a.success();
    a.dropped();
    a.ignored();
    assertEquals(1, b.inFlight());
    assertEquals(1, b.available());
    assertNotNull(b.tryAcquire());
    assertNull(b.tryAcquire(), "a double close must not have created a third permit");
  }

  @Test
  void everyOutcomeReleasesAFixedBulkheadPermit() {
    Bulkhead b = bulkhead(3);
    Permit s = b.tryAcquire();
    Permit d = b.tryAcquire();
    Permit i = b.tryAcquire();
    assertFalse(s.isReleased());
    s.success();
    d.dropped();
    i.ignored();
    assertTrue(s.isReleased() && d.isReleased() && i.isReleased());
    assertEquals(0, b.inFlight());
    assertEquals(3, b.available());
  }

  @Test
  void tryWithResourcesReleasesOnEveryExit() {
    Bulkhead b = bulkhead(1);
    assertThrows(IllegalStateException.class, () -> {
      try (Permit p = b.tryAcquire()) {
        assertEquals(1, b.inFlight(), p.toString());
        throw new IllegalStateException("boom");
      }
    });
    assertEquals(0, b.inFlight());
  }

  @Test
  void acquireFailsFastWithARejectionNamingTheBulkheadAndItsLimit() throws Exception {
    Bulkhead b = bulkhead(1);
    b.acquire();
    BulkheadFullException e = assertThrows(BulkheadFullException.class, b::acquire);
    assertEquals("db", e.policyName());
    assertEquals(1, e.limit());
    assertEquals(Duration.ZERO, e.waited());
    assertTrue(e.retryAfter().isEmpty());
    assertEquals(-1, e.retryAfterNanos());
    assertEquals("bulkhead 'db' is full: limit of 1 concurrent calls reached", e.getMessage());
    assertInstanceOf(RejectedException.class, e);
    assertEquals(0, e.getStackTrace().length);
    assertEquals(1, b.rejected());
  }

  @Test
  void permitToStringSaysWhetherItIsHeld() {
    Permit p = bulkhead(1).tryAcquire();
    assertEquals("Permit{db, held}", p.toString());
    p.close();
    assertEquals("Permit{db, released}", p.toString());
  }

  // ---- Calls -------------------------------------------------------------------------------------

  @Test
  void callReturnsTheResultAndReleases() throws Exception {
    Bulkhead b = bulkhead(1);
    assertEquals("ok", b.call(() -> {
      assertEquals(1, b.inFlight());
      return "ok";
    }));
    assertEquals(0, b.inFlight());
  }

  @Test
  void callReleasesWhenTheActionThrows() {
    Bulkhead b = bulkhead(1);
    IllegalStateException boom = new IllegalStateException("boom");
    assertSame(boom, assertThrows(IllegalStateException.class, () -> b.call(() -> {
      throw boom;
    })));
    assertEquals(0, b.inFlight());
    assertEquals(0, b.rejected());
  }

  @Test
  void callRejectsWhenFullWithoutRunningTheAction() {
    Bulkhead b = bulkhead(1);
    Permit held = b.tryAcquire();
    AtomicBoolean ran = new AtomicBoolean();
    BulkheadFullException e = assertThrows(BulkheadFullException.class, () -> b.call(() -> ran.getAndSet(true)));
    assertFalse(ran.get());
    assertTrue(e.getMessage().contains("'db'"));
    assertTrue(e.getMessage().contains("limit of 1"));
    Event rejected = listener.events.get(0);
    assertEquals(Event.Kind.REJECTED, rejected.kind());
    assertEquals("db", rejected.source());
    assertSame(e, rejected.cause());
    held.close();
  }

  @Test
  void nestedCallsNeedOnePermitEach() throws Exception {
    Bulkhead b = bulkhead(1);
    assertThrows(BulkheadFullException.class, () -> b.call(() -> b.call(() -> 1)));
    assertEquals(0, b.inFlight());
  }

  @Test
  void aListenerThatThrowsDoesNotBreakTheBulkhead() throws Exception {
    Bulkhead b = Bulkhead.builder().maxConcurrent(1).listener(e -> {
      throw new IllegalStateException("broken listener");
    }).build();
    Permit p = b.tryAcquire();
    assertNull(b.tryAcquire());
    assertThrows(BulkheadFullException.class, () -> b.call(() -> 1));
    p.close();
    assertEquals(1, (int) b.call(() -> 1));
  }

  // ---- AsyncCalls --------------------------------------------------------------------------------

  @Test
  void holdsThePermitUntilTheStageCompletes() throws Exception {
    Bulkhead b = bulkhead(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletionStage<String> stage = b.callAsync(() -> inner);
    assertEquals(1, b.inFlight());
    inner.complete("done");
    assertEquals(0, b.inFlight());
    assertEquals("done", stage.toCompletableFuture().get());
  }

  @Test
  void releasesWhenTheStageFails() {
    Bulkhead b = bulkhead(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletionStage<String> stage = b.callAsync(() -> inner);
    inner.completeExceptionally(new IllegalStateException("boom"));
    assertEquals(0, b.inFlight());
    ExecutionException e = assertThrows(ExecutionException.class, () -> stage.toCompletableFuture().get());
    assertInstanceOf(IllegalStateException.class, e.getCause());
  }

  @Test
  void releasesWhenTheActionsStageIsCancelled() {
    Bulkhead b = bulkhead(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletionStage<String> stage = b.callAsync(() -> inner);
    inner.cancel(true);
    assertEquals(0, b.inFlight());
    assertTrue(stage.toCompletableFuture().isCompletedExceptionally());
  }

  @Test
  void releasesAndPassesTheCancellationOnWhenTheCallerCancels() {
    Bulkhead b = bulkhead(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<String> stage = b.callAsync(() -> inner).toCompletableFuture();
    assertTrue(stage.cancel(true));
    assertEquals(0, b.inFlight());
    assertTrue(inner.isCancelled());
    inner.complete("late"); // no effect: already cancelled, and the permit is not released twice
    assertEquals(0, b.inFlight());
    assertNotNull(b.tryAcquire());
    assertNull(b.tryAcquire());
  }

  @Test
  void releasesWhenTheCallerCompletesTheStageFirst() {
    Bulkhead b = bulkhead(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<String> stage = b.callAsync(() -> inner).toCompletableFuture();
    stage.completeExceptionally(new java.util.concurrent.TimeoutException("caller gave up"));
    assertEquals(0, b.inFlight());
    inner.complete("late");
    assertEquals(0, b.inFlight());
  }

  @Test
  void releasesWhenTheSupplierThrowsAndFailsTheStage() {
    Bulkhead b = bulkhead(1);
    CompletionStage<String> stage = b.callAsync(() -> {
      throw new IllegalStateException("could not start");
    });
    assertEquals(0, b.inFlight());
    ExecutionException e = assertThrows(ExecutionException.class, () -> stage.toCompletableFuture().get());
    assertEquals("could not start", e.getCause().getMessage());
  }

  @Test
  void releasesWhenTheSupplierReturnsNull() {
    Bulkhead b = bulkhead(1);
    CompletionStage<String> stage = b.callAsync(() -> null);
    assertEquals(0, b.inFlight());
    ExecutionException e = assertThrows(ExecutionException.class, () -> stage.toCompletableFuture().get());
    assertInstanceOf(NullPointerException.class, e.getCause());
  }

  @Test
  void anAlreadyCompletedStageReleasesAtOnce() throws Exception {
    Bulkhead b = bulkhead(1);
    assertEquals(7, b.callAsync(() -> CompletableFuture.completedFuture(7)).toCompletableFuture().get());
    assertEquals(0, b.inFlight());
  }

  @Test
  void failsTheStageWithoutStartingTheActionWhenFull() {
    Bulkhead b = bulkhead(1);
    Permit held = b.tryAcquire();
    AtomicBoolean started = new AtomicBoolean();
    CompletionStage<String> stage = b.callAsync(() -> {
      started.set(true);
      return new CompletableFuture<>();
    });
    assertFalse(started.get());
    ExecutionException e = assertThrows(ExecutionException.class, () -> stage.toCompletableFuture().get());
    assertInstanceOf(BulkheadFullException.class, e.getCause());
    assertEquals(1, b.rejected());
    held.close();
  }

  @Test
  void neverWaitsEvenWhenMaxWaitIsSet() {
    Bulkhead b = waiting(1, false);
    Permit held = b.tryAcquire();
    CompletionStage<String> stage = b.callAsync(CompletableFuture::new);
    assertTrue(stage.toCompletableFuture().isCompletedExceptionally());
    assertEquals(Duration.ZERO, clock.elapsed());
    held.close();
  }

  @Test
  void theReleaseHappensBeforeDependentStagesRun() throws Exception {
    Bulkhead b = bulkhead(1);
    CompletableFuture<String> inner = new CompletableFuture<>();
    CompletableFuture<Integer> seenInFlight = b.callAsync(() -> inner).thenApply(v -> b.inFlight()).toCompletableFuture();
    inner.complete("x");
    assertEquals(0, seenInFlight.get());
  }

  // ---- LimitChanges ------------------------------------------------------------------------------

  @Test
  void shrinkingBelowInFlightRefusesUntilTheSurplusDrains() {
    Bulkhead b = bulkhead(3);
    List<Permit> held = new ArrayList<>(List.of(b.tryAcquire(), b.tryAcquire(), b.tryAcquire()));
    b.setMaxConcurrent(1);
    assertEquals(1, b.maxConcurrent());
    assertEquals(3, b.inFlight());
    assertEquals(0, b.available());
    assertNull(b.tryAcquire());
    held.remove(0).close();
    assertNull(b.tryAcquire(), "2 in flight, limit 1");
    held.remove(0).close();
    assertNull(b.tryAcquire(), "1 in flight, limit 1");
    held.remove(0).close();
    assertNotNull(b.tryAcquire());
    assertEquals(1, b.inFlight());
  }

  @Test
  void growingAdmitsMoreCallsAndReportsTheChange() {
    Bulkhead b = bulkhead(1);
    b.tryAcquire();
    b.setMaxConcurrent(3);
    assertNotNull(b.tryAcquire());
    assertNotNull(b.tryAcquire());
    assertNull(b.tryAcquire());
    Event changed = listener.events.stream().filter(e -> e.kind() == Event.Kind.LIMIT_CHANGED).findFirst().orElseThrow();
    assertEquals("limit 1 -> 3", changed.detail());
  }

  @Test
  void growingHandsPermitsToWaitersInArrivalOrder() throws Exception {
    Bulkhead b = waiting(1, false);
    Permit held = b.acquire();
    Waiter first = new Waiter("first", b::acquire);
    awaitTrue("first waits", () -> b.waiting() == 1);
    Waiter second = new Waiter("second", b::acquire);
    awaitTrue("second waits", () -> b.waiting() == 2);
    b.setMaxConcurrent(2);
    assertInstanceOf(Permit.class, first.join());
    assertEquals(1, b.waiting());
    assertFalse(second.isDone());
    b.setMaxConcurrent(3);
    assertInstanceOf(Permit.class, second.join());
    assertEquals(3, b.inFlight());
    held.close();
  }

  // ---- Waiting -----------------------------------------------------------------------------------

  @Test
  void aWaiterGetsTheNextReleasedPermit() throws Exception {
    Bulkhead b = waiting(1, false);
    Permit held = b.acquire();
    Waiter waiter = new Waiter("waiter", b::acquire);
    awaitTrue("the waiter is queued", () -> b.waiting() == 1);
    assertEquals(0, b.rejected());
    held.close();
    Permit handed = (Permit) waiter.join();
    assertEquals(1, b.inFlight());
    assertEquals(0, b.waiting());
    handed.close();
    assertEquals(0, b.inFlight());
  }

  @Test
  void aWaiterThatTimesOutHoldsNothingAndSaysHowLongItWaited() throws Exception {
    Bulkhead b = waiting(1, false);
    Permit held = b.acquire();
    Waiter waiter = new Waiter("waiter", b::acquire);
    awaitTrue("the waiter is queued", () -> b.waiting() == 1);
    clock.advance(Duration.ofMillis(999));
    assertEquals(1, b.waiting(), "999 ms into a 1 s wait");
    clock.advance(Duration.ofMillis(1));
    BulkheadFullException e = (BulkheadFullException) waiter.join();
    assertEquals(Duration.ofSeconds(1), e.waited());
    assertEquals("bulkhead 'db' is full: limit of 1 concurrent calls reached, waited PT1S", e.getMessage());
    assertEquals(1, b.inFlight());
    assertEquals(0, b.waiting());
    assertEquals(1, b.rejected());
    held.close();
    assertEquals(0, b.inFlight());
    assertEquals(1, b.available());
  }

  @Test
  void callWaitsForAPermitToo() throws Exception {
    Bulkhead b = waiting(1, false);
    Permit held = b.acquire();
    AtomicInteger ran = new AtomicInteger();
    Waiter caller = new Waiter("caller", () -> b.call(ran::incrementAndGet));
    awaitTrue("the caller is queued", () -> b.waiting() == 1);
    held.close();
    assertEquals(1, caller.join());
    assertEquals(0, b.inFlight());
  }

  @Test
  void anInterruptedWaiterHoldsNothingAndGetsInterruptedException() throws Exception {
    Bulkhead b = waiting(1, false);
    Permit held = b.acquire();
    Waiter waiter = new Waiter("waiter", b::acquire);
    awaitTrue("the waiter is queued", () -> b.waiting() == 1);
    waiter.thread.interrupt();
    assertInstanceOf(InterruptedException.class, waiter.join());
    assertEquals(0, b.waiting());
    assertEquals(1, b.inFlight());
    held.close();
    assertEquals(0, b.inFlight());
    assertNotNull(b.tryAcquire());
  }

  @Test
  void anInterruptedThreadStillGetsAFreePermitAndKeepsItsInterrupt() throws Exception {
    Bulkhead b = waiting(1, false);
    Thread.currentThread().interrupt();
    try {
      Permit p = b.acquire();
      assertTrue(Thread.currentThread().isInterrupted());
      p.close();
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void anInterruptedThreadThatWouldHaveToWaitIsRefusedAtOnce() throws Exception {
    Bulkhead b = waiting(1, false);
    Permit held = b.acquire();
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, b::acquire);
    assertFalse(Thread.currentThread().isInterrupted());
    assertEquals(0, b.waiting());
    held.close();
  }

  @Test
  void fairModeRefusesNewcomersWhileOthersWait() throws Exception {
    Bulkhead b = waiting(2, true);
    Permit a = b.acquire();
    Permit c = b.acquire();
    Waiter first = new Waiter("first", b::acquire);
    awaitTrue("first waits", () -> b.waiting() == 1);
    Waiter second = new Waiter("second", b::acquire);
    awaitTrue("second waits", () -> b.waiting() == 2);
    a.close();
    Permit firstPermit = (Permit) first.join();
    assertNull(b.tryAcquire(), "the second waiter is ahead of a newcomer");
    c.close();
    Permit secondPermit = (Permit) second.join();
    firstPermit.close();
    secondPermit.close();
    assertEquals(0, b.inFlight());
    assertTrue(b.isFair());
  }
}
