package dev.shepherd.bulkhead;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.util.PriorityQueue;
import java.util.function.LongFunction;

/**
 * A deterministic, single-threaded discrete-event simulation of callers and an upstream, driven by
 * a {@link ManualClock}: infinite demand (callers take every permit the bulkhead grants, and at
 * least one more caller is refused at every step), an upstream whose behaviour is chosen when a call
 * starts, and callers that report each call's outcome on its permit when it ends.
 */
final class UpstreamSimulation {

  /** What the upstream does with a call that starts now. */
  record Reply(long latencyNanos, Kind kind) {
    static Reply success(long latencyNanos) {
      return new Reply(latencyNanos, Kind.SUCCESS);
    }

    /** The caller gives up after {@code timeoutNanos} and reports a drop. */
    static Reply timeout(long timeoutNanos) {
      return new Reply(timeoutNanos, Kind.DROPPED);
    }
  }

  enum Kind { SUCCESS, DROPPED }

  private record Call(long endNanos, long seq, Permit permit, Kind kind) {}

  final ManualClock clock = new ManualClock();
  private AdaptiveBulkhead bulkhead;
  private LongFunction<Reply> upstream = now -> Reply.success(0);
  private final PriorityQueue<Call> inFlight = new PriorityQueue<>(
      (a, b) -> a.endNanos != b.endNanos ? Long.compare(a.endNanos, b.endNanos) : Long.compare(a.seq, b.seq));
  private long seq;
  private boolean admitting = true;
  long samples;
  long refusals;
  long admitted;
  int maxInFlight;

  void use(AdaptiveBulkhead bulkhead) {
    this.bulkhead = bulkhead;
  }

  /** Sets the upstream's behaviour for calls starting from now on. */
  void upstream(LongFunction<Reply> behaviour) {
    this.upstream = behaviour;
  }

  /** Stops or resumes admitting new calls (callers back off entirely while stopped). */
  void admitting(boolean admitting) {
    this.admitting = admitting;
  }

  int callsInFlight() {
    return inFlight.size();
  }

  /**
   * Lets callers take every permit they can (refusing one more), then ends the earliest call:
   * one sample.
   */
  void step() {
    fill();
    Call next = inFlight.poll();
    assertTrue(next != null, "nothing in flight and nothing admitted");
    clock.advanceNanos(Math.max(0, next.endNanos - clock.read()));
    if (next.kind == Kind.SUCCESS) {
      next.permit.success();
    } else {
      next.permit.dropped();
    }
    samples++;
  }

  /** Callers take every permit they can; the last attempt is refused. */
  void fill() {
    if (!admitting) {
      return;
    }
    for (;;) {
      long before = clock.read();
      Permit p = bulkhead.tryAcquire();
      assertTrue(clock.read() == before, "a refusal or a grant must not take time");
      if (p == null) {
        refusals++;
        return;
      }
      admitted++;
      assertTrue(bulkhead.inFlight() <= bulkhead.limit(),
          () -> "granted above the limit: " + bulkhead);
      maxInFlight = Math.max(maxInFlight, bulkhead.inFlight());
      Reply reply = upstream.apply(clock.read());
      inFlight.add(new Call(clock.read() + reply.latencyNanos(), seq++, p, reply.kind()));
    }
  }
}
