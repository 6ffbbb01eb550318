package dev.shepherd.ratelimit;

import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Permits;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.math.BigInteger;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * The one lock-free GCRA of this package: {@link TokenBucket}, {@link LeakyBucketMeter},
 * {@link LeakyBucketShaper} and every key of {@link KeyedTokenBucket} decide with it. It holds a
 * rate's constants; the state lives in cells (see below) that it reads and writes.
 */
final class Gcra {

  /*
   * How the lock-free GCRA works, and why it is exact and correct.
   *
   * The algorithm. An ideal token bucket (capacity b, one token per emission interval I) is fully
   * described by one number, its theoretical arrival time TAT: the instant at which the bucket
   * would be full again if nothing else happened. At time t it holds b - max(0, TAT - t) / I
   * tokens, so a request of n permits is granted iff max(TAT, t) + n*I - t <= tau, with tau = b*I,
   * and the new state is TAT' = max(TAT, t) + n*I. A refusal changes nothing. That is the Generic
   * Cell Rate Algorithm of ATM networks; with tau = b*I it grants exactly what the token bucket
   * grants. Worked example, 1 per second, burst 2 (I = 1 s, tau = 2 s), all at t = 0: the first
   * request finds TAT = 0 (full) and sets TAT = 1 s; the second sets 2 s; the third would need
   * 2 s + 1 s - 0 = 3 s <= 2 s: refused, with a wait of 1 s, after which it is granted.
   *
   * The three façades differ only in their constants: tau, and how much of a request's own cost
   * counts against it ("charge" per permit). Excess = debt + permits * charge - tau; a request is
   * granted now iff excess <= 0.
   *   token bucket, keyed   tau = burst * I,        charge = I  (the GCRA above)
   *   meter                 tau = I + tolerance,    charge = I  (GCRA(I, tolerance) of ATM)
   *   shaper                tau = 0,                charge = 0  (granted iff the queue is free:
   *                         a request's turn is when the previous request's span has passed)
   * Every grant adds the request's full cost, n*I, to TAT.
   *
   * Exactness. Time is counted in units of 1/scale ns (see Rate), in which both ticker readings and
   * the interval are integers, so every quantity above is an integer and the comparison is exact: no
   * rounding, no drift, whatever the rate. A refusal's wait is the excess rounded up to a whole
   * nanosecond because tickers tick in nanoseconds: at t + wait the same request is granted, one
   * nanosecond earlier it is not.
   *
   * Cells. A cell is two longs of a long[] at index `at`: the state, TAT in units shifted left by
   * one, whose low bit marks a dead cell (evicted from a keyed table, or replaced by setRate), and
   * the write stamp (below). A single limiter's cell sits at PADDED in an array of 34 longs, alone
   * between 128 bytes on each side (two cache lines, for the adjacent-line prefetcher): every grant
   * writes that line, and nothing else, not even this object's constants, may be on it. A key's
   * cell is a long[2]. A dead cell is never written again: a call that finds one returns DEAD and
   * its façade looks the cell up afresh.
   *
   * Any ticker origin. TAT is held modulo 2^63, and only the difference d = TAT - t*scale is ever
   * used, computed with wrapping arithmetic ((s - (now << 1)) >> 1 is TAT - now modulo 2^63, read as
   * a signed number in [-2^62, 2^62)). So d is right whenever the true difference lies in that
   * range: a ticker starting near Long.MIN_VALUE or wrapping past Long.MAX_VALUE changes nothing. A
   * valid state never has d above H = horizon (a full burst's debt plus accepted reservations;
   * Rate.horizon, at most 2^61), so a d in (H, 2^62) can only be an old TAT whose distance from now
   * wrapped around: it is read as "full".
   *
   * Long silences: the write stamp. One word of TAT cannot tell apart every instant on a grid of
   * 1/scale ns over any idle time: after a silence of G ns with G * scale mod 2^63 in [2^63 - H,
   * 2^63), an ancient TAT reads as a debt in (0, H]. For scale 1 that takes 73 years, but for an odd
   * rate such as 1,000,003 per second the first such G is about 2 hours. So each cell also holds a
   * stamp: a ticker reading in plain nanoseconds (which wraps only after 292 years) that every writer
   * raises to its own reading t before its CAS whenever it is more than `slack` older (a max-CAS, so
   * it never decreases; at most once per slack, so the grant path normally only reads it, from the
   * cache line it is about to write anyway). A debt d in (0, H] is then trusted only while
   * t - stamp < staleAfter = ceil(H / scale) + slack, stamp being read after TAT:
   * - Safe: a real debt at t was written by some W at t_w with TAT <= t_w * scale + H, so
   *   t < t_w + H / scale; W raised the stamp to at least t_w - slack before its CAS, which
   *   happens-before our read of TAT and so our read of stamp: t - stamp < staleAfter. Hence a debt
   *   ignored for staleness was not real, and ignoring it never grants more than the ideal bucket.
   *   (With the clock-first order t may be older than t_w: that only makes t - stamp smaller.)
   * - Complete: a phantom needs G >= (2^63 - H) / scale ns of silence, and the stamp is no newer
   *   than the last call, so t - stamp >= G >= staleAfter (H <= 2^61, slack <= H / scale + 1).
   * An interrupted sleeper's give-back restores a TAT whose writer already raised the stamp.
   *
   * Lock-free, state first. A call reads the state (volatile), then the ticker, decides, and
   * publishes TAT' with one compareAndSet; if another thread changed the state in between, it
   * rereads both and decides again. Reading the state before the ticker makes the wrap test exact:
   * a state written by another thread was computed from a ticker reading taken before that
   * thread's CAS, which happens-before our read of the state, which precedes our own ticker
   * reading; a monotonic ticker therefore gives now >= the writer's now, so a fresh state never
   * looks further ahead than H. Every successful CAS is one grant of the ideal bucket applied to
   * the latest state, so grants are linearizable at their CAS. The grant path allocates nothing,
   * takes no lock and logs nothing. Reservations, availablePermits and peekWaitNanos work so.
   *
   * Clock first, on the hot path. acquire reads the ticker, then the state (and, after a lost
   * CAS, both again in that order; see "Contention"): reading the ticker costs about as much
   * as everything else together, and with the state read first another core's grant would land in
   * that window most of the time under contention. What a later state means for a reading t taken
   * before it: every write sets TAT to at least its writer's reading t_w (a grant or a reservation
   * to max(TAT, t_w) + n*I, an interrupted sleeper's give-back to the max(TAT, t_w) it replaced), so
   * a state written by a thread with t_w > t has TAT >= t_w > t, and the debt we compute, TAT - t,
   * is the true debt at t_w plus (t_w - t). Deciding the request as arriving at t against that state
   * is the GCRA's decision for that arrival; it grants only if the ideal bucket would also grant at
   * t_w (less debt), and a grant sets TAT' = TAT + n*I, exactly what a grant at t_w would: never
   * more permits than the ideal bucket, and every bound holds. A refusal's wait is exact from t, at
   * most t_w - t (the length of the race, normally nanoseconds) longer than from t_w. The one thing
   * the order protects is the wrap test: a debt above H may be such a fresh state seen from an
   * earlier reading or an ancient wrapped TAT, and only the state-first order tells them apart, so
   * a debt above H sends the call to the state-first loop. That needs a bucket queued up to its
   * horizon, so it is rare.
   *
   * Contention. A call whose CAS failed parks (CONTENDED_PARK_NANOS), then reads the ticker and the
   * state afresh and decides again. The winner meanwhile keeps the cache line and grants again from
   * its own cache instead of losing the line to the loser's retry; a loser wakes with a fresh
   * reading, so its decision and a refusal's wait are as exact as an uncontended call's. A call
   * parks at most once: if it loses again it retries at once, so no call waits more than one park.
   * Measured at 2 threads against retrying at once, retrying on compareAndExchange's witness, a
   * read for ownership and bounded exponential spinning (CasBackoffBenchmark, issue 13; see
   * benchmarks/RESULTS.md), parking gave the lowest mean and p99 in every run. How long: while both
   * threads run, every grant moves the line between cores (about 100 ns); a park lets the winner
   * grant alone at the uncontended cost until the loser wakes and the two collide again, so the
   * park's length sets how rare the slow calls are. parkNanos(1), Resilience4j's choice, sleeps for
   * the OS timer slack (tens of microseconds on Linux), short enough that about one call in a
   * thousand waited for it at 2 threads; a quarter of a millisecond made it about one in ten
   * thousand, with the same mean (benchmarks/RESULTS.md, issue 13, fourth session). Only the
   * non-waiting acquire parks: reservations, the state-first fallback and rate changes are rare
   * paths and retry at once.
   *
   * Reservations (tryAcquire with a wait). The wait w is the excess rounded up to a whole
   * nanosecond: the first ticker reading at which the ideal bucket would grant the request. The
   * reservation is decided now but applied as that request arriving at t + w:
   * TAT' = max(TAT, t + w) + n*I, at most H ahead. So the sequence of release times is one the ideal
   * bucket would grant, and the window bound holds for releases too. (Applying it at the
   * fractional due time instead lets the next caller in less than an interval after a rounded-up
   * release.) A refusal's retry-after is the least x such that the same request, x ns later, waits
   * at most maxWait and fits the horizon. An interrupted (or failing) sleeper CASes TAT' back to the
   * state just before its reservation; that succeeds only if no one has taken permits since,
   * because later grants and reservations were decided, and their wake-ups fixed, with this
   * reservation in place. If the CAS fails the permits stay consumed: the bucket behaves as if the
   * interrupted caller had used them at its release time, which keeps every bound.
   *
   * A rate change (TokenBucket.setRate) kills the cell with one CAS from the state s it converts,
   * and starts a new cell owing the same number of permits at the new rate, rounded up:
   * debt' = ceil(debt * I' / I). A call racing with it either wins its CAS before (and is in s) or
   * finds the cell dead and retries on the new one, so nothing granted or reserved is lost.
   */

