package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class RetryAsyncTest {

  private static final long SECOND_NANOS = 1_000_000_000L;

  private final ManualClock clock = ManualClock.instant();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final List<Event> events = new CopyOnWriteArrayList<>();

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
        .listener(events::add);
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
    assertEquals(List.of(SECOND_NANOS), scheduler.delays());
    assertEquals(2, scheduler.runAll(10));
    assertEquals("up", result.get(0, TimeUnit.SECONDS));
    assertEquals(3, calls.get());
    assertEquals(List.of(SECOND_NANOS, SECOND_NANOS), scheduler.delays());
    assertSame(caller, threads.get(0));
    assertEquals(Event.Kind.SUCCEEDED, events.get(events.size() - 1).kind());
  }

  @Test
  void cancellingTheResultStopsFurtherAttempts() {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().maxAttempts(10).build().callAsync(() -> {
      calls.incrementAndGet();
      return failed(new IOException("down"));
    });
    assertEquals(1, scheduler.pending());
    assertTrue(result.cancel(true));
    assertEquals(0, scheduler.pending(), "the pending attempt is cancelled");
    assertEquals(1, scheduler.cancelled());
    assertEquals(0, scheduler.runAll(10));
    assertEquals(1, calls.get());
    assertThrows(CancellationException.class, result::join);
  }

  @Test
  void cancellingTheResultCancelsTheAttemptInFlight() {
    CompletableFuture<String> inFlight = new CompletableFuture<>();
    CompletableFuture<String> result = retry().build().callAsync(() -> inFlight);
    result.cancel(true);
    assertTrue(inFlight.isCancelled());
    assertEquals(0, scheduler.pending(), "a cancelled attempt is not retried");
  }

  @Test
  void aCancelledCallStartsNoAttemptEvenIfItsTaskRuns() {
    // A scheduler that ignores cancellation must not be able to start another attempt either.
    AtomicInteger calls = new AtomicInteger();
    ManualScheduler stubborn = new ManualScheduler();
    CompletableFuture<String> result = retry().maxAttempts(5).build().callAsync(() -> {
      calls.incrementAndGet();
      return failed(new IOException("down"));
    }, stubborn);
    result.cancel(false);
    assertEquals(1, stubborn.forceRunAll());
    assertEquals(1, calls.get());
    assertTrue(result.isCancelled());
  }

  @Test
  void theLastFailureCompletesTheResultWithEarlierOnesSuppressed() {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry().maxAttempts(3).build().callAsync(
        () -> failed(new CompletionException(new IOException("failure " + calls.incrementAndGet()))));
    scheduler.runAll(10);
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
    scheduler.runAll(10);
    assertEquals("ok", result.get(0, TimeUnit.SECONDS));
  }

  @Test
  void exhaustedResultRetriesCompleteWithTheLastResult() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<Integer> result = retry().retryOnResult(r -> true).maxAttempts(3).build()
        .callAsync(() -> CompletableFuture.completedFuture(calls.incrementAndGet()));
    scheduler.runAll(10);
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
    // the scheduler does not move the manual ticker: advance it as the waits would
    while (scheduler.pending() > 0) {
      List<Long> delays = scheduler.delays();
      long wait = delays.get(delays.size() - 1);
      assertTrue(wait >= 40 * SECOND_NANOS, "wait " + wait);
      clock.advanceNanos(wait);
      scheduler.runNext();
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
