package dev.shepherd.ratelimit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/*
 * Why not a LongAdder. A limiter counts every decision, and on a refusal the count is the only
 * write: a LongAdder's uncontended increment is a locked compare-and-set on its base, which cost a
 * refusal about 3.5 ns of its 34 at one thread (issue 13), behind the peers that count nothing.
 *
 * Owned stripes. The first thread to increment through a stripe (chosen by its thread id) claims
 * it with one CAS; from then on that thread is the stripe's only writer, so its increments are a
 * plain load and a release store: no locked instruction, nothing to retry, and exact, because no
 * other thread writes those words. A thread whose stripe another thread owns counts in a LongAdder
 * instead, so more threads than stripes (or two ids on one stripe) cost what a LongAdder costs and
 * lose nothing. Readers sum the stripes with acquire loads plus the adder; like LongAdder.sum(),
 * the sum is exact at quiescence and otherwise some value between the counts at the start and the
 * end of the read.
 *
 * Thread ids: HotSpot hands them out from a counter and never reuses one, so an owner's stripe is
 * never written by a second thread; a Thread subclass that overrides getId() to return another
 * live thread's id breaks Thread's contract and could lose counts (never permits: the counters
 * only feed metrics). A claimed stripe stays claimed after its thread ends; later threads on it
 * use the adder.
 *
 * Layout: one array holds every stripe; a stripe is a 128-byte block (two cache lines, so the
 * adjacent-line prefetcher does not pair it with a neighbour's) holding its owner's id and one
 * count per lane, written only by its owner. Lanes let one limiter keep its granted and refused
 * counts in one set of stripes: about 1.2 KB per limiter.
 */
/**
 * A fixed number of exact, thread-safe counters (lanes) whose increments by a stripe's owner take
 * no locked instruction.
 */
final class StripedCounters {

  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
  /** Longs per stripe: 128 bytes. */
  private static final int STRIDE = 16;
  /** Owned stripes; a power of two. */
  static final int STRIPES = 8;

  /** Stripe i: owner id at STRIDE * (i + 1), lane k's count at + 1 + k; the first block is padding. */
  private final long[] cells = new long[(STRIPES + 1) * STRIDE];
  private final LongAdder[] unowned;

  /**
   * @param lanes how many counters, 1 to {@code STRIDE - 1}
   */
  StripedCounters(int lanes) {
    if (lanes < 1 || lanes >= STRIDE) {
      throw new IllegalArgumentException("lanes must be in [1, " + (STRIDE - 1) + "]: " + lanes);
    }
    unowned = new LongAdder[lanes];
    for (int k = 0; k < lanes; k++) {
      unowned[k] = new LongAdder();
    }
  }

  /** Adds one to counter {@code lane}. */
  void increment(int lane) {
    long id = Thread.currentThread().getId();
    int at = STRIDE * (1 + ((int) id & (STRIPES - 1)));
    long owner = (long) LONGS.getAcquire(cells, at);
    if (owner == id || owner == 0 && LONGS.compareAndSet(cells, at, 0L, id)) {
      int count = at + 1 + lane;
      LONGS.setRelease(cells, count, (long) LONGS.get(cells, count) + 1); // the only writer
    } else {
      unowned[lane].increment();
    }
  }

  /** Returns counter {@code lane}: exact when no increment is under way. */
  long sum(int lane) {
    long sum = unowned[lane].sum();
    for (int at = STRIDE; at < cells.length; at += STRIDE) {
      sum += (long) LONGS.getAcquire(cells, at + 1 + lane);
    }
    return sum;
  }
}
