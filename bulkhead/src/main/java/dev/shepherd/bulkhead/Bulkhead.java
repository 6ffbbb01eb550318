package dev.shepherd.bulkhead;

import dev.shepherd.core.internal.Calls;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.Ticker;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A hard cap on concurrent calls: at most {@link #maxConcurrent()} permits are in flight, and a
 * caller that finds them all taken is refused at once, or after waiting at most
 * {@link #maxWait()}, instead of piling up behind a stalled upstream.
 *
 * <pre>{@code
 * Bulkhead bulkhead = Bulkhead.builder().name("inventory").maxConcurrent(10).build();
 * Stock stock = bulkhead.call(() -> inventory.fetch(sku));   // BulkheadFullException when full
 * }</pre>
 *
 * <p><b>Ways in.</b> {@link #call(Callable)} runs an action holding a permit and releases it however
 * the action ends (result, exception, interrupt). {@link #callAsync(Supplier)} holds the permit until
 * the returned stage completes, fails or is cancelled. {@link #tryAcquire()} and {@link #acquire()}
 * hand out a {@link Permit} for code that cannot be wrapped in a lambda; a permit releases exactly
 * once however often it is closed.
 *
 * <p><b>Guarantees.</b>
 * <ul>
 *   <li>No grant ever makes the number in flight exceed the limit in force at that instant.
 *   <li>Never loses or invents a permit: a caller that times out or is interrupted while waiting holds
 *       nothing, even if a permit was handed to it at the same instant (it is passed on); a second
 *       release of a permit is ignored; exceptions (the action's, or a ticker's), cancellations and
 *       broken foreign stages release.
 *   <li>The limit can be changed at any time with {@link #setMaxConcurrent(int)}. Raising it lets
 *       waiters in at once; lowering it refuses new calls until the surplus in flight has drained.
 *   <li>With {@linkplain Builder#fair(boolean) fairness}, waiters are served in arrival order and new
 *       arrivals do not overtake them; without it (the default) an arrival may take a permit that
 *       was just released, which is faster under contention. Waiters are FIFO among themselves in
 *       both modes.
 *   <li>{@code maxWait} applies to {@link #acquire()} and {@link #call(Callable)}.
 *       {@link #tryAcquire()} and {@link #callAsync(Supplier)} never wait: an asynchronous call must
 *       not block its caller.
 * </ul>
 *
 * <p><b>Cost.</b> Granting a permit is one compare-and-set on a single word, releasing it one atomic
 * add; no lock, no allocation and no logging on that path (waiting, rejections and limit changes are the
 * slow paths that may). {@link #call(Callable)} allocates nothing of its own; the permit handle of
 * {@link #tryAcquire()} and {@link #acquire()} is one small object per grant.
 *
 * <p><b>Events.</b> Each rejection is reported to the listener as {@link Event.Kind#REJECTED} (the
 * default listener logs a summary per interval, not a line per rejection) and each limit change as
 * {@link Event.Kind#LIMIT_CHANGED}.
 *
 * <p>Thread-safe. Waiting uses {@code java.util.concurrent} locks and parking, never
 * {@code synchronized}, so a waiting virtual thread does not pin its carrier.
 */
public final class Bulkhead implements Policy {

  private final String name;
  private final Duration maxWait;
  private final long maxWaitNanos;
  private final EventListener listener;
  private final PermitPool pool;

  private Bulkhead(Builder builder) {
    this.name = builder.name;
    this.maxWait = builder.maxWait;
    this.maxWaitNanos = Durations.toNanosSaturated(builder.maxWait);
    this.listener = EventListener.guarded(builder.listener == null ? EventListener.logging() : builder.listener);
    this.pool = new PermitPool(builder.name, builder.maxConcurrent, builder.fair, builder.ticker);
  }

  /**
   * Returns a builder with the defaults: name {@code "bulkhead"}, 25 concurrent calls, no waiting,
   * no fairness, the system ticker, the logging listener.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a fail-fast bulkhead with the given name and limit, and the other defaults.
   *
   * @param name the instance's name, used in rejections and events
   * @param maxConcurrent the most calls in flight at once, at least 1
   * @return a new bulkhead
   * @throws NullPointerException if {@code name} is null
   * @throws IllegalArgumentException if {@code name} is blank or {@code maxConcurrent < 1}
   */
  public static Bulkhead of(String name, int maxConcurrent) {
    return builder().name(name).maxConcurrent(maxConcurrent).build();
  }

  @Override
  public String name() {
    return name;
  }

  /**
   * Takes a permit if one is free now, without waiting (and, in fair mode, only if nobody is
   * waiting).
   *
   * <p>Returns {@code null} rather than throwing or returning an {@code Optional} so that a refusal
   * costs no allocation; try-with-resources accepts a null resource, but check it before calling
   * the upstream.
   *
   * @return a permit to release when the call is done, or {@code null} if the bulkhead is full
   */
  public Permit tryAcquire() {
    int before = pool.tryAcquire();
    if (before < 0) {
      rejected(null);
      return null;
    }
    return new Permit(pool, 0L, before);
  }

  /**
   * Takes a permit, waiting up to {@link #maxWait()} for one to free up.
   *
   * <p>A free permit is granted even if the thread is interrupted; the interrupt status is only
   * acted on when the caller would have to wait. A caller that times out or is interrupted while
   * waiting holds no permit.
   *
   * @return a permit to release when the call is done
   * @throws BulkheadFullException if no permit freed up within {@code maxWait} (at once when
   *     {@code maxWait} is zero)
   * @throws InterruptedException if the thread was interrupted while it had to wait; its interrupt
   *     status is cleared
   */
  public Permit acquire() throws InterruptedException {
    int before = acquireSlot();
    return new Permit(pool, 0L, before);
  }

  /**
   * Runs {@code action} holding a permit, waiting up to {@link #maxWait()} for one; the permit is
   * released when the action returns or throws.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws InterruptedException if the thread was interrupted while waiting for a permit, or
   *     {@code action} threw it
   * @throws Exception whatever {@code action} threw
   */
  @Override
  public <T> T call(Callable<? extends T> action) throws Exception {
    Objects.requireNonNull(action, "action");
    return guarded(action, Calls.CALLABLE);
  }

  /**
   * Runs {@code action} holding a permit, as {@link #call(Callable)} does, without a checked
   * exception; allocation-free when the permit is granted.
   *
   * @param action the guarded work
   * @param <T> the result type
   * @return what {@code action} returned
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws dev.shepherd.core.UncheckedCallException around the {@link InterruptedException} if the
   *     thread was interrupted while waiting for a permit (its interrupt status is set again)
   */
  @Override
  public <T> T get(Supplier<? extends T> action) {
    Objects.requireNonNull(action, "action");
    try {
      return guarded(action, Calls.SUPPLIER);
    } catch (Exception e) {
      throw Calls.unchecked(name, e);
    }
  }

  /**
   * Runs {@code action} holding a permit, as {@link #get(Supplier)} does.
   *
   * @param action the guarded work
   * @throws BulkheadFullException if no permit freed up within {@code maxWait}
   * @throws dev.shepherd.core.UncheckedCallException around the {@link InterruptedException} if the
   *     thread was interrupted while waiting for a permit (its interrupt status is set again)
   */
  @Override
  public void run(Runnable action) {
    Objects.requireNonNull(action, "action");
    try {
      guarded(action, Calls.RUNNABLE);
    } catch (Exception e) {
      throw Calls.unchecked(name, e);
    }
  }

  /** The one body of the three call forms: {@code action} has the shape {@code form} names. */
  private <T> T guarded(Object action, int form) throws Exception {
    acquireSlot();
    try {
      return Calls.invoke(action, form);
    } finally {
      pool.release();
    }
  }

  /**
   * Starts an asynchronous action holding a permit, without waiting and without blocking.
   *
   * <p>The permit is released by the first of: the action's stage completing, failing or being
   * cancelled; the returned stage being completed, failed or cancelled by anyone (the caller,
   * {@code orTimeout}, {@code completeOnTimeout}; a cancellation is passed on to the action's
   * stage); {@code action} throwing or returning null; the action's stage refusing the completion
   * callback (a broken foreign stage). Whichever it is, the release happens <em>before</em> the
   * returned stage completes, so every dependent stage already sees the permit back: a retry
   * chained on the returned stage finds room. The permit is never held once both stages have
   * ended. Dependent stages of the returned stage are ordinary futures: ending one of them ends
   * nothing here.
   *
   * @param action starts the guarded work and returns its stage
   * @param <T> the result type
   * @return a stage completing as the action's does, or failed with a {@link BulkheadFullException}
   *     if the bulkhead is full (the action is then not started), or with what {@code action} threw
   * @throws NullPointerException if {@code action} is null
   */
  @Override
  public <T> CompletionStage<T> callAsync(Supplier<? extends CompletionStage<T>> action) {
    Objects.requireNonNull(action, "action");
    int before = pool.tryAcquire();
    if (before < 0) {
      return CompletableFuture.failedFuture(rejected(Duration.ZERO));
    }
    return AsyncCalls.run(new Permit(pool, 0L, before), action, null);
  }

  /**
   * Changes the limit at run time. Permits in flight are untouched: raising the limit admits
   * waiters at once; lowering it below the number in flight refuses new calls until enough of them
   * have finished. Nothing is lost or invented either way.
   *
   * @param maxConcurrent the new limit, at least 1
   * @throws IllegalArgumentException if {@code maxConcurrent < 1}
   */
  public void setMaxConcurrent(int maxConcurrent) {
    Checks.positive(maxConcurrent, "maxConcurrent");
    int previous = pool.setLimit(maxConcurrent);
    if (previous != maxConcurrent) {
      listener.onEvent(Event.limitChanged(name, previous, maxConcurrent, "limit " + previous + " -> " + maxConcurrent));
    }
  }

  /**
   * Returns the limit in force.
   *
   * @return the most permits that may be in flight at once
   */
  public int maxConcurrent() {
    return pool.limit();
  }

  /**
   * Returns how long {@link #acquire()} and {@link #call(Callable)} wait for a permit.
   *
   * @return the configured wait; zero means fail fast
   */
  public Duration maxWait() {
    return maxWait;
  }

  /**
   * Returns whether waiters are served strictly in arrival order.
   *
   * @return {@code true} if built with {@code fair(true)}
   */
  public boolean isFair() {
    return pool.isFair();
  }

  /**
   * Returns the number of permits granted and not yet released.
   *
   * @return permits in flight; may briefly exceed the limit after the limit was lowered
   */
  public int inFlight() {
    return pool.inFlight();
  }

  /**
   * Returns how many permits could be granted right now.
   *
   * @return {@code max(0, maxConcurrent() - inFlight())}
   */
  public int available() {
    return pool.available();
  }

  /**
   * Returns the number of callers currently waiting for a permit.
   *
   * @return queued waiters
   */
  public int waiting() {
    return pool.waiting();
  }

  /**
   * Returns how many calls this bulkhead has refused since it was built.
   *
   * @return the total of refused acquisitions (full at once, or after waiting)
   */
  public long rejected() {
    return pool.rejected();
  }

  @Override
  public String toString() {
    return "Bulkhead{" + name + ", inFlight=" + pool.inFlight() + "/" + pool.limit() + ", waiting="
        + pool.waiting() + ", rejected=" + pool.rejected() + "}";
  }

  private int acquireSlot() throws InterruptedException {
    int before = pool.acquire(maxWaitNanos);
    if (before < 0) {
      throw rejected(maxWait);
    }
    return before;
  }

  /** Counts and reports a refusal; returns the exception when {@code waited} is given. */
  private BulkheadFullException rejected(Duration waited) {
    pool.countRejection();
    int limit = pool.limit();
    BulkheadFullException e = waited == null ? null : new BulkheadFullException(name, limit, waited);
    if (listener != EventListener.noop()) { // nobody listens: build no event (issue 13)
      listener.onEvent(Event.rejected(name, Duration.ZERO, 1, "limit of " + limit + " concurrent calls reached", e));
    }
    return e;
  }

  /**
   * Builds a {@link Bulkhead}. Each setter validates its argument at once and throws an
   * {@link IllegalArgumentException} naming the parameter and the value. Not thread-safe; the built
   * bulkhead does not change when the builder is reused.
   */
  public static final class Builder {
    private String name = "bulkhead";
    private int maxConcurrent = 25;
    private Duration maxWait = Duration.ZERO;
    private boolean fair;
    private Ticker ticker = Ticker.system();
    private EventListener listener;

    private Builder() {}

    /**
     * Sets the instance's name, used in rejections, events and logs.
     *
     * @param name a non-blank name; default {@code "bulkhead"}
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the most calls that may be in flight at once.
     *
     * @param maxConcurrent at least 1; default 25
     * @return this builder
     * @throws IllegalArgumentException if {@code maxConcurrent < 1}
     */
    public Builder maxConcurrent(int maxConcurrent) {
      this.maxConcurrent = Checks.positive(maxConcurrent, "maxConcurrent");
      return this;
    }

    /**
     * Sets how long {@link Bulkhead#acquire()} and {@link Bulkhead#call(Callable)} wait for a
     * permit before refusing, measured on the {@linkplain #ticker(Ticker) ticker}.
     *
     * @param maxWait zero (the default: fail fast) or positive
     * @return this builder
     * @throws NullPointerException if {@code maxWait} is null
     * @throws IllegalArgumentException if {@code maxWait} is negative
     */
    public Builder maxWait(Duration maxWait) {
      this.maxWait = Checks.nonNegative(maxWait, "maxWait");
      return this;
    }

    /**
     * Sets whether waiters are served strictly first come, first served: when on, a new caller is
     * refused (or queued) while others are waiting, even if a permit has just been released.
     *
     * @param fair {@code true} for FIFO fairness; default {@code false}
     * @return this builder
     */
    public Builder fair(boolean fair) {
      this.fair = fair;
      return this;
    }

    /**
     * Sets the time source that measures {@code maxWait}. With a ticker other than
     * {@link Ticker#system()} (a {@code ManualClock} in tests) a waiting caller
     * re-reads it at least once per millisecond of real time.
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
     * Sets the listener for rejections and limit changes; it is wrapped with
     * {@link EventListener#guarded(EventListener)}.
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
     * Builds the bulkhead.
     *
     * @return a new bulkhead with all permits available
     */
    public Bulkhead build() {
      return new Bulkhead(this);
    }
  }
}
