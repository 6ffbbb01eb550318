package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shepherd.core.EventListener;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/**
 * A permitted call allocates nothing, in both window kinds and in both ways in: measured with the
 * JVM's per-thread allocation counter after warm-up. One allocation per call would show as at least
 * 16 bytes x 200,000 calls = 3.2 MB; the 64 KiB threshold leaves room only for the counter's noise.
 * Both outcomes are measured: alternating success and failure makes every count-window record swap
 * its slot and move the totals, the path a healthy window skips.
 */
class AllocationTest {

  private static final int CALLS = 200_000;
  private static final Object RESULT = new Object();
  private static final RuntimeException FAILURE = new IllegalStateException("down", null) {
    private static final long serialVersionUID = 1L;
  };

  private static long allocatedBytes(Callable<?> body) throws Exception {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    for (int i = 0; i < 5; i++) {
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

  /** A breaker that never opens (threshold 1.0 with alternating outcomes) and reports nothing. */
  private static CircuitBreaker.Builder neverOpens() {
    return CircuitBreaker.builder().failureRateThreshold(1.0).slowCallDuration(Duration.ofSeconds(1))
        .listener(EventListener.noop());
  }

  private static void assertPermittedCallsAllocateNothing(CircuitBreaker breaker) throws Exception {
    Callable<Object> ok = () -> RESULT;
    long viaCall = allocatedBytes(() -> {
      Object last = null;
      for (int i = 0; i < CALLS; i++) {
        last = breaker.call(ok);
      }
      return last;
    });
    assertTrue(viaCall < 65_536, viaCall + " bytes for " + CALLS + " calls");
    long viaPermission = allocatedBytes(() -> {
      for (int i = 0; i < CALLS; i++) {
        long permission = breaker.tryAcquirePermission();
        if ((i & 1) == 0) {
          breaker.onSuccess(permission, i);
        } else {
          breaker.onError(permission, i, FAILURE);
        }
      }
      return null;
    });
    assertTrue(viaPermission < 65_536, viaPermission + " bytes for " + CALLS + " permissions");
    assertEquals(CircuitBreaker.State.CLOSED, breaker.state());
  }

  @Test
  void aCountWindowAllocatesNothingPerCall() throws Exception {
    assumeMeasurable();
    assertPermittedCallsAllocateNothing(neverOpens().countWindow(100).build());
  }

  @Test
  void aTimeWindowAllocatesNothingPerCall() throws Exception {
    assumeMeasurable();
    assertPermittedCallsAllocateNothing(neverOpens().timeWindow(Duration.ofMillis(50), 10).build());
  }
}
