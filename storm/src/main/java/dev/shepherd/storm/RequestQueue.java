package dev.shepherd.storm;

/**
 * The database's waiting requests: a double-ended ring of {@code (hub, request, arrival)} triples
 * held in primitive arrays, so queueing allocates nothing once the arrays have grown.
 *
 * <p>Both ends can be taken from: the oldest request first (first in, first out) or the newest (last
 * in, first out, which serves callers that are still waiting when the queue is long), and a
 * request can be inspected before it is taken, so a guard can drop work whose caller has left. Not
 * thread-safe: one queue belongs to one simulation.
 */
final class RequestQueue {

  private int[] hubs;
  private int[] requests;
  private long[] arrivals;
  private int head;
  private int size;

  RequestQueue(int initialCapacity) {
    int capacity = Math.max(16, Integer.highestOneBit(Math.max(1, initialCapacity - 1)) << 1);
    hubs = new int[capacity];
    requests = new int[capacity];
    arrivals = new long[capacity];
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Appends a request at the newest end. */
  void addNewest(int hub, int request, long arrival) {
    if (size == hubs.length) {
      grow();
    }
    int at = (head + size) & (hubs.length - 1);
    hubs[at] = hub;
    requests[at] = request;
    arrivals[at] = arrival;
    size++;
  }

  /** The oldest request's hub; the queue must not be empty. */
  int oldestHub() {
    return hubs[head];
  }

  /** The oldest request's number for its hub. */
  int oldestRequest() {
    return requests[head];
  }

  /** When the oldest request arrived. */
  long oldestArrival() {
    return arrivals[head];
  }

  /** Removes the oldest request. */
  void removeOldest() {
    head = (head + 1) & (hubs.length - 1);
    size--;
  }

  private int newest() {
    return (head + size - 1) & (hubs.length - 1);
  }

  /** The newest request's hub; the queue must not be empty. */
  int newestHub() {
    return hubs[newest()];
  }

  /** The newest request's number for its hub. */
  int newestRequest() {
    return requests[newest()];
  }

  /** When the newest request arrived. */
  long newestArrival() {
    return arrivals[newest()];
  }

  /** Removes the newest request. */
  void removeNewest() {
    size--;
  }

  private void grow() {
    int capacity = hubs.length;
    int[] h = new int[capacity * 2];
    int[] r = new int[capacity * 2];
    long[] a = new long[capacity * 2];
    for (int i = 0; i < size; i++) {
      int from = (head + i) & (capacity - 1);
      h[i] = hubs[from];
      r[i] = requests[from];
      a[i] = arrivals[from];
    }
    hubs = h;
    requests = r;
    arrivals = a;
    head = 0;
  }

  @Override
  public String toString() {
    return "RequestQueue{size=" + size + ", capacity=" + hubs.length + "}";
  }
}
