package dev.shepherd.ratelimit.redis;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/*
 * Lease mode: permits taken from Redis in batches and spent locally, and why the fleet stays
 * within burst + rate * d + servers * size in any window of length d.
 *
 * State. held: permits this limiter took from Redis and has not spent; refilling: whether one
 * refill is in flight. Only the refiller adds to held, and at most one refill runs at a time (the
 * flag's CAS), so:
 *
 *   (I) held <= size at every instant.
 *
 * Proof. Spending only lowers held. A refill first takes the whole leftover, left = getAndSet(0)
 * (so while it runs held only starts from 0, and nobody else adds), asks Redis for at least
 * need = permits - left and at most want = size - left, and on m permits puts back
 * left + m - permits <= left + (size - left) - permits < size; on a refusal or failure it puts back
 * left <= size. Spends racing with the refill can only lower held further. (A spender that lost
 * the race for the leftover simply finds held too low and goes to Redis itself: never more.)
 *
 * The bound. Redis (one GCRA bucket, shared by direct checks and leases) grants at most
 * burst + rate * d in any window of length d (GcraScript's guarantee). Permits spent locally in a
 * window W = [t, t + d] were either taken from Redis within W, or held at t: at most size per
 * limiter by (I). So the fleet's N limiters grant at most burst + rate * d + N * size in W.
 * LeaseProperties checks this against the exact model on random schedules.
 *
 * Cost. A grant from the lease is one CAS on held: no round trip, no lock, no allocation. A
 * refill is one script call on one key, like a direct check. While a refill is in flight, a
 * blocking caller does not wait for it: it asks Redis directly for its own permits (BUSY),
 * exactly, so leases never make a thread wait longer than a check would. An asynchronous caller
 * chains on the refill in flight instead (afterAsyncRefill) and tries the lease once more before
 * asking Redis itself: it blocks nothing, and with many checks in flight one round trip serves
 * them all. Neither changes what is held, so (I) and the bound stand.
 *
 * Retirement (the keyed limiter's leases, LeaseTable). retire() takes the refilling flag for good
 * and drops what is held: from then on no refill can start (refillAndTake answers BUSY, so the
 * caller asks Redis directly, exactly), and since only a refill adds to held, held stays 0. The
 * dropped permits were taken from Redis and are never granted: fewer grants, never more. A lease
 * with a refill in flight cannot be retired. So a retired lease holds nothing, and (I) for the
 * lease that replaces it bounds everything a limiter holds for its key.
 */
/** A batch of permits taken from Redis and spent locally. Thread-safe, lock-free. */
final class Lease {

  /** Asks Redis for at least {@code need} and at most {@code want} permits. */
  interface Refill {
    /**
     * Returns the permits taken ({@code need <= m <= want}), or a non-positive code: minus the
     * retry-after in microseconds, {@link RedisGcra#UNAVAILABLE} or {@link RedisGcra#NOT_UNDERSTOOD}.
     */
    long take(int need, int want);
  }

  /** The asynchronous {@link Refill}: the stage completes with the same values, never exceptionally. */
  interface AsyncRefill {
    CompletableFuture<Long> take(int need, int want);
  }

  /** {@link #refillAndTake} result: another refill is in flight; ask Redis directly. */
  static final long BUSY = Long.MIN_VALUE + 2;

  final int size;
  private final AtomicLong held = new AtomicLong();
  private final AtomicBoolean refilling = new AtomicBoolean();
  /** The asynchronous refill in flight (or the last one), for callers who found it busy. */
  private volatile CompletableFuture<Long> lastAsyncRefill = CompletableFuture.completedFuture(0L);

  /** A lease of {@code size} permits, at least 1. */
  Lease(int size) {
    this.size = size;
  }

  /** Spends {@code permits} from the lease if it holds them: one CAS loop, no allocation. */
  boolean tryTake(int permits) {
    for (;;) {
      long h = held.get();
      if (h < permits) {
        return false;
      }
      if (held.compareAndSet(h, h - permits)) {
        return true;
      }
    }
  }

  /**
   * Refills the lease and spends {@code permits} ({@code 1 <= permits <= size}) from it: returns
   * 0 if granted, {@link #BUSY} if another refill is in flight, else the refill's code.
   */
  long refillAndTake(int permits, Refill refill) {
    if (!refilling.compareAndSet(false, true)) {
      return BUSY;
    }
    try {
      long left = held.getAndSet(0);
      if (left >= permits) { // a refill finished between the caller's tryTake and this one
        held.addAndGet(left - permits);
        return 0;
      }
      int need = (int) (permits - left);
      int want = (int) (size - left);
      long r = refill.take(need, want);
      return settle(r, left, permits, need);
    } finally {
      refilling.set(false);
    }
  }

  /** The asynchronous {@link #refillAndTake}; the stage never completes exceptionally. */
  CompletableFuture<Long> refillAndTakeAsync(int permits, AsyncRefill refill) {
    if (!refilling.compareAndSet(false, true)) {
      return CompletableFuture.completedFuture(BUSY);
    }
    long left = held.getAndSet(0);
    if (left >= permits) {
      held.addAndGet(left - permits);
      refilling.set(false);
      return CompletableFuture.completedFuture(0L);
    }
    int need = (int) (permits - left);
    int want = (int) (size - left);
    CompletableFuture<Long> f;
    try {
      f = refill.take(need, want);
    } catch (RuntimeException e) {
      held.addAndGet(left);
      refilling.set(false);
      throw e;
    }
    CompletableFuture<Long> result = f.handle((r, error) -> {
      try {
        return error != null ? settle(RedisGcra.UNAVAILABLE, left, permits, need) : settle(r, left, permits, need);
      } finally {
        refilling.set(false);
      }
    });
    lastAsyncRefill = result;
    return result;
  }

  /**
   * A stage that completes once the asynchronous refill in flight (if any) has settled the lease,
   * normally in every case: an asynchronous caller who found the lease busy chains on it and tries
   * the lease again, instead of paying its own round trip.
   */
  CompletableFuture<Long> afterAsyncRefill() {
    return lastAsyncRefill;
  }

  private long settle(long r, long left, int permits, int need) {
    if (r >= need) {
      held.addAndGet(left + r - permits);
      return 0;
    }
    held.addAndGet(left); // nothing taken: the leftover stays ours, still <= size
    return r > 0 ? RedisGcra.NOT_UNDERSTOOD : r; // r in (0, need) cannot come from a valid reply
  }

  /**
   * Retires this lease for good, dropping the permits it holds (they are never granted); no refill
   * starts on it again. Returns false, changing nothing, if a refill is in flight.
   */
  boolean retire() {
    if (!refilling.compareAndSet(false, true)) {
      return false;
    }
    held.set(0);
    return true;
  }

  /** The permits held now, taken from Redis and not yet spent (a racy snapshot, for metrics). */
  long outstanding() {
    return held.get();
  }
}
