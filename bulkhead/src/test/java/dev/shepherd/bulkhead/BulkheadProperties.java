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

import dev.shepherd.bulkhead.TestSupport.Waiter;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

/**
 * The bulkhead's central proof: for any sequence of operations (acquire, release, close twice,
 * timeout while waiting, interrupt while waiting, exception inside {@code call}, async completion,
 * failure and cancellation from either side, limit changes), run against an exact model:
 * <ul>
 *   <li>no grant ever takes the number in flight above the limit in force;
 *   <li>after every step the bulkhead's in-flight count, waiters and rejections equal the model's
 *       (no permit lost, none invented, a double close counted once);
 *   <li>waiters are granted in arrival order, and nobody waits while a permit is free;
 *   <li>at the end, once everything is released, every permit is back: available == limit.
 * </ul>
 * Waiting operations use real threads that block on a {@link ManualClock}; the driver advances the
 * clock (timeouts) or interrupts them, and joins them before the next step, so every run is
 * deterministic.
 */
class BulkheadProperties {

  private static final Duration MAX_WAIT = Duration.ofSeconds(1);

  @Property(tries = 1000)
  void everyRunKeepsTheLimitAndEndsWithEveryPermitBack(
      @ForAll @IntRange(min = 1, max = 4) int limit,
      @ForAll boolean fair,
      @ForAll boolean mayWait,
      @ForAll("operations") List<Op> ops) throws Exception {
    Harness h = new Harness(limit, fair, mayWait);
    try {
      for (Op op : ops) {
        op.apply(h);
        h.checkAgainstModel(op);
      }
      h.releaseEverything();
      assertEquals(0, h.bulkhead.inFlight());
      assertEquals(0, h.bulkhead.waiting());
      assertEquals(h.limit, h.bulkhead.available(), "every permit is back");
      assertEquals(h.rejections, h.bulkhead.rejected());
      // And the bulkhead is fully usable: exactly `limit` permits can be taken again.
      List<Permit> again = new ArrayList<>();
      for (int i = 0; i < h.limit; i++) {
        Permit p = h.bulkhead.tryAcquire();
        assertNotNull(p);
        again.add(p);
      }
      assertNull(h.bulkhead.tryAcquire());
      again.forEach(Permit::close);
    } finally {
      h.abandonThreads();
    }
  }

