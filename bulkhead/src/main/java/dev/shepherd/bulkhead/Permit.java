package dev.shepherd.bulkhead;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The right to one call in flight, held from a {@link Bulkhead} or an {@link AdaptiveBulkhead} and
 * given back exactly once.
 *
 * <p>A permit is released by the first of {@link #close()}, {@link #success()}, {@link #dropped()}
 * or {@link #ignored()}; every later call of any of them is a no-op. So a permit closed twice, or
 * reported and then closed by try-with-resources, is counted once and can never inflate the
 * bulkhead's capacity (peers that expose a bare {@code release()} let a second release create a
 * permit out of nothing). Use it with try-with-resources, and report the outcome inside the block:
 *
 * <pre>{@code
 * Permit permit = bulkhead.tryAcquire();
 * if (permit == null) {
 *   return tooBusy();
 * }
 * try (permit) {
 *   Response r = upstream.send(request);
 *   permit.success();          // an AdaptiveBulkhead learns from this; a Bulkhead just releases
 *   return r;
 * } catch (TimeoutException e) {
 *   permit.dropped();          // the upstream is overloaded: the adaptive limit goes down
 *   throw e;
 * }                            // any other exit: close() releases without teaching the limit
 * }</pre>
 *
 * <p>The outcome matters only to an {@link AdaptiveBulkhead}: {@link #success()} is a latency
 * sample measured on the bulkhead's ticker from the grant to the report, {@link #dropped()} says the
 * upstream timed out or refused the call, and {@link #ignored()} (or {@link #close()} without a
 * report) releases the permit without a sample. A fixed {@link Bulkhead} only releases.
 *
 * <p>Cost: each granted permit is one small object (32 bytes with compressed references), because
 * the release-once flag is per-grant state. The {@code call} methods of both bulkheads create no
 * permit at all; {@code callAsync}, which allocates a stage anyway, creates one. Thread-safe: any
 * thread may release a permit, and concurrent releases of one permit still release it once.
 */
public final class Permit implements AutoCloseable {

  /** Released without a sample: {@link #ignored()} or {@link #close()}. */
  static final int IGNORED = 0;
  /** The call succeeded; a latency sample. */
  static final int SUCCESS = 1;
  /** The upstream timed out or refused the call. */
  static final int DROPPED = 2;
  /** The call failed for a reason that says nothing about capacity, unless it was too slow. */
  static final int FAILED = 3;

  private static final VarHandle RELEASED;

  static {
    try {
      RELEASED = MethodHandles.lookup().findVarHandle(Permit.class, "released", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  // Kept to four fields (32 bytes with compressed references): the name and the adaptive limit are
  // reached through the pool.
  private final PermitPool pool;
  private final long startNanos;
  private final int inFlightAtGrant;
  @SuppressWarnings("unused") // accessed through RELEASED
  private volatile int released;

  Permit(PermitPool pool, long startNanos, int inFlightAtGrant) {
    this.pool = pool;
    this.startNanos = startNanos;
    this.inFlightAtGrant = inFlightAtGrant;
  }

  /**
   * Reports that the call succeeded and releases the permit, unless it was already released.
   *
   * <p>For an {@link AdaptiveBulkhead} this is a latency sample from the grant to now; a sample
   * that reached the bulkhead's call timeout counts as a timeout (a drop) even though it succeeded.
   */
  public void success() {
    finish(SUCCESS);
  }

  /**
   * Reports that the upstream timed out, refused or shed the call (a "drop"), and releases the
   * permit, unless it was already released.
   *
   * <p>For an {@link AdaptiveBulkhead} this lowers the limit multiplicatively.
   */
  public void dropped() {
    finish(DROPPED);
  }

  /**
   * Releases the permit without reporting an outcome, unless it was already released: use it when
   * the call failed for a reason that says nothing about the upstream's capacity (a bad request, a
   * cancelled call).
   */
  public void ignored() {
    finish(IGNORED);
  }

  /**
   * Releases the permit unless it was already released; equivalent to {@link #ignored()}. Closing
   * again is a no-op.
   */
  @Override
  public void close() {
    finish(IGNORED);
  }

  /**
   * Returns whether this permit has been released.
   *
   * @return {@code true} once any of the releasing methods has run
   */
  public boolean isReleased() {
    return released != 0;
  }

  /** Releases once with the given outcome; later calls do nothing. */
  void finish(int outcome) {
    if (!RELEASED.compareAndSet(this, 0, 1)) {
      return;
    }
    AdaptiveLimit limit = pool.adaptive();
    if (limit == null) {
      pool.release();
      return;
    }
    try {
      limit.record(startNanos, outcome, inFlightAtGrant);
    } finally {
      pool.release();
    }
  }

  @Override
  public String toString() {
    return "Permit{" + pool.name() + (isReleased() ? ", released}" : ", held}");
  }
}
