package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Threads race for one admission in a frozen instant: exactly the burst is admitted, and every other
 * caller gets its own slot, the slots forming the exact sequence 1, 2, 3 ... intervals with no gap and
 * no duplicate. And the admit path allocates nothing.
 */
class SlotAdmissionConcurrencyTest {

  private static final int THREADS = 8;
  private static final int PER_THREAD = 5_000;
  private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);

  @AfterEach
  void stop() throws InterruptedException {
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
  }

  @Test
  @Tag("concurrency")
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void racingCallersGetTheBurstAndThenOneSlotEachOneIntervalApart() throws Exception {
    ManualClock clock = ManualClock.instant();
    SlotAdmission admission = SlotAdmission.builder().permitsPerSecond(1_000).headroom(0).burst(100)
        .horizon(Duration.ofHours(1)).ticker(clock).listener(EventListener.noop()).build();
    CyclicBarrier start = new CyclicBarrier(THREADS);
    List<Future<List<Long>>> futures = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      long first = (long) t * PER_THREAD;
      futures.add(pool.submit(() -> {
        List<Long> waits = new ArrayList<>();
        start.await(10, TimeUnit.SECONDS);
        for (int i = 0; i < PER_THREAD; i++) {
          try {
            admission.acquire(first + i);
            waits.add(0L);
          } catch (SlotRefusedException refused) {
            waits.add(refused.retryAfterNanos());
          }
        }
        return waits;
      }));
    }
    List<Long> all = new ArrayList<>();
    for (Future<List<Long>> f : futures) {
      all.addAll(f.get(30, TimeUnit.SECONDS));
    }
    Collections.sort(all);
    for (int i = 0; i < 100; i++) {
      assertEquals(0L, all.get(i), "the burst");
    }
    for (int k = 1; k <= THREADS * PER_THREAD - 100; k++) {
      assertEquals(k * 1_000_000L, all.get(99 + k), "slot " + k);
    }
    assertEquals(100, admission.admittedCount());
    assertEquals(THREADS * PER_THREAD - 100, admission.slotCount());
  }

  @Test
  void admittingAtOnceOrByATicketAllocatesNothing() {
    java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "needs HotSpot's allocation counter");
    com.sun.management.ThreadMXBean hotspot = (com.sun.management.ThreadMXBean) bean;
    Assumptions.assumeTrue(hotspot.isThreadAllocatedMemorySupported() && hotspot.isThreadAllocatedMemoryEnabled());
    SlotClock clock = new SlotClock(Long.MAX_VALUE - 1_000_000_000L, 1_700_000_000_000L); // crosses the overflow
    SlotAdmission admission = SlotAdmission.builder().permitsPerSecond(1_000).headroom(0).burst(1)
        .ticker(clock).clock((Clock) clock).listener(EventListener.noop()).build();
    int calls = 200_000;
    long id = Thread.currentThread().getId();
    for (int round = 0; round < 2; round++) { // the first round warms up
      long before = hotspot.getThreadAllocatedBytes(id);
      for (int i = 0; i < calls; i++) {
        clock.advance(1_000_000L); // one interval: every fresh caller is admitted at once
        admission.acquire(i);
      }
      long allocated = hotspot.getThreadAllocatedBytes(id) - before;
      assertTrue(round == 0 || allocated < 64 * 1024, allocated + " bytes for " + calls + " admissions");
    }
    SlotTicket ticket;
    try {
      admission.acquire(-2); // the last admission above spent the burst of one in this instant
      throw new AssertionError("the burst of one is spent");
    } catch (SlotRefusedException refused) {
      ticket = refused.ticket().orElseThrow();
    }
    clock.advance(1_000_000L); // the slot: its ticket admits for the next second
    for (int round = 0; round < 2; round++) {
      long before = hotspot.getThreadAllocatedBytes(id);
      for (int i = 0; i < calls; i++) {
        admission.acquire(-2, ticket);
      }
      long allocated = hotspot.getThreadAllocatedBytes(id) - before;
      assertTrue(round == 0 || allocated < 64 * 1024, allocated + " bytes for " + calls + " redemptions");
    }
    assertEquals(2L * calls, admission.redeemedCount());
  }
}
