package dev.shepherd.circuitbreaker;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One period of a breaker's life between two transitions: its state, its number, and what that
 * state needs. A transition replaces the whole epoch with a compare-and-set, so every field that
 * belongs to one state is born with it and dies with it: a closed period's window, an open
 * period's end, a half-open period's probes. Epoch numbers only grow, and a permission carries the
 * number of the epoch that granted it, so an outcome that arrives after a transition is recognised
 * as stale and dropped instead of being judged by a state that did not admit it.
 */
final class Epoch {

  final CircuitBreaker.State state;
  final long id;
  /** The ticker reading when the epoch began. */
  final long since;
  /** CLOSED: the window being judged; null otherwise. */
  final Window window;
  /** OPEN: the ticker reading from which probes are allowed; 0 otherwise. */
  final long openUntil;
  /** OPEN: the counts {calls, failures, slow} that opened the breaker; HALF_OPEN/others: null. */
  final long[] trippedBy;
  /** HALF_OPEN: the ticker reading at which the period ends if no verdict came before; 0 otherwise. */
  final long halfOpenUntil;
  /** HALF_OPEN: probe permissions not yet handed out. */
  private final AtomicInteger probesLeft;
  /** HALF_OPEN: judged probes, packed as {@link Counts}. */
  private final AtomicLong probeOutcomes;

  private Epoch(CircuitBreaker.State state, long id, long since, Window window, long openUntil, long[] trippedBy,
      long halfOpenUntil, int probes) {
    this.state = state;
    this.id = id;
    this.since = since;
    this.window = window;
    this.openUntil = openUntil;
    this.trippedBy = trippedBy;
    this.halfOpenUntil = halfOpenUntil;
    this.probesLeft = state == CircuitBreaker.State.HALF_OPEN ? new AtomicInteger(probes) : null;
    this.probeOutcomes = state == CircuitBreaker.State.HALF_OPEN ? new AtomicLong() : null;
  }

  static Epoch closed(long id, long now, Window window) {
    return new Epoch(CircuitBreaker.State.CLOSED, id, now, window, 0, null, 0, 0);
  }

  static Epoch open(long id, long now, long openUntil, long[] trippedBy) {
    return new Epoch(CircuitBreaker.State.OPEN, id, now, null, openUntil, trippedBy, 0, 0);
  }

  static Epoch halfOpen(long id, long now, long until, int probes) {
    return new Epoch(CircuitBreaker.State.HALF_OPEN, id, now, null, 0, null, until, probes);
  }

  static Epoch manual(CircuitBreaker.State state, long id, long now) {
    return new Epoch(state, id, now, null, 0, null, 0, 0);
  }

  /** HALF_OPEN: takes one probe permission if any is left. */
  boolean takeProbe() {
    int left = probesLeft.get();
    while (left > 0) {
      if (probesLeft.compareAndSet(left, left - 1)) {
        return true;
      }
      left = probesLeft.get();
    }
    return false;
  }

  /** HALF_OPEN: gives back a probe permission that was not used. */
  void returnProbe() {
    probesLeft.incrementAndGet();
  }

  /** HALF_OPEN: records one judged probe; returns the packed counts after it. */
  long judgeProbe(int code) {
    return probeOutcomes.addAndGet(Counts.contribution(code));
  }

  /** HALF_OPEN: the judged probes, packed as {@link Counts}. */
  long probeOutcomes() {
    return probeOutcomes.get();
  }

  /** HALF_OPEN: the probes judged so far, {calls, failures, slow}. */
  long[] probeCounts() {
    long p = probeOutcomes.get();
    return new long[] {Counts.calls(p), Counts.failures(p), Counts.slow(p)};
  }

  /** HALF_OPEN: probe permissions handed out and not yet judged or given back. */
  int probesInFlight(int probes) {
    return probes - probesLeft.get() - (int) Counts.calls(probeOutcomes.get());
  }
}
