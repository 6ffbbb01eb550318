package dev.shepherd.circuitbreaker;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.Ticker;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Client-side adaptive throttling, as in Google's <i>Site Reliability Engineering</i> (chapter
 * "Handling Overload"): a client whose backend refuses most of its requests rejects some of them
 * itself, so a fleet stops hammering a backend that is already saying no.
 *
 * <pre>{@code
 * AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("cloud").build();
 * Reply reply = throttle.call(() -> cloud.send(request));   // ThrottledException when rejected locally
 * }</pre>
 *
 * <p><b>The rule.</b> Over a sliding window of time (default: the last two minutes, in 12 buckets
 * on the {@link Ticker}) the throttle counts <em>requests</em> (every request the application
 * attempted, including those it rejected locally) and <em>accepts</em> (requests the backend
 * accepted). Each new request is rejected locally with probability
 * <pre>
 *   p = min(maxRejectProbability, max(0, (requests − K × accepts) / (requests + 1)))
 * </pre>
 * computed from the window's counts <em>before</em> the request is added, except that p is 0 while
 * the window holds fewer than {@code minRequestRate × window} requests: a client that sends little
 * adds little load, and needs its few requests to learn that the backend is back. With K = 2 (the
 * default) the backend may refuse up to half of what reaches it before any local rejection.
 * {@code maxRejectProbability} (default 0.9, always below 1) keeps a share of requests going, so
 * a client never stops probing and sees the recovery.
 *
 * <p><b>What reaches the backend.</b> The guarantee is per request: given the window's {@code r}
 * requests and {@code a} accepts before it (with {@code r} at least the minimum), a request goes to
 * the backend with probability exactly
 * <pre>
 *   max(1 − maxRejectProbability, min(1, (1 + K × a) / (r + 1)))
 * </pre>
 * and the draws are independent given the past, so over {@code n} requests what reaches the backend
 * is the sum of those probabilities within a statistical slack: about 3.4 √n, exceeded less than
 * once in a billion (Freedman's inequality; 1,520 for n = 200,000).
 * <ul>
 *   <li><i>Total outage</i> (the backend accepts nothing, {@code a = 0}): once every window holds the
 *       minimum and at least {@code 1 / (1 − maxRejectProbability) − 1} requests (9 for 0.9), each
 *       request goes through with probability exactly {@code 1 − maxRejectProbability}. A fleet
 *       then sends the backend {@code max(K × accepts, (1 − maxRejectProbability) × requests)} (here
 *       the second term): tested for 10,000 clients, within ±950 of 20,000 per window of 200,000
 *       requests.
 *   <li><i>Partial outage</i> (the backend accepts a share): that fleet bound does <em>not</em>
 *       carry over. Each client sends the larger of its own two terms, and the sum of the larger
 *       terms exceeds the larger of the sums: 10,000 clients against a backend accepting 25% of
 *       what reaches it sent about 1.5 × {@code max(K × accepts, (1 − maxRejectProbability) ×
 *       requests)} (30,300 of 200,000 requests, with 7,600 accepted). What holds is the per-request
 *       law above, and from it, for a client that sends {@code n} requests while its window holds at
 *       least {@code r0} requests and at most {@code a0} accepts: at most {@code n × max(1 −
 *       maxRejectProbability, (1 + K × a0) / (r0 + 1))} of them reach the backend, plus the slack.
 *       Both are tested on that fleet (the sum of the per-request probabilities within ±1,520 per
 *       window).
 * </ul>
 * Whatever the backend does, at least {@code 1 − maxRejectProbability} of the requests go through,
 * less the slack: a client never stops probing.
 *
 * <p><b>What counts as accepted.</b> {@link #call(Callable)} and {@link #callAsync(Supplier)} count
 * an accept for every result, and for every exception that {@link Builder#backendRejection(
 * Predicate) backendRejection} does not match (default: every exception is a backend rejection;
 * an "HTTP 404" the backend answered is an accept, so say so). The permission form is
 * {@link #tryAcquire()} then {@link #onAccepted()} when the backend accepted.
 *
 * <p><b>With a {@code RetryBudget}.</b> Both bound the load a client adds to a struggling backend,
 * at different layers, and they compose: put the throttle <em>inside</em> the retry ({@code
 * Policy.compose(retry, throttle)}, the retry with {@code .budget(budget)}), so that every attempt,
 * first or retry, is a request to the throttle. The budget caps retries to a fraction of first
 * attempts; the throttle caps what reaches the backend to about {@code K ×} what it accepts. A
 * local rejection ({@link ThrottledException}, a {@code RejectedException} without a retry-after
 * hint) is then seen by the retry like any refusal, and retrying it spends budget: keep it out of
 * the retry's predicate, or let the budget bound it.
 *
 * <p><b>Cost.</b> A request reads the ticker and two counters and adds one; it takes no lock and
 * allocates nothing while p is 0. When p is above 0 it draws one {@code nextDouble()} (under a
 * short lock if a generator was configured, so the generator need not be thread-safe). A local
 * rejection is counted ({@link #rejected()}) and reported as {@link Event.Kind#REJECTED}.
 *
 * <p>Thread-safe; see {@code BucketCounters} for the window's behaviour under concurrency.
 */
public final class AdaptiveThrottle implements Policy {

  private static final int REQUESTS = 0;
  private static final int ACCEPTS = 1;

  private final String name;
  private final double k;
  private final double maxRejectProbability;
  private final double minRequests;
  private final Ticker ticker;
  private final RandomGenerator random;
  private final ReentrantLock randomLock = new ReentrantLock();
  private final Predicate<? super Throwable> backendRejection;
  private final EventListener listener;
  private final BucketCounters counters;
  private final Duration window;
  private final LongAdder rejected = new LongAdder();

  private AdaptiveThrottle(Builder b) {
    this.name = b.name;
    this.k = b.k;
    this.maxRejectProbability = b.maxRejectProbability;
    long windowNanos = Durations.toNanosSaturated(b.window);
    this.minRequests = b.minRequestRate * (windowNanos / 1e9);
    this.ticker = b.ticker;
    this.random = b.random;
    this.backendRejection = b.backendRejection;
    this.listener = EventListener.guarded(b.listener == null ? EventListener.logging() : b.listener);
    this.window = b.window;
    this.counters = new BucketCounters(2, false, b.buckets, windowNanos / b.buckets, ticker.read());
  }

  /**
   * Returns a builder with the defaults: name {@code "throttle"}, K = 2, a window of 2 minutes in 12
   * buckets, maximum rejection probability 0.9, minimum request rate 0.1 per second (12 requests in
   * the window), every exception a backend rejection, the system ticker, {@link
   * ThreadLocalRandom}, the logging listener.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Counts a request and decides whether it may go to the backend.
   *
   * @return {@code true} to send it (then call {@link #onAccepted()} if the backend accepts it),
   *     {@code false} if it is rejected locally
   */
  public boolean tryAcquire() {
    return admit() < 0;
  }

  /** Reports that the backend accepted a request this throttle let through. */
  public void onAccepted() {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    counters.add(ACCEPTS, 1);
  }

  /**
   * Returns the probability with which the next request would be rejected locally.
   *
   * @return p, in {@code [0, maxRejectProbability]}
   */
  public double rejectionProbability() {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    return probability(bucket);
  }

  /**
   * Returns the requests counted in the window now, locally rejected ones included.
   *
   * @return requests in the window
   */
  public long requests() {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    return counters.sum(REQUESTS, bucket);
  }

  /**
   * Returns the requests the backend accepted in the window now.
   *
   * @return accepts in the window
   */
  public long accepts() {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    return counters.sum(ACCEPTS, bucket);
  }

  /**
   * Returns how many requests this throttle has rejected locally since it was built.
   *
   * @return local rejections
   */
  public long rejected() {
    return rejected.sum();
  }

  /**
   * Returns the window's length.
   *
   * @return the configured window
   */
  public Duration window() {
    return window;
  }

  /**
   * Sends {@code action} to the backend unless the throttle rejects it locally, and counts an accept
   * unless it throws a backend rejection.
   *
   * @param action the request
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws ThrottledException if the request was rejected locally ({@code action} did not run)
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    double p = admit();
    if (p >= 0) {
      throw new ThrottledException(name, p);
    }
    T result;
    try {
      result = action.call();
    } catch (Throwable t) {
      if (!isBackendRejection(t)) {
        onAccepted();
      }
      throw t;
    }
    onAccepted();
    return result;
  }

  /**
   * Starts {@code action} unless the throttle rejects it locally, and counts an accept when its
   * stage completes with a result or with a failure that is not a backend rejection.
   *
   * @param action starts the request and returns its stage
   * @param <T> the result type
   * @return the action's stage, or a stage failed with a {@link ThrottledException}
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    double p = admit();
    if (p >= 0) {
      return CompletableFuture.failedFuture(new ThrottledException(name, p));
    }
    CompletionStage<T> stage;
    try {
      stage = Objects.requireNonNull(action.get(), "action returned a null stage");
    } catch (Throwable t) {
      if (!isBackendRejection(t)) {
        onAccepted();
      }
      return CompletableFuture.failedFuture(t);
    }
    return stage.whenComplete((result, failure) -> {
      Throwable cause = failure instanceof CompletionException && failure.getCause() != null
          ? failure.getCause() : failure;
      if (cause == null || !isBackendRejection(cause)) {
        onAccepted();
      }
    });
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "AdaptiveThrottle{%s, K=%s, p=%.3f, rejected=%d}", name, k,
        rejectionProbability(), rejected());
  }

  // ---------------------------------------------------------------------------------------------

  /** Counts a request; returns -1 if it may go, or the probability with which it was rejected. */
  private double admit() {
    long bucket = counters.bucket(ticker.read());
    counters.roll(bucket);
    double p = probability(bucket);
    counters.add(REQUESTS, 1);
    if (p <= 0 || draw() >= p) {
      return -1;
    }
    rejected.increment();
    if (listener != EventListener.noop()) {
      listener.onEvent(new Event(name, Event.Kind.REJECTED, Duration.ZERO,
          String.format(Locale.ROOT, "rejected locally, p=%.3f", p), null));
    }
    return p;
  }

  private double probability(long bucket) {
    int marks = counters.marksOf(bucket);
    long requests = counters.sumFrom(REQUESTS, marks);
    if (requests < minRequests) {
      return 0;
    }
    long accepts = counters.sumFrom(ACCEPTS, marks);
    double p = (requests - k * accepts) / (requests + 1.0);
    return p <= 0 ? 0 : Math.min(p, maxRejectProbability);
  }

  private double draw() {
    if (random == null) {
      return ThreadLocalRandom.current().nextDouble();
    }
    randomLock.lock(); // the configured generator need not be thread-safe; the lock is short
    try {
      return random.nextDouble();
    } finally {
      randomLock.unlock();
    }
  }

  private boolean isBackendRejection(Throwable t) {
    try {
      return backendRejection.test(t);
    } catch (RuntimeException e) {
      return true; // a classifier that throws is a bug in it: count no accept, the cautious side
    }
  }

  /**
   * Builds an {@link AdaptiveThrottle}. Each setter validates its argument at once and throws an
   * {@link IllegalArgumentException} naming the parameter and the value. Not thread-safe; the built
   * throttle does not change when the builder is reused.
   */
  public static final class Builder {
    private String name = "throttle";
    private double k = 2.0;
    private Duration window = Duration.ofMinutes(2);
    private int buckets = 12;
    private double maxRejectProbability = 0.9;
    private double minRequestRate = 0.1;
    private Predicate<? super Throwable> backendRejection = t -> true;
    private Ticker ticker = Ticker.system();
    private RandomGenerator random;
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance's name, used in rejections, events and logs.
     *
     * @param name a non-blank name; default {@code "throttle"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets K, the multiplier of accepts: the backend may refuse up to {@code 1 − 1/K} of the
     * requests that reach it before the client rejects any locally. Lower is more aggressive.
     *
     * @param k finite and at least 1; default 2
     * @return this builder
     * @throws IllegalArgumentException if {@code k} is below 1, infinite or NaN
     */
    public Builder k(double k) {
      Checks.check(k >= 1 && k < Double.POSITIVE_INFINITY, "k", "finite and at least 1", k);
      this.k = k;
      return this;
    }

    /**
     * Sets the sliding window the counts cover, in {@code buckets} steps on the ticker: a request
     * leaves the window between {@code window − window/buckets} and {@code window} after it was
     * counted.
     *
     * @param window the window's length, at least {@code buckets} nanoseconds; default 2 minutes
     * @param buckets the number of steps, in {@code [1, 1000]}; default 12
     * @return this builder
     * @throws NullPointerException if {@code window} is null
     * @throws IllegalArgumentException if {@code window} is not positive or shorter than {@code
     *     buckets} nanoseconds, or {@code buckets} is out of range
     */
    public Builder window(Duration window, int buckets) {
      Checks.positive(window, "window");
      Checks.check(buckets >= 1 && buckets <= 1000, "buckets", "in [1, 1000]", buckets);
      Checks.check(Durations.toNanosSaturated(window) >= buckets, "window",
          "at least " + buckets + " ns (one per bucket)", window);
      this.window = window;
      this.buckets = buckets;
      return this;
    }

    /**
     * Sets the highest probability of a local rejection, so that a client never stops probing.
     *
     * @param maxRejectProbability in {@code [0, 1)}; default 0.9 (0 turns the throttle off)
     * @return this builder
     * @throws IllegalArgumentException if it is out of range or NaN
     */
    public Builder maxRejectProbability(double maxRejectProbability) {
      Checks.check(maxRejectProbability >= 0 && maxRejectProbability < 1, "maxRejectProbability", "in [0, 1)",
          maxRejectProbability);
      this.maxRejectProbability = maxRejectProbability;
      return this;
    }

    /**
     * Sets the request rate below which the throttle never rejects: while the window holds fewer
     * than {@code minRequestRate × window} requests, p is 0.
     *
     * @param perSecond requests per second, finite and zero or more; default 0.1
     * @return this builder
     * @throws IllegalArgumentException if {@code perSecond} is negative, infinite or NaN
     */
    public Builder minRequestRate(double perSecond) {
      Checks.check(perSecond >= 0 && perSecond < Double.POSITIVE_INFINITY, "minRequestRate",
          "finite and zero or positive", perSecond);
      this.minRequestRate = perSecond;
      return this;
    }

    /**
     * Sets which exceptions mean the backend refused the request (overloaded, unavailable, timed
     * out); any other exception counts as an accept, as does every result.
     *
     * @param backendRejection the classifier; default: every exception
     * @return this builder
     * @throws NullPointerException if {@code backendRejection} is null
     */
    public Builder backendRejection(Predicate<? super Throwable> backendRejection) {
      this.backendRejection = Objects.requireNonNull(backendRejection, "backendRejection");
      return this;
    }

    /**
     * Sets the time source of the window.
     *
     * @param ticker the ticker; default {@link Ticker#system()}
     * @return this builder
     * @throws NullPointerException if {@code ticker} is null
     */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    /**
     * Sets the generator of rejection draws, one {@code nextDouble()} per request while p is above
     * 0 (the request is rejected when the draw is below p). Drawn under a lock: it need not be
     * thread-safe.
     *
     * @param random the generator; default {@link ThreadLocalRandom#current()} at each draw
     * @return this builder
     * @throws NullPointerException if {@code random} is null
     */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Sets the listener for local rejections; it is wrapped with {@link
     * EventListener#guarded(EventListener)}.
     *
     * @param listener the listener; default {@link EventListener#logging()}
     * @return this builder
     * @throws NullPointerException if {@code listener} is null
     */
    public Builder listener(EventListener listener) {
      this.listener = Objects.requireNonNull(listener, "listener");
      return this;
    }

    /**
     * Builds the throttle, with an empty window.
     *
     * @return a new throttle
     */
    public AdaptiveThrottle build() {
      return new AdaptiveThrottle(this);
    }
  }
}
