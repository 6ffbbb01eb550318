package dev.shepherd.bulkhead.issues;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.bulkhead.BulkheadFullException;
import dev.shepherd.bulkhead.Permit;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Regression tests named after bugs that peers shipped, written against the public API only.
 */
@Timeout(60)
class PeerRegressionTest {

  /**
   * failsafe-lib/failsafe#393 (fix proposed in #400): a caller that timed out while waiting stayed
   * queued, the next release handed it the permit, nobody ever released it, and after enough
   * timeouts the bulkhead was at zero for good. Here eight callers time out against a bulkhead of
   * eight, releases race with the timeouts, and afterwards the full capacity is still there.
   */
  @Test
  void failsafe393_waitersThatTimeOutNeverKeepAPermit() throws Exception {
    ManualClock clock = new ManualClock();
    Bulkhead bulkhead = Bulkhead.builder().name("failsafe-393").maxConcurrent(8).maxWait(Duration.ofSeconds(1))
        .ticker(clock).listener(EventListener.noop()).build();
    for (int round = 0; round < 20; round++) {
      List<Permit> holders = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        holders.add(bulkhead.acquire());
      }
      List<Thread> waiters = new ArrayList<>();
      AtomicInteger timedOut = new AtomicInteger();
      List<Permit> granted = java.util.Collections.synchronizedList(new ArrayList<>());
      for (int i = 0; i < 8; i++) {
        Thread t = new Thread(() -> {
          try {
            granted.add(bulkhead.acquire());
          } catch (BulkheadFullException e) {
            timedOut.incrementAndGet();
          } catch (InterruptedException e) {
            fail("not interrupted");
          }
        });
        t.setDaemon(true);
        t.start();
        waiters.add(t);
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (bulkhead.waiting() < 8) {
        assertTrue(System.nanoTime() < deadline, "waiters did not queue");
        Thread.onSpinWait();
      }
      // Time runs out for everyone while, in the same instant, some holders finish.
      clock.advance(Duration.ofSeconds(1));
      for (int i = 0; i < round % 9; i++) {
        holders.remove(0).close();
      }
      for (Thread t : waiters) {
        t.join(20_000);
        assertTrue(!t.isAlive(), "a waiter is stuck");
      }
      assertEquals(8, timedOut.get() + granted.size());
      holders.forEach(Permit::close);
      granted.forEach(Permit::close);
      assertEquals(0, bulkhead.inFlight(), "round " + round);
      assertEquals(8, bulkhead.available(), "round " + round);
    }
    List<Permit> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      all.add(assertNotNullPermit(bulkhead.tryAcquire()));
    }
    assertNull(bulkhead.tryAcquire());
    all.forEach(Permit::close);
  }

  /**
   * The same bug under real contention: grants and timeouts (a quarter of a millisecond on the
   * system clock) race thousands of times; every permit must come back.
   */
  @Test
  @Tag("concurrency")
  void failsafe393_grantsRacingTimeoutsLeakNothing() throws Exception {
    Bulkhead bulkhead = Bulkhead.builder().name("race").maxConcurrent(2).maxWait(Duration.ofNanos(250_000))
        .listener(EventListener.noop()).build();
    int threads = 6;
    CountDownLatch done = new CountDownLatch(threads);
    AtomicInteger errors = new AtomicInteger();
    for (int t = 0; t < threads; t++) {
      Thread worker = new Thread(() -> {
        try {
          for (int i = 0; i < 4_000; i++) {
            try {
              Permit p = bulkhead.acquire();
              for (int spin = 0; spin < 50; spin++) {
                Thread.onSpinWait();
              }
              p.close();
            } catch (BulkheadFullException expected) {
              // timed out: must hold nothing
            }
          }
        } catch (Throwable e) {
          errors.incrementAndGet();
        } finally {
          done.countDown();
        }
      });
      worker.setDaemon(true);
      worker.start();
    }
    assertTrue(done.await(50, TimeUnit.SECONDS));
    assertEquals(0, errors.get());
    assertEquals(0, bulkhead.inFlight());
    assertEquals(2, bulkhead.available());
  }

  /**
   * resilience4j/resilience4j#729 review: "the permission must not be released if the future is
   * cancelled afterwards", so a cancelled asynchronous call kept its permit until the work behind
   * it ended, if ever. Here cancelling the returned stage releases at once (and cancels the work),
   * and so does a cancellation of the work's own stage.
   */
  @Test
  void resilience4j729_aCancelledAsyncCallReleasesItsPermit() {
    Bulkhead bulkhead = Bulkhead.builder().name("async").maxConcurrent(1).listener(EventListener.noop()).build();
    CompletableFuture<String> neverEnds = new CompletableFuture<>();
    CompletableFuture<String> stage = bulkhead.callAsync(() -> neverEnds).toCompletableFuture();
    assertEquals(0, bulkhead.available());
    stage.cancel(true);
    assertEquals(1, bulkhead.available(), "the caller's cancellation released the permit");
    assertTrue(neverEnds.isCancelled(), "and reached the work");

    CompletableFuture<String> work = new CompletableFuture<>();
    bulkhead.callAsync(() -> work);
    work.cancel(true);
    assertEquals(1, bulkhead.available(), "the work's own cancellation released the permit");
  }

  /**
   * resilience4j/resilience4j#1569 (and #263): two completion signals each released the semaphore,
   * so it held more permits than configured. Here every way of releasing one permit twice or more
   * counts once.
   */
  @Test
  void resilience4j1569_aPermitReleasedTwiceIsCountedOnce() throws Exception {
    Bulkhead bulkhead = Bulkhead.builder().name("twice").maxConcurrent(2).listener(EventListener.noop()).build();
    Permit p = bulkhead.acquire();
    p.close();
    p.close();
    p.success();
    p.dropped();
    p.ignored();
    assertEquals(2, bulkhead.available());
    assertNotNull(bulkhead.tryAcquire());
    assertNotNull(bulkhead.tryAcquire());
    assertNull(bulkhead.tryAcquire(), "a third permit was created");

    Bulkhead async = Bulkhead.builder().name("twice-async").maxConcurrent(1).listener(EventListener.noop()).build();
    CompletableFuture<String> work = new CompletableFuture<>();
    CompletableFuture<String> stage = async.callAsync(() -> work).toCompletableFuture();
    stage.completeExceptionally(new IllegalStateException("caller gave up")); // first signal
    work.complete("done");                                                   // second signal
    assertEquals(1, async.available());
    assertNotNull(async.tryAcquire());
    assertNull(async.tryAcquire());

    // Concurrent double release: two threads close the same permits at once.
    Bulkhead raced = Bulkhead.builder().name("raced").maxConcurrent(4).listener(EventListener.noop()).build();
    for (int round = 0; round < 500; round++) {
      Permit shared = raced.acquire();
      CountDownLatch go = new CountDownLatch(1);
      Thread other = new Thread(() -> {
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        shared.close();
      });
      other.start();
      go.countDown();
      shared.close();
      other.join(20_000);
      assertEquals(4, raced.available(), "round " + round);
    }
  }

  /**
   * Netflix/concurrency-limits#137: with an upstream that times out at a steady rate, a gradient
   * limiter sees no latency change and grows to its maximum. Here every call times out at the same
   * 5 s: the limit falls to its minimum and stays; and a steady one-in-five drop rate keeps the limit
   * near sqrt((1 - p) / (p * 0.1)) = 6.3, far below the maximum a healthy upstream reaches.
   */
  @Test
  void concurrencyLimits137_steadyTimeoutsLowerTheAdaptiveLimit() {
    assertEquals(1, runSteady(call -> 5_000, call -> false));
    int withDrops = runSteady(call -> 20, call -> call % 5 == 0);
    assertTrue(withDrops <= 12, "one drop in five settled at " + withDrops);
    assertEquals(100, runSteady(call -> 20, call -> false), "a healthy upstream grows to the maximum");
  }

  /** Closed loop: 5000 sequential rounds that fill the bulkhead and finish its calls together. */
  private static int runSteady(java.util.function.LongUnaryOperator latencyMillis,
      java.util.function.LongPredicate dropped) {
    ManualClock clock = new ManualClock();
    AdaptiveBulkhead b = AdaptiveBulkhead.builder().name("steady").minLimit(1).maxLimit(100).initialLimit(50)
        .latencyTarget(Duration.ofSeconds(10)).callTimeout(Duration.ofSeconds(5)).ticker(clock)
        .listener(EventListener.noop()).build();
    long call = 0;
    int highestInSecondHalf = 0;
    for (int round = 0; round < 5_000; round++) {
      List<Permit> permits = new ArrayList<>();
      Permit p;
      while ((p = b.tryAcquire()) != null) {
        permits.add(p);
      }
      clock.advance(Duration.ofMillis(latencyMillis.applyAsLong(call)));
      for (Permit each : permits) {
        if (dropped.test(call++)) {
          each.dropped();
        } else {
          each.success(); // a 5 s "success" reached the call timeout: it counts as a timeout
        }
      }
      if (round >= 2_500) {
        highestInSecondHalf = Math.max(highestInSecondHalf, b.limit());
      }
    }
    return highestInSecondHalf;
  }

  private static Permit assertNotNullPermit(Permit p) {
    assertInstanceOf(Permit.class, p);
    return p;
  }
}
