package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/*
 * The queue (shaper) form of the leaky bucket, and why it is correct.
 *
 * State: one long, the time (ns, modulo 2^64) at which the queue is next free, "next". A caller
 * arriving at now gets the turn max(next, now), which is never before the previous caller's turn
 * plus that caller's span, and moves next to turn + span(n), span(n) = ceil(n * interval) ns. So
 * turns are handed out in CAS order and any two consecutive turns are at least span(n) >= n *
 * interval apart: the emission interval is never violated. Rounding each span up to a whole
 * nanosecond is what makes that possible on a nanosecond clock (a turn is a ticker reading); it
 * makes a saturated queue run at most 1 ns per request slower than the exact rate, and never
 * faster.
 *
 * A caller whose wait turn - now would exceed its limit (maxQueueDelay, or a smaller maxWait) is
 * refused before anything is written, with retry-after wait - limit: at that instant the same
 * request's wait is exactly the limit. Turns are reserved with one CAS and then slept out through
 * the Sleeper. An interrupted (or failing) sleeper CASes next back from its own turn + span to its
 * turn; that succeeds only when nobody queued after it. Otherwise the turn is forfeited: the slot
 * passes unused and the callers behind keep their (already computed) turns, so nobody is ever moved
 * earlier and spacing holds.
 *
 * Debts above H = maxQueueDelay + the longest span (both capped at 2^60 ns) cannot come from a live
 * queue: they are old "next" values whose distance wrapped, read as an empty queue (the
 * ticker-reading order argument of Gcra applies here too). The state is in whole nanoseconds, so
 * this is exact unless the queue is left alone for 2^64 - H ns (over 500 years) or more.
 */
/** The queue (shaper) form of {@link LeakyBucket}. */
final class Shaper {

  private static final VarHandle NEXT;

  static {
    try {
      NEXT = MethodHandles.lookup().findVarHandle(Shaper.class, "next", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final String name;
  final Rate rate;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private final EventListener listener;
  final long maxQueueDelayNanos;
  final Duration maxQueueDelay;
  final int maxPermits;
  /** The largest valid debt, ns: maxQueueDelay plus the longest span. */
  private final long horizon;
  private final LongAdder granted = new LongAdder();
  private final LongAdder rejected = new LongAdder();

  /** When the queue is next free, in ticker nanoseconds modulo 2^64. */
  private volatile long next;

  Shaper(String name, Rate rate, Duration maxQueueDelay, Ticker ticker, Sleeper sleeper, EventListener listener) {
    this.name = name;
    this.rate = rate;
    this.maxQueueDelay = maxQueueDelay;
    this.maxQueueDelayNanos = Durations.toNanosSaturated(maxQueueDelay);
    this.maxPermits = (int) Math.min(Integer.MAX_VALUE, Rate.MAX_TAU / rate.intervalUnits);
    this.horizon = maxQueueDelayNanos + span(maxPermits);
    this.ticker = ticker;
    this.sleeper = sleeper;
    this.listener = listener;
    this.next = ticker.read();
  }

  private int checkPermits(int permits) {
    if (permits < 1) {
      throw Checks.invalid("permits", "positive", permits);
    }
    if (permits > maxPermits) {
      throw Checks.invalid("permits", "at most " + maxPermits + " (a span of at most 2^60 time units)", permits);
    }
    return permits;
  }

  /** How long the queue is busy from now, 0 when it is free (or the state wrapped, see above). */
  private long debt(long next, long now) {
    long d = next - now;
    return d <= 0 || d > horizon ? 0 : d;
  }

  long span(int permits) {
    return rate.toNanosCeil(permits * rate.intervalUnits);
  }

  long acquireOrRetryAfterNanos(int permits) {
    long span = span(checkPermits(permits));
    for (;;) {
      long current = (long) NEXT.getVolatile(this);
      long now = ticker.read();
      long wait = debt(current, now);
      if (wait > 0) {
        reject(wait, permits);
        return wait;
      }
      if (NEXT.compareAndSet(this, current, now + span)) {
        granted.increment();
        return 0;
      }
    }
  }

  /**
   * Queues for a turn at most {@code limitNanos} away and sleeps until it; returns {@code false}, or
   * throws when {@code throwIfBeyond}, if the turn is further away.
   */
  boolean queue(int permits, long limitNanos, boolean throwIfBeyond) throws InterruptedException {
    long span = span(checkPermits(permits));
    long turn;
    long wait;
    for (;;) {
      long current = (long) NEXT.getVolatile(this);
      long now = ticker.read();
      wait = debt(current, now);
      if (wait > limitNanos) {
        long retryAfter = wait - limitNanos;
        reject(retryAfter, permits);
        if (throwIfBeyond) {
          throw new RateLimitExceededException(
              name, "queue full, the turn is more than " + maxQueueDelay + " away (maxQueueDelay)", retryAfter);
        }
        return false;
      }
      turn = now + wait;
      if (NEXT.compareAndSet(this, current, turn + span)) {
        break;
      }
    }
    if (wait > 0) {
      try {
        sleeper.sleep(Duration.ofNanos(wait));
      } catch (Throwable t) {
        NEXT.compareAndSet(this, turn + span, turn); // give the turn back if nobody queued behind it
        throw t;
      }
    }
    granted.increment();
    return true;
  }

  boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    Objects.requireNonNull(maxWait, "maxWait");
    Checks.nonNegative(maxWait, "maxWait");
    return queue(permits, Math.min(Durations.toNanosSaturated(maxWait), maxQueueDelayNanos), false);
  }

  long currentWaitNanos() {
    return debt((long) NEXT.getVolatile(this), ticker.read());
  }

  long grantedCount() {
    return granted.sum();
  }

  long rejectedCount() {
    return rejected.sum();
  }

  private void reject(long retryAfterNanos, int permits) {
    rejected.increment();
    listener.onEvent(Gcra.rejectionEvent(name, retryAfterNanos, permits, "queue turn too far away"));
  }
}
