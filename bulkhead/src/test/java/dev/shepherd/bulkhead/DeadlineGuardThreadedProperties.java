package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;

/**
 * The guard's invariants on its blocking path, {@link DeadlineGuard#call(Deadline,
 * java.util.concurrent.Callable)}: callers are real threads that park in the queue, and a generated
 * schedule of arrivals, clock moves and completions drives them on a {@link ManualClock}.
 *
 * <p>Why the checks are sound although threads race: the test moves the clock only when the system
 * is <em>settled</em>: every caller is parked in the queue, inside its action, or finished. A
 * caller between the guard's last deadline check and its action, or between a drop and its catch,
 * is none of those, so no clock move falls between a decision and the observation of it: a caller
 * that reads "late" inside its action started late, and one dropped with time left still sees that
 * time left when it catches the drop.
 */
@Tag("concurrency")
class DeadlineGuardThreadedProperties {

  private static final long PATIENCE_NANOS = TimeUnit.SECONDS.toNanos(20);

  /** One step: {@code kind} 0-3 a caller arrives with a deadline of {@code a} ms, 4-5 the clock moves {@code a/4} ms, 6-9 a running action finishes. */
  record Step(int kind, int a, int b) {}

  @Provide
  Arbitrary<List<Step>> schedules() {
    return Combinators.combine(Arbitraries.integers().between(0, 9), Arbitraries.integers().between(0, 200),
        Arbitraries.integers().between(0, 1_000)).as(Step::new).list().ofMaxSize(40);
  }

  @Property(tries = 100)
  void blockedCallersStartNothingLateDropNothingThatHadTimeAndLoseNoPermit(
      @ForAll("schedules") List<Step> schedule, @ForAll @IntRange(min = 1, max = 3) int maxConcurrent,
      @ForAll @IntRange(min = 0, max = 5) int maxQueue, @ForAll DeadlineGuard.Order order) throws Exception {
    ManualClock clock = new ManualClock();
    DeadlineGuard guard = DeadlineGuard.builder().maxConcurrent(maxConcurrent).maxQueue(maxQueue).order(order)
        .ticker(clock).listener(EventListener.noop()).build();
    List<String> violations = new CopyOnWriteArrayList<>();
    List<CountDownLatch> running = new CopyOnWriteArrayList<>();
    List<Thread> callers = new ArrayList<>();
    AtomicInteger finished = new AtomicInteger();
    AtomicInteger ran = new AtomicInteger();
    AtomicInteger droppedSeen = new AtomicInteger();
    AtomicInteger fullSeen = new AtomicInteger();
    AtomicInteger maxRunning = new AtomicInteger();
    // Every caller is parked in the queue, inside its action, or finished.
    BooleanSupplier settled = () -> guard.queued() + running.size() + finished.get() == callers.size();

    try {
      for (Step s : schedule) {
        if (s.kind() < 4) {
          Deadline deadline = Deadline.after(Duration.ofMillis(s.a()), clock);
          Thread t = new Thread(() -> {
            try {
              guard.call(deadline, () -> {
                long left = deadline.remainingNanos();
                if (left <= 0) {
                  violations.add("started " + Duration.ofNanos(-left) + " after its deadline");
                }
                ran.incrementAndGet();
                maxRunning.accumulateAndGet(guard.inFlight(), Math::max);
                CountDownLatch done = new CountDownLatch(1);
                running.add(done);
                if (!done.await(PATIENCE_NANOS, TimeUnit.NANOSECONDS)) {
                  violations.add("an action was never finished by the test");
                }
                return null;
              });
            } catch (DeadlineExceededException e) {
              droppedSeen.incrementAndGet();
              long left = deadline.remainingNanos();
              if (left > 0) {
                violations.add("dropped with " + Duration.ofNanos(left) + " left");
              }
            } catch (BulkheadFullException e) {
              fullSeen.incrementAndGet();
            } catch (Exception e) {
              violations.add("unexpected " + e);
            } finally {
              finished.incrementAndGet();
            }
          }, "caller-" + callers.size());
          t.setDaemon(true);
          callers.add(t);
          t.start();
          await(settled, "a new caller to settle", guard);
        } else if (s.kind() < 6) {
          await(settled, "the callers to settle before the clock moves", guard);
          clock.advance(Duration.ofMillis(s.a() / 4));
          await(settled, "the callers to settle after the clock moved", guard);
        } else if (!running.isEmpty()) {
          running.remove(s.b() % running.size()).countDown();
          await(settled, "the callers to settle after a release", guard);
        }
        assertTrue(guard.inFlight() <= maxConcurrent, guard.toString());
      }

      // Quiesce: finish what runs and let every deadline pass; every caller must end.
      long until = System.nanoTime() + PATIENCE_NANOS;
      while (finished.get() < callers.size()) {
        if (System.nanoTime() - until > 0) {
          fail("callers still blocked: " + guard);
        }
        await(settled, "the callers to settle while quiescing", guard);
        if (!running.isEmpty()) {
          running.remove(0).countDown();
        } else {
          clock.advance(Duration.ofMillis(250));
        }
        await(settled, "the callers to settle while quiescing", guard);
      }
      for (Thread t : callers) {
        t.join(TimeUnit.NANOSECONDS.toMillis(PATIENCE_NANOS));
      }
    } finally {
      running.forEach(CountDownLatch::countDown);
    }

    assertEquals(List.of(), violations);
    assertTrue(maxRunning.get() <= maxConcurrent, "ran " + maxRunning.get() + " at once");
    assertEquals(callers.size(), ran.get() + droppedSeen.get() + fullSeen.get(), "every caller has one outcome");
    assertEquals(droppedSeen.get(), guard.dropped(), "every drop is counted, once");
    assertEquals(fullSeen.get(), guard.rejected(), "every refusal for want of room is counted, once");
    assertEquals(0, guard.inFlight(), guard.toString());
    assertEquals(0, guard.queued(), guard.toString());
    // No permit lost or invented: exactly maxConcurrent start at once now.
    Deadline far = Deadline.after(Duration.ofDays(1), clock);
    int startedAtOnce = 0;
    List<java.util.concurrent.CompletableFuture<Void>> held = new ArrayList<>();
    for (int i = 0; i <= maxConcurrent; i++) {
      boolean[] started = {false};
      java.util.concurrent.CompletableFuture<Void> work = new java.util.concurrent.CompletableFuture<>();
      guard.callAsync(far, () -> {
        started[0] = true;
        return work;
      });
      held.add(work);
      startedAtOnce += started[0] ? 1 : 0;
    }
    assertEquals(maxConcurrent, startedAtOnce, guard.toString());
    held.forEach(w -> w.complete(null));
    assertEquals(0, guard.inFlight(), guard.toString());
  }

  private static void await(BooleanSupplier condition, String what, DeadlineGuard guard) {
    long until = System.nanoTime() + PATIENCE_NANOS;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - until > 0) {
        fail("timed out waiting for " + what + ": " + guard);
      }
      LockSupport.parkNanos(50_000);
    }
  }
}
