package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Durations;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Keeps a dead Redis from costing every request a timeout: after a failure, requests are decided
 * locally for a cool-down, then one background probe tests Redis, and its first good answer
 * closes the circuit again. All of its time is the injected {@link Ticker}'s. Thread-safe,
 * lock-free.
 */
final class RedisCircuit {

  /*
   * One immutable State in an AtomicReference. Closed: every check asks Redis. trip() CASes
   * closed -> open (openedAt = now, probeAt = now + coolDown); only the winner reports it, so one
   * outage is one FALLBACK event however many requests failed together. While open, checks never
   * touch Redis: allowed() reads the state (one volatile read) and says no. The first allowed() at
   * or after probeAt CASes open -> probing and starts the probe; that check, and every other one
   * meanwhile, is still told no, so no request ever waits for a probe. The probe's completion is
   * the only writer of a probing state: a good answer -> closed (adding the episode's time to the
   * total), anything else -> open again with a new probeAt. Each state holds the total time of
   * finished episodes, so timeOpenNanos() is one consistent snapshot.
   *
   * Timeline, cool-down 1 s:
   *   0 s    a check times out: trip() opens; checks decided locally
   *   1 s    the first check after probeAt starts the probe (and is decided locally)
   *   1.01 s the probe fails: open again, probeAt = 2.01 s
   *   2.01 s the next probe answers: closed; 2.01 s spent open
   */

  /** What the circuit reports; called on the thread that caused the transition. */
  interface Transitions {
    /** The circuit opened after {@code cause}. */
    void opened(Throwable cause);

    /** A probe found Redis answering: closed again after {@code openNanos} open. */
    void closed(long openNanos);

    /** A probe failed with {@code cause}: open for another cool-down. */
    void probeFailed(Throwable cause);
  }

  private static final class State {
    final boolean open;
    final boolean probing;
    final long openedAt;
    final long probeAt;
    /** Total ticker nanoseconds of finished episodes. */
    final long finishedNanos;

    State(boolean open, boolean probing, long openedAt, long probeAt, long finishedNanos) {
      this.open = open;
      this.probing = probing;
      this.openedAt = openedAt;
      this.probeAt = probeAt;
      this.finishedNanos = finishedNanos;
    }

    static State closed(long finishedNanos) {
      return new State(false, false, 0, 0, finishedNanos);
    }
  }

  private final Ticker ticker;
  private final long coolDownNanos;
  private final long probeTimeoutNanos;
  /** Starts one probe; its stage completes normally when Redis answered as expected. */
  private final Supplier<? extends CompletionStage<?>> probe;
  private final Transitions transitions;
  private final AtomicReference<State> state = new AtomicReference<>(State.closed(0));

  /**
   * @param probeTimeoutNanos how long a running probe may take; the retry-after while probing
   * @param probe starts a probe (it applies its own timeout); a stage completing normally means
   *     Redis answered, exceptionally (or a throw) that it did not
   */
  RedisCircuit(Ticker ticker, long coolDownNanos, long probeTimeoutNanos,
      Supplier<? extends CompletionStage<?>> probe, Transitions transitions) {
    this.ticker = ticker;
    this.coolDownNanos = coolDownNanos;
    this.probeTimeoutNanos = probeTimeoutNanos;
    this.probe = probe;
    this.transitions = transitions;
  }

  /** Whether this check may ask Redis; starts the background probe when one is due. */
  boolean allowed() {
    State c = state.get();
    if (!c.open) {
      return true;
    }
    if (!c.probing && ticker.read() - c.probeAt >= 0) {
      State probing = new State(true, true, c.openedAt, c.probeAt, c.finishedNanos);
      if (state.compareAndSet(c, probing)) {
        startProbe(probing);
      }
    }
    return false;
  }

  /** Opens the circuit after Redis failed with {@code cause}, unless it is open already. */
  void trip(Throwable cause) {
    State c = state.get();
    if (c.open) {
      return;
    }
    long now = ticker.read();
    if (state.compareAndSet(c, new State(true, false, now, now + coolDownNanos, c.finishedNanos))) {
      transitions.opened(cause);
    }
  }

  private void startProbe(State probing) {
    CompletionStage<?> f;
    try {
      f = probe.get();
    } catch (RuntimeException e) {
      finishProbe(probing, e);
      return;
    }
    f.whenComplete((answer, error) -> finishProbe(probing, error));
  }

  private void finishProbe(State probing, Throwable error) {
    long now = ticker.read();
    if (error == null) {
      long spent = Math.max(0, now - probing.openedAt);
      // Only a probe leaves a probing state, so the CAS cannot fail.
      state.compareAndSet(probing, State.closed(Durations.saturatedAdd(probing.finishedNanos, spent)));
      transitions.closed(spent);
    } else {
      // The state first, then the report: whoever sees the report also sees the next probe scheduled.
      state.compareAndSet(probing,
          new State(true, false, probing.openedAt, now + coolDownNanos, probing.finishedNanos));
      transitions.probeFailed(error);
    }
  }

  /** The retry-after of a request refused because Redis is unavailable: until the next probe. */
  long untilProbeNanos() {
    State c = state.get();
    if (!c.open) {
      return coolDownNanos;
    }
    if (c.probing) {
      return probeTimeoutNanos;
    }
    return Math.max(probeTimeoutNanos, c.probeAt - ticker.read());
  }

  /** Whether checks are decided locally now. */
  boolean isOpen() {
    return state.get().open;
  }

  /** Total time open, the current episode included. */
  long timeOpenNanos() {
    State c = state.get();
    long total = c.finishedNanos;
    if (c.open) {
      total = Durations.saturatedAdd(total, Math.max(0, ticker.read() - c.openedAt));
    }
    return total;
  }

  long coolDownNanos() {
    return coolDownNanos;
  }
}