  @Provide
  Arbitrary<List<Op>> operations() {
    Arbitrary<Integer> index = Arbitraries.integers().between(0, 7);
    Arbitrary<Op> op = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.just(new TryAcquire())),
        Tuple.of(6, Arbitraries.just(new Acquire())),
        Tuple.of(6, index.map(Release::new)),
        Tuple.of(3, index.map(CloseTwice::new)),
        Tuple.of(2, Arbitraries.just(new TimeOutWaiters())),
        Tuple.of(2, index.map(InterruptWaiter::new)),
        Tuple.of(3, Arbitraries.just(new Call(false))),
        Tuple.of(3, Arbitraries.just(new Call(true))),
        Tuple.of(4, Arbitraries.just(new AsyncStart())),
        Tuple.of(2, Arbitraries.just(new AsyncSupplierThrows())),
        Tuple.of(6, Arbitraries.integers().between(0, 3).flatMap(kind -> index.map(i -> new AsyncEnd(i, kind)))),
        Tuple.of(3, Arbitraries.integers().between(1, 5).map(SetLimit::new)));
    return op.list().ofMinSize(1).ofMaxSize(40);
  }

  /** The system under test, the model of what it must hold, and the threads waiting on it. */
  static final class Harness {
    final ManualClock clock = new ManualClock();
    final Bulkhead bulkhead;
    final boolean mayWait;
    int limit;
    long rejections;
    final List<Permit> held = new ArrayList<>();
    final Deque<Waiter> waiters = new ArrayDeque<>();
    final List<AsyncCall> asyncs = new ArrayList<>();
    private int waiterCount;

    Harness(int limit, boolean fair, boolean mayWait) {
      this.limit = limit;
      this.mayWait = mayWait;
      this.bulkhead = Bulkhead.builder().name("model").maxConcurrent(limit).fair(fair)
          .maxWait(mayWait ? MAX_WAIT : Duration.ZERO).ticker(clock).listener(EventListener.noop()).build();
    }

    int modelInFlight() {
      return held.size() + asyncs.size();
    }

    boolean hasRoom() {
      return modelInFlight() < limit;
    }

    /** Asserts a grant just happened within the limit in force. */
    void checkGrant() {
      assertTrue(bulkhead.inFlight() <= limit, () -> "granted above the limit: " + bulkhead);
    }

    void checkAgainstModel(Op op) {
      String where = "after " + op + ": " + bulkhead;
      assertEquals(modelInFlight(), bulkhead.inFlight(), where);
      assertEquals(waiters.size(), bulkhead.waiting(), where);
      assertEquals(Math.max(0, limit - modelInFlight()), bulkhead.available(), where);
      assertEquals(limit, bulkhead.maxConcurrent(), where);
      assertEquals(rejections, bulkhead.rejected(), where);
      if (!waiters.isEmpty()) {
        assertTrue(modelInFlight() >= limit, "someone waits while a permit is free " + where);
      }
    }

    /** After a permit was returned: the model says whether the oldest waiter now gets it. */
    void afterRelease() throws InterruptedException {
      while (!waiters.isEmpty() && hasRoom()) {
        Permit p = assertInstanceOf(Permit.class, waiters.removeFirst().join(), "the oldest waiter is served");
        held.add(p);
        checkGrant();
      }
    }

    void startWaiter() {
      int before = bulkhead.waiting();
      waiters.addLast(new Waiter("waiter-" + waiterCount++, bulkhead::acquire));
      awaitTrue("the waiter is queued", () -> bulkhead.waiting() == before + 1);
    }

    void releaseEverything() throws Exception {
      new TimeOutWaiters().apply(this);
      while (!held.isEmpty()) {
        new CloseTwice(0).apply(this);
      }
      while (!asyncs.isEmpty()) {
        new AsyncEnd(0, 0).apply(this);
      }
    }

    void abandonThreads() {
      for (Waiter w : waiters) {
        w.thread.interrupt();
      }
    }
  }

  /** One step of a generated run. */
  interface Op {
    void apply(Harness h) throws Exception;
  }

  record TryAcquire() implements Op {
    @Override
    public void apply(Harness h) {
      Permit p = h.bulkhead.tryAcquire();
      if (h.hasRoom()) {
        assertNotNull(p, "room but refused");
        h.held.add(p);
        h.checkGrant();
      } else {
        assertNull(p, "granted without room");
        h.rejections++;
      }
    }
  }

  record Acquire() implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (h.hasRoom()) {
        h.held.add(h.bulkhead.acquire());
        h.checkGrant();
      } else if (!h.mayWait) {
        assertThrows(BulkheadFullException.class, h.bulkhead::acquire);
        h.rejections++;
      } else {
        h.startWaiter();
      }
    }
  }

  record Release(int index) implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (h.held.isEmpty()) {
        return;
      }
      h.held.remove(index % h.held.size()).close();
      h.afterRelease();
    }
  }

  record CloseTwice(int index) implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (h.held.isEmpty()) {
        return;
      }
      Permit p = h.held.remove(index % h.held.size());
      p.close();
      h.afterRelease();
      int inFlight = h.bulkhead.inFlight();
      p.close();
      p.success();
      assertEquals(inFlight, h.bulkhead.inFlight(), "a second close changed the count");
    }
  }

  record TimeOutWaiters() implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (h.waiters.isEmpty()) {
        return;
      }
      h.clock.advance(MAX_WAIT);
      while (!h.waiters.isEmpty()) {
        BulkheadFullException e = assertInstanceOf(BulkheadFullException.class, h.waiters.removeFirst().join());
        assertEquals(MAX_WAIT, e.waited());
        h.rejections++;
      }
    }
  }

  record InterruptWaiter(int index) implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (h.waiters.isEmpty()) {
        return;
      }
      List<Waiter> list = new ArrayList<>(h.waiters);
      Waiter w = list.get(index % list.size());
      w.thread.interrupt();
      assertInstanceOf(InterruptedException.class, w.join());
      h.waiters.remove(w);
    }
  }

  /** A synchronous call that returns or throws; skipped when it would block the driver. */
  record Call(boolean throwing) implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (!h.hasRoom()) {
        if (h.mayWait) {
          return; // would wait on a clock only this thread can move: covered by Acquire
        }
        assertThrows(BulkheadFullException.class, () -> h.bulkhead.call(() -> 1));
        h.rejections++;
        return;
      }
      IllegalStateException boom = new IllegalStateException("inside call");
      Exception thrown = null;
      try {
        h.bulkhead.call(() -> {
          h.checkGrant();
          assertEquals(h.modelInFlight() + 1, h.bulkhead.inFlight());
          if (throwing) {
            throw boom;
          }
          return 1;
        });
      } catch (IllegalStateException e) {
        thrown = e;
      }
      assertSame(throwing ? boom : null, thrown);
    }
  }

  record AsyncStart() implements Op {
    @Override
    public void apply(Harness h) {
      CompletableFuture<String> inner = new CompletableFuture<>();
      AtomicBoolean started = new AtomicBoolean();
      CompletionStage<String> outer = h.bulkhead.callAsync(() -> {
        started.set(true);
        return inner;
      });
      if (h.hasRoom()) {
        assertTrue(started.get());
        assertFalse(outer.toCompletableFuture().isDone());
        h.asyncs.add(new AsyncCall(inner, outer.toCompletableFuture()));
        h.checkGrant();
      } else {
        assertFalse(started.get());
        ExecutionException e = assertThrows(ExecutionException.class, () -> outer.toCompletableFuture().get());
        assertInstanceOf(BulkheadFullException.class, e.getCause());
        h.rejections++;
      }
    }
  }

  record AsyncSupplierThrows() implements Op {
    @Override
    public void apply(Harness h) {
      CompletionStage<String> outer = h.bulkhead.callAsync(() -> {
        throw new IllegalStateException("could not start");
      });
      assertTrue(outer.toCompletableFuture().isCompletedExceptionally());
      if (!h.hasRoom()) {
        h.rejections++;
      }
    }
  }

  /** Ends an async call: 0 completes, 1 fails, 2 cancels the action's stage, 3 the caller cancels. */
  record AsyncEnd(int index, int kind) implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      if (h.asyncs.isEmpty()) {
        return;
      }
      AsyncCall call = h.asyncs.remove(index % h.asyncs.size());
      switch (kind) {
        case 0 -> call.inner.complete("ok");
        case 1 -> call.inner.completeExceptionally(new IllegalStateException("failed"));
        case 2 -> call.inner.cancel(false);
        default -> call.outer.cancel(false);
      }
      assertTrue(call.outer.isDone());
      if (kind == 3) {
        assertTrue(call.inner.isCancelled(), "the caller's cancellation reaches the action");
      }
      h.afterRelease();
      call.inner.complete("late"); // no effect whatever happened before: released once
    }
  }

  record SetLimit(int newLimit) implements Op {
    @Override
    public void apply(Harness h) throws Exception {
      h.bulkhead.setMaxConcurrent(newLimit);
      h.limit = newLimit;
      h.afterRelease();
    }
  }

  record AsyncCall(CompletableFuture<String> inner, CompletableFuture<String> outer) {}
}
