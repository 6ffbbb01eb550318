package dev.shepherd.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/**
 * {@link DeadlineGuardBenchmark} measures what its names say: every granting benchmark runs its
 * action (no call dropped, refused or left holding a permit), and the late call is refused each time.
 */
class DeadlineGuardBenchmarkTest {

  @Test
  void theGrantingBenchmarksRunEveryCallAndTheLateOneIsAlwaysRefused() throws Exception {
    DeadlineGuardBenchmark b = new DeadlineGuardBenchmark();
    b.setUp();
    Callable<?>[] granting = {b::bulkheadCall, b::guardCall, b::guardCallOldestFirst, b::guardCallMeasured};
    for (Callable<?> c : granting) {
      for (int i = 0; i < 100_000; i++) {
        assertEquals(Boolean.TRUE, c.call());
      }
    }
    for (int i = 0; i < 1_000; i++) {
      assertEquals(Boolean.FALSE, b.guardRefusesLateCall());
    }
    assertEquals(0, b.newestFirst.inFlight());
    assertEquals(0, b.oldestFirst.inFlight());
    assertEquals(0, b.measuring.inFlight());
    assertEquals(1_000, b.newestFirst.dropped(), "each late call is dropped on arrival, and counted");
    assertEquals(0, b.oldestFirst.dropped() + b.measuring.dropped());
    assertEquals(DeadlineGuardBenchmark.LIMIT, b.bulkhead.available());
  }
}
