package dev.shepherd.bulkhead;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import java.util.concurrent.atomic.AtomicLong;

/*
 * The adaptive limit's state and algorithm (documented for users in AdaptiveBulkhead).
 *
 * Lock-free, allocation-free updates. The state is a handful of independent atomics: the limit
 * estimate (a double, stored as its bits), the smoothed latency (likewise), and a two-window
 * minimum latency. Each is updated with its own CAS loop, so no update is lost; what is not atomic
 * is the combination (one sample may be judged against a minimum or a smoothed latency that a
 * concurrent sample is updating). This race is benign: every decision is a pure function of values
 * that were true an instant ago, the estimate is always clamped to [minLimit, maxLimit] inside its
 * own CAS, and a drop always multiplies the estimate by decreaseFactor whatever else is happening.
 *
 * Publishing to the pool. The pool's limit is floor(estimate). After changing the estimate a thread
 * copies it to the pool and re-reads the estimate until both agree. The last thread to change the
 * estimate also copies it last-or-later, and any thread that copied a stale value re-reads and
 * corrects it, so at quiescence the pool's limit equals floor(estimate).
 */
/** The limit of an {@link AdaptiveBulkhead}: AIMD driven by drops and latency. Thread-safe. */
final class AdaptiveLimit {

  /** Weight of a new sample in the smoothed latency (an exponentially weighted moving average). */
  static final double SMOOTHING = 0.1;
  /** Latencies are compared as if at least this long: one microsecond, so a zero minimum is sane. */
  static final long LATENCY_FLOOR_NANOS = 1_000L;

  private final String name;
  private final PermitPool pool;
  private final Ticker ticker;
  private final EventListener listener;
  private final int minLimit;
  private final int maxLimit;
  private final long latencyTargetNanos;
  private final long callTimeoutNanos;
  private final long minLatencyWindowNanos;
  private final double tolerance;
  private final double decreaseFactor;

  private final AtomicLong estimateBits;
  private final AtomicLong smoothedBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
  private final AtomicLong minCurrent = new AtomicLong(Long.MAX_VALUE);
  private final AtomicLong minPrevious = new AtomicLong(Long.MAX_VALUE);
  private final AtomicLong windowStart;

  AdaptiveLimit(String name, PermitPool pool, Ticker ticker, EventListener listener, int minLimit,
      int maxLimit, int initialLimit, long latencyTargetNanos, long callTimeoutNanos,
      long minLatencyWindowNanos, double tolerance, double decreaseFactor) {
    this.name = name;
    this.pool = pool;
    this.ticker = ticker;
    this.listener = listener;
    this.minLimit = minLimit;
    this.maxLimit = maxLimit;
    this.latencyTargetNanos = latencyTargetNanos;
    this.callTimeoutNanos = callTimeoutNanos;
    this.minLatencyWindowNanos = minLatencyWindowNanos;
    this.tolerance = tolerance;
    this.decreaseFactor = decreaseFactor;
    this.estimateBits = new AtomicLong(Double.doubleToRawLongBits(initialLimit));
    this.windowStart = new AtomicLong(ticker.read());
  }

  /**
   * Learns from one finished call.
   *
   * @param startNanos the ticker reading when the permit was granted
   * @param outcome one of {@link Permit}'s outcome constants
   * @param inFlightAtGrant permits in flight just before this one was granted
   */
  void record(long startNanos, int outcome, int inFlightAtGrant) {
    if (outcome == Permit.IGNORED) {
      return;
    }
    long now;
    try {
      now = ticker.read();
    } catch (RuntimeException brokenTicker) {
      // A ticker that throws costs this sample, never the permit (released by the caller in a
      // finally) nor the call's own result or failure, which must reach the caller unchanged.
      return;
    }
    long latency = Math.max(0L, now - startNanos);
    if (outcome == Permit.DROPPED) {
      decrease("drop");
      return;
    }
    if (latency >= callTimeoutNanos) {
      decrease("timeout");
      return;
    }
    if (outcome != Permit.SUCCESS) {
      return; // a failure that says nothing about capacity
    }
    long min = updateMin(now, latency);
    double smoothed = updateSmoothed(latency);
    if (smoothed > tolerance * Math.max(min, LATENCY_FLOOR_NANOS)) {
      decrease("latency");
      return;
    }
    if (latency > latencyTargetNanos) {
      return; // healthy relative to the minimum, but too slow to justify more concurrency
    }
    if (2L * (inFlightAtGrant + 1L) < pool.limit()) {
      return; // less than half the limit in use: this sample is no evidence that more would help
    }
    increase();
  }

