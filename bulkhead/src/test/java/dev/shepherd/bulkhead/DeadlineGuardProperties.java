package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Deadline;
import dev.shepherd.core.DeadlineExceededException;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * The guard's promises as properties, on a {@link ManualClock}, for any schedule of arrivals (each
 * with its own deadline), passing time, completions and callers who give up, in both orders, with
 * and without dropping by service time:
 * <ul>
 *   <li>it never starts work past its deadline (checked inside the action, at the instant it starts);
 *   <li>it never drops work that had time (checked at the instant of the drop: the deadline had
 *       passed, or, when enabled, less than the smoothed service time was left);
 *   <li>never more than {@code maxConcurrent} run at once, and it loses no permit (at the end,
 *       exactly {@code maxConcurrent} calls start at once again).
 * </ul>
 * Single-threaded: the schedule is the interleaving. The threaded paths are in DeadlineGuardTest.
 */
class DeadlineGuardProperties {

  /** One step of a schedule. */
  record Step(int kind, int a, int b) {
    static final int ARRIVE = 0;
    static final int ADVANCE = 1;
    static final int COMPLETE = 2;
    static final int GIVE_UP = 3;
  }

  @Provide
  Arbitrary<List<Step>> schedules() {
    Arbitrary<Step> step = Combinators.combine(Arbitraries.integers().between(0, 9),
        Arbitraries.integers().between(0, 400), Arbitraries.integers().between(0, 1_000))
        .as((k, a, b) -> new Step(k < 4 ? Step.ARRIVE : k < 6 ? Step.ADVANCE : k < 9 ? Step.COMPLETE : Step.GIVE_UP,
            a, b));
    return step.list().ofMaxSize(200);
  }

