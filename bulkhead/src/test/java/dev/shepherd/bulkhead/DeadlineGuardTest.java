package dev.shepherd.bulkhead;

import static dev.shepherd.bulkhead.TestSupport.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.bulkhead.TestSupport.RecordingListener;
import dev.shepherd.bulkhead.TestSupport.Waiter;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class DeadlineGuardTest {

  private final ManualClock clock = new ManualClock();
  private final RecordingListener listener = new RecordingListener();

  private DeadlineGuard.Builder guard(int maxConcurrent) {
    return DeadlineGuard.builder().name("db").maxConcurrent(maxConcurrent).ticker(clock).listener(listener);
  }

  private Deadline in(long millis) {
    return Deadline.after(Duration.ofMillis(millis), clock);
  }

  /** Holds a permit with an asynchronous call that ends when the returned future is completed. */
  private CompletableFuture<String> hold(DeadlineGuard g) {
    CompletableFuture<String> work = new CompletableFuture<>();
    g.callAsync(in(60_000), () -> work);
    return work;
  }

  /** Queues a call that records its name when it starts. */
  private CompletableFuture<String> queue(DeadlineGuard g, Deadline d, String name, List<String> started) {
    return g.<String>callAsync(d, () -> {
      started.add(name);
      return CompletableFuture.completedFuture(name);
    }).toCompletableFuture();
  }

  private static Throwable failure(CompletableFuture<?> f) {
    assertTrue(f.isCompletedExceptionally(), f.toString());
    return assertThrows(CompletionException.class, f::join).getCause();
  }

  @Test
  void defaultsServeTheNewestFirstFromAQueueOfAHundred() {
    DeadlineGuard g = DeadlineGuard.builder().build();
    assertEquals("deadline-guard", g.name());
    assertEquals(25, g.maxConcurrent());
    assertEquals(100, g.maxQueue());
    assertEquals(DeadlineGuard.Order.NEWEST_FIRST, g.order());
    assertEquals(Duration.ZERO, g.serviceTime());
  }

  @Test
  void badConfigurationIsRefusedWithTheValue() {
    assertEquals("maxConcurrent must be positive: 0",
        assertThrows(IllegalArgumentException.class, () -> DeadlineGuard.builder().maxConcurrent(0)).getMessage());
    assertEquals("maxQueue must be at least 0: -1",
        assertThrows(IllegalArgumentException.class, () -> DeadlineGuard.builder().maxQueue(-1)).getMessage());
    assertThrows(NullPointerException.class, () -> DeadlineGuard.builder().order(null));
    assertThrows(IllegalArgumentException.class, () -> DeadlineGuard.builder().name(" "));
  }

  @Test
  void aCallWithTimeRunsAtOnceAndReleases() throws Exception {
    DeadlineGuard g = guard(1).build();
    assertEquals("ok", g.call(in(100), () -> "ok"));
    assertEquals(0, g.inFlight());
    assertEquals(0, g.dropped());
  }

  @Test
  void aCallThatArrivesLateIsDroppedWithoutRunning() {
    DeadlineGuard g = guard(1).build();
    Deadline d = in(100);
    clock.advance(Duration.ofMillis(150));
    AtomicInteger runs = new AtomicInteger();
    DeadlineExceededException e = assertThrows(DeadlineExceededException.class, () -> g.call(d, runs::incrementAndGet));
    assertEquals("deadline guard 'db' dropped a call on arrival: deadline passed PT0.05S ago", e.getMessage());
    assertEquals(0, runs.get());
    assertEquals(1, g.dropped());
    assertEquals(1, listener.count(Event.Kind.REJECTED));
    assertInstanceOf(DeadlineExceededException.class, failure(g.callAsync(d, () -> {
      runs.incrementAndGet();
      return new CompletableFuture<>();
    }).toCompletableFuture()));
    assertEquals(0, runs.get());
    assertEquals(2, g.dropped());
  }

  @Test
  void newestFirstServesTheLatestArrivalWhenAPermitFreesUp() {
    DeadlineGuard g = guard(1).order(DeadlineGuard.Order.NEWEST_FIRST).build();
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    queue(g, in(1_000), "a", started);
    queue(g, in(1_000), "b", started);
    queue(g, in(1_000), "c", started);
    assertEquals(3, g.queued());
    holder.complete("done");
    assertEquals(List.of("c", "b", "a"), started); // each completes at once and frees the permit for the next
    assertEquals(0, g.inFlight());
  }

  @Test
  void oldestFirstServesArrivalOrder() {
    DeadlineGuard g = guard(1).order(DeadlineGuard.Order.OLDEST_FIRST).build();
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    queue(g, in(1_000), "a", started);
    queue(g, in(1_000), "b", started);
    holder.complete("done");
    assertEquals(List.of("a", "b"), started);
  }

  @Test
  void arrivalsDoNotOvertakeQueuedCalls() {
    DeadlineGuard g = guard(1).order(DeadlineGuard.Order.OLDEST_FIRST).build();
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    CompletableFuture<String> work = new CompletableFuture<>();
    g.callAsync(in(1_000), () -> {
      started.add("queued");
      return work;
    });
    holder.complete("done");
    queue(g, in(1_000), "late arrival", started);
    assertEquals(List.of("queued"), started);
    work.complete("x");
    assertEquals(List.of("queued", "late arrival"), started);
  }

  @Test
  void queuedWorkWhoseDeadlinePassedIsDroppedWhenAPermitFreesUp() {
    DeadlineGuard g = guard(1).order(DeadlineGuard.Order.OLDEST_FIRST).build();
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    CompletableFuture<String> stale = queue(g, in(100), "stale", started);
    CompletableFuture<String> fresh = queue(g, in(10_000), "fresh", started);
    clock.advance(Duration.ofMillis(200));
    holder.complete("done");
    assertEquals(List.of("fresh"), started);
    assertEquals("deadline guard 'db' dropped a call while queued: deadline passed PT0.1S ago",
        failure(stale).getMessage());
    assertEquals("fresh", fresh.join());
    assertEquals(1, g.dropped());
    assertEquals(0, g.inFlight());
  }

  @Test
  void newestFirstStillDropsTheExpiredOldestWhenCallsQueue() {
    DeadlineGuard g = guard(1).build();
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    CompletableFuture<String> old = queue(g, in(100), "old", started);
    clock.advance(Duration.ofMillis(100));
    queue(g, in(100), "new", started); // the expired oldest leaves the queue now, not when served
    assertInstanceOf(DeadlineExceededException.class, failure(old));
    assertEquals(1, g.queued());
    holder.complete("done");
    assertEquals(List.of("new"), started);
  }

  @Test
  void withDropIfCannotFinishWorkWithLessTimeThanTheServiceTimeIsDropped() throws Exception {
    DeadlineGuard g = guard(1).dropIfCannotFinish(true).order(DeadlineGuard.Order.OLDEST_FIRST).build();
    g.call(in(1_000), () -> {
      clock.advance(Duration.ofMillis(100));
      return "learned";
    });
    assertEquals(Duration.ofMillis(100), g.serviceTime());
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    CompletableFuture<String> tight = queue(g, in(150), "tight", started);
    CompletableFuture<String> roomy = queue(g, in(1_000), "roomy", started);
    clock.advance(Duration.ofMillis(60)); // 90 ms left for "tight": less than 100 ms of service
    holder.complete("done");
    assertEquals(List.of("roomy"), started);
    assertTrue(failure(tight).getMessage().endsWith("cannot finish in time: PT0.09S left, service time PT0.095S"),
        failure(tight).getMessage());
    assertEquals("roomy", roomy.join());
    // Arrivals are judged the same way.
    assertThrows(DeadlineExceededException.class, () -> g.call(in(50), () -> "too little time"));
  }

  @Test
  void withoutDropIfCannotFinishOnlyThePassedDeadlineCounts() throws Exception {
    DeadlineGuard g = guard(1).build();
    g.call(in(1_000), () -> {
      clock.advance(Duration.ofMillis(100));
      return "not measured";
    });
    assertEquals(Duration.ZERO, g.serviceTime());
    assertEquals("tight", g.call(in(1), () -> "tight"));
  }

  @Test
  void aFullQueueRefusesTheNewcomerOldestFirstAndPushesOutTheOldestNewestFirst() {
    DeadlineGuard fifo = guard(1).maxQueue(1).order(DeadlineGuard.Order.OLDEST_FIRST).build();
    hold(fifo);
    List<String> started = new ArrayList<>();
    CompletableFuture<String> first = queue(fifo, in(1_000), "first", started);
    CompletableFuture<String> second = queue(fifo, in(1_000), "second", started);
    assertInstanceOf(BulkheadFullException.class, failure(second));
    assertFalse(first.isDone());
    assertEquals(1, fifo.rejected());

    DeadlineGuard lifo = guard(1).maxQueue(1).build();
    hold(lifo);
    CompletableFuture<String> older = queue(lifo, in(1_000), "older", started);
    CompletableFuture<String> newer = queue(lifo, in(1_000), "newer", started);
    assertInstanceOf(BulkheadFullException.class, failure(older));
    assertFalse(newer.isDone());
    assertEquals(1, lifo.rejected());

    DeadlineGuard none = guard(1).maxQueue(0).build();
    hold(none);
    assertInstanceOf(BulkheadFullException.class, failure(queue(none, in(1_000), "x", started)));
  }

  @Test
  void aCallerWhoGivesUpOnAQueuedCallWithdrawsIt() {
    DeadlineGuard g = guard(1).build();
    CompletableFuture<String> holder = hold(g);
    List<String> started = new ArrayList<>();
    CompletableFuture<String> queued = queue(g, in(1_000), "withdrawn", started);
    assertEquals(1, g.queued());
    queued.cancel(true);
    assertEquals(0, g.queued());
    holder.complete("done");
    assertEquals(List.of(), started);
    assertEquals(0, g.inFlight());
  }

  @Test
  void aCallerWhoEndsARunningCallReleasesBeforeItsDependentsRun() {
    DeadlineGuard g = guard(1).build();
    CompletableFuture<String> work = new CompletableFuture<>();
    CompletableFuture<String> outer = g.callAsync(in(1_000), () -> work).toCompletableFuture();
    CompletableFuture<Integer> seen = outer.handle((v, t) -> g.inFlight());
    outer.cancel(true);
    assertEquals(0, seen.join());
    assertTrue(work.isCancelled());
    work.complete("late");
    assertEquals(0, g.inFlight());
  }

  @Test
  void aLongQueueOfCallsThatCompleteAtOnceDoesNotRecurse() {
    DeadlineGuard g = guard(1).maxQueue(50_000).order(DeadlineGuard.Order.OLDEST_FIRST)
        .listener(EventListener.noop()).build();
    CompletableFuture<String> holder = hold(g);
    AtomicInteger ran = new AtomicInteger();
    for (int i = 0; i < 50_000; i++) {
      g.callAsync(in(1_000), () -> {
        ran.incrementAndGet();
        return CompletableFuture.completedFuture("x");
      });
    }
    holder.complete("done"); // would overflow the stack if each start nested the next
    assertEquals(50_000, ran.get());
    assertEquals(0, g.inFlight());
    assertEquals(0, g.queued());
  }

  @Test
  void aThreadWaitsInTheQueueAndRunsWhenAPermitFreesUp() throws Exception {
    DeadlineGuard g = guard(1).build();
    CompletableFuture<String> holder = hold(g);
    Waiter w = new Waiter("queued", () -> g.call(in(1_000), () -> "ran"));
    awaitTrue("the thread is queued", () -> g.queued() == 1);
    holder.complete("done");
    assertEquals("ran", w.join());
    assertEquals(0, g.inFlight());
  }

  @Test
  void aQueuedThreadIsDroppedAtItsDeadline() throws Exception {
    DeadlineGuard g = guard(1).build();
    CompletableFuture<String> holder = hold(g);
    AtomicInteger runs = new AtomicInteger();
    Waiter w = new Waiter("late", () -> g.call(in(100), runs::incrementAndGet));
    awaitTrue("the thread is queued", () -> g.queued() == 1);
    clock.advance(Duration.ofMillis(100));
    assertInstanceOf(DeadlineExceededException.class, w.join());
    assertEquals(0, runs.get());
    assertEquals(0, g.queued());
    assertEquals(1, g.dropped());
    holder.complete("done");
    assertEquals(0, g.inFlight());
  }

  @Test
  void aQueuedThreadDroppedByAReleaseFailsWithTheReason() throws Exception {
    DeadlineGuard g = guard(1).dropIfCannotFinish(true).build();
    g.call(in(1_000), () -> {
      clock.advance(Duration.ofMillis(100));
      return "learned";
    });
    CompletableFuture<String> holder = hold(g);
    Waiter w = new Waiter("tight", () -> g.call(in(150), () -> "never"));
    awaitTrue("the thread is queued", () -> g.queued() == 1);
    clock.advance(Duration.ofMillis(60));
    holder.complete("done");
    Object outcome = w.join();
    assertInstanceOf(DeadlineExceededException.class, outcome);
    assertTrue(((Exception) outcome).getMessage().contains("cannot finish in time"), outcome.toString());
    assertEquals(0, g.inFlight());
  }

  @Test
  void anInterruptedQueuedThreadHoldsNothing() throws Exception {
    DeadlineGuard g = guard(1).build();
    CompletableFuture<String> holder = hold(g);
    Waiter w = new Waiter("interrupted", () -> g.call(in(10_000), () -> "never"));
    awaitTrue("the thread is queued", () -> g.queued() == 1);
    w.thread.interrupt();
    assertInstanceOf(InterruptedException.class, w.join());
    assertEquals(0, g.queued());
    holder.complete("done");
    assertEquals(0, g.inFlight());
    assertEquals("ok", g.call(in(10), () -> "ok"));
  }

  @Test
  void theActionsFailureReachesTheCallerAndReleases() {
    DeadlineGuard g = guard(1).build();
    assertThrows(IllegalStateException.class, () -> g.call(in(100), () -> {
      throw new IllegalStateException("boom");
    }));
    CompletionStage<String> s = g.callAsync(in(100), () -> {
      throw new IllegalStateException("could not start");
    });
    assertInstanceOf(IllegalStateException.class, failure(s.toCompletableFuture()));
    assertEquals(0, g.inFlight());
  }

  @Test
  void theNoopListenerGetsNothingAndCountersStillCount() {
    DeadlineGuard g = guard(1).listener(EventListener.noop()).build();
    Deadline passed = in(0);
    assertThrows(DeadlineExceededException.class, () -> g.call(passed, () -> "x"));
    assertEquals(1, g.dropped());
    assertTrue(g.toString().contains("dropped=1"), g.toString());
  }
}