  private void decrease(String reason) {
    for (;;) {
      long bits = estimateBits.get();
      double estimate = Double.longBitsToDouble(bits);
      double next = Math.max(minLimit, estimate * decreaseFactor);
      if (next == estimate) {
        return;
      }
      if (estimateBits.compareAndSet(bits, Double.doubleToRawLongBits(next))) {
        changed(estimate, next, reason);
        return;
      }
    }
  }

  private void increase() {
    for (;;) {
      long bits = estimateBits.get();
      double estimate = Double.longBitsToDouble(bits);
      double next = Math.min(maxLimit, estimate + 1.0 / estimate);
      if (next == estimate) {
        return;
      }
      if (estimateBits.compareAndSet(bits, Double.doubleToRawLongBits(next))) {
        changed(estimate, next, "growth");
        return;
      }
    }
  }

  private void changed(double before, double after, String reason) {
    int from = toLimit(before);
    int to = toLimit(after);
    if (from == to) {
      return;
    }
    publish();
    listener.onEvent(Event.limitChanged(name, from, to, "limit " + from + " -> " + to + " (" + reason + ")"));
  }

  /** Copies floor(estimate) to the pool until the two agree; see the design note. */
  void publish() {
    for (;;) {
      long bits = estimateBits.get();
      pool.setLimit(toLimit(Double.longBitsToDouble(bits)));
      if (estimateBits.get() == bits) {
        return;
      }
    }
  }

  private int toLimit(double estimate) {
    return Math.max(minLimit, Math.min(maxLimit, (int) Math.floor(estimate)));
  }

  private long updateMin(long now, long latency) {
    long start = windowStart.get();
    if (now - start >= minLatencyWindowNanos && windowStart.compareAndSet(start, now)) {
      // This race is benign: a sample concurrent with the rotation may land in either window, and
      // the effective minimum spans both, so it is at worst remembered one window longer or shorter.
      minPrevious.set(minCurrent.getAndSet(latency));
    } else {
      long current = minCurrent.get();
      while (latency < current && !minCurrent.compareAndSet(current, latency)) {
        current = minCurrent.get();
      }
    }
    return Math.min(minCurrent.get(), minPrevious.get());
  }

  private double updateSmoothed(long latency) {
    for (;;) {
      long bits = smoothedBits.get();
      double smoothed = Double.longBitsToDouble(bits);
      double next = Double.isNaN(smoothed) ? latency : smoothed + SMOOTHING * (latency - smoothed);
      if (smoothedBits.compareAndSet(bits, Double.doubleToRawLongBits(next))) {
        return next;
      }
    }
  }

  /** The continuous estimate behind the limit, in [minLimit, maxLimit]. */
  double estimate() {
    return Double.longBitsToDouble(estimateBits.get());
  }

  /** The smoothed latency of successes in nanoseconds, or NaN before the first success. */
  double smoothedLatencyNanos() {
    return Double.longBitsToDouble(smoothedBits.get());
  }

  /** The minimum success latency over the last one to two windows, or Long.MAX_VALUE if none. */
  long observedMinLatencyNanos() {
    return Math.min(minCurrent.get(), minPrevious.get());
  }
}
