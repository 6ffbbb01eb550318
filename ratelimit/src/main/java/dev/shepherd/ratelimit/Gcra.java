package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;

/*
 * How the lock-free GCRA works, and why it is exact and correct.
 *
 * An ideal token bucket (capacity b, one token per emission interval I) is fully described by one
 * number, its theoretical arrival time TAT: the instant at which the bucket would be full again if
 * nothing else happened. At time t it holds b - max(0, TAT - t) / I tokens, so a request of n
 * permits is granted iff max(TAT, t) + n*I - t <= tau, with tau = b*I, and the new state is
 * TAT' = max(TAT, t) + n*I. A rejection changes nothing. That is the Generic Cell Rate Algorithm of
 * ATM networks; with tau = b*I it grants exactly what the token bucket grants.
 *
 * Exactness. Time is counted in units of 1/scale ns (see Rate), in which both ticker readings and
 * the interval are integers, so every quantity above is an integer and the comparison is exact: no
 * rounding, no drift, whatever the rate. A rejection's wait is the excess
 * max(TAT, t) + n*I - t - tau (in units), rounded up to a whole nanosecond because tickers tick in
 * nanoseconds: at t + wait the same request is granted, one nanosecond earlier it is not.
 *
 * Any ticker origin. The state is TAT in units modulo 2^64, and only the difference
 * d = TAT - t*scale is ever used, computed with wrapping arithmetic. Multiplication and subtraction
 * modulo 2^64 are exact, so d is right whenever the true difference lies in [-2^63, 2^63): a ticker
 * starting near Long.MIN_VALUE or wrapping past Long.MAX_VALUE changes nothing. A valid state never
 * has d above H = tau + max(tau, 1 hour) (the debt of a full burst plus accepted reservations, which
 * may queue that far ahead; Rate.horizon), so a d in (H, 2^63) can only be an old TAT whose distance
 * from now wrapped around: it is read as "full".
 *
 * Long silences: the write stamp. One long of TAT cannot tell apart every instant on a grid of
 * 1/scale ns over any idle time: after a silence of G ns with G * scale mod 2^64 in [2^64 - H, 2^64),
 * an ancient TAT reads as a debt in (0, H]. For scale 1 that takes 146 years, but for an odd rate
 * such as 1,000,003 per second (scale 1,000,003) the first such G is about 4.5 hours, and a fraction
 * H / 2^64 of longer silences (up to 1/8) would show a phantom debt. So the state carries a second
 * field, stamp: a ticker reading in plain nanoseconds (which wraps only after 292 years) that every
 * writer raises to its own reading t before its CAS whenever it is more than `slack` older (a
 * max-CAS, so it never decreases; at most once per slack, so the grant path normally only reads it,
 * from the cache line it is about to write anyway). A debt d in (0, H] is then trusted only while
 * t - stamp < staleAfter = ceil(H / scale) + slack, stamp being read after TAT:
 * - Safe: a real debt at t was written by some W at t_w with TAT <= t_w * scale + H, so
 *   t < t_w + H / scale; W raised the stamp to at least t_w - slack before its CAS, which
 *   happens-before our read of TAT and so our read of stamp: t - stamp < staleAfter. Hence a debt
 *   ignored for staleness was not real, and ignoring it never grants more than the ideal bucket.
 *   (With the clock-first order t may be older than t_w: that only makes t - stamp smaller.)
 * - Complete: a phantom needs G >= (2^64 - H) / scale ns of silence, and the stamp is no newer than
 *   the last call, so t - stamp >= G >= staleAfter (H <= 2^61 and slack <= H / scale + 1).
 * An interrupted sleeper's give-back restores a TAT whose writer already raised the stamp.

 * Lock-free, state first. A call reads the state (volatile), then the ticker, decides, and
 * publishes TAT' with one compareAndSet; if another thread changed the state in between, it rereads
 * both and decides again. Reading the state before the ticker makes the wrap test exact: a state
 * written by another thread was computed from a ticker reading taken before that thread's CAS,
 * which happens-before our read of the state, which precedes our own ticker reading; a monotonic
 * ticker therefore gives now >= the writer's now, so a fresh state never looks further ahead than
 * H. Every successful CAS is one grant of the ideal bucket applied to the latest state, so grants
 * are linearizable at their CAS. The grant path allocates nothing, takes no lock and logs nothing;
 * counters are LongAdders. tryAcquire with a wait, availablePermits and peekWaitNanos work so.
 *
 * Clock first, on the hot path. acquireOrRetryAfterNanos (behind tryAcquire()) reads the ticker
 * once, then the state, and keeps that reading t across CAS retries, as a plain CAS loop does.
 * Reading the ticker costs about as much as everything else together, and with the state read
 * first another core's grant would land in that window most of the time under contention: the
 * CAS failed and the call paid a second reading (at two threads, 2.5x the floor of nanoTime plus a
 * contended CAS; clock first, 1.2x). What a later state means for a reading t taken before it:
 * every write sets TAT to at least its writer's reading t_w (a grant or a reservation to
 * max(TAT, t_w) + n*I, an interrupted sleeper's give-back to the max(TAT, t_w) it replaced), so a
 * state written by a thread with t_w > t has TAT >= t_w > t, and the debt we compute, TAT - t, is
 * the true debt at t_w plus (t_w - t). Deciding the request as arriving at t against that state
 * is the GCRA's decision for that arrival; it grants only if the ideal bucket would also grant at
 * t_w (less debt), and a grant sets TAT' = TAT + n*I, exactly what a grant at t_w would: never
 * more permits than the ideal bucket, and every bound holds. A refusal's wait is exact from t, at
 * most t_w - t (the length of the race, normally nanoseconds) longer than from t_w. The one thing the order protects is the
 * wrap test: a debt above H may be such a fresh state seen from an earlier reading (by at most
 * t_w - t) or an ancient wrapped TAT, and only the state-first order tells them apart, so a debt
 * above H sends the call to the state-first loop, which decides it as described above. That needs
 * a bucket queued up to its horizon, so it is rare.
 *
 * Layout. The state sits alone between 128-byte paddings (GcraPadBefore, GcraPadAfter): every
 * grant writes its cache line, and the constants every call reads must not be on it.
 *
 * Reservations (tryAcquire with a wait). The wait w is the excess rounded up to a whole nanosecond:
 * the first ticker reading at which the ideal bucket would grant the request. The reservation is
 * decided now but applied as that request arriving at t + w: TAT' = max(TAT, t + w) + n*I, which may
 * lie up to maxWait beyond tau (at most up to H). So the sequence of release times is one the ideal
 * bucket would grant, and the window bound holds for releases too. (Applying it at the fractional
 * due time instead lets the next caller in less than an interval after a rounded-up release.) An
 * interrupted sleeper CASes TAT' back to the state just before its reservation; that succeeds only
 * if no one has taken permits since, because later grants and reservations were decided, and their
 * wake-ups fixed, with this reservation in place. If the CAS fails the permits stay consumed: the
 * bucket behaves as if the interrupted caller had used them at its release time, which keeps every
 * bound.
 */
