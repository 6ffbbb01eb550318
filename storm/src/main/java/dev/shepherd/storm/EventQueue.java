package dev.shepherd.storm;

import java.util.Arrays;

/**
 * The simulation's future-event list: a 4-ary min-heap of {@code (time, payload)} pairs held in
 * two primitive arrays, so that scheduling an event allocates nothing once the arrays have grown.
 *
 * <p>A 4-ary heap is half as deep as a binary one and its children share a cache line, which
 * matters with a hundred thousand pending events. Events with equal times come out in an order
 * fixed by the sequence of operations alone, so a run is reproducible. Not thread-safe: one queue
 * belongs to one simulation thread.
 */
final class EventQueue {

  private long[] times;
  private long[] payloads;
  private int size;
  private long lastTime;

  EventQueue(int initialCapacity) {
    int capacity = Math.max(16, initialCapacity);
    times = new long[capacity];
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
      payloads = Arrays.copyOf(payloads, grown);
    }
    int i = size++;
    // Sift up: move parents down until the new event's slot is found.
    while (i > 0) {
      int parent = (i - 1) >>> 2;
      long parentTime = times[parent];
      if (parentTime <= time) {
        break;
      }
      times[i] = parentTime;
      payloads[i] = payloads[parent];
      i = parent;
    }
    times[i] = time;
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
      long value = payloads[last];
      int i = 0;
      // Sift down the former last element from the root, to the smallest of up to four children.
      while (true) {
        int first = 4 * i + 1;
        if (first >= last) {
          break;
        }
        int child = first;
        long childTime = times[first];
        int end = Math.min(first + 4, last);
        for (int c = first + 1; c < end; c++) {
          if (times[c] < childTime) {
            childTime = times[c];
            child = c;
          }
        }
        if (time <= childTime) {
          break;
        }
        times[i] = childTime;
        payloads[i] = payloads[child];
        i = child;
      }
      times[i] = time;
      payloads[i] = value;
    }
    return payload;
  }

  /** Returns the time of the event most recently removed by {@link #poll()}. */
  long lastTime() {
    return lastTime;
  }
}