  /** How long a grant that lost its CAS steps aside, once: see "Contention" in the design note. */
  static final long CONTENDED_PARK_NANOS = 250_000L;
  /** Returned by calls that found their cell dead (evicted or replaced): look the cell up again. */
  static final long DEAD = Long.MIN_VALUE;
  /** The index of a single limiter's state in its padded cell; the stamp follows it. */
  static final int PADDED = 16;
  /** What a refusal's event says. */
  static final String EXCEEDED = "rate limit exceeded";

  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
  /** The length of a padded cell: 16 longs of padding, state, stamp, 16 longs of padding. */
  private static final int PADDED_LENGTH = 34;

  final Rate rate;
  final Tally tally;
  final Ticker ticker;
  final Sleeper sleeper;
  /** Units per nanosecond. */
  private final long scale;
  /** Emission interval, in units: what each permit adds to TAT. */
  private final long interval;
  /** Tolerance, in units: a request is granted iff debt + permits * charge - tau is not positive. */
  final long tau;
  /** Units of a request's own cost that count against tau: the interval, or 0 for a shaper. */
  private final long charge;
  /** The largest valid debt, in units. */
  final long horizon;
  /** How much older than a writer's reading the write stamp may be, in ns; see the design note. */
  private final long stampSlack;
  /** Idle time (ns since the write stamp) after which a debt in (0, H] can only be a phantom. */
  private final long staleAfter;
  /** The most permits one request may ask for. */
  final int maxPermits;
  /** What "at most" the permits check reports, e.g. "the burst". */
  private final String maxPermitsMeaning;
  /** A single limiter's padded cell (state at {@link #PADDED}), or null for a keyed one's kernel. */
  final long[] own;

