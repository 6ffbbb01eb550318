package dev.shepherd.circuitbreaker;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A window of the last {@code size} judged calls: a ring of outcome codes and their totals.
 *
 * <p>Design note: why this is lock-free and exact where it must be.
 *
 * <p>A record takes the next position from {@code cursor} (one atomic increment) and replaces the
 * code in slot {@code position mod size} with {@code getAndSet}; the totals then move by the
 * difference between the new code and the code it replaced. Each swap's delta is added exactly
 * once, so when no record is in progress the totals equal the sum of the slots' contributions,
 * whatever the interleaving. A record whose code equals the slot's current code changes nothing and
 * writes nothing: that is the steady state of a healthy service (a success replacing a success),
 * which therefore costs one contended increment and one read of a cache line that no one writes.
 *
 * <p>Sequentially the ring holds exactly the last {@code size} outcomes. Under concurrency a record
 * delayed by {@code size} later records of the same slot may overwrite a newer outcome with an
 * older one; the totals still count exactly what the slots hold (the race is benign: the window
 * holds {@code size} recent outcomes, only not necessarily the very latest). While swaps race, a
 * total may be off by the number of racing records; the trip rule reads it as it is.
 */
final class CountWindow extends Window {

  private final int size;
  private final AtomicIntegerArray slots;
  private final AtomicLong cursor = new AtomicLong();
  private final AtomicLong totals = new AtomicLong();

  CountWindow(int size, TripRule rule) {
    super(rule);
    this.size = size;
    this.slots = new AtomicIntegerArray(size);
  }

  @Override
  boolean record(int code) {
    int slot = (int) (cursor.getAndIncrement() % size);
    if (slots.get(slot) == code) {
      return false; // nothing changes, so the verdict of the previous record stands
    }
    int old = slots.getAndSet(slot, code);
    if (old == code) {
      return false;
    }
    long now = totals.addAndGet(Counts.contribution(code) - Counts.contribution(old));
    return rule.trips(Counts.calls(now), Counts.failures(now), Counts.slow(now));
  }

  @Override
  long[] counts() {
    long t = totals.get();
    return new long[] {clamp(Counts.calls(t)), clamp(Counts.failures(t)), clamp(Counts.slow(t))};
  }

  private long clamp(long v) {
    return Math.max(0, Math.min(size, v));
  }
}
