package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The counters under every kind of thread: stripe owners, threads whose stripe another owns (more
 * threads than stripes, so some ids share a stripe), and threads that come after an owner has
 * ended. Every increment is counted in its own lane, whichever path it took.
 */
@Tag("concurrency")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StripedCountersTest {

  private static final int PER_THREAD = 20_000;

  @Test
  void threeTimesMoreThreadsThanStripesAtOnceLoseNoIncrement() throws Exception {
    StripedCounters counter = new StripedCounters(2);
    int threads = 3 * StripedCounters.STRIPES;
    runTogether(threads, () -> {
      for (int i = 0; i < PER_THREAD; i++) {
        counter.increment(0);
        if (i % 4 == 0) {
          counter.increment(1);
        }
      }
    });
    assertEquals((long) threads * PER_THREAD, counter.sum(0));
    assertEquals((long) threads * PER_THREAD / 4, counter.sum(1));
  }

  @Test
  void aLaneCountOutsideOneToFifteenIsRefusedByName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new StripedCounters(0));
    assertTrue(e.getMessage().contains("lanes") && e.getMessage().contains("0"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new StripedCounters(16));
  }

  @Test
  void threadsThatComeAfterTheOwnersEndedCountToo() throws Exception {
    StripedCounters counter = new StripedCounters(1);
    int rounds = 3 * StripedCounters.STRIPES; // later rounds find every stripe owned by an ended thread
    for (int r = 0; r < rounds; r++) {
      runTogether(2, () -> {
        for (int i = 0; i < 1_000; i++) {
          counter.increment(0);
        }
      });
      assertEquals(2_000L * (r + 1), counter.sum(0), "after round " + r);
    }
  }

  @Test
  void aSumReadWhileOthersCountNeverGoesBackwardsNorPastTheTotal() throws Exception {
    StripedCounters counter = new StripedCounters(1);
    int threads = 4;
    AtomicReference<String> wrong = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      long last = 0;
      while (!Thread.currentThread().isInterrupted()) {
        long now = counter.sum(0);
        if (now < last || now > (long) threads * PER_THREAD) {
          wrong.compareAndSet(null, last + " then " + now);
        }
        last = now;
      }
    }, "reader");
    reader.start();
    try {
      runTogether(threads, () -> {
        for (int i = 0; i < PER_THREAD; i++) {
          counter.increment(0);
        }
      });
    } finally {
      reader.interrupt();
      reader.join(10_000);
    }
    assertEquals(null, wrong.get());
    assertEquals((long) threads * PER_THREAD, counter.sum(0));
  }

  /** Starts {@code threads} threads on one barrier, runs {@code body} in each, and joins them all. */
  private static void runTogether(int threads, Runnable body) throws Exception {
    CyclicBarrier start = new CyclicBarrier(threads);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> all = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread thread = new Thread(() -> {
        try {
          start.await(10, TimeUnit.SECONDS);
          body.run();
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      }, "counter-" + t);
      all.add(thread);
      thread.start();
    }
    for (Thread thread : all) {
      thread.join(30_000);
      assertTrue(!thread.isAlive(), thread.getName() + " did not finish");
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
  }
}
