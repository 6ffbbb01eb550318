package dev.shepherd.backoff;

import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Every decision a {@link Reconnector} takes, as a pure state machine driven by the caller's clock:
 * told what happened and when, it says how long to wait before the next connection attempt.
 *
 * <p>The threaded {@code Reconnector} runs one {@link Session} per loop; a simulator or a test runs
 * the same sessions on a simulated clock, so a simulated fleet is the library's fleet, defaults
 * included ({@link Reconnector#plan()} returns the plan a reconnector runs). A plan is immutable
 * and thread-safe; each session belongs to one loop at a time.
 *
 * <h2>The rules</h2>
 * <table class="striped">
 *   <caption>What each event makes the next wait</caption>
 *   <thead><tr><th>event</th><th>next wait</th><th>backoff</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@link Session#start start}</td><td>U[0, initialSpread]</td><td>fresh</td></tr>
 *     <tr><td>{@link Session#connectFailed connectFailed}, no hint</td><td>b, the backoff's next
 *         delay</td><td>grows</td></tr>
 *     <tr><td>{@link Session#connectFailed connectFailed}, shared hint h</td><td>max(b, U[h, h +
 *         max(h·retryAfterSpread, retryAfterMinJitter)])</td><td>grows</td></tr>
 *     <tr><td>any failure or loss carrying a personal slot s</td><td>U[s, s + slotJitter]</td>
 *         <td>unchanged</td></tr>
 *     <tr><td>{@link Session#lost lost} after at least {@code stableAfter} up</td><td>U[0,
 *         initialSpread], or the hint rule above it</td><td>fresh</td></tr>
 *     <tr><td>{@link Session#lost lost} sooner (a flapping server)</td><td>max(U[0, initialSpread],
 *         b), or the hint rule above it</td><td>grows</td></tr>
 *   </tbody>
 * </table>
 * Hints and slots are clamped to {@code [0, maxRetryAfter]} first; U is a uniform draw of whole
 * nanoseconds, both ends included. A hint or slot is the first {@link RejectedException} with a
 * retry-after in the failure's cause chain; a rejection that {@linkplain
 * RejectedException#isPersonalSlot() is a personal slot} is kept (the server spaced the refused
 * callers' slots at the rate it will admit, so spreading them further only delays the fleet, and
 * growing the backoff would make a caller refused twice ignore its slot), while a shared hint, told
 * to every refused caller alike, is spread in proportion to its length. A custom hint extractor
 * reads shared hints; personal slots are always read from the cause chain.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li>Every wait lies in the interval of its row, is never negative and never overflows.
 *   <li>A wait after a hint or slot is never shorter than the (clamped) hint or slot.
 *   <li>The draws come only from the session's generator, in a fixed order, so a seeded generator
 *       makes a session's every wait reproducible.
 * </ul>
 */
public final class ReconnectPlan {

  private final Backoff backoff;
  private final long initialSpreadNanos;
  private final long stableAfterNanos;
  private final long connectTimeoutNanos;
  private final RetryHints hints;

  ReconnectPlan(
      Backoff backoff, long initialSpreadNanos, long stableAfterNanos, long connectTimeoutNanos, RetryHints hints) {
    this.backoff = backoff;
    this.initialSpreadNanos = initialSpreadNanos;
    this.stableAfterNanos = stableAfterNanos;
    this.connectTimeoutNanos = connectTimeoutNanos;
    this.hints = hints;
  }

  /**
   * Starts the state of one reconnect loop, positioned before {@link Session#start(long)}.
   *
   * @param random the source of every draw of the session; used by the session's thread only
   * @return a new session
   * @throws NullPointerException if {@code random} is null
   */
  public Session newSession(RandomGenerator random) {
    return new Session(this, Objects.requireNonNull(random, "random"));
  }

  /**
   * Returns the spread of the wait before the first attempt after a start or a loss.
   *
   * @return the initial spread
   */
  public Duration initialSpread() {
    return Duration.ofNanos(initialSpreadNanos);
  }

  /**
   * Returns how long a connection must stay up for the backoff to start afresh after its loss.
   *
   * @return the stable time
   */
  public Duration stableAfter() {
    return Duration.ofNanos(stableAfterNanos);
  }

  /**
   * Returns how long one connection attempt may take before it counts as failed; zero for no limit.
   *
   * @return the connect timeout
   */
  public Duration connectTimeout() {
    return Duration.ofNanos(connectTimeoutNanos);
  }

  /**
   * Returns the backoff between failed attempts.
   *
   * @return the backoff policy
   */
  public Backoff backoff() {
    return backoff;
  }

  long connectTimeoutNanos() {
    return connectTimeoutNanos;
  }

  /**
   * Draws uniformly from {@code [0, spreadNanos]}, both ends included.
   *
   * @param random the source of the draw
   * @param spreadNanos the spread, zero or more
   * @return the draw in nanoseconds
   */
  static long spreadDraw(RandomGenerator random, long spreadNanos) {
    if (spreadNanos <= 0) {
      return 0;
    }
    return spreadNanos == Long.MAX_VALUE ? random.nextLong(spreadNanos) : random.nextLong(spreadNanos + 1);
  }

  @Override
  public String toString() {
    return "ReconnectPlan{initialSpread=" + initialSpread() + ", stableAfter=" + stableAfter()
        + ", connectTimeout=" + connectTimeout() + ", backoff=" + backoff + "}";
  }

  /**
   * The state of one reconnect loop: the backoff's progress, when the live connection came up, and
   * what the last refusal said. Each method takes the current reading of the loop's ticker, in
   * nanoseconds; only differences between readings matter.
   *
   * <p>Not thread-safe: one loop drives a session. Allocates nothing except a new backoff
   * {@link Backoff.Schedule} when the backoff starts afresh.
   */
  public static final class Session {

    private final ReconnectPlan plan;
    private final RandomGenerator random;
    private Backoff.Schedule schedule;
    private long connectedAt;
    private RejectedException lastRefusal;

    private Session(ReconnectPlan plan, RandomGenerator random) {
      this.plan = plan;
      this.random = random;
    }

    /**
     * The loop starts: returns the wait before the first attempt, a draw from
     * {@code [0, initialSpread]}, and starts the backoff afresh.
     *
     * @param nowNanos the loop's ticker reading
     * @return the wait in nanoseconds
     */
    public long start(long nowNanos) {
      schedule = null;
      lastRefusal = null;
      return spreadDraw(random, plan.initialSpreadNanos);
    }

    /**
     * An attempt failed (the server refused, the connect threw or timed out): returns the wait
     * before the next attempt.
     *
     * @param nowNanos the loop's ticker reading
     * @param failure what the attempt failed with
     * @return the wait in nanoseconds
     */
    public long connectFailed(long nowNanos, Throwable failure) {
      lastRefusal = RetryHints.refusal(failure);
      long slot = plan.hints.slotNanos(failure);
      if (slot >= 0) {
        return plan.hints.slotWaitNanos(slot, random);
      }
      return withSharedHint(nextBackoff(), failure);
    }

    /**
     * An attempt succeeded: the connection is up from {@code nowNanos}; the last refusal is
     * forgotten.
     *
     * @param nowNanos the loop's ticker reading
     */
    public void connected(long nowNanos) {
      connectedAt = nowNanos;
      lastRefusal = null;
    }

    /**
     * The live connection was lost: returns the wait before the next attempt. The backoff starts
     * afresh if the connection stayed up for at least {@code stableAfter}.
     *
     * @param nowNanos the loop's ticker reading
     * @param cause why it was lost, or null for an orderly close
     * @return the wait in nanoseconds
     */
    public long lost(long nowNanos, Throwable cause) {
      lastRefusal = RetryHints.refusal(cause);
      boolean stable = nowNanos - connectedAt >= plan.stableAfterNanos;
      if (stable) {
        schedule = null;
      }
      long slot = plan.hints.slotNanos(cause);
      if (slot >= 0) {
        return plan.hints.slotWaitNanos(slot, random);
      }
      long wait = spreadDraw(random, plan.initialSpreadNanos);
      if (!stable) {
        wait = Math.max(wait, nextBackoff());
      }
      return withSharedHint(wait, cause);
    }

    /**
     * Returns the refusal that ended the last attempt or connection: the first
     * {@link RejectedException} with a retry-after in its cause chain, so the next attempt can
     * present what it carries (a slot's ticket, say).
     *
     * @return the refusal, or null when the last attempt was not refused or the session is connected
     */
    public RejectedException lastRefusal() {
      return lastRefusal;
    }

    private long nextBackoff() {
      if (schedule == null) {
        schedule = plan.backoff.start(random);
      }
      return Math.max(0L, schedule.nextDelayNanos());
    }

    private long withSharedHint(long wait, Throwable cause) {
      if (cause == null) {
        return wait;
      }
      long hint = plan.hints.hintNanos(cause);
      return hint < 0 ? wait : Math.max(wait, plan.hints.waitNanos(hint, random));
    }
  }
}
