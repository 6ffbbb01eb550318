package dev.shepherd.examples;

import dev.shepherd.core.Ticker;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The caller tier of the runaway-upstream replay: a serverless platform that runs the service's
 * code on instances it adds and removes by itself, simulated on a manual clock.
 *
 * <h2>The model (the shape of Cloud Run's concurrency-based autoscaling)</h2>
 * <ul>
 *   <li>An instance serves up to {@code concurrency} requests at once. A request goes to the ready
 *       instance with the fewest requests in progress; when every ready instance is full it waits
 *       in the platform's queue, and after {@code pendingTimeout} there the platform refuses it
 *       (its own 429: the request never reached the service's code).
 *   <li>Every {@code evaluation} the autoscaler computes the instances needed to keep the requests
 *       in progress or queued at {@code targetUtilisation × concurrency} per instance; it adds the
 *       missing ones at once, each ready after {@code coldStart}, up to {@code maxInstances}. It
 *       removes instances only when the need stayed lower for the whole {@code scaleDownWindow}
 *       (the highest need of the window is kept), and only idle ones.
 *   <li>An instance costs from the moment it is started (cold starts included) until it is
 *       removed; {@link #instanceNanos()} is that time summed over instances.
 * </ul>
 * The service's code on an instance is a {@link Handler}, made by the factory once per instance, so
 * in-process state (a bulkhead, a retry budget) is per instance, as it is on a real platform. A
 * request occupies its instance until the stage its handler returned completes.
 *
 * <p>Not thread-safe: it belongs to the simulation thread. The gauges ({@link #instances()},
 * {@link #inProgress()}) are volatile so a metrics scrape on another thread reads whole values.
 */
final class ServerlessTier {

  /** The platform's settings. */
  record Settings(int concurrency, double targetUtilisation, int minInstances, int maxInstances,
      long coldStartNanos, long evaluationNanos, long scaleDownWindowNanos, long pendingTimeoutNanos) {}

  /** The service's code on one instance. */
  interface Handler {
    /** Starts serving one request; the instance is busy with it until the stage completes. */
    CompletionStage<?> handle(Request request);
  }

  /** One request from a user: when it arrived, and where its outcome goes. */
  interface Request {
    /** The clock reading at which it arrived. */
    long arrivedAt();

    /** Called once, when the request ends: with its handler's outcome, or refused by the platform. */
    void finished(Object result, Throwable failure);
  }

  /** The platform's own refusal of a request no instance could take in time. */
  static final class PlatformRefusal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PlatformRefusal() {
      super("no instance available", null, false, false);
    }
  }

  private static final class Instance {
    final Handler handler;
    long readyAt;
    int busy;

    Instance(Handler handler, long readyAt) {
      this.handler = handler;
      this.readyAt = readyAt;
    }
  }

  private final Settings settings;
  private final Ticker clock;
  private final ScheduledExecutorService scheduler;
  private final IntFunction<Handler> code;
  private final List<Instance> live = new ArrayList<>();
  private final ArrayDeque<Request> queue = new ArrayDeque<>();
  /** The needs computed at the evaluations of the last scale-down window, oldest first. */
  private final ArrayDeque<Integer> needs = new ArrayDeque<>();
  private int started;
  private int maxInstancesSeen;
  private long refused;
  private long instanceNanos;
  private long countedUntil;
  private volatile int instancesGauge;
  private volatile int inProgressGauge;
  private int inProgress;
  private boolean draining;

  /**
   * Starts the tier with {@code minInstances} warm instances and schedules its autoscaler.
   *
   * @param code makes the service's code for the n-th instance started (from 0)
   */
  ServerlessTier(Settings settings, Ticker clock, ScheduledExecutorService scheduler, IntFunction<Handler> code) {
    this.settings = settings;
    this.clock = clock;
    this.scheduler = scheduler;
    this.code = code;
    this.countedUntil = clock.read();
    for (int i = 0; i < settings.minInstances(); i++) {
      live.add(new Instance(code.apply(started++), clock.read()));
    }
    maxInstancesSeen = live.size();
    instancesGauge = live.size();
    scheduler.scheduleAtFixedRate(this::evaluate, settings.evaluationNanos(), settings.evaluationNanos(),
        TimeUnit.NANOSECONDS);
    long tick = 1_000_000_000L;
    scheduler.scheduleAtFixedRate(this::expireQueued, tick, tick, TimeUnit.NANOSECONDS);
  }

  /** A request arrives. */
  void submit(Request request) {
    if (!queue.isEmpty() || !dispatch(request)) {
      queue.addLast(request);
    }
  }

  /** Instances now, warm or starting. */
  int instances() {
    return instancesGauge;
  }

  /** Requests in progress on instances now (not counting the platform's queue). */
  int inProgress() {
    return inProgressGauge;
  }

  /** Requests waiting in the platform's queue now. */
  int queued() {
    return queue.size();
  }

  /** The most instances there ever were at once. */
  int maxInstances() {
    return maxInstancesSeen;
  }

  /** Requests the platform refused because no instance could take them in time. */
  long refused() {
    return refused;
  }

  /** Instance time so far, in nanoseconds, summed over instances. */
  long instanceNanos() {
    count();
    return instanceNanos;
  }

  private void count() {
    long now = clock.read();
    instanceNanos += (now - countedUntil) * live.size();
    countedUntil = now;
  }

  /** Gives {@code request} to the least busy ready instance; false if every one is full. */
  private boolean dispatch(Request request) {
    long now = clock.read();
    Instance best = null;
    for (Instance instance : live) {
      if (instance.readyAt <= now && instance.busy < settings.concurrency()
          && (best == null || instance.busy < best.busy)) {
        best = instance;
      }
    }
    if (best == null) {
      return false;
    }
    Instance chosen = best;
    chosen.busy++;
    inProgressGauge = ++inProgress;
    CompletionStage<?> stage;
    try {
      stage = chosen.handler.handle(request);
    } catch (RuntimeException e) {
      ended(chosen, request, null, e);
      return true;
    }
    stage.whenComplete((result, failure) -> ended(chosen, request, result, failure));
    return true;
  }

  private void ended(Instance instance, Request request, Object result, Throwable failure) {
    instance.busy--;
    inProgressGauge = --inProgress;
    request.finished(result, failure);
    drainQueue();
  }

  private void drainQueue() {
    if (draining) {
      return; // a handler that ended at once, inside dispatch: the loop below goes on
    }
    draining = true;
    try {
      long now = clock.read();
      while (!queue.isEmpty()) {
        Request head = queue.peekFirst();
        if (now - head.arrivedAt() >= settings.pendingTimeoutNanos()) {
          queue.pollFirst();
          refuse(head);
        } else if (dispatch(head)) {
          queue.pollFirst(); // still the head: a request that ended inside dispatch drained nothing
        } else {
          return;
        }
      }
    } finally {
      draining = false;
    }
  }

  private void expireQueued() {
    long now = clock.read();
    while (!queue.isEmpty() && now - queue.peekFirst().arrivedAt() >= settings.pendingTimeoutNanos()) {
      refuse(queue.pollFirst());
    }
  }

  private void refuse(Request request) {
    refused++;
    request.finished(null, new PlatformRefusal());
  }

  private void evaluate() {
    double perInstance = settings.targetUtilisation() * settings.concurrency();
    int need = (int) Math.ceil((inProgress + queue.size()) / perInstance);
    needs.addLast(need);
    long kept = settings.scaleDownWindowNanos() / settings.evaluationNanos();
    while (needs.size() > Math.max(1, kept)) {
      needs.pollFirst();
    }
    int target = need;
    for (int n : needs) {
      target = Math.max(target, n);
    }
    target = Math.max(settings.minInstances(), Math.min(settings.maxInstances(), target));
    count();
    long now = clock.read();
    if (target > live.size()) {
      long readyAt = now + settings.coldStartNanos();
      for (int i = live.size(); i < target; i++) {
        live.add(new Instance(code.apply(started++), readyAt));
      }
      scheduler.schedule(this::drainQueue, settings.coldStartNanos(), TimeUnit.NANOSECONDS);
    } else {
      // Remove idle instances from the newest, while there are more than the target.
      for (int i = live.size() - 1; i >= 0 && live.size() > target; i--) {
        if (live.get(i).busy == 0) {
          live.remove(i);
        }
      }
    }
    maxInstancesSeen = Math.max(maxInstancesSeen, live.size());
    instancesGauge = live.size();
  }
}
