package dev.shepherd.storm;

/**
 * The authentication database behind the connect servers: one queue of requests in front of a
 * server with a throughput limit, honestly enough to show why an overload turns into a collapse
 * rather than a slowdown.
 *
 * <h2>The model</h2>
 * <ul>
 *   <li><b>Capacity.</b> At full speed the database completes {@code C} authentications per second,
 *       one at a time, each taking {@code 1 / C}. Requests wait in a real {@link RequestQueue}, taken
 *       oldest first: offered load above {@code C} makes the queue, and with it the latency, grow
 *       for as long as the overload lasts.
 *   <li><b>Base latency.</b> Every answer also takes {@link #BASE_LATENCY_NANOS} (query and
 *       network), so an idle database answers in about 10 ms.
 *   <li><b>Wasted work.</b> Hubs give up after their timeout, but the database does not know: a
 *       request whose hub has already given up is still processed when its turn comes, and its
 *       answer is thrown away. Once more than {@code timeout} seconds of work are queued, every
 *       answer arrives too late: the database is 100 % busy and 0 % useful, for as long as the
 *       hubs keep offering about {@code C} attempts per second or more. That is the collapse of the
 *       outage: a metastable state, which ends only when the offered load falls well below
 *       capacity for long enough to drain the queue. (Because the queue is real, a guard can drop
 *       such work before it starts, or serve the newest request first.)
 *   <li><b>Mild degradation.</b> A long queue also costs throughput (lock and buffer contention,
 *       connection churn): each request's service time is set when it starts, from the work queued
 *       behind it, and the rate falls linearly from {@code C} at an empty queue to
 *       {@code (1 - }{@value #DEGRADATION}{@code ) × C} at {@value #DEGRADATION_QUEUE_SECONDS}
 *       seconds of queued work or more.
 * </ul>
 *
 * <p>Not thread-safe: one database belongs to one simulation, which tells it the time.
 */
final class Database {

  /** The latency of an answer from an idle database: 10 ms. */
  static final long BASE_LATENCY_NANOS = 10_000_000L;
  /** The fraction of throughput lost under a long queue. */
  static final double DEGRADATION = 0.15;
  /** The queued work, in seconds, at which the degradation is complete. */
  static final int DEGRADATION_QUEUE_SECONDS = 30;

  private static final double NANOS_PER_SECOND = 1e9;

  private final double capacityPerSecond;
  private final RequestQueue queue = new RequestQueue(1024);
  private boolean busy;
  private int currentHub = -1;
  private int currentRequest;
  private int peakQueue;

  Database(int capacityPerSecond) {
    this.capacityPerSecond = capacityPerSecond;
  }

  /**
   * Queues one request that arrives now.
   *
   * @return true if the database was idle: the caller must {@link #startNext(long)} it
   */
  boolean offer(long now, int hub, int request) {
    queue.addNewest(hub, request, now);
    peakQueue = Math.max(peakQueue, queue.size());
    return !busy;
  }

  /**
   * Starts the next request, if any, oldest first.
   *
   * @return when it completes, or -1 if nothing waits (the database is then idle)
   */
  long startNext(long now) {
    if (queue.isEmpty()) {
      busy = false;
      currentHub = -1;
      return -1;
    }
    currentHub = queue.oldestHub();
    currentRequest = queue.oldestRequest();
    queue.removeOldest();
    busy = true;
    return now + serviceNanos();
  }

  /** The service time of a request starting now, from the work still queued behind it. */
  private long serviceNanos() {
    double queuedSeconds = queue.size() / capacityPerSecond;
    double pressure = Math.min(1.0, queuedSeconds / DEGRADATION_QUEUE_SECONDS);
    double rate = capacityPerSecond * (1.0 - DEGRADATION * pressure);
    return Math.max(1L, Math.round(NANOS_PER_SECOND / rate));
  }

  /** The hub of the request in service, or -1 when idle. */
  int currentHub() {
    return currentHub;
  }

  /** The number, for its hub, of the request in service. */
  int currentRequest() {
    return currentRequest;
  }

  /** How many requests wait (the one in service not included). */
  int queued() {
    return queue.size();
  }

  /** The most requests that ever waited at once. */
  int peakQueue() {
    return peakQueue;
  }
}
