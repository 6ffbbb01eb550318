package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Retry gives up at the caller's deadline (issue 17): no attempt and no wait that cannot finish before it. */
class RetryDeadlineTest {

  private static final Duration SECOND = Duration.ofSeconds(1);

  private final ManualClock clock = ManualClock.instant();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private Retry.Builder retry() {
    return Retry.builder().name("deadline").backoff(TestBackoffs.constant(SECOND)).maxAttempts(100)
        .ticker(clock).sleeper(clock).random(new SplittableRandom(1)).listener(events::add);
  }

  private Event last() {
    return events.get(events.size() - 1);
  }

  @Test
  void aDeadlineAlreadyPassedMakesNoAttempt() {
    Deadline deadline = Deadline.after(Duration.ZERO, clock);
    AtomicInteger calls = new AtomicInteger();
    DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
        () -> retry().build().call(deadline, calls::incrementAndGet));
    assertEquals(0, calls.get());
    assertEquals("deadline", e.policyName());
    assertEquals(Event.Kind.GAVE_UP, last().kind());
  }

  @Test
  void aWaitThatWouldEndPastTheDeadlineIsNotStarted() {
    Deadline deadline = Deadline.after(Duration.ofMillis(2500), clock);
    IOException failure = new IOException("down");
    AtomicInteger calls = new AtomicInteger();
    IOException thrown = assertThrows(IOException.class, () -> retry().build().call(deadline, () -> {
      calls.incrementAndGet();
      throw failure;
    }));
    assertSame(failure, thrown);
    assertEquals(3, calls.get()); // at 0 s, 1 s, 2 s; a wait to 3 s would end past 2.5 s
    assertEquals(List.of(SECOND, SECOND), clock.sleeps());
    assertEquals(Event.Kind.GAVE_UP, last().kind());
    assertTrue(last().detail().startsWith("the next attempt cannot finish before the deadline: PT0.5S left"),
        last().detail());
  }

  /** An attempt as long as the latest one must fit after the wait: a trimmed wait is no use to a slow upstream. */
  @Test
  void noAttemptStartsThatCouldNotFinishInTimeJudgedByTheLatestAttempt() {
    Deadline deadline = Deadline.after(Duration.ofSeconds(3), clock);
    AtomicInteger calls = new AtomicInteger();
    assertThrows(IOException.class, () -> retry().build().call(deadline, () -> {
      calls.incrementAndGet();
      clock.advance(Duration.ofMillis(700)); // each attempt times out after 700 ms
      throw new IOException("timed out");
    }));
    // 0-0.7 s fails; 1 s wait + 0.7 s < 2.3 s left: again at 1.7-2.4 s; then 0.6 s left < 1.7 s: stop.
    assertEquals(2, calls.get());
    assertEquals(List.of(SECOND), clock.sleeps());
  }

  @Test
  void aResultRetriedUntilTheDeadlineIsReturned() throws Exception {
    Deadline deadline = Deadline.after(Duration.ofMillis(1500), clock);
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().retryOnResult(r -> (Integer) r < 10).build();
    assertEquals(2, retry.call(deadline, calls::incrementAndGet));
  }

  @Test
  void theEarlierOfMaxElapsedAndTheDeadlineWins() {
    AtomicInteger calls = new AtomicInteger();
    Retry retry = retry().maxElapsed(Duration.ofSeconds(10)).build();
    assertThrows(IOException.class, () -> retry.call(Deadline.after(Duration.ofMillis(1500), clock), () -> {
      calls.incrementAndGet();
      throw new IOException("down");
    }));
    assertEquals(2, calls.get());
  }

  /**
   * For any attempt length and deadline, with attempts of constant length: every attempt starts
   * before the deadline, and every attempt after the first also ends before it.
   */
  @Property(tries = 300)
  void everyRetryStartsAndEndsBeforeTheDeadline(@ForAll @IntRange(min = 0, max = 5_000) int attemptMillis,
      @ForAll @IntRange(min = 1, max = 20_000) int deadlineMillis, @ForAll @IntRange(min = 1, max = 3_000) int waitMillis) {
    ManualClock c = ManualClock.instant();
    Deadline deadline = Deadline.after(Duration.ofMillis(deadlineMillis), c);
    List<long[]> attempts = new ArrayList<>();
    Retry retry = Retry.builder().backoff(TestBackoffs.constant(Duration.ofMillis(waitMillis))).maxAttempts(1_000)
        .ticker(c).sleeper(c).listener(e -> { }).build();
    assertThrows(IOException.class, () -> retry.call(deadline, () -> {
      long start = deadline.remainingNanos();
      c.advance(Duration.ofMillis(attemptMillis));
      attempts.add(new long[] {start, deadline.remainingNanos()});
      throw new IOException("down");
    }));
    for (int i = 0; i < attempts.size(); i++) {
      assertTrue(attempts.get(i)[0] > 0, "attempt " + i + " started after the deadline");
      if (i > 0) {
        assertTrue(attempts.get(i)[1] > 0, "attempt " + i + " ended after the deadline");
      }
    }
  }

  @Test
  void asynchronousCallsGiveUpAtTheDeadlineToo() throws Exception {
    ManualScheduler scheduler = new ManualScheduler(clock); // runs each task as the clock passes it
    Retry retry = retry().scheduler(scheduler).build();
    AtomicInteger calls = new AtomicInteger();
    CompletableFuture<String> result = retry.callAsync(Deadline.after(Duration.ofMillis(2500), clock), () -> {
      calls.incrementAndGet();
      return CompletableFuture.failedFuture(new IOException("down"));
    });
    while (scheduler.pendingTasks() > 0) {
      clock.advance(SECOND);
    }
    assertEquals(3, calls.get());
    ExecutionException e = assertThrows(ExecutionException.class, result::get);
    assertInstanceOf(IOException.class, e.getCause());
    assertEquals(Event.Kind.GAVE_UP, last().kind());

    AtomicInteger late = new AtomicInteger();
    CompletableFuture<String> expired = retry.callAsync(Deadline.after(Duration.ZERO, clock), () -> {
      late.incrementAndGet();
      return CompletableFuture.completedFuture("never");
    });
    assertInstanceOf(DeadlineExceededException.class,
        assertThrows(ExecutionException.class, expired::get).getCause());
    assertEquals(0, late.get());
  }

  @Test
  void nullsAreRefused() {
    Retry retry = retry().build();
    assertThrows(NullPointerException.class, () -> retry.call(null, () -> "x"));
    assertThrows(NullPointerException.class, () -> retry.call(Deadline.after(SECOND, clock), null));
    assertThrows(NullPointerException.class, () -> retry.callAsync((Deadline) null, () -> null));
  }
}
