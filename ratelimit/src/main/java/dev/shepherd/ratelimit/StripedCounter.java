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
 * other thread writes that word. A thread whose stripe another thread owns counts in a LongAdder
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
 * Layout: each stripe's owner and count share one 128-byte block (two cache lines, so the adjacent
 * line prefetcher does not pair it with a neighbour's), written only by its owner.
 */
/** An exact, thread-safe counter whose increments by a stripe's owner take no locked instruction. */
final class StripedCounter {

  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
  /** Longs per stripe: 128 bytes. */
  private static final int STRIDE = 16;
  /** Owned stripes; a power of two. */
  static final int STRIPES = 8;

  /** Stripe i: owner id at STRIDE * (i + 1), count right after it; the first block is padding. */
  private final long[] cells = new long[(STRIPES + 1) * STRIDE];
  private final LongAdder unowned = new LongAdder();

  /** Adds one. */
  void increment() {
    long id = Thread.currentThread().getId();
    int at = STRIDE * (1 + ((int) id & (STRIPES - 1)));
    long owner = (long) LONGS.getAcquire(cells, at);
    if (owner == id || owner == 0 && LONGS.compareAndSet(cells, at, 0L, id)) {
      LONGS.setRelease(cells, at + 1, (long) LONGS.get(cells, at + 1) + 1); // the only writer
    } else {
      unowned.increment();
    }
  }

  /** Returns the count: exact when no increment is under way. */
  long sum() {
    long sum = unowned.sum();
    for (int at = STRIDE; at < cells.length; at += STRIDE) {
      sum += (long) LONGS.getAcquire(cells, at + 1);
    }
    return sum;
  }
}
