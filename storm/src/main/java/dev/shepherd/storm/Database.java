package dev.shepherd.storm;

import dev.shepherd.bulkhead.DeadlineGuard;
import dev.shepherd.core.Deadline;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The authentication database behind the connect servers: one queue of requests in front of a
 * server with a throughput limit, honestly enough to show why an overload turns into a collapse
 * rather than a slowdown.
 *
 * <h2>The model</h2>
 * <ul>
 *   <li><b>Capacity.</b> At full speed the database completes {@code C} authentications per second,
 *       one at a time, each taking {@code 1 / C}. Offered load above {@code C} makes the queue, and
 *       with it the latency, grow for as long as the overload lasts.
 *   <li><b>Base latency.</b> Every answer also takes {@link #BASE_LATENCY_NANOS} (query and
 *       network), so an idle database answers in about 10 ms.
 *   <li><b>The queue</b> follows a {@link QueuePolicy}. Unguarded, it is a {@link RequestQueue} taken
 *       oldest first, and a request whose hub has already given up is still processed when its turn
 *       comes (its answer is thrown away: <em>wasted</em>). Once more than {@code timeout} seconds of
 *       work are queued, every answer arrives too late: 100 % busy and 0 % useful, for as long as
 *       the hubs keep offering about {@code C} attempts per second: the metastable collapse of the
 *       outage. Guarded, the queue is the library's {@link DeadlineGuard} with one permit (the
 *       database's one worker) on the simulation's clock, which drops work whose deadline has
 *       passed, or that could not finish before it given the measured service time
 *       ({@code dropIfCannotFinish}), instead of starting it. Each request the worker finds late when it
 *       takes the next one costs it {@link QueuePolicy#dropCost()} service times; late requests the
 *       guard clears from the queue's oldest end when a request arrives cost the worker nothing (the
 *       arriving caller's thread does it).
 *   <li><b>Drops take time, one after another.</b> The guard decides a pick's drops at one instant,
 *       but the worker pays for them in sequence from that instant: a request granted in the same
 *       pick starts once they are all paid (it lay behind them). A request granted because it
 *       <em>arrived</em> while the worker was still paying starts once the worker has finished the
 *       drop in hand, as a real worker that looks at its queue again after every drop would: the
 *       arrival is then the newest request and, by the guard's rule, clears the late ones still
 *       ahead of the worker at the oldest end for nothing. (Charging the whole walk to the arrival
 *       instead would make a wave that expires at once cost the database minutes of work no real
 *       server does, during which the next wave expires too.)
 *   <li><b>Mild degradation.</b> A long queue also costs throughput (lock and buffer contention,
 *       connection churn): each request's service time is set when it starts, from the work queued
 *       behind it, and the rate falls linearly from {@code C} at an empty queue to
 *       {@code (1 - }{@value #DEGRADATION}{@code ) × C} at {@value #DEGRADATION_QUEUE_SECONDS}
 *       seconds of queued work or more.
 * </ul>
 *
 * <p>Not thread-safe: one database belongs to one simulation, which tells it the time (the guard's
 * callbacks run synchronously on the simulation's thread).
 */
final class Database {

  /** The latency of an answer from an idle database: 10 ms. */
  static final long BASE_LATENCY_NANOS = 10_000_000L;
  /** The fraction of throughput lost under a long queue. */
  static final double DEGRADATION = 0.15;
  /** The queued work, in seconds, at which the degradation is complete. */
  static final int DEGRADATION_QUEUE_SECONDS = 30;

  private static final double NANOS_PER_SECOND = 1e9;

  /** What the database tells the simulation. */
  interface Listener {
    /** A request started; it completes at {@code doneAt}, when {@link #finish()} must be called. */
    void started(long doneAt);

    /** The guard dropped a request before starting it. */
    void dropped(int hub, int request);
  }

  private final double capacityPerSecond;
  private final double degradation;
  private final double capacityFactor;
  private final long reducedUntilNanos;
  private final ManualClock clock;
  private final Listener listener;
  private final RequestQueue queue;
  private final DeadlineGuard guard;
  private final long dropCostNanos;
  private boolean busy;
  private int currentHub = -1;
  private int currentRequest;
  private CompletableFuture<Void> inService;
  /** When the worker has paid for the drops of its last pick, on the simulation clock. */
  private long dropsPaidAt;
  /** Whether the worker is choosing its next request: only its own drops cost it time. */
  private boolean choosing;
  private int peakQueue;
  private long dropped;

  Database(int capacityPerSecond, QueuePolicy policy, ManualClock clock, Listener listener) {
    this(capacityPerSecond, policy, clock, listener, DEGRADATION, 1.0, 0L);
  }

  /**
   * A database whose throughput falls by {@code degradation} under a long queue, and which runs at
   * {@code capacityFactor} of its capacity until {@code reducedUntilNanos} (a capacity drop).
   */
  Database(int capacityPerSecond, QueuePolicy policy, ManualClock clock, Listener listener, double degradation,
      double capacityFactor, long reducedUntilNanos) {
    this.capacityPerSecond = capacityPerSecond;
    this.degradation = degradation;
    this.capacityFactor = capacityFactor;
    this.reducedUntilNanos = reducedUntilNanos;
    this.clock = clock;
    this.listener = listener;
    this.dropCostNanos = Math.round(policy.dropCost() * NANOS_PER_SECOND / capacityPerSecond);
    if (policy.guarded()) {
      queue = null;
      guard = DeadlineGuard.builder()
          .name("auth-database")
          .maxConcurrent(1)
          .maxQueue(Integer.MAX_VALUE)
          .dropIfCannotFinish(true)
          .order(policy.newestFirst() ? DeadlineGuard.Order.NEWEST_FIRST : DeadlineGuard.Order.OLDEST_FIRST)
          .ticker(clock)
          .listener(EventListener.noop())
          .build();
    } else {
      queue = new RequestQueue(1024);
      guard = null;
    }
  }

  /**
   * Queues one request that arrives now, for a hub whose answer must be ready by
   * {@code deadlineNanos} on the simulation clock (the guard drops it after that; unguarded, it is
   * served anyway).
   */
  void offer(int hub, int request, long deadlineNanos) {
    long now = clock.read();
    if (guard == null) {
      queue.addNewest(hub, request, now);
      peakQueue = Math.max(peakQueue, queue.size());
      if (!busy) {
        startNext();
      }
      return;
    }
    Deadline deadline = Deadline.after(Duration.ofNanos(deadlineNanos - now), clock);
    guard.callAsync(deadline, () -> start(hub, request)).whenComplete((ignored, failure) -> {
      if (failure != null) { // only a drop fails: the work itself never does, and the queue is unbounded
        dropped++;
        if (choosing) {
          dropsPaidAt = Math.max(dropsPaidAt, clock.read()) + dropCostNanos;
        }
        listener.dropped(hub, request);
      }
    });
    peakQueue = Math.max(peakQueue, guard.queued());
  }

  /** Called by the guard when it grants the worker to a request. */
  private CompletionStage<Void> start(int hub, int request) {
    currentHub = hub;
    currentRequest = request;
    busy = true;
    inService = new CompletableFuture<>();
    long now = clock.read();
    long startsAt = now;
    if (dropsPaidAt > now) { // the worker is still paying for drops
      startsAt = choosing ? dropsPaidAt : now + (dropsPaidAt - now) % dropCostNanos;
    }
    dropsPaidAt = 0;
    long doneAt = startsAt + serviceNanos(guard.queued());
    listener.started(doneAt);
    return inService;
  }

  /** Starts the oldest waiting request of the unguarded queue, if any. */
  private void startNext() {
    if (queue.isEmpty()) {
      busy = false;
      currentHub = -1;
      return;
    }
    currentHub = queue.oldestHub();
    currentRequest = queue.oldestRequest();
    queue.removeOldest();
    busy = true;
    listener.started(clock.read() + serviceNanos(queue.size()));
  }

  /** The request in service is done now: frees the worker, which starts the next request if any. */
  void finish() {
    if (guard == null) {
      startNext();
      return;
    }
    CompletableFuture<Void> done = inService;
    inService = null;
    busy = false;
    currentHub = -1;
    choosing = true;
    try {
      done.complete(null); // releases the permit: the guard drops what is late and starts the next
    } finally {
      choosing = false;
    }
  }

  /** The service time of a request starting now, from the work still queued behind it. */
  private long serviceNanos(int queuedBehind) {
    double queuedSeconds = queuedBehind / capacityPerSecond;
    double pressure = Math.min(1.0, queuedSeconds / DEGRADATION_QUEUE_SECONDS);
    double rate = capacityPerSecond * (1.0 - degradation * pressure);
    if (clock.read() < reducedUntilNanos) {
      rate *= capacityFactor;
    }
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
    return guard == null ? queue.size() : guard.queued();
  }

  /** The most requests that ever waited at once. */
  int peakQueue() {
    return peakQueue;
  }

  /** How many requests the guard dropped. */
  long dropped() {
    return dropped;
  }
}