/** The lock-free GCRA cell behind {@link TokenBucket} and the metering {@link LeakyBucket}. */
final class Gcra extends GcraPadAfter {

  private static final VarHandle TAT;
  private static final VarHandle STAMP;

  static {
    try {
      TAT = MethodHandles.lookup().findVarHandle(GcraState.class, "tat", long.class);
      STAMP = MethodHandles.lookup().findVarHandle(GcraState.class, "stamp", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final String name;
  final Rate rate;
  final Ticker ticker;
  final Sleeper sleeper;
  final EventListener listener;
  /** Units per nanosecond. */
  private final long scale;
  /** Emission interval, in units. */
  private final long interval;
  /** Burst tolerance, in units: a request is granted iff its excess over tau is not positive. */
  final long tau;
  /** The largest valid debt, in units: tau plus reservations up to max(tau, 1 h); see Rate. */
  private final long horizon;
  /** How much older than a writer's reading the write stamp may be, in ns; see the design note. */
  private final long stampSlack;
  /** Idle time (ns since the write stamp) after which a debt in (0, H] can only be a phantom. */
  private final long staleAfter;
  /** The most permits one request may ask for: floor(tau / interval). */
  final int maxPermits;
  /** What "at most" the permits check reports, e.g. "the burst". */
  private final String maxPermitsMeaning;

  private final LongAdder granted = new LongAdder();
  private final LongAdder rejected = new LongAdder();

  Gcra(
      String name,
      Rate rate,
      long tau,
      String maxPermitsMeaning,
      boolean startFull,
      Ticker ticker,
      Sleeper sleeper,
      EventListener listener) {
    this.name = name;
    this.rate = rate;
    this.scale = rate.scale;
    this.interval = rate.intervalUnits;
    this.tau = tau;
    this.horizon = rate.horizon(tau);
    this.stampSlack = rate.stampSlackNanos(horizon);
    this.staleAfter = rate.staleAfterNanos(horizon);
    this.maxPermits = (int) Math.min(Integer.MAX_VALUE, tau / interval);
    this.maxPermitsMeaning = maxPermitsMeaning;
    this.ticker = ticker;
    this.sleeper = sleeper;
    this.listener = listener;
    long t = ticker.read();
    long now = t * scale;
    this.tat = startFull ? now : now + tau;
    this.stamp = t;
  }

  /** Validates a permit count: 1 to {@link #maxPermits}; allocation-free unless it throws. */
  int checkPermits(int permits) {
    if (permits < 1 || permits > maxPermits) {
      throw permits < 1
          ? Checks.invalid("permits", "positive", permits)
          : Checks.invalid("permits", "at most " + maxPermits + " (" + maxPermitsMeaning + "; more could never be granted)", permits);
    }
    return permits;
  }

  /**
   * The debt d = TAT - now in units at reading {@code t} (now = t * scale), 0 when the bucket is
   * full, or when d can only be an old state whose distance wrapped (see the note). Call after
   * reading {@code tat}.
   */
  private long debt(long tat, long now, long t) {
    long d = tat - now;
    return d <= 0 || d > horizon || isStale(t) ? 0 : d;
  }

  /** Whether no state written at or after the last write stamp can still be in debt at {@code t}. */
  private boolean isStale(long t) {
    return t - (long) STAMP.getVolatile(this) >= staleAfter;
  }

  /** Raises the write stamp to {@code t} if it is more than the slack older; before every CAS of TAT. */
  private void stamp(long t) {
    long s = (long) STAMP.getVolatile(this);
    while (t - s > stampSlack) { // rare: at most about once per slack
      if (STAMP.compareAndSet(this, s, t)) {
        return;
      }
      s = (long) STAMP.getVolatile(this);
    }
  }

  long acquireOrRetryAfterNanos(int permits) {
    long cost = checkPermits(permits) * interval; // <= tau <= 2^60: no overflow
    long t = ticker.read(); // the ticker first, kept across retries: see "Clock first"
    long now = t * scale;
    for (;;) {
      long current = (long) TAT.getVolatile(this);
      long d = current - now;
      if (d > horizon) { // wrapped, or written from a later reading than ours: only state-first can tell
        return acquireStateFirst(cost, permits);
      }
      long debt = d <= 0 || isStale(t) ? 0 : d;
      long excess = debt - tau + cost;
      if (excess > 0) {
        return reject(rate.toNanosCeil(excess), permits);
      }
      stamp(t);
      if (TAT.compareAndSet(this, current, now + debt + cost)) {
        granted.increment();
        return 0;
      }
    }
  }

  /** {@link #acquireOrRetryAfterNanos} reading the state before the ticker; see the design note. */
  private long acquireStateFirst(long cost, int permits) {
    for (;;) {
      long current = (long) TAT.getVolatile(this); // before the ticker: see the design note
      long t = ticker.read();
      long now = t * scale;
      long debt = debt(current, now, t);
      long excess = debt - tau + cost;
      if (excess > 0) {
        return reject(rate.toNanosCeil(excess), permits);
      }
      stamp(t);
      if (TAT.compareAndSet(this, current, now + debt + cost)) {
        granted.increment();
        return 0;
      }
    }
  }

  boolean tryAcquire(int permits, Duration maxWait) throws InterruptedException {
    checkPermits(permits);
    Objects.requireNonNull(maxWait, "maxWait");
    Checks.nonNegative(maxWait, "maxWait");
    long cost = permits * interval;
    long maxWaitNanos = Durations.toNanosSaturated(maxWait);
    long before;
    long after;
    long wait;
    for (;;) {
      long current = (long) TAT.getVolatile(this);
      long t = ticker.read();
      long now = t * scale;
      long debt = debt(current, now, t);
      long excess = debt - tau + cost;
      wait = excess <= 0 ? 0 : rate.toNanosCeil(excess);
      // The reservation is the request arriving at its release time now + wait (a whole
      // nanosecond), decided early: TAT' = max(TAT, now + wait) + cost. Using the exact, fractional
      // due time instead would let the next caller in less than one interval after the release.
      long start = Math.max(debt, wait * scale); // wait * scale < excess + scale: no overflow
      if (wait > maxWaitNanos || start + cost > horizon) {
        reject(wait, permits);
        return false;
      }
      before = now + debt;
      after = now + start + cost;
      stamp(t);
      if (TAT.compareAndSet(this, current, after)) {
        break;
      }
    }
    if (wait > 0) {
      try {
        sleeper.sleep(Duration.ofNanos(wait));
      } catch (Throwable t) {
        // Give the reservation back if nobody has stacked on it; see the design note.
        TAT.compareAndSet(this, after, before);
        throw t;
      }
    }
    granted.increment();
    return true;
  }

  long availablePermits() {
    long current = (long) TAT.getVolatile(this);
    long t = ticker.read();
    long debt = debt(current, t * scale, t);
    return debt >= tau ? 0 : (tau - debt) / interval;
  }

  /** The wait a request for {@code permits} would be told now, without taking anything. */
  long peekWaitNanos(int permits) {
    long current = (long) TAT.getVolatile(this);
    long t = ticker.read();
    long excess = debt(current, t * scale, t) - tau + checkPermits(permits) * interval;
    return excess <= 0 ? 0 : rate.toNanosCeil(excess);
  }

  long grantedCount() {
    return granted.sum();
  }

  long rejectedCount() {
    return rejected.sum();
  }

  private long reject(long retryAfterNanos, int permits) {
    rejected.increment();
    if (listener != EventListener.noop()) { // nobody to tell: build no event, allocate nothing
      listener.onEvent(rejectionEvent(name, retryAfterNanos, permits, "rate limit exceeded"));
    }
    return retryAfterNanos;
  }

  static Event rejectionEvent(String name, long retryAfterNanos, int permits, String what) {
    String detail = permits == 1 ? what : String.format(Locale.ROOT, "%s (%d permits)", what, permits);
    return Event.rejected(name, Duration.ofNanos(retryAfterNanos), permits, detail, null);
  }
}
