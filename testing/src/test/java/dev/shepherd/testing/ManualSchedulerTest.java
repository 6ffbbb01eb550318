package dev.shepherd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class ManualSchedulerTest {

  private static final long SECOND = 1_000_000_000L;

  private final ManualClock clock = ManualClock.instant();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  /** What ran, as "name@clock-reading-in-seconds". */
  private final List<String> log = new CopyOnWriteArrayList<>();

  private Runnable logging(String name) {
    return () -> log.add(name + "@" + (double) clock.read() / SECOND);
  }

  @Test
  @Tag("concurrency")
  @Timeout(10)
  void awaitPendingTasksReturnsOnceAnotherThreadHasScheduledEnough() throws Exception {
    assertTrue(scheduler.awaitPendingTasks(0, Duration.ZERO), "zero tasks are always pending");
    assertFalse(scheduler.awaitPendingTasks(1, Duration.ofMillis(20)), "nothing was scheduled");
    CountDownLatch go = new CountDownLatch(1);
    Thread other = new Thread(() -> {
      try {
        go.await();
        scheduler.schedule(logging("a"), 1, TimeUnit.SECONDS);
        scheduler.schedule(logging("b"), 2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    other.start();
    go.countDown();
    assertTrue(scheduler.awaitPendingTasks(2, Duration.ofSeconds(5)));
    assertEquals(2, scheduler.pendingTasks());
    other.join();
    assertThrows(IllegalArgumentException.class, () -> scheduler.awaitPendingTasks(-1, Duration.ZERO));
  }

  @Test
  void tasksRunOnlyWhenTheClockPassesTheirTimeInTimeOrderEachAtItsOwnTime() {
    scheduler.schedule(logging("c"), 3, TimeUnit.SECONDS);
    scheduler.schedule(logging("a"), 1, TimeUnit.SECONDS);
    scheduler.schedule(logging("b"), 2500, TimeUnit.MILLISECONDS);
    assertEquals(List.of(), log, "nothing runs at scheduling time");
    clock.advance(Duration.ofMillis(999));
    assertEquals(List.of(), log, "nothing runs before its time");
    clock.advance(Duration.ofSeconds(2));
    assertEquals(List.of("a@1.0", "b@2.5"), log);
    assertEquals(2_999_000_000L, clock.read(), "the clock ends where it was told to");
    assertEquals(1, scheduler.pendingTasks());
    clock.advanceNanos(1_000_000);
    assertEquals(List.of("a@1.0", "b@2.5", "c@3.0"), log);
    assertEquals(0, scheduler.pendingTasks());
  }

  @Test
  void tasksDueAtTheSameInstantRunInSchedulingOrder() {
    for (int i = 0; i < 20; i++) {
      scheduler.schedule(logging("t" + i), 5, TimeUnit.SECONDS);
    }
    clock.advance(Duration.ofSeconds(5));
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      expected.add("t" + i + "@5.0");
    }
    assertEquals(expected, log);
  }

  @Test
  void executeQueuesTheTaskForTheNextRunNotNow() {
    scheduler.execute(logging("now"));
    assertEquals(List.of(), log, "execute does not run on the calling thread at once");
    assertEquals(1, scheduler.pendingTasks());
    assertEquals(Optional.of(Duration.ZERO), scheduler.nextDelay());
    assertEquals(1, scheduler.runDue());
    assertEquals(List.of("now@0.0"), log);
    scheduler.execute(logging("later"));
    clock.advance(Duration.ZERO);
    assertEquals(List.of("now@0.0", "later@0.0"), log, "an advance, even by zero, runs what is due");
    assertTrue(scheduler.delays().isEmpty(), "execute records no delay");
  }

  @Test
  void whatAnExecutedTaskThrowsPropagatesAndTheTasksAfterItStayQueued() {
    scheduler.schedule(() -> {
      throw new IllegalStateException("boom");
    }, 1, TimeUnit.SECONDS);
    scheduler.schedule(logging("scheduled-throws-into-its-future"), 1, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(1));
    assertEquals(List.of("scheduled-throws-into-its-future@1.0"), log, "a scheduled task's failure goes to its future");

    scheduler.schedule(() -> scheduler.execute(() -> {
      throw new IllegalStateException("executed");
    }), 1, TimeUnit.SECONDS);
    scheduler.schedule(logging("after"), 3, TimeUnit.SECONDS);
    IllegalStateException thrown = assertThrows(IllegalStateException.class,
        () -> clock.advance(Duration.ofSeconds(5)));
    assertEquals("executed", thrown.getMessage());
    assertEquals(2 * SECOND, clock.read(), "the clock stopped at the failed task's time");
    assertEquals(1, scheduler.pendingTasks(), "the later task is still queued");
    clock.advance(Duration.ofSeconds(2));
    assertEquals("after@4.0", log.get(log.size() - 1));
  }

  @Test
  void aCallableTaskCompletesItsFutureWithItsResultOrFailure() throws Exception {
    ScheduledFuture<String> ok = scheduler.schedule(() -> "done at " + clock.read(), 2, TimeUnit.SECONDS);
    ScheduledFuture<String> bad = scheduler.schedule(() -> {
      throw new java.io.IOException("refused");
    }, 2, TimeUnit.SECONDS);
    assertFalse(ok.isDone());
    assertEquals(2 * SECOND, ok.getDelay(TimeUnit.NANOSECONDS));
    clock.advance(Duration.ofMillis(500));
    assertEquals(1500, ok.getDelay(TimeUnit.MILLISECONDS), "the delay is read on the manual clock");
    clock.advance(Duration.ofSeconds(2));
    assertEquals("done at " + 2 * SECOND, ok.get(0, TimeUnit.SECONDS));
    ExecutionException failure = assertThrows(ExecutionException.class, () -> bad.get(0, TimeUnit.SECONDS));
    assertEquals("refused", failure.getCause().getMessage());
    assertEquals(-500, ok.getDelay(TimeUnit.MILLISECONDS));
  }

  @Test
  void aCancelledTaskNeverRunsAndLeavesTheQueueAtOnce() {
    ScheduledFuture<?> doomed = scheduler.schedule(logging("doomed"), 1, TimeUnit.SECONDS);
    scheduler.schedule(logging("kept"), 2, TimeUnit.SECONDS);
    assertEquals(2, scheduler.pendingTasks());
    assertTrue(doomed.cancel(false));
    assertTrue(doomed.isCancelled());
    assertEquals(1, scheduler.pendingTasks());
    assertEquals(Optional.of(Duration.ofSeconds(2)), scheduler.nextDelay());
    clock.advance(Duration.ofSeconds(10));
    assertEquals(List.of("kept@2.0"), log);
    assertThrows(CancellationException.class, doomed::get);
    assertFalse(doomed.cancel(false), "a finished or cancelled task cannot be cancelled again");
  }

  @Test
  void aFixedRateTaskRunsAtInitialDelayPlusWholePeriods() {
    ScheduledFuture<?> ticking = scheduler.scheduleAtFixedRate(() -> {
      logging("tick").run();
      clock.advanceNanos(0); // a task may touch the clock; the rate is still fixed
    }, 1, 2, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(8));
    assertEquals(List.of("tick@1.0", "tick@3.0", "tick@5.0", "tick@7.0"), log);
    assertTrue(((java.util.concurrent.RunnableScheduledFuture<?>) ticking).isPeriodic());
    assertFalse(ticking.isDone());
    assertEquals(1, scheduler.pendingTasks());
    assertEquals(Duration.ofSeconds(1), scheduler.nextDelay().orElseThrow());
    assertTrue(ticking.cancel(false));
    clock.advance(Duration.ofSeconds(10));
    assertEquals(4, log.size(), "no run after the cancel");
    assertEquals(List.of(Duration.ofSeconds(1)), scheduler.delays(), "the initial delay, once");
  }

  @Test
  void aFixedDelayTaskWaitsItsDelayAfterEachRunEnds() {
    // Each run takes 1 s on the clock (an instant sleep moves time without running tasks).
    scheduler.scheduleWithFixedDelay(() -> {
      logging("poll").run();
      try {
        clock.sleep(Duration.ofSeconds(1));
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }, 0, 2, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(9));
    // fixed delay: runs start at 0, 0+1+2 = 3, 6, 9 ...
    assertEquals(List.of("poll@0.0", "poll@3.0", "poll@6.0", "poll@9.0"), log);
    assertEquals(10 * SECOND, clock.read(), "the last run's sleep moved the clock past the target");
  }

  @Test
  void aPeriodicTaskThatThrowsStopsAndItsFutureFails() {
    AtomicInteger runs = new AtomicInteger();
    ScheduledFuture<?> flaky = scheduler.scheduleAtFixedRate(() -> {
      if (runs.incrementAndGet() == 3) {
        throw new IllegalStateException("third run fails");
      }
    }, 1, 1, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(10));
    assertEquals(3, runs.get());
    assertTrue(flaky.isDone());
    ExecutionException thrown = assertThrows(ExecutionException.class, flaky::get);
    assertEquals("third run fails", thrown.getCause().getMessage());
    assertEquals(0, scheduler.pendingTasks());
  }

  @Test
  void aTaskDueNowThatARunningTaskSchedulesRunsInTheSameAdvance() {
    scheduler.schedule(() -> {
      logging("first").run();
      scheduler.schedule(logging("chained"), 0, TimeUnit.SECONDS);
      scheduler.schedule(logging("next-second"), 1, TimeUnit.SECONDS);
    }, 1, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(1));
    assertEquals(List.of("first@1.0", "chained@1.0"), log);
    clock.advance(Duration.ofSeconds(1));
    assertEquals(List.of("first@1.0", "chained@1.0", "next-second@2.0"), log);
  }

  @Test
  void schedulersOnOneClockShareOneTimeline() {
    ManualScheduler other = new ManualScheduler(clock);
    scheduler.schedule(logging("mine-2"), 2, TimeUnit.SECONDS);
    other.schedule(logging("other-1"), 1, TimeUnit.SECONDS);
    other.schedule(logging("other-2"), 2, TimeUnit.SECONDS);
    scheduler.schedule(logging("mine-3"), 3, TimeUnit.SECONDS);
    clock.advance(Duration.ofSeconds(3));
    assertEquals(List.of("other-1@1.0", "mine-2@2.0", "other-2@2.0", "mine-3@3.0"), log);
  }

  @Test
  void runUntilIdleStepsFromTaskToTaskAndIsBounded() {
    scheduler.schedule(logging("a"), 4, TimeUnit.SECONDS);
    scheduler.schedule(logging("b"), 9, TimeUnit.SECONDS);
    assertEquals(2, scheduler.runUntilIdle(10));
    assertEquals(List.of("a@4.0", "b@9.0"), log);
    assertEquals(9 * SECOND, clock.read(), "the clock stops at the last task run");
    scheduler.scheduleAtFixedRate(logging("forever"), 1, 1, TimeUnit.SECONDS);
    assertEquals(5, scheduler.runUntilIdle(5), "a periodic task never idles: the bound stops it");
    assertEquals(14 * SECOND, clock.read());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> scheduler.runUntilIdle(0));
    assertEquals("maxTasks must be positive: 0", bad.getMessage());
  }

  @Test
  void delaysAreRecordedAndNegativeOnesCountAsZero() {
    scheduler.schedule(logging("late"), -5, TimeUnit.SECONDS);
    scheduler.schedule(() -> 1, 250, TimeUnit.MILLISECONDS);
    scheduler.scheduleWithFixedDelay(logging("p"), 3, 1, TimeUnit.MINUTES);
    assertEquals(List.of(Duration.ZERO, Duration.ofMillis(250), Duration.ofSeconds(180)), scheduler.delays());
    assertEquals(1, scheduler.runDue());
    assertEquals(List.of("late@0.0"), log);
  }

  @Test
  void delaysSaturateInsteadOfOverflowing() {
    ManualClock late = ManualClock.startingAt(Long.MAX_VALUE - SECOND, false);
    ManualScheduler s = new ManualScheduler(late);
    ScheduledFuture<?> never = s.schedule(() -> { }, 365, TimeUnit.DAYS);
    assertEquals(SECOND, never.getDelay(TimeUnit.NANOSECONDS));
    late.advance(Duration.ofDays(1000));
    assertTrue(never.isDone(), "due at Long.MAX_VALUE, which the saturated clock reaches");
  }

  @Test
  void badPeriodsAreRefusedWithTheValue() {
    IllegalArgumentException rate = assertThrows(IllegalArgumentException.class,
        () -> scheduler.scheduleAtFixedRate(() -> { }, 0, 0, TimeUnit.SECONDS));
    assertEquals("period must be positive: 0", rate.getMessage());
    IllegalArgumentException delay = assertThrows(IllegalArgumentException.class,
        () -> scheduler.scheduleWithFixedDelay(() -> { }, 0, -1, TimeUnit.SECONDS));
    assertEquals("delay must be positive: -1", delay.getMessage());
    assertThrows(NullPointerException.class, () -> scheduler.schedule((Runnable) null, 1, TimeUnit.SECONDS));
    assertThrows(NullPointerException.class, () -> new ManualScheduler(null));
  }

  @Test
  void shutdownRefusesNewTasksCancelsPeriodicOnesAndLetsQueuedOnesRun() throws Exception {
    ScheduledFuture<?> periodic = scheduler.scheduleAtFixedRate(logging("periodic"), 1, 1, TimeUnit.SECONDS);
    ScheduledFuture<?> oneShot = scheduler.schedule(logging("one-shot"), 5, TimeUnit.SECONDS);
    scheduler.shutdown();
    assertTrue(scheduler.isShutdown());
    assertTrue(periodic.isCancelled());
    assertFalse(scheduler.isTerminated(), "a one-shot task is still queued");
    assertFalse(scheduler.awaitTermination(0, TimeUnit.SECONDS));
    RejectedExecutionException refused = assertThrows(RejectedExecutionException.class,
        () -> scheduler.schedule(logging("refused"), 1, TimeUnit.SECONDS));
    assertEquals("ManualScheduler is shut down", refused.getMessage());
    assertThrows(RejectedExecutionException.class, () -> scheduler.execute(logging("refused")));
    assertThrows(RejectedExecutionException.class, () -> scheduler.submit(() -> 1));
    clock.advance(Duration.ofSeconds(5));
    assertEquals(List.of("one-shot@5.0"), log);
    assertTrue(oneShot.isDone());
    assertTrue(scheduler.isTerminated());
    assertTrue(scheduler.awaitTermination(0, TimeUnit.SECONDS));
  }

  @Test
  void shutdownNowRemovesAndReturnsTheQueuedTasksWhichNeverRun() {
    ScheduledFuture<?> first = scheduler.schedule(logging("first"), 1, TimeUnit.SECONDS);
    scheduler.schedule(logging("second"), 2, TimeUnit.SECONDS);
    scheduler.scheduleAtFixedRate(logging("periodic"), 1, 1, TimeUnit.SECONDS);
    List<Runnable> removed = scheduler.shutdownNow();
    assertEquals(2, removed.size(), "the one-shot tasks; the periodic one is cancelled");
    assertSame(first, removed.get(0));
    assertTrue(scheduler.isTerminated());
    clock.advance(Duration.ofSeconds(10));
    assertEquals(List.of(), log);
  }

  @Test
  void closeIsShutdownNowAndNeverWaits() {
    scheduler.schedule(logging("never"), 1, TimeUnit.SECONDS);
    scheduler.close();
    assertTrue(scheduler.isTerminated());
    clock.advance(Duration.ofSeconds(2));
    assertEquals(List.of(), log);
  }

  @Test
  void submitReturnsAFutureCompletedWhenTheTaskRuns() throws Exception {
    Future<Integer> answer = scheduler.submit(() -> 42);
    assertFalse(answer.isDone());
    scheduler.runDue();
    assertEquals(42, answer.get(0, TimeUnit.SECONDS));
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void tasksScheduledFromManyThreadsEachRunOnceInTimeOrder() throws Exception {
    int threads = 8;
    int perThread = 500;
    CyclicBarrier start = new CyclicBarrier(threads + 1);
    CountDownLatch scheduled = new CountDownLatch(threads);
    List<Long> seenAt = new CopyOnWriteArrayList<>();
    AtomicInteger ran = new AtomicInteger();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int offset = t;
      Thread w = new Thread(() -> {
        try {
          start.await();
          for (int i = 0; i < perThread; i++) {
            long delay = (i * threads + offset) % 997; // milliseconds, many collisions
            scheduler.schedule(() -> {
              ran.incrementAndGet();
              seenAt.add(clock.read());
            }, delay, TimeUnit.MILLISECONDS);
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        } finally {
          scheduled.countDown();
        }
      });
      w.start();
      workers.add(w);
    }
    start.await();
    // The driver advances in small steps while the workers are still scheduling.
    while (scheduled.getCount() > 0) {
      clock.advance(Duration.ofMillis(1));
    }
    clock.advance(Duration.ofSeconds(2));
    for (Thread w : workers) {
      w.join();
    }
    assertEquals(threads * perThread, ran.get(), "each task ran exactly once");
    assertEquals(0, scheduler.pendingTasks());
    for (int i = 1; i < seenAt.size(); i++) {
      assertTrue(seenAt.get(i - 1) <= seenAt.get(i), "tasks ran in time order: " + seenAt.subList(i - 1, i + 1));
    }
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void getBlocksUntilAnotherThreadAdvancesTheClock() throws Exception {
    ScheduledFuture<String> answer = scheduler.schedule(() -> "ran", 1, TimeUnit.HOURS);
    Thread driver = new Thread(() -> clock.advance(Duration.ofHours(1)));
    driver.start();
    assertEquals("ran", answer.get(20, TimeUnit.SECONDS));
    driver.join();
  }

  @Test
  @Tag("concurrency")
  @Timeout(30)
  void aBlockingClocksSleepersWakeAtTheirTimesBetweenTasks() throws Exception {
    ManualClock blocking = ManualClock.blocking();
    ManualScheduler s = new ManualScheduler(blocking);
    CountDownLatch woke = new CountDownLatch(1);
    long[] wokeAt = new long[1];
    Thread sleeper = new Thread(() -> {
      try {
        blocking.sleep(Duration.ofSeconds(2));
        wokeAt[0] = blocking.read();
        woke.countDown();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    });
    sleeper.start();
    assertTrue(blocking.awaitSleepers(1, Duration.ofSeconds(10)));
    // The task at 3 s waits (in real time, bounded) for the sleeper woken at 2 s: the clock passed 2 s first.
    ScheduledFuture<Boolean> task = s.schedule(() -> woke.await(10, TimeUnit.SECONDS), 3, TimeUnit.SECONDS);
    blocking.advance(Duration.ofSeconds(5));
    assertTrue(task.get(0, TimeUnit.SECONDS), "the sleeper due at 2 s was woken before the task at 3 s ran");
    sleeper.join();
    assertTrue(wokeAt[0] >= 2 * SECOND);
  }
}