  @Property(tries = 500)
  void theGuardStartsNothingLateDropsNothingThatHadTimeAndLosesNoPermit(
      @ForAll("schedules") List<Step> schedule, @ForAll @IntRange(min = 1, max = 4) int maxConcurrent,
      @ForAll @IntRange(min = 0, max = 6) int maxQueue, @ForAll DeadlineGuard.Order order,
      @ForAll boolean dropIfCannotFinish) {
    ManualClock clock = new ManualClock();
    DeadlineGuard guard = DeadlineGuard.builder().maxConcurrent(maxConcurrent).maxQueue(maxQueue).order(order)
        .dropIfCannotFinish(dropIfCannotFinish).ticker(clock).listener(EventListener.noop()).build();
    List<CompletableFuture<String>> running = new ArrayList<>();
    List<CompletableFuture<String>> returned = new ArrayList<>();
    List<String> violations = new ArrayList<>();
    int[] maxRunning = {0};

    for (Step s : schedule) {
      switch (s.kind()) {
        case Step.ARRIVE -> {
          Deadline deadline = Deadline.after(Duration.ofMillis(s.a()), clock);
          CompletionStage<String> stage = guard.callAsync(deadline, () -> {
            if (deadline.remainingNanos() <= 0) {
              violations.add("started " + Duration.ofNanos(-deadline.remainingNanos()) + " after its deadline");
            }
            CompletableFuture<String> work = new CompletableFuture<>();
            running.add(work);
            maxRunning[0] = Math.max(maxRunning[0], guard.inFlight());
            return work;
          });
          CompletableFuture<String> f = stage.toCompletableFuture();
          // Runs at the instant of a drop (synchronously, in the thread that drops), or now if refused on arrival.
          f.whenComplete((v, t) -> {
            if (t instanceof DeadlineExceededException) {
              long left = deadline.remainingNanos();
              long service = guard.serviceTime().toNanos();
              if (left > 0 && !(dropIfCannotFinish && left < service)) {
                violations.add("dropped with " + Duration.ofNanos(left) + " left, service time "
                    + Duration.ofNanos(service));
              }
            }
          });
          returned.add(f);
        }
        case Step.ADVANCE -> clock.advance(Duration.ofMillis(s.a() / 4));
        case Step.COMPLETE -> {
          if (!running.isEmpty()) {
            CompletableFuture<String> work = running.remove(s.b() % running.size());
            if (s.a() % 3 == 0) {
              work.completeExceptionally(new IllegalStateException("failed"));
            } else {
              work.complete("ok");
            }
          }
        }
        default -> { // a caller gives up on its stage: queued or running, either way
          if (!returned.isEmpty()) {
            returned.get(s.b() % returned.size()).cancel(s.a() % 2 == 0);
          }
        }
      }
      assertTrue(guard.inFlight() <= maxConcurrent, guard.toString());
    }
    assertEquals(List.of(), violations);
    assertTrue(maxRunning[0] <= maxConcurrent, "ran " + maxRunning[0] + " at once");

    // Quiesce: finish everything that runs; queued calls then start (and finish) or are dropped.
    int rounds = 0;
    while (!running.isEmpty()) {
      running.remove(0).complete("done");
      assertTrue(++rounds < 10_000);
    }
    assertEquals(0, guard.inFlight(), guard.toString());
    assertEquals(0, guard.queued(), guard.toString());
    long drops = 0;
    long refusals = 0;
    for (CompletableFuture<String> f : returned) {
      assertTrue(f.isDone(), "a call was neither run nor dropped nor refused: " + guard);
      Throwable failure = f.handle((v, t) -> t).join();
      drops += failure instanceof DeadlineExceededException ? 1 : 0;
      refusals += failure instanceof BulkheadFullException ? 1 : 0;
    }
    // Dropped work is counted, once per drop; so is every refusal for want of room.
    assertEquals(drops, guard.dropped(), guard.toString());
    assertEquals(refusals, guard.rejected(), guard.toString());
    // Exactly maxConcurrent permits: that many start at once, the next one queues (or is refused).
    Deadline far = Deadline.after(Duration.ofDays(1), clock);
    List<CompletableFuture<String>> again = new ArrayList<>();
    int startedAtOnce = 0;
    for (int i = 0; i < maxConcurrent + 1; i++) {
      boolean[] started = {false};
      CompletableFuture<String> work = new CompletableFuture<>();
      guard.callAsync(far, () -> {
        started[0] = true;
        return work;
      });
      again.add(work);
      startedAtOnce += started[0] ? 1 : 0;
    }
    assertEquals(maxConcurrent, startedAtOnce, guard.toString());
    assertFalse(guard.inFlight() > maxConcurrent);
    again.forEach(w -> w.complete("x"));
    assertEquals(0, guard.inFlight(), guard.toString());
  }

  /** Work with plenty of time is never dropped, whatever the order and the load. */
  @Property(tries = 200)
  void workWithTimeToSpareIsNeverDropped(@ForAll @IntRange(min = 1, max = 200) int calls,
      @ForAll DeadlineGuard.Order order) {
    ManualClock clock = new ManualClock();
    DeadlineGuard guard = DeadlineGuard.builder().maxConcurrent(2).maxQueue(calls).order(order)
        .dropIfCannotFinish(true).ticker(clock).listener(EventListener.noop()).build();
    List<CompletableFuture<String>> running = new ArrayList<>();
    List<CompletableFuture<String>> results = new ArrayList<>();
    for (int i = 0; i < calls; i++) {
      results.add(guard.callAsync(Deadline.after(Duration.ofHours(1), clock), () -> {
        CompletableFuture<String> w = new CompletableFuture<>();
        running.add(w);
        return w;
      }).toCompletableFuture());
    }
    while (!running.isEmpty()) {
      clock.advance(Duration.ofMillis(10));
      running.remove(0).complete("ok");
    }
    for (CompletableFuture<String> r : results) {
      assertEquals("ok", r.join());
    }
    assertEquals(0, guard.dropped());
    assertTrue(guard.serviceTime().compareTo(Duration.ofMillis(10)) >= 0, guard.serviceTime().toString());
  }
}