  /**
   * A kernel; with {@code ownDebt >= 0} it also creates its own padded cell owing that debt (in
   * units) at the ticker reading {@code t}.
   */
  Gcra(Rate rate, long tau, long charge, long horizon, int maxPermits, String maxPermitsMeaning,
      Ticker ticker, Sleeper sleeper, Tally tally, long ownDebt, long t) {
    this.rate = rate;
    this.scale = rate.scale;
    this.interval = rate.intervalUnits;
    this.tau = tau;
    this.charge = charge;
    this.horizon = horizon;
    this.stampSlack = rate.stampSlackNanos(horizon);
    this.staleAfter = rate.staleAfterNanos(horizon);
    this.maxPermits = maxPermits;
    this.maxPermitsMeaning = maxPermitsMeaning;
    this.ticker = ticker;
    this.sleeper = sleeper;
    this.tally = tally;
    if (ownDebt >= 0) {
      this.own = new long[PADDED_LENGTH];
      own[PADDED] = (t * scale + ownDebt) << 1;
      own[PADDED + 1] = t;
    } else {
      this.own = null;
    }
  }

  /** A token bucket's kernel (also each key's): tau = burst * I, its own cell full or empty. */
  static Gcra bucket(Rate rate, int burst, boolean ownCell, boolean startFull, Ticker ticker, Sleeper sleeper,
      Tally tally) {
    long tau = rate.tauForBurst(burst);
    long t = ticker.read();
    return new Gcra(rate, tau, rate.intervalUnits, rate.horizon(tau), burst, "the burst",
        ticker, sleeper, tally, ownCell ? (startFull ? 0 : tau) : -1, t);
  }

  /** Validates a permit count: 1 to {@link #maxPermits}; allocation-free unless it throws. */
  int checkPermits(int permits) {
    return Permits.check(permits, maxPermits, maxPermitsMeaning);
  }

