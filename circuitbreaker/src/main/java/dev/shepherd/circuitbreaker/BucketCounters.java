package dev.shepherd.circuitbreaker;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * A few counters summed over a sliding window of time buckets, lock-free and allocation-free: the
 * one kernel behind the breaker's time-based window and the adaptive throttle.
 *
 * <p>The window at time {@code t} is the bucket {@code i(t) = ⌊(t − origin) / bucketNanos⌋} and the
 * {@code buckets − 1} before it: it reaches back between {@code (buckets − 1) × bucketNanos} and
 * {@code buckets × bucketNanos}. Buckets before the origin are empty.
 *
 * <p>Design note. Counters are never reset: each is a cumulative total since the origin. The first
 * access in a new bucket {@code j} ("the roll", won by one compare-and-set of {@code latest})
 * copies the totals into mark slot {@code j mod buckets}, for every bucket between the previous
 * latest and {@code j}; then the count of the window ending in bucket {@code i} is
 * {@code total − mark[i − buckets + 1]}, two reads and a subtraction. Sequentially this is exact:
 * the marks of every bucket in the window were written by the roll that first reached it, before
 * any event of that bucket was added. Under concurrency three races are benign: an event added
 * while the roll copies the totals may be counted in the bucket before its own (it leaves the
 * window one bucket early); a reader that sees the new {@code latest} before the marks are written
 * reads the marks of {@code buckets} buckets earlier (it counts one old bucket too many, once); and
 * the totals are copied one counter at a time, so two counters may disagree by the events racing
 * with the copy (readers clamp). Nothing allocates: the roll writes into preallocated arrays.
 *
 * <p>Striping. Counter 0 may be <em>striped</em>: it is then a {@link LongAdder}, whose threads
 * move to cells of their own (each on its own cache line) once they collide. This is for a counter
 * that every call writes and few calls read (the breaker's calls: a call reads it only when the
 * failures could trip the breaker), so that two threads recording at once do not fight over one
 * line. The adder allocates its cells when it first meets contention, at most one per processor
 * and once per window; an uncontended add allocates nothing. Its sum reads every cell; it is exact
 * when no add races with it, and otherwise misses or includes the racing adds, as any read of a
 * counter being written. The roll copies that sum into the mark, so the races above stay the same.
 *
 * <p>Finding the bucket costs a multiplication, not a division, while the ticker stays in the
 * latest bucket: {@code now − origin − latest × bucketNanos ∈ [0, bucketNanos)}.
 */
final class BucketCounters {

  private final int counters;
  private final int buckets;
  private final long bucketNanos;
  private final long origin;
  private final AtomicLongArray totals;
  /** Counter 0 when striped; null otherwise. */
  private final LongAdder striped;
  private final AtomicLongArray marks;
  private final AtomicLong latest = new AtomicLong();

  /** Counters over a window of {@code buckets × bucketNanos} from {@code origin}; counter 0 striped or not. */
  BucketCounters(int counters, boolean stripeFirst, int buckets, long bucketNanos, long origin) {
    this.counters = counters;
    this.buckets = buckets;
    this.bucketNanos = bucketNanos;
    this.origin = origin;
    this.totals = new AtomicLongArray(counters);
    this.striped = stripeFirst ? new LongAdder() : null;
    this.marks = new AtomicLongArray(counters * buckets);
  }

  /** The bucket holding time {@code now}; times before the origin belong to bucket 0. */
  long bucket(long now) {
    long seen = latest.get();
    long into = now - origin - seen * bucketNanos;
    if (into >= 0 && into < bucketNanos) {
      return seen; // the common case: still in the latest bucket
    }
    long since = now - origin;
    return since <= 0 ? 0 : since / bucketNanos;
  }

  /** Moves the window forward to {@code bucket}; a no-op unless it is newer than any seen. */
  void roll(long bucket) {
    long seen = latest.get();
    while (bucket > seen) {
      if (latest.compareAndSet(seen, bucket)) {
        for (long j = Math.max(seen + 1, bucket - buckets + 1); j <= bucket; j++) {
          int base = (int) (j % buckets) * counters;
          for (int c = 0; c < counters; c++) {
            marks.set(base + c, total(c));
          }
        }
        return;
      }
      seen = latest.get();
    }
  }

  /** Adds {@code delta} to counter {@code counter}; call {@link #roll(long)} first. */
  void add(int counter, long delta) {
    if (counter == 0 && striped != null) {
      striped.add(delta);
    } else {
      totals.getAndAdd(counter, delta);
    }
  }

  /** The sum of counter {@code counter} over the window ending in {@code bucket}, never negative. */
  long sum(int counter, long bucket) {
    return sumFrom(counter, marksOf(bucket));
  }

  /**
   * Where the marks that open the window ending in {@code bucket} are, for {@link #sumFrom}: one
   * division shared by the sums of several counters. {@code -1} when the window starts at the origin.
   */
  int marksOf(long bucket) {
    long first = bucket - buckets + 1;
    return first <= 0 ? -1 : (int) (first % buckets) * counters;
  }

  /** The sum of counter {@code counter} over the window whose marks are at {@code marks}, never negative. */
  long sumFrom(int counter, int marksAt) {
    long total = total(counter);
    return marksAt < 0 ? total : Math.max(0, total - marks.get(marksAt + counter));
  }

  /** The cumulative total of counter {@code counter} since the origin. */
  private long total(int counter) {
    return counter == 0 && striped != null ? striped.sum() : totals.get(counter);
  }
}
