package dev.shepherd.examples;

import dev.shepherd.core.RetryAfter;
import dev.shepherd.core.Ticker;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * The third-party API of the runaway-upstream replay, simulated on a manual clock: it answers
 * {@code 200} after a short, random latency; from {@code stallFrom} to {@code stallUntil} it stops
 * answering; and it enforces its own per-account quota, answering {@code 429} with a
 * {@code Retry-After} header once a quota window is used up.
 *
 * <h2>The model</h2>
 * <ul>
 *   <li><b>Latency</b>: {@code base + Exp(mean)}, drawn per request from the seeded generator.
 *   <li><b>Stall</b>: a request that arrives while the API is stalled gets no answer; its
 *       connection stays open. When the API returns it works through the requests it holds, in
 *       order of arrival, each through the quota as if it had just arrived; a request whose client
 *       has gone (timed out, cancelled: {@link Exchange#isOpen()} false) is dropped unanswered and
 *       costs no quota, since its connection is closed.
 *   <li><b>Quota</b>: a fixed window of {@code quotaPerWindow} requests per {@code window}, the
 *       windows starting at a phase drawn from the generator (a provider's clock owes nothing to
 *       ours). A request beyond the quota is answered {@code 429} after {@link #REFUSAL_NANOS} with
 *       {@code Retry-After} set to the seconds until the window resets, rounded up
 *       ({@link RetryAfter#formatNanos(long)}). Refused requests do not use quota.
 * </ul>
 *
 * <p>Not thread-safe: one API belongs to one simulation, driven on the thread that advances its
 * clock. The counters are plain fields, read after the run.
 */
final class ThirdPartyApi {

  /** How long a 429 takes: the quota is checked at the provider's edge, before any real work. */
  static final long REFUSAL_NANOS = 10_000_000L;

  /** One request as the API sees it: whether its client still listens, and how to answer it. */
  interface Exchange {
    /** Whether the client is still waiting for the answer. */
    boolean isOpen();

    /**
     * Answers the request.
     *
     * @param status the HTTP status
     * @param retryAfter the {@code Retry-After} header value, or null for none
     */
    void answer(int status, String retryAfter);
  }

  private final Ticker clock;
  private final ScheduledExecutorService scheduler;
  private final RandomGenerator random;
  private final long stallFrom;
  private final long stallUntil;
  private final long baseLatency;
  private final double meanExtraLatency;
  private final int quotaPerWindow;
  private final long windowNanos;
  private final long windowPhase;
  private final ArrayDeque<Exchange> held = new ArrayDeque<>();
  private long windowIndex = Long.MIN_VALUE;
  private int windowUsed;

  /** Requests received, requests answered 200, requests answered 429, held requests dropped. */
  long received;
  long answeredOk;
  long tooManyRequests;
  long droppedClosed;

  /**
   * Creates the API and schedules its return.
   *
   * @param stallFrom the clock reading at which it stops answering
   * @param stallUntil the clock reading at which it answers again
   */
  ThirdPartyApi(Ticker clock, ScheduledExecutorService scheduler, RandomGenerator random, long stallFrom,
      long stallUntil, long baseLatency, long meanExtraLatency, int quotaPerWindow, long windowNanos) {
    this.clock = clock;
    this.scheduler = scheduler;
    this.random = random;
    this.stallFrom = stallFrom;
    this.stallUntil = stallUntil;
    this.baseLatency = baseLatency;
    this.meanExtraLatency = meanExtraLatency;
    this.quotaPerWindow = quotaPerWindow;
    this.windowNanos = windowNanos;
    this.windowPhase = (long) (random.nextDouble() * windowNanos);
    scheduler.schedule(this::returns, Math.max(0, stallUntil - clock.read()), TimeUnit.NANOSECONDS);
  }

  /** Whether the API is stalled now. */
  boolean isStalled() {
    long now = clock.read();
    return now >= stallFrom && now < stallUntil;
  }

  /** Receives one request. */
  void receive(Exchange exchange) {
    received++;
    if (isStalled()) {
      // Drop the closed connections at the head so a long stall with timeouts holds no garbage.
      while (!held.isEmpty() && !held.peekFirst().isOpen()) {
        held.pollFirst();
        droppedClosed++;
      }
      held.addLast(exchange);
      return;
    }
    process(exchange);
  }

  private void returns() {
    while (!held.isEmpty()) {
      Exchange exchange = held.pollFirst();
      if (exchange.isOpen()) {
        process(exchange);
      } else {
        droppedClosed++;
      }
    }
  }

  private void process(Exchange exchange) {
    long now = clock.read();
    long index = Math.floorDiv(now - windowPhase, windowNanos);
    if (index != windowIndex) {
      windowIndex = index;
      windowUsed = 0;
    }
    if (windowUsed >= quotaPerWindow) {
      long reset = windowPhase + (index + 1) * windowNanos - now;
      String retryAfter = RetryAfter.formatNanos(reset);
      tooManyRequests++;
      scheduler.schedule(() -> exchange.answer(429, retryAfter), REFUSAL_NANOS, TimeUnit.NANOSECONDS);
      return;
    }
    windowUsed++;
    long latency = baseLatency + (long) (-meanExtraLatency * StrictMath.log(1.0 - random.nextDouble()));
    scheduler.schedule(() -> {
      answeredOk++;
      exchange.answer(200, null);
    }, latency, TimeUnit.NANOSECONDS);
  }
}
