package dev.shepherd.storm;

/**
 * The authentication database behind the connect servers, modelled as one queue with a throughput
 * limit, honestly enough to show why an overload turns into a collapse rather than a slowdown.
 *
 * <h2>The model</h2>
 * <ul>
 *   <li><b>Capacity.</b> At full speed the database completes {@code C} authentications per second
 *       (the {@code --capacity} option). It works through its requests in arrival order, so a
 *       request waits for all the work queued ahead of it: offered load above {@code C} makes the
 *       queue, and with it the latency, grow for as long as the overload lasts.
 *   <li><b>Base latency.</b> Every answer also takes {@link #BASE_LATENCY_NANOS} (query and
 *       network), so an idle database answers in about 10 ms.
 *   <li><b>Wasted work.</b> Hubs give up after their timeout, but the database cannot know: a
 *       request whose hub has already given up is still processed when its turn comes, and its
 *       answer is thrown away. Once more than {@code timeout} seconds of work are queued, every
 *       answer arrives too late: the database is 100 % busy and 0 % useful. It stays that way for
 *       as long as the hubs keep offering about {@code C} attempts per second or more, because
 *       every retry joins the back of the same queue. That is the collapse of the outage: a
 *       metastable state, which ends only when the offered load falls well below capacity for
 *       long enough to drain the queue.
 *   <li><b>Mild degradation.</b> A long queue also costs throughput (lock and buffer contention,
 *       connection churn): the cost of a request is set when it joins the queue, from the work
 *       already queued ahead of it, and the rate falls linearly from {@code C} at an empty queue
 *       to {@code (1 - }{@value #DEGRADATION}{@code ) × C} at {@value #DEGRADATION_QUEUE_SECONDS}
 *       seconds of queued work or more. It recovers as the queue drains.
 * </ul>
 *
 * <p>Because the queue is first-in first-out and each request's cost is fixed on arrival, a
 * request's completion time is known the moment it is submitted: {@link #submit(long)} returns it,
 * and the database needs no per-request memory at all, however long its queue grows. Not
 * thread-safe: one database belongs to one simulation.
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
  private long busyUntil = Long.MIN_VALUE;

  Database(int capacityPerSecond) {
    this.capacityPerSecond = capacityPerSecond;
  }

  /**
   * Queues one authentication that arrives at {@code now}.
   *
   * @param now the simulation time, never earlier than the previous call's
   * @return when the database completes it (its answer then takes {@link #BASE_LATENCY_NANOS})
   */
  long submit(long now) {
    long queued = queuedNanos(now);
    double pressure = Math.min(1.0, queued / (DEGRADATION_QUEUE_SECONDS * NANOS_PER_SECOND));
    double rate = capacityPerSecond * (1.0 - DEGRADATION * pressure);
    long cost = Math.max(1L, Math.round(NANOS_PER_SECOND / rate));
    busyUntil = now + queued + cost;
    return busyUntil;
  }

  /**
   * Returns how much work is queued at {@code now}: how long until the database would be idle if
   * nothing more arrived.
   *
   * @param now the simulation time
   * @return nanoseconds of queued work, zero when idle
   */
  long queuedNanos(long now) {
    return busyUntil > now ? busyUntil - now : 0L;
  }
}
