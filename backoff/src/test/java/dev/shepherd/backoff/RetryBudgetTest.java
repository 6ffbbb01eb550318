package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RetryBudgetTest {

  private final ManualClock clock = ManualClock.instant();

  private RetryBudget.Builder budget() {
    return RetryBudget.builder().ticker(clock);
  }

  @Test
  void aFifthOfTenRequestsIsTwoRetries() {
    RetryBudget budget = budget().ratio(0.2).minRetriesPerSecond(0).build();
    for (int i = 0; i < 10; i++) {
      budget.recordRequest();
    }
    assertEquals(2, budget.available());
    assertTrue(budget.tryWithdraw());
    assertTrue(budget.tryWithdraw());
    assertFalse(budget.tryWithdraw());
    assertEquals(0, budget.available());
  }

  @Test
  void theFloorAllowsRetriesWithoutTraffic() {
    RetryBudget budget = budget().ratio(0.2).minRetriesPerSecond(3).ttl(Duration.ofSeconds(2)).build();
    int granted = 0;
    while (budget.tryWithdraw()) {
      granted++;
    }
    assertEquals(6, granted); // 3 a second over a 2-second window
  }

  @Test
  void depositsAndWithdrawalsExpireWithTheWindow() {
    RetryBudget budget = budget().ratio(1).minRetriesPerSecond(0).ttl(Duration.ofSeconds(10)).build();
    for (int i = 0; i < 5; i++) {
      budget.recordRequest();
    }
    assertTrue(budget.tryWithdraw());
    clock.advance(Duration.ofSeconds(9)); // still inside the window
    assertEquals(4, budget.available());
    clock.advance(Duration.ofSeconds(1)); // the first slice has left the window
    assertEquals(0, budget.available());
    budget.recordRequest();
    assertEquals(1, budget.available());
  }

  @Test
  void aLongSilenceForgetsEverything() {
    RetryBudget budget = budget().ratio(1).minRetriesPerSecond(0).build();
    budget.recordRequest();
    clock.advance(Duration.ofDays(400));
    assertEquals(0, budget.available());
    budget.recordRequest();
    assertTrue(budget.tryWithdraw());
    assertFalse(budget.tryWithdraw());
  }

  @Test
  void aMassFailureCannotMultiplyTheLoad() {
    // 1000 clients fail at once and each would retry 3 times: the budget lets through at most
    // 20 % of the first attempts plus the floor.
    RetryBudget budget = budget().ratio(0.2).minRetriesPerSecond(10).ttl(Duration.ofSeconds(10)).build();
    int retries = 0;
    for (int client = 0; client < 1000; client++) {
      budget.recordRequest();
    }
    for (int client = 0; client < 1000; client++) {
      for (int r = 0; r < 3; r++) {
        if (budget.tryWithdraw()) {
          retries++;
        }
      }
    }
    assertEquals(200 + 100, retries);
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void concurrentCallersAtOneInstantNeverExceedTheBudgetAndLoseNoUndo() throws Exception {
    // With the time frozen every thread reads the same window, where the bound is exact; after the
    // race, withdrawing sequentially until refused must land exactly on the bound: a lost undo would
    // show as fewer, an over-grant as more.
    RetryBudget budget = budget().ratio(0.25).minRetriesPerSecond(2).ttl(Duration.ofSeconds(5)).build();
    int threads = 8;
    int opsPerThread = 20_000;
    CyclicBarrier start = new CyclicBarrier(threads);
    LongAdder requests = new LongAdder();
    LongAdder granted = new LongAdder();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        long seed = t;
        futures.add(pool.submit(() -> {
          SplittableRandom random = new SplittableRandom(seed);
          start.await(10, TimeUnit.SECONDS);
          for (int i = 0; i < opsPerThread; i++) {
            if (random.nextInt(3) == 0) {
              budget.recordRequest();
              requests.increment();
            } else if (budget.tryWithdraw()) {
              granted.increment();
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(20, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    long bound = (long) Math.floor(0.25 * requests.sum() + 2 * 5);
    assertTrue(granted.sum() <= bound, granted.sum() + " > " + bound);
    long more = 0;
    while (budget.tryWithdraw()) {
      more++;
    }
    assertEquals(bound, granted.sum() + more);
  }

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheValue() {
    assertEquals("ratio must be in [0.0, 1000.0]: NaN",
        assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().ratio(Double.NaN)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().ratio(-0.1));
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().ratio(1001));
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().minRetriesPerSecond(-1));
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().minRetriesPerSecond(Double.NaN));
    assertThrows(IllegalArgumentException.class,
        () -> RetryBudget.builder().minRetriesPerSecond(Double.POSITIVE_INFINITY));
    assertEquals("ttl must be at least 1 ms: PT0S",
        assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().ttl(Duration.ZERO)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().ttl(Duration.ofSeconds(-1)));
    assertThrows(NullPointerException.class, () -> RetryBudget.builder().ttl(null));
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.builder().name(""));
    assertThrows(IllegalArgumentException.class, () -> RetryBudget.of(Double.NEGATIVE_INFINITY, 1));
  }

  @Test
  void itDescribesItself() {
    RetryBudget budget = RetryBudget.builder().name("api").ratio(0.1).minRetriesPerSecond(1)
        .ttl(Duration.ofSeconds(30)).build();
    assertEquals("api", budget.name());
    assertEquals(0.1, budget.ratio());
    assertEquals(1.0, budget.minRetriesPerSecond());
    assertEquals(Duration.ofSeconds(30), budget.ttl());
    assertTrue(budget.toString().contains("ratio=0.1"));
    RetryBudget defaults = RetryBudget.builder().build();
    assertEquals(0.2, defaults.ratio());
    assertEquals(10.0, defaults.minRetriesPerSecond());
    assertEquals(Duration.ofSeconds(10), defaults.ttl());
  }
}
