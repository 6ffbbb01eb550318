package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Threads that record at once lose nothing: once they are done, the window holds exactly what they
 * recorded, whichever cells of the striped calls counter they wrote.
 */
@Tag("concurrency")
class CircuitBreakerConcurrencyTest {

  private static final int THREADS = 4;
  private static final int CALLS = 20_000;

  @Test
  @Timeout(60)
  void aTimeWindowCountsEveryCallOfEveryThreadExactly() throws Exception {
    ManualClock clock = new ManualClock();
    CircuitBreaker breaker = CircuitBreaker.builder().timeWindow(Duration.ofSeconds(10), 10).minimumCalls(1)
        .failureRateThreshold(1.0).slowCallDuration(Duration.ofSeconds(1)).slowCallRateThreshold(1.0)
        .ticker(clock).listener(EventListener.noop()).build();
    CyclicBarrier start = new CyclicBarrier(THREADS);
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          for (int i = 0; i < CALLS; i++) {
            long permission = breaker.tryAcquirePermission();
            // Thread 0 fails every 4th call, slowly every 8th, after 3 successes: the window never
            // holds only failures or only slow calls, so it never opens at a threshold of 1.0.
            if (thread == 0 && i % 4 == 3) {
              breaker.onError(permission, i % 8 == 3 ? 2_000_000_000L : 0, new IllegalStateException());
            } else {
              breaker.onSuccess(permission, 0);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
    assertEquals(CircuitBreaker.State.CLOSED, breaker.state());
    assertEquals(THREADS * CALLS, breaker.windowCalls());
    assertEquals(CALLS / 4, breaker.windowFailures());
    assertEquals(CALLS / 8, breaker.windowSlowCalls());
    clock.advance(Duration.ofSeconds(10));
    assertEquals(0, breaker.windowCalls(), "and all of it leaves the window together");
  }
}
