package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code nextDelayNanos()} allocates nothing, for every policy, with a seeded generator and with
 * {@code start()}'s thread-local one. Measured with the JVM's per-thread allocation counter over a
 * million calls (after warm-up, so the measurement covers compiled code, as a benchmark would); the
 * tolerance of 1 KiB absorbs the counter's own bookkeeping, which is far below one byte per call.
 */
class ScheduleAllocationTest {

  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private static long allocatedBy(Backoff.Schedule schedule, int calls) {
    long id = Thread.currentThread().getId();
    long before = THREADS.getThreadAllocatedBytes(id);
    long sum = 0;
    for (int i = 0; i < calls; i++) {
      sum += schedule.nextDelayNanos();
    }
    long after = THREADS.getThreadAllocatedBytes(id);
    assertTrue(sum >= 0 || sum < 0); // keeps the loop's result alive
    return after - before;
  }

  @Test
  void nextDelayNanosAllocatesNothing() {
    for (Backoff backoff : BackoffTest.allPolicies()) {
      for (Backoff.Schedule schedule : new Backoff.Schedule[] {backoff.start(new SplittableRandom(1)), backoff.start()}) {
        allocatedBy(schedule, 200_000); // warm-up: let the JIT compile the loop
        long bytes = allocatedBy(schedule, 1_000_000);
        assertTrue(bytes < 1024, backoff + ": " + bytes + " bytes for 1,000,000 delays");
      }
    }
  }
}
