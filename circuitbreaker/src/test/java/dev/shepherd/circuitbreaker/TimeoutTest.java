package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import dev.shepherd.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Deadlines fire on a {@link ClockScheduler}: nothing happens until the test moves the clock, so
 * "released at the deadline" means released by the move that reaches it and not by the move before.
 * Threads are only used where a caller must block; waits on them are latches with generous bounds.
 */
class TimeoutTest {

  private static final Duration LIMIT = Duration.ofSeconds(2);
  private static final long WAIT_SECONDS = 30; // a bound on real waiting, never a timing assertion

  private final ManualClock clock = new ManualClock();
  private final ClockScheduler scheduler = new ClockScheduler(clock);
  private final ExecutorService callees = Executors.newFixedThreadPool(8);
  private final ExecutorService callers = Executors.newFixedThreadPool(8);
  private final CountDownLatch upstreamBack = new CountDownLatch(1);

  @AfterEach
  void tearDown() throws InterruptedException {
    upstreamBack.countDown();
    callees.shutdownNow();
    callers.shutdownNow();
    assertTrue(callees.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS));
    assertTrue(callers.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS));
  }

  private Timeout.Builder timeout() {
    return Timeout.builder().name("cloud").timeout(LIMIT).scheduler(scheduler).listener(EventListener.noop());
  }

  /** A callee that ignores interrupts until the upstream comes back; counts the interrupts it ignored. */
  private String stubbornCallee(AtomicInteger interruptsIgnored) {
    for (;;) {
      try {
        upstreamBack.await();
        return "late";
      } catch (InterruptedException e) {
        interruptsIgnored.incrementAndGet();
      }
    }
  }

  @Test
  @Tag("concurrency")
  void everyCallerIsReleasedAtItsDeadlineEvenWhenTheCalleesIgnoreInterrupts() throws Exception {
    Timeout timeout = timeout().executor(callees).build();
    AtomicInteger ignored = new AtomicInteger();
    List<Throwable> outcomes = new CopyOnWriteArrayList<>();
    CountDownLatch running = new CountDownLatch(8);
    CountDownLatch released = new CountDownLatch(8);
    for (int i = 0; i < 8; i++) {
      callers.execute(() -> {
        try {
          outcomes.add(new AssertionError("returned " + timeout.call(() -> {
            running.countDown();
            return stubbornCallee(ignored);
          })));
        } catch (Exception e) {
          outcomes.add(e);
        }
        released.countDown();
      });
    }
    assertTrue(scheduler.awaitScheduled(8, Duration.ofSeconds(WAIT_SECONDS)));
    assertTrue(running.await(WAIT_SECONDS, TimeUnit.SECONDS), "every callee started");

    scheduler.advance(LIMIT.minusNanos(1));
    assertEquals(8, released.getCount(), "released before the deadline");
    scheduler.advance(Duration.ofNanos(1));
    assertTrue(released.await(WAIT_SECONDS, TimeUnit.SECONDS), "callers still held after the deadline");

    assertEquals(8, outcomes.size());
    for (Throwable t : outcomes) {
      TimeoutExceededException e = assertInstanceOf(TimeoutExceededException.class, t);
      assertEquals(LIMIT, e.timeout());
      assertEquals(Optional.empty(), e.retryAfter());
      assertEquals("timeout 'cloud': no outcome within PT2S", e.getMessage());
    }
    assertEquals(8, timeout.timedOut());
    assertEquals(8, ((ThreadPoolExecutor) callees).getActiveCount(), "the callees still run: they ignore interrupts");
    upstreamBack.countDown();
    callees.shutdown();
    assertTrue(callees.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS));
    assertEquals(8, ignored.get(), "each callee was interrupted once, at its deadline");
  }

  @Test
  void aCallThatEndsInTimeKeepsItsOutcomeAndCancelsItsTimer() throws Exception {
    Timeout timeout = timeout().executor(callees).build();
    assertEquals("fast", timeout.call(() -> "fast"));
    IOException e = assertThrows(IOException.class, () -> timeout.call(() -> {
      throw new IOException("refused");
    }));
    assertEquals("refused", e.getMessage());
    assertEquals(0, scheduler.pending(), "both timers cancelled");
    assertEquals(0, timeout.timedOut());
  }

  @Test
  void aCalleeThatNeverStartedNeverRuns() throws Exception {
    ThreadPoolExecutor one = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4));
    try {
      Timeout timeout = timeout().executor(one).build();
      AtomicInteger ignored = new AtomicInteger();
      AtomicInteger started = new AtomicInteger();
      CountDownLatch firstRunning = new CountDownLatch(1);
      Future<?> first = callers.submit(() -> timeout.call(() -> {
        firstRunning.countDown();
        return stubbornCallee(ignored);
      }));
      assertTrue(firstRunning.await(WAIT_SECONDS, TimeUnit.SECONDS), "the only worker is taken");
      AtomicInteger queuedWhenReleased = new AtomicInteger(-1);
      Future<?> second = callers.submit(() -> {
        try {
          return timeout.call(() -> started.incrementAndGet());
        } catch (TimeoutExceededException e) {
          queuedWhenReleased.set(one.getQueue().size()); // a caller retrying at once must find the slot free
          throw e;
        }
      });
      assertTrue(scheduler.awaitScheduled(2, Duration.ofSeconds(WAIT_SECONDS)));
      scheduler.advance(LIMIT);
      for (Future<?> f : List.of(first, second)) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(WAIT_SECONDS, TimeUnit.SECONDS));
        assertInstanceOf(TimeoutExceededException.class, e.getCause());
      }
      assertEquals(0, queuedWhenReleased.get(), "the queued callee left the queue before its caller was released");
      assertEquals(0, one.getQueue().size(), "the queued callee left the queue at its deadline");
      upstreamBack.countDown();
      one.shutdown();
      assertTrue(one.awaitTermination(WAIT_SECONDS, TimeUnit.SECONDS));
      assertEquals(0, started.get());
    } finally {
      one.shutdownNow();
    }
  }

  @Test
  void aSaturatedExecutorRefusesTheCallUpFront() throws Exception {
    ThreadPoolExecutor one = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(1));
    try {
      Timeout timeout = timeout().executor(one).build();
      CountDownLatch running = new CountDownLatch(1);
      one.execute(() -> {
        running.countDown();
        stubbornCallee(new AtomicInteger());
      });
      assertTrue(running.await(WAIT_SECONDS, TimeUnit.SECONDS));
      one.execute(() -> { });
      RejectedException e = assertThrows(RejectedException.class, () -> timeout.call(() -> "x"));
      assertEquals("timeout 'cloud': the executor refused the call", e.getMessage());
      assertEquals(0, scheduler.scheduledTotal(), "no timer for a call that never started");
    } finally {
      upstreamBack.countDown();
      one.shutdownNow();
    }
  }

  @Test
  @Tag("concurrency")
  void onTheCallersThreadAnInterruptibleCalleeEndsAtTheDeadlineAndTheInterruptIsCleared() throws Exception {
    Timeout timeout = timeout().build();
    Future<Boolean> driver = callers.submit(() -> {
      assertTrue(scheduler.awaitScheduled(1, Duration.ofSeconds(WAIT_SECONDS)));
      scheduler.advance(LIMIT);
      return true;
    });
    TimeoutExceededException e = assertThrows(TimeoutExceededException.class, () -> timeout.call(() -> {
      upstreamBack.await(); // honours interrupts
      return "never";
    }));
    assertInstanceOf(InterruptedException.class, e.getCause(), "what the callee threw when interrupted");
    assertFalse(Thread.currentThread().isInterrupted(), "the policy's interrupt does not leak to the caller");
    assertTrue(driver.get(WAIT_SECONDS, TimeUnit.SECONDS));
  }

  @Test
  void onTheCallersThreadACallInTimeIsNeverInterruptedLater() throws Exception {
    Timeout timeout = timeout().build();
    assertEquals("ok", timeout.call(() -> "ok"));
    scheduler.advance(LIMIT.multipliedBy(2));
    assertFalse(Thread.currentThread().isInterrupted());
    assertEquals(0, scheduler.pending());
  }

  @Test
  void anAsyncCallIsRacedAgainstTheTimerAndItsStageCancelled() {
    Timeout timeout = timeout().build();
    CompletableFuture<String> callee = new CompletableFuture<>();
    CompletableFuture<String> guarded = timeout.callAsync(() -> callee).toCompletableFuture();
    scheduler.advance(LIMIT.minusNanos(1));
    assertFalse(guarded.isDone());
    scheduler.advance(Duration.ofNanos(1));
    ExecutionException e = assertThrows(ExecutionException.class, guarded::get);
    assertInstanceOf(TimeoutExceededException.class, e.getCause());
    assertTrue(callee.isCancelled(), "the callee's stage is cancelled");
  }

  @Test
  void anAsyncCallInTimeCompletesAndCancelsItsTimer() throws Exception {
    Timeout timeout = timeout().build();
    CompletableFuture<String> callee = new CompletableFuture<>();
    CompletableFuture<String> guarded = timeout.callAsync(() -> callee).toCompletableFuture();
    callee.complete("in time");
    assertEquals("in time", guarded.get());
    assertEquals(0, scheduler.pending());
    assertEquals("done",
        timeout.callAsync(() -> CompletableFuture.completedFuture("done")).toCompletableFuture().get());
    assertEquals(1, scheduler.scheduledTotal(), "no timer for a stage already complete");
  }

  @Test
  void cancellingTheReturnedStageCancelsTheCallee() {
    Timeout timeout = timeout().build();
    CompletableFuture<String> callee = new CompletableFuture<>();
    timeout.callAsync(() -> callee).toCompletableFuture().cancel(true);
    assertTrue(callee.isCancelled());
    assertEquals(0, scheduler.pending());
  }

  @Test
  void aPerCallLimitOverridesTheConfiguredOne() {
    Timeout timeout = timeout().build();
    CompletableFuture<String> guarded = timeout.callAsync(Duration.ofMillis(10), CompletableFuture<String>::new)
        .toCompletableFuture();
    scheduler.advance(Duration.ofMillis(10));
    ExecutionException e = assertThrows(ExecutionException.class, guarded::get);
    assertEquals(Duration.ofMillis(10), assertInstanceOf(TimeoutExceededException.class, e.getCause()).timeout());
    assertEquals(1, timeout.timedOut());
  }

  @Test
  void badSettingsFailNamingTheParameterAndValue() {
    CircuitBreakerTest.assertMessage("timeout must be positive: PT0S", () -> Timeout.builder().timeout(Duration.ZERO));
    Timeout timeout = timeout().build();
    CircuitBreakerTest.assertMessage("timeout must be positive: PT-1S",
        () -> timeout.callAsync(Duration.ofSeconds(-1), CompletableFuture<String>::new));
  }

  @Test
  void aCallerDeadlineEarlierThanTheLimitBecomesTheCallsLimit() {
    Timeout timeout = timeout().build();
    Deadline deadline = Deadline.after(Duration.ofMillis(500), clock);
    CompletableFuture<String> guarded = timeout.callAsync(deadline, CompletableFuture<String>::new)
        .toCompletableFuture();
    scheduler.advance(Duration.ofMillis(499));
    assertFalse(guarded.isDone());
    scheduler.advance(Duration.ofMillis(1));
    ExecutionException e = assertThrows(ExecutionException.class, guarded::get);
    assertEquals(Duration.ofMillis(500), assertInstanceOf(TimeoutExceededException.class, e.getCause()).timeout());
    assertEquals(1, timeout.timedOut());
    assertEquals(0, timeout.refusedLate());
  }

  @Test
  void aCallerDeadlineLaterThanTheLimitLeavesTheConfiguredLimit() {
    Timeout timeout = timeout().build();
    CompletableFuture<String> guarded = timeout.callAsync(Deadline.after(Duration.ofHours(1), clock),
        CompletableFuture<String>::new).toCompletableFuture();
    scheduler.advance(LIMIT);
    ExecutionException e = assertThrows(ExecutionException.class, guarded::get);
    assertEquals(LIMIT, assertInstanceOf(TimeoutExceededException.class, e.getCause()).timeout());
  }

  @Test
  void aCallWhoseDeadlineHasPassedIsRefusedAtOnceWithoutRunningOrATimer() throws Exception {
    List<Event> events = new CopyOnWriteArrayList<>();
    Timeout timeout = timeout().executor(callees).listener(events::add).build();
    Deadline passed = Deadline.after(Duration.ofMillis(10), clock);
    clock.advance(Duration.ofMillis(30));
    AtomicInteger ran = new AtomicInteger();
    DeadlineExceededException sync = assertThrows(DeadlineExceededException.class,
        () -> timeout.call(passed, ran::incrementAndGet));
    assertEquals("cloud", sync.policyName());
    assertTrue(sync.getMessage().contains("PT0.02S"), sync.getMessage());
    CompletableFuture<Integer> async = timeout.callAsync(passed,
        () -> CompletableFuture.completedFuture(ran.incrementAndGet())).toCompletableFuture();
    ExecutionException e = assertThrows(ExecutionException.class, async::get);
    assertInstanceOf(DeadlineExceededException.class, e.getCause());
    assertEquals(0, ran.get(), "the action is never invoked");
    assertEquals(0, scheduler.scheduledTotal(), "no timer is scheduled");
    assertEquals(2, timeout.refusedLate());
    assertEquals(0, timeout.timedOut());
    assertEquals(2, events.stream().filter(ev -> ev.kind() == Event.Kind.REJECTED).count());
    assertThrows(NullPointerException.class, () -> timeout.call((Deadline) null, () -> 1));
    assertThrows(NullPointerException.class, () -> timeout.callAsync(passed, null));
  }

  @Test
  void aCallInTimeUnderACallerDeadlineKeepsItsOutcome() throws Exception {
    Timeout timeout = timeout().build();
    assertEquals("ok", timeout.call(Deadline.after(Duration.ofSeconds(1), clock), () -> "ok"));
    assertEquals(0, scheduler.pending());
  }
}
