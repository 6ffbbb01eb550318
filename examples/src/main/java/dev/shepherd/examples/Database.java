package dev.shepherd.examples;

/**
 * The authentication database behind the connect servers, modelled as one queue with a throughput
 * limit, honestly enough to show why an overload turns into a collapse rather than a slowdown.
 *
 * <h2>The model</h2>
 * <ul>
 *   <li><b>Capacity.</b> The database completes at most {@code C} authentications per second (the
 *       {@code --capacity} option). It works through its requests in arrival order, one unit of
 *       work ({@code 1/C} s) at a time, so a request's wait is the work queued ahead of it divided
 *       by the rate: offered load above {@code C} makes the backlog, and with it the latency, grow
 *       for as long as the overload lasts.
 *   <li><b>Base latency.</b> Every answer also takes {@link #BASE_LATENCY_NANOS} (query and
 *       network), so an idle database answers in about 10 ms.
 *   <li><b>Wasted work.</b> Clients give up after their timeout, but the database cannot know: a
 *       request whose hub has already given up is still processed when its turn comes, and its
 *       answer is thrown away. Once the backlog holds more than {@code timeout × C} requests, every
 *       answer arrives too late: the database is 100 % busy and 0 % useful. It stays that way for
 *       as long as the hubs keep offering at least {@code C} attempts per second, however many of
 *       them eventually give up, because each retry joins the back of the same queue. That is the
 *       collapse of the outage: a metastable state that more capacity only delays.
 *   <li><b>Mild degradation.</b> A large backlog also costs throughput (lock and buffer contention,
 *       connection churn): the rate falls linearly from {@code C} at an empty queue to
 *       {@code (1 - }{@value #DEGRADATION}{@code ) × C} at a backlog of {@value
 *       #DEGRADATION_BACKLOG_SECONDS} seconds of work or more, and recovers as the backlog drains.
 * </ul>
 *
 * <p>The simulation drives it: {@link #submit(long, long)} enqueues a job and, when the database
 * was idle, returns when that job will complete; {@link #complete(long)} removes the finished job
 * and {@link #nextCompletion(long)} starts the next one. Jobs are opaque {@code long}s held in a
 * growable ring buffer, so a backlog of millions costs 8 bytes each and no objects. Not
 * thread-safe: one database belongs to one simulation.
 */
final class Database {

  /** The latency of an answer from an idle database: 10 ms. */
  static final long BASE_LATENCY_NANOS = 10_000_000L;
  /** The fraction of throughput lost at a large backlog. */
  static final double DEGRADATION = 0.3;
  /** The backlog, in seconds of work at full rate, at which the degradation is complete. */
  static final int DEGRADATION_BACKLOG_SECONDS = 30;

  private final double capacityPerSecond;
  private final double degradationBacklog;
  private long[] ring = new long[1024];
  private int head;
  private int count;
  private boolean busy;
  private long completed;

  Database(int capacityPerSecond) {
    this.capacityPerSecond = capacityPerSecond;
    this.degradationBacklog = (double) DEGRADATION_BACKLOG_SECONDS * capacityPerSecond;
  }

  /**
   * Enqueues {@code job} at {@code now}.
   *
   * @return when the database, idle until now, will complete this job; or -1 when it is busy and
   *     the job waits its turn
   */
  long submit(long job, long now) {
    if (count == ring.length) {
      grow();
    }
    ring[(head + count) & (ring.length - 1)] = job;
    count++;
    if (busy) {
      return -1;
    }
    busy = true;
    return now + serviceNanos();
  }

  /** Removes and returns the job at the head of the queue, the one that completes now. */
  long complete(long now) {
    long job = ring[head];
    head = (head + 1) & (ring.length - 1);
    count--;
    completed++;
    busy = false;
    return job;
  }

  /**
   * Starts the next queued job after a completion.
   *
   * @return when it will complete, or -1 when the queue is empty and the database goes idle
   */
  long nextCompletion(long now) {
    if (count == 0) {
      return -1;
    }
    busy = true;
    return now + serviceNanos();
  }

  /** Returns the number of jobs waiting or in service. */
  int backlog() {
    return count;
  }

  /** Returns how many jobs the database has completed, useful or not. */
  long completed() {
    return completed;
  }

  /** Returns the current throughput in authentications per second, after degradation. */
  double currentRate() {
    double pressure = Math.min(1.0, count / degradationBacklog);
    return capacityPerSecond * (1.0 - DEGRADATION * pressure);
  }

  private long serviceNanos() {
    return Math.max(1L, Math.round(1e9 / currentRate()));
  }

  private void grow() {
    // The ring's length is a power of two so that wrapping is a mask.
    long[] bigger = new long[ring.length * 2];
    int first = Math.min(count, ring.length - head);
    System.arraycopy(ring, head, bigger, 0, first);
    System.arraycopy(ring, 0, bigger, first, count - first);
    ring = bigger;
    head = 0;
  }
}
