package dev.shepherd.examples;

import java.util.Arrays;

/**
 * The simulation's future-event list: a binary min-heap of {@code (time, payload)} pairs held in
 * primitive arrays, so that scheduling an event allocates nothing once the arrays have grown.
 *
 * <p>Events are ordered by time, then by the order in which they were added (a sequence number
 * breaks ties), so two events scheduled for the same nanosecond fire first-in first-out and a run
 * is reproducible. Not thread-safe: one queue belongs to one simulation thread.
 */
final class EventQueue {

  private long[] times;
  private long[] seqs;
  private long[] payloads;
  private int size;
  private long nextSeq;
  private long lastTime;

  EventQueue(int initialCapacity) {
    int capacity = Math.max(16, initialCapacity);
    times = new long[capacity];
    seqs = new long[capacity];
    payloads = new long[capacity];
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Schedules {@code payload} at {@code time} (nanoseconds on the simulation clock). */
  void add(long time, long payload) {
    if (size == times.length) {
      int grown = times.length + (times.length >> 1);
      times = Arrays.copyOf(times, grown);
      seqs = Arrays.copyOf(seqs, grown);
      payloads = Arrays.copyOf(payloads, grown);
    }
    long seq = nextSeq++;
    int i = size++;
    // Sift up: move parents down until the new event's slot is found.
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (!less(time, seq, times[parent], seqs[parent])) {
        break;
      }
      times[i] = times[parent];
      seqs[i] = seqs[parent];
      payloads[i] = payloads[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    payloads[i] = payload;
  }

  /** Returns the time of the earliest event; the queue must not be empty. */
  long peekTime() {
    return times[0];
  }

  /**
   * Removes the earliest event and returns its payload; its time is then {@link #lastTime()}.
   * The queue must not be empty.
   */
  long poll() {
    long payload = payloads[0];
    lastTime = times[0];
    int last = --size;
    if (last > 0) {
      long time = times[last];
      long seq = seqs[last];
      long value = payloads[last];
      int i = 0;
      int half = last >>> 1;
      // Sift down the former last element from the root.
      while (i < half) {
        int child = 2 * i + 1;
        int right = child + 1;
        if (right < last && less(times[right], seqs[right], times[child], seqs[child])) {
          child = right;
        }
        if (!less(times[child], seqs[child], time, seq)) {
          break;
        }
        times[i] = times[child];
        seqs[i] = seqs[child];
        payloads[i] = payloads[child];
        i = child;
      }
      times[i] = time;
      seqs[i] = seq;
      payloads[i] = value;
    }
    return payload;
  }

  /** Returns the time of the event most recently removed by {@link #poll()}. */
  long lastTime() {
    return lastTime;
  }

  private static boolean less(long timeA, long seqA, long timeB, long seqB) {
    return timeA < timeB || (timeA == timeB && seqA < seqB);
  }
}
