package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import java.lang.management.ManagementFactory;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The grant path allocates nothing: {@code call}, {@code get} and {@code run} on both bulkheads,
 * measured with the JVM's per-thread allocation counter after warm-up. A single allocation per call would show up as at
 * least 16 bytes x 200,000 calls = 3.2 MB; the threshold of 64 KB leaves room only for the
 * counter's own noise. The permit API is measured too: exactly one small object per grant.
 */
class GrantPathAllocationTest {

  private static final int CALLS = 200_000;
  private static final Object RESULT = new Object();

  private static long allocatedBytes(Callable<?> body) throws Exception {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    for (int i = 0; i < 5; i++) { // warm up: let the JIT compile the path being measured
      body.call();
    }
    long before = threads.getThreadAllocatedBytes(id);
    body.call();
    return threads.getThreadAllocatedBytes(id) - before;
  }

  private static void assumeMeasurable() {
    assumeTrue(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean
        && ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).isThreadAllocatedMemorySupported(),
        "this JVM cannot count allocated bytes per thread");
  }

  /**
   * {@code CALLS} calls through {@code bulkhead} allocate less than 64 KiB in all, in each call
   * form ({@code call}, {@code get}, {@code run}): none per call.
   */
  private static void assertCallsAllocateNothing(Policy bulkhead) throws Exception {
    Callable<Object> action = () -> RESULT;
    Supplier<Object> supplier = () -> RESULT;
    Object[] sink = new Object[1];
    Runnable runnable = () -> sink[0] = RESULT;
    long callBytes = allocatedBytes(() -> {
      Object last = null;
      for (int i = 0; i < CALLS; i++) {
        last = bulkhead.call(action);
      }
      return last;
    });
    long getBytes = allocatedBytes(() -> {
      Object last = null;
      for (int i = 0; i < CALLS; i++) {
        last = bulkhead.get(supplier);
      }
      return last;
    });
    long runBytes = allocatedBytes(() -> {
      for (int i = 0; i < CALLS; i++) {
        bulkhead.run(runnable);
      }
      return sink[0];
    });
    assertTrue(callBytes < 65_536, callBytes + " bytes for " + CALLS + " call()s");
    assertTrue(getBytes < 65_536, getBytes + " bytes for " + CALLS + " get()s");
    assertTrue(runBytes < 65_536, runBytes + " bytes for " + CALLS + " run()s");
  }

  @Test
  void bulkheadCallAllocatesNothing() throws Exception {
    assumeMeasurable();
    Bulkhead bulkhead = Bulkhead.builder().maxConcurrent(4).listener(EventListener.noop()).build();
    assertCallsAllocateNothing(bulkhead);
  }

  @Test
  void fairBulkheadCallAllocatesNothing() throws Exception {
    assumeMeasurable();
    Bulkhead bulkhead = Bulkhead.builder().maxConcurrent(4).fair(true).listener(EventListener.noop()).build();
    assertCallsAllocateNothing(bulkhead);
  }

  @Test
  void adaptiveCallAllocatesNothing() throws Exception {
    assumeMeasurable();
    AdaptiveBulkhead bulkhead = AdaptiveBulkhead.builder().initialLimit(8).listener(EventListener.noop()).build();
    assertCallsAllocateNothing(bulkhead);
  }

  @Test
  void thePermitApiAllocatesAtMostOneSmallObjectPerGrant() throws Exception {
    assumeMeasurable();
    Bulkhead bulkhead = Bulkhead.builder().maxConcurrent(4).listener(EventListener.noop()).build();
    long bytes = allocatedBytes(() -> {
      for (int i = 0; i < CALLS; i++) {
        Permit p = bulkhead.tryAcquire();
        p.close();
      }
      return null;
    });
    // A Permit is a header and four fields: 32 bytes with compressed references, 40 without.
    assertTrue(bytes <= 40L * CALLS + 65_536, bytes + " bytes for " + CALLS + " grants");
  }

  /** Issue 13: a refusal builds no event when nobody listens, so a full bulkhead's no is free too. */
  @Test
  void aRefusalWithTheNoopListenerAllocatesNothing() throws Exception {
    assumeMeasurable();
    Bulkhead fixed = Bulkhead.builder().maxConcurrent(1).listener(EventListener.noop()).build();
    AdaptiveBulkhead adaptive = AdaptiveBulkhead.builder().minLimit(1).maxLimit(1)
        .listener(EventListener.noop()).build();
    Permit heldFixed = fixed.tryAcquire();
    Permit heldAdaptive = adaptive.tryAcquire();
    long bytes = allocatedBytes(() -> {
      Object last = null;
      for (int i = 0; i < CALLS; i++) {
        last = fixed.tryAcquire();
        last = last == null ? adaptive.tryAcquire() : last;
      }
      return last;
    });
    assertTrue(bytes < 65_536, bytes + " bytes for " + CALLS + " refusals of each");
    assertTrue(fixed.rejected() > CALLS && adaptive.rejected() > CALLS);
    heldFixed.close();
    heldAdaptive.close();
  }

  /** DeadlineGuard's promise: a call that starts at once allocates nothing, measuring or not. */
  @Test
  void deadlineGuardCallAllocatesNothing() throws Exception {
    assumeMeasurable();
    dev.shepherd.core.Deadline deadline = dev.shepherd.core.Deadline.after(java.time.Duration.ofDays(1));
    for (boolean measuring : new boolean[] {false, true}) {
      DeadlineGuard guard = DeadlineGuard.builder().maxConcurrent(4).dropIfCannotFinish(measuring)
          .listener(EventListener.noop()).build();
      Callable<Object> action = () -> RESULT;
      long bytes = allocatedBytes(() -> {
        Object last = null;
        for (int i = 0; i < CALLS; i++) {
          last = guard.call(deadline, action);
        }
        return last;
      });
      assertTrue(bytes < 65_536, bytes + " bytes for " + CALLS + " guarded calls (measuring: " + measuring + ")");
    }
  }
}
