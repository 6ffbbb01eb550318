package dev.shepherd.bulkhead;

import static dev.shepherd.bulkhead.TestSupport.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.bulkhead.TestSupport.RecordingListener;
import dev.shepherd.bulkhead.TestSupport.Waiter;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link AdaptiveBulkhead#call(Deadline, java.util.concurrent.Callable)} and its async twin, on a ManualClock. */
@Timeout(30)
class AdaptiveBulkheadDeadlineTest {

  private final ManualClock clock = new ManualClock();
  private final RecordingListener listener = new RecordingListener();

  private AdaptiveBulkhead.Builder builder() {
    return AdaptiveBulkhead.builder().name("partner").ticker(clock).listener(listener);
  }

  @Test
  void aCallWhoseDeadlineHasPassedIsRefusedAtOnceWithoutAPermitOrASample() throws Exception {
    AdaptiveBulkhead b = builder().initialLimit(4).build();
    Deadline passed = Deadline.after(Duration.ofMillis(5), clock);
    clock.advance(Duration.ofMillis(5));
    AtomicInteger ran = new AtomicInteger();
    DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
        () -> b.call(passed, ran::incrementAndGet));
    assertEquals("partner", e.policyName());
    assertTrue(e.retryAfter().isEmpty());
    ExecutionException async = assertThrows(ExecutionException.class, () -> b.callAsync(passed,
        () -> CompletableFuture.completedFuture(ran.incrementAndGet())).toCompletableFuture().get());
    assertInstanceOf(DeadlineExceededException.class, async.getCause());
    assertEquals(0, ran.get(), "the action never runs");
    assertEquals(4, b.available(), "no permit taken");
    assertEquals(2, b.refusedLate());
    assertEquals(0, b.rejected(), "not a rejection for want of permits");
    assertEquals(2, listener.count(Event.Kind.REJECTED));
    assertTrue(Double.isNaN(b.adaptiveLimit().smoothedLatencyNanos()), "no sample learned");
  }

  @Test
  void aCallWithTimeLeftRunsAndTeachesTheLimitAsCallDoes() throws Exception {
    AdaptiveBulkhead b = builder().initialLimit(4).build();
    assertEquals("ok", b.call(Deadline.after(Duration.ofSeconds(1), clock), () -> {
      clock.advance(Duration.ofMillis(20));
      return "ok";
    }));
    assertEquals(20_000_000.0, b.adaptiveLimit().smoothedLatencyNanos());
    assertEquals("async", b.callAsync(Deadline.after(Duration.ofSeconds(1), clock),
        () -> CompletableFuture.completedFuture("async")).toCompletableFuture().get());
    assertEquals(b.limit(), b.available(), "every permit is back");
    assertEquals(0, b.refusedLate());
  }

  @Test
  void withDropIfCannotFinishACallWithLessTimeThanTheSmoothedLatencyIsRefused() throws Exception {
    AdaptiveBulkhead b = builder().initialLimit(4).dropIfCannotFinish(true).build();
    // no estimate yet: a call with 1 ns left is let through
    assertEquals(1, b.call(Deadline.after(Duration.ofNanos(1), clock), () -> 1));
    // learn a latency of 100 ms (the first sample is the estimate)
    Deadline far = Deadline.after(Duration.ofHours(1), clock);
    b.call(far, () -> {
      clock.advance(Duration.ofMillis(100));
      return 2;
    });
    double smoothed = b.adaptiveLimit().smoothedLatencyNanos();
    assertEquals(10_000_000.0, smoothed, "0 ms then 100 ms, smoothed by 0.1");
    long justEnough = (long) Math.ceil(smoothed);
    DeadlineExceededException e = assertThrows(DeadlineExceededException.class,
        () -> b.call(Deadline.after(Duration.ofNanos(justEnough - 1), clock), () -> 4));
    assertTrue(e.getMessage().contains("cannot finish in time"), e.getMessage());
    assertEquals(smoothed, b.adaptiveLimit().smoothedLatencyNanos(), "a refusal is no sample");
    assertEquals(3, b.call(Deadline.after(Duration.ofNanos(justEnough), clock), () -> 3), "time enough: runs");
    assertEquals(b.limit(), b.available(), "no permit kept");
    assertEquals(1, b.refusedLate());
  }

  @Test
  void withoutDropIfCannotFinishOnlyAPassedDeadlineIsRefused() throws Exception {
    AdaptiveBulkhead b = builder().initialLimit(4).build();
    b.call(Deadline.after(Duration.ofHours(1), clock), () -> {
      clock.advance(Duration.ofMillis(100));
      return 0;
    });
    assertEquals(1, b.call(Deadline.after(Duration.ofNanos(1), clock), () -> 1));
  }

  @Test
  void aWaiterGivesUpAtItsDeadlineBeforeMaxWaitAndHoldsNothing() throws Exception {
    AdaptiveBulkhead b = builder().minLimit(1).initialLimit(1).maxWait(Duration.ofSeconds(10)).build();
    Permit held = b.acquire();
    Deadline deadline = Deadline.after(Duration.ofSeconds(1), clock);
    AtomicInteger ran = new AtomicInteger();
    Waiter waiter = new Waiter("waiter", () -> b.call(deadline, ran::incrementAndGet));
    awaitTrue("the waiter is queued", () -> b.waiting() == 1);
    clock.advance(Duration.ofSeconds(1));
    assertInstanceOf(DeadlineExceededException.class, waiter.join(), "refused at the deadline, not after 10 s");
    assertEquals(0, ran.get());
    assertEquals(1, b.inFlight(), "only the held permit");
    assertEquals(1, b.refusedLate());
    held.close();
    assertNotNull(b.tryAcquire(), "every permit is back");
  }

  @Test
  void aFullBulkheadBeforeTheDeadlineIsStillABulkheadFullRefusal() {
    AdaptiveBulkhead b = builder().minLimit(1).initialLimit(1).build();
    Permit held = b.tryAcquire();
    assertThrows(BulkheadFullException.class, () -> b.call(Deadline.after(Duration.ofSeconds(1), clock), () -> 1));
    assertEquals(0, b.refusedLate());
    assertEquals(1, b.rejected());
    held.close();
  }

  @Test
  void nullArgumentsAreRefused() {
    AdaptiveBulkhead b = builder().build();
    Deadline d = Deadline.after(Duration.ofSeconds(1), clock);
    assertThrows(NullPointerException.class, () -> b.call((Deadline) null, () -> 1));
    assertThrows(NullPointerException.class, () -> b.call(d, null));
    assertThrows(NullPointerException.class, () -> b.callAsync((Deadline) null, CompletableFuture::new));
    assertThrows(NullPointerException.class, () -> b.callAsync(d, null));
  }
}
