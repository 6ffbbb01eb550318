package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.RejectedException;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import dev.shepherd.testing.RecordingListener;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RetryAsyncTest {

  private static final long SECOND_NANOS = 1_000_000_000L;

  private final ManualClock clock = ManualClock.instant();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final RecordingListener events = new RecordingListener();

  private Retry.Builder retry() {
    return Retry.builder()
        .name("async")
        .backoff(TestBackoffs.constant(Duration.ofSeconds(1)))
        .ticker(clock)
        .sleeper((d) -> {
          throw new AssertionError("the asynchronous path must never sleep");
        })
        .random(new SplittableRandom(3))
        .scheduler(scheduler)
        .listener(events);
  }

  private static <T> CompletableFuture<T> failed(Throwable t) {
    return CompletableFuture.failedFuture(t);
  }

  @Test
  void theFirstAttemptRunsOnTheCallerAndLaterOnesOnTheScheduler() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Thread caller = Thread.currentThread();
    List<Thread> threads = new CopyOnWriteArrayList<>();
    CompletableFuture<String> result = retry().maxAttempts(4).build().callAsync(() -> {
      threads.add(Thread.currentThread());
      return calls.incrementAndGet() < 3 ? failed(new IOException("down")) : CompletableFuture.completedFuture("up");
    });
    assertEquals(1, calls.get());
    assertFalse(result.isDone());
    assertEquals(List.of(Duration.ofSeconds(1)), scheduler.delays());
    clock.advance(Duration.ofMillis(999));
    assertEquals(1, calls.get(), "the second attempt waits its full second on the clock");
    clock.advance(Duration.ofMillis(1));
    assertEquals(2, calls.get());
    clock.advance(Duration.ofSeconds(1));
    assertEquals("up", result.get(0, TimeUnit.SECONDS));
    assertEquals(3, calls.get());
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(1)), scheduler.delays());
    assertEquals(2 * SECOND_NANOS, clock.read());
    assertSame(caller, threads.get(0));
    assertEquals(List.of(Event.Kind.RETRY, Event.Kind.RETRY, Event.Kind.SUCCEEDED), events.kinds());
  }

  /** The clock reading at each attempt of one jittered asynchronous retry that never succeeds. */
  private static List<Long> attemptTimes(long seed) {
    ManualClock clock = ManualClock.instant();
    ManualScheduler scheduler = new ManualScheduler(clock);
    List<Long> times = new CopyOnWriteArrayList<>();
    Retry retry = Retry.builder().backoff(Backoff.fullJitter(Duration.ofMillis(100), Duration.ofSeconds(10)))
        .maxAttempts(8).ticker(clock).scheduler(scheduler).random(new SplittableRandom(seed))
        .listener(dev.shepherd.core.EventListener.noop()).build();
    CompletableFuture<String> result = retry.callAsync(() -> {
      times.add(clock.read());
      return failed(new IOException("down"));
    });
    assertEquals(7, scheduler.runUntilIdle(100));
    assertTrue(result.isCompletedExceptionally());
    // Each attempt ran exactly its scheduled delay after the previous one.
    List<Duration> delays = scheduler.delays();
    for (int i = 1; i < times.size(); i++) {
      assertEquals(delays.get(i - 1).toNanos(), times.get(i) - times.get(i - 1));
    }
    return times;
  }

  @Test
  void aSeededJitteredScheduleReplaysExactlyOnTheManualScheduler() {
    List<Long> first = attemptTimes(42);
    assertEquals(8, first.size());
    assertEquals(first, attemptTimes(42), "same seed, same timeline to the nanosecond");
    assertFalse(first.equals(attemptTimes(43)), "the jitter does come from the seed");
  }

  @Test
  void cancellingTheResultStopsFurtherAttempts() {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().maxAttempts(10).build().callAsync(() -> {
      calls.incrementAndGet();
      return failed(new IOException("down"));
    });
    assertEquals(1, scheduler.pendingTasks());
    assertTrue(result.cancel(true));
    assertEquals(0, scheduler.pendingTasks(), "the pending attempt is cancelled");
    assertEquals(0, scheduler.runUntilIdle(10));
    clock.advance(Duration.ofMinutes(1));
    assertEquals(1, calls.get());
    assertThrows(CancellationException.class, result::join);
  }

  @Test
  void cancellingTheResultCancelsTheAttemptInFlight() {
    CompletableFuture<String> inFlight = new CompletableFuture<>();
    CompletableFuture<String> result = retry().build().callAsync(() -> inFlight);
    result.cancel(true);
    assertTrue(inFlight.isCancelled());
    assertEquals(0, scheduler.pendingTasks(), "a cancelled attempt is not retried");
  }

  @Test
  void aCancelledCallStartsNoAttemptEvenIfItsTaskRuns() {
    // A scheduler that ignores cancellation must not be able to start another attempt either: this
    // one hands out futures that cancel a no-op, and keeps the real tasks for the test to run.
    List<Runnable> kept = new CopyOnWriteArrayList<>();
    ScheduledExecutorService stubborn = (ScheduledExecutorService) Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {ScheduledExecutorService.class}, (proxy, method, args) -> {
          if (!method.getName().equals("schedule") || !(args[0] instanceof Runnable)) {
            throw new UnsupportedOperationException(method.getName());
          }
          kept.add((Runnable) args[0]);
          return scheduler.schedule(() -> { }, (Long) args[1], (TimeUnit) args[2]);
        });
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().maxAttempts(5).build().callAsync(() -> {
      calls.incrementAndGet();
      return failed(new IOException("down"));
    }, stubborn);
    result.cancel(false);
    assertEquals(1, kept.size());
    kept.forEach(Runnable::run);
    assertEquals(1, calls.get());
    assertTrue(result.isCancelled());
  }

  @Test
  void theLastFailureCompletesTheResultWithEarlierOnesSuppressed() {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().maxAttempts(3).build().callAsync(
        () -> failed(new CompletionException(new IOException("failure " + calls.incrementAndGet()))));
    assertEquals(2, scheduler.runUntilIdle(10));
    ExecutionException thrown = assertThrows(ExecutionException.class, () -> result.get(0, TimeUnit.SECONDS));
    IOException last = assertInstanceOf(IOException.class, thrown.getCause());
    assertEquals("failure 3", last.getMessage());
    assertEquals(2, last.getSuppressed().length);
    assertEquals(3, calls.get());
  }

  @Test
  void aSupplierThatThrowsCountsAsAFailedAttempt() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().build().callAsync(() -> {
      if (calls.incrementAndGet() == 1) {
        throw new IllegalStateException("could not even start");
      }
      return CompletableFuture.completedFuture("ok");
    });
    clock.advance(Duration.ofSeconds(1));
    assertEquals("ok", result.get(0, TimeUnit.SECONDS));
  }

  @Test
  void exhaustedResultRetriesCompleteWithTheLastResult() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<Integer> result = retry().retryOnResult(r -> true).maxAttempts(3).build()
        .callAsync(() -> CompletableFuture.completedFuture(calls.incrementAndGet()));
    assertEquals(2, scheduler.runUntilIdle(10));
    assertEquals(3, result.get(0, TimeUnit.SECONDS));
  }

  @Test
  void hintsAndDeadlinesApplyAsInTheSynchronousPath() {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().maxAttempts(10).maxElapsed(Duration.ofSeconds(100)).build()
        .callAsync(() -> {
          calls.incrementAndGet();
          return failed(new RejectedException("server", "busy", Duration.ofSeconds(40)));
        });
    // the scheduler's clock is the retry's ticker: each wait passes on it
    while (scheduler.pendingTasks() > 0) {
      Duration wait = scheduler.nextDelay().orElseThrow();
      assertTrue(wait.compareTo(Duration.ofSeconds(40)) >= 0, "wait " + wait);
      clock.advance(wait);
    }
    assertTrue(result.isCompletedExceptionally());
    // waits of at least 40 s within 100 s: at most two waits, so at most three attempts
    assertTrue(calls.get() <= 3, "attempts " + calls.get());
  }

  @Test
  void aSchedulerThatRefusesCompletesTheResultWithTheRefusal() {
    scheduler.shutdown();
    CompletableFuture<String> result = retry().build().callAsync(() -> failed(new IOException("down")));
    ExecutionException thrown = assertThrows(ExecutionException.class, () -> result.get(0, TimeUnit.SECONDS));
    RejectedExecutionException refusal = assertInstanceOf(RejectedExecutionException.class, thrown.getCause());
    assertEquals("down", refusal.getCause().getMessage());
    assertTrue(refusal.getMessage().contains("'async'"));
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void aLongScheduleOfInstantFailuresRunsAtAConstantStackDepth() throws Exception {
    // Stages that fail at once and zero waits: if a retry were started from inside the previous
    // attempt's completion (say, skipping the scheduler for a zero wait), each attempt would add
    // frames and 10,000 of them would overflow the stack. Each attempt must start afresh from the
    // scheduler's run loop instead.
    int attempts = 10_000;
    AtomicInteger calls = new AtomicInteger();
    long[] depth = new long[2];
    Retry retry = Retry.builder().backoff(TestBackoffs.constant(Duration.ZERO)).maxAttempts(attempts)
        .listener(e -> { }).build();
    CompletableFuture<String> result = retry.callAsync(() -> {
      int n = calls.incrementAndGet();
      if (n == 2 || n == attempts) {
        depth[n == 2 ? 0 : 1] = StackWalker.getInstance().walk(frames -> frames.count());
      }
      return failed(new IOException("down " + n));
    });
    ExecutionException thrown = assertThrows(ExecutionException.class, () -> result.get(20, TimeUnit.SECONDS));
    assertEquals("down " + attempts, thrown.getCause().getMessage());
    assertEquals(attempts, calls.get());
    assertEquals(depth[0], depth[1], "the stack depth of attempt 2 and of the last attempt");
  }

  @Test
  @Tag("concurrency")
  @Timeout(10)
  void theDefaultSchedulerRunsRetriesWithoutBlockingTheCaller() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = Retry.builder().backoff(TestBackoffs.constant(Duration.ZERO)).maxAttempts(5)
        .listener(e -> { }).build();
    CompletableFuture<String> result = retry.callAsync(() -> calls.incrementAndGet() < 4
        ? failed(new IOException("down"))
        : CompletableFuture.completedFuture("ok"));
    assertEquals("ok", result.get(5, TimeUnit.SECONDS));
    assertEquals(4, calls.get());
  }
}