  /**
   * The debt d = TAT - now in units of state {@code s} at reading {@code t} (now = t * scale), 0
   * when the bucket is full, or when d can only be an old state whose distance wrapped (see the
   * note). Call after reading {@code s}.
   */
  private long debt(long[] c, int at, long s, long now, long t) {
    long d = (s - (now << 1)) >> 1;
    return d <= 0 || d > horizon || isStale(c, at, t) ? 0 : d;
  }

  /** Whether no state written at or after the cell's write stamp can still be in debt at {@code t}. */
  private boolean isStale(long[] c, int at, long t) {
    return t - (long) SLOT.getVolatile(c, at + 1) >= staleAfter;
  }

  /** Raises the write stamp to {@code t} if it is more than the slack older; before every CAS of TAT. */
  private void stamp(long[] c, int at, long t) {
    long s = (long) SLOT.getVolatile(c, at + 1);
    while (t - s > stampSlack) { // rare: at most about once per slack
      long witness = (long) SLOT.compareAndExchange(c, at + 1, s, t);
      if (witness == s) {
        return;
      }
      s = witness;
    }
  }

  /** The single limiter's non-waiting acquire; see {@link #acquire(long[], int, int)}. */
  long acquire(int permits) {
    return acquire(own, PADDED, permits);
  }

  /**
   * Takes {@code permits} now or refuses: 0 if granted, else the exact wait in ns (positive), or
   * {@link #DEAD}. Clock first; see the design note.
   */
  long acquire(long[] c, int at, int permits) {
    long cost = checkPermits(permits) * interval; // <= 2^60: no overflow
    long need = permits * charge - tau;
    long t = ticker.read(); // the ticker first: see "Clock first"
    long now = t * scale;
    long s = (long) SLOT.getVolatile(c, at);
    boolean parked = false;
    for (;;) {
      if ((s & 1) != 0) {
        return DEAD;
      }
      long d = (s - (now << 1)) >> 1;
      if (d > horizon) { // wrapped, or written from a later reading than ours: only state-first can tell
        return acquireStateFirst(c, at, cost, need, permits);
      }
      long debt = d <= 0 || isStale(c, at, t) ? 0 : d;
      long excess = debt + need;
      if (excess > 0) {
        return tally.reject(rate.toNanosCeil(excess), permits, EXCEEDED);
      }
      stamp(c, at, t);
      if (SLOT.compareAndSet(c, at, s, (now + debt + cost) << 1)) {
        tally.grant();
        return 0;
      }
      if (!parked) { // see "Contention": step aside once while the winner keeps the line
        parked = true;
        LockSupport.parkNanos(CONTENDED_PARK_NANOS);
      }
      t = ticker.read();
      now = t * scale;
      s = (long) SLOT.getVolatile(c, at);
    }
  }

  /** {@link #acquire} reading the state before the ticker; see the design note. */
  private long acquireStateFirst(long[] c, int at, long cost, long need, int permits) {
    for (;;) {
      long s = (long) SLOT.getVolatile(c, at); // before the ticker: see the design note
      if ((s & 1) != 0) {
        return DEAD;
      }
      long t = ticker.read();
      long now = t * scale;
      long debt = debt(c, at, s, now, t);
      long excess = debt + need;
      if (excess > 0) {
        return tally.reject(rate.toNanosCeil(excess), permits, EXCEEDED);
      }
      stamp(c, at, t);
      if (SLOT.compareAndSet(c, at, s, (now + debt + cost) << 1)) {
        tally.grant();
        return 0;
      }
    }
  }

  /** The single limiter's reservation; see {@link #tryAcquire(long[], int, int, long)}. */
  long tryAcquire(int permits, long maxWaitNanos) throws InterruptedException {
    return tryAcquire(own, PADDED, permits, maxWaitNanos);
  }

  /**
   * Takes {@code permits}, reserving them and sleeping when they are due within
   * {@code maxWaitNanos} and the reservation fits the horizon: returns 0 once granted (after the
   * wait), else the exact retry-after in ns (positive) having taken nothing, or {@link #DEAD}.
   */
  long tryAcquire(long[] c, int at, int permits, long maxWaitNanos) throws InterruptedException {
    long cost = checkPermits(permits) * interval;
    long need = permits * charge - tau;
    long before;
    long after;
    long wait;
    for (;;) {
      long s = (long) SLOT.getVolatile(c, at);
      if ((s & 1) != 0) {
        return DEAD;
      }
      long t = ticker.read();
      long now = t * scale;
      long debt = debt(c, at, s, now, t);
      long excess = debt + need;
      wait = excess <= 0 ? 0 : rate.toNanosCeil(excess);
      // The reservation is the request arriving at its release time now + wait (a whole
      // nanosecond), decided early: TAT' = max(TAT, now + wait) + cost.
      long start = Math.max(debt, wait * scale); // wait * scale < excess + scale: no overflow
      if (wait > maxWaitNanos || start + cost > horizon) {
        return tally.reject(retryAfter(debt, cost, wait, maxWaitNanos), permits, EXCEEDED);
      }
      before = now + debt;
      after = now + start + cost;
      stamp(c, at, t);
      if (SLOT.compareAndSet(c, at, s, after << 1)) {
        break;
      }
    }
    if (wait > 0) {
      try {
        sleeper.sleep(Duration.ofNanos(wait));
      } catch (Throwable e) {
        // Give the reservation back if nobody has stacked on it; see the design note.
        SLOT.compareAndSet(c, at, after << 1, before << 1);
        throw e;
      }
    }
    tally.grant();
    return 0;
  }

