package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Admitting through a learned rate and reporting completions allocate nothing, period ends
 * included (while the rate does not change, no event is made): HotSpot's per-thread allocation
 * counter over 200,000 admissions and completions, against a threshold far below 16 bytes a call.
 */
class LearnedAllocationTest {

  private static final int CALLS = 200_000;

  @Test
  void admittingAndReportingCompletionsAllocateNothing() {
    java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "needs HotSpot's allocation counter");
    com.sun.management.ThreadMXBean hotspot = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(hotspot.isThreadAllocatedMemorySupported() && hotspot.isThreadAllocatedMemoryEnabled());
    AtomicLong now = new AtomicLong(Long.MAX_VALUE - 1_000_000L);
    Ticker ticker = () -> now.addAndGet(1_000); // 1 us a reading: 200 ms periods end every 200,000 readings
    LearnedRate rate = LearnedRate.builder().initialPermitsPerSecond(1e7).ticker(ticker)
        .listener(EventListener.noop()).build();
    SlotAdmission admission = SlotAdmission.builder().learnedRate(rate, 1.0).ticker(ticker)
        .listener(EventListener.noop()).build();
    run(admission, rate); // warm up
    long id = Thread.currentThread().getId();
    long before = hotspot.getThreadAllocatedBytes(id);
    long admitted = run(admission, rate);
    long bytes = hotspot.getThreadAllocatedBytes(id) - before;
    assertEquals(CALLS, admitted);
    assertTrue(bytes < 64 * 1024, bytes + " bytes for " + CALLS + " admissions and completions");
  }

  private static long run(SlotAdmission admission, LearnedRate rate) {
    long admitted = 0;
    for (int i = 0; i < CALLS; i++) {
      try {
        admission.acquire(i);
        admitted++;
      } catch (SlotRefusedException e) {
        throw new AssertionError("refused at a rate of 10^7/s", e);
      }
      rate.completed(1_000);
    }
    return admitted;
  }
}