  /**
   * The least x (ns, at least 1) such that the same reservation, x ns later and with no traffic
   * in between, would wait at most {@code maxWaitNanos} and fit the horizon: debt and wait both
   * shrink by x (in units and ns), and start + cost <= H needs debt + cost <= H and
   * wait * scale + cost <= H.
   */
  private long retryAfter(long debt, long cost, long wait, long maxWaitNanos) {
    long room = horizon - cost; // >= 0: cost <= tau <= H, or the shaper's H >= its largest cost
    long x = Math.max(wait - maxWaitNanos, wait - room / scale);
    x = Math.max(x, -Math.floorDiv(room - debt, scale)); // ceil((debt - room) / scale)
    return Math.max(1, x);
  }

  /** Whole permits available now in the single limiter's cell. */
  long availablePermits() {
    long s = (long) SLOT.getVolatile(own, PADDED);
    long t = ticker.read();
    long debt = debt(own, PADDED, s, t * scale, t);
    return debt >= tau ? 0 : (tau - debt) / interval;
  }

  /** The wait a request for {@code permits} would be told now, without taking anything. */
  long peekWaitNanos(int permits) {
    long s = (long) SLOT.getVolatile(own, PADDED);
    long t = ticker.read();
    long excess = debt(own, PADDED, s, t * scale, t) + checkPermits(permits) * charge - tau;
    return excess <= 0 ? 0 : rate.toNanosCeil(excess);
  }

  /** A new key's cell, full, with a grant of {@code permits} (at most the burst) applied at {@code t}. */
  long[] grantedCell(int permits, long t) {
    return new long[] {(t * scale + permits * interval) << 1, t};
  }

  /**
   * Kills a key's cell if it has refilled: returns 0 if this call killed it, -1 if it was dead
   * already, else a hint in ns (positive) until it will have refilled.
   */
  long killIfRefilled(long[] c) {
    long s = (long) SLOT.getVolatile(c, 0);
    if ((s & 1) != 0) {
      return -1;
    }
    long t = ticker.read(); // state first, then ticker: see the design note
    long d = debt(c, 0, s, t * scale, t);
    if (d > 0) {
      return rate.toNanosCeil(d);
    }
    return SLOT.compareAndSet(c, 0, s, s | 1) ? 0 : 1; // a CAS lost to a grant: busy again
  }

  /**
   * Kills this single limiter's cell and returns a kernel at {@code next} owing the same permits,
   * rounded up; see the design note. The caller serialises rate changes.
   */
  Gcra withRate(Rate next) {
    long[] c = own;
    long newTau = burstTau(next);
    for (;;) {
      long s = (long) SLOT.getVolatile(c, PADDED); // never dead: rate changes are serialised
      long t = ticker.read();
      long debt = debt(c, PADDED, s, t * scale, t);
      BigInteger owed = BigInteger.valueOf(debt).multiply(BigInteger.valueOf(next.intervalUnits));
      BigInteger[] qr = owed.divideAndRemainder(BigInteger.valueOf(interval));
      BigInteger units = qr[1].signum() == 0 ? qr[0] : qr[0].add(BigInteger.ONE);
      long converted = units.min(BigInteger.valueOf(Rate.HORIZON)).longValueExact();
      long h = Math.max(next.horizon(newTau), converted);
      Gcra g = new Gcra(next, newTau, next.intervalUnits, h, maxPermits, maxPermitsMeaning,
          ticker, sleeper, tally, converted, t);
      if (SLOT.compareAndSet(c, PADDED, s, s | 1)) {
        return g;
      }
    }
  }

  /** This bucket's burst, {@link #maxPermits}, as a tolerance at the rate {@code r}. */
  private long burstTau(Rate r) {
    return r.tauForBurst(maxPermits);
  }
}
