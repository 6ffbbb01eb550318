package dev.shepherd.backoff;

import java.util.random.RandomGenerator;

/**
 * What Shepherd's own policies know beyond the public {@link Backoff} contract.
 *
 * <p>Package-private: the tests use {@link #startAt} to check attempt numbers near
 * {@link Integer#MAX_VALUE} without advancing a schedule two billion times, and
 * {@link Backoff#withJitter(double)} uses {@link #capNanos()} so that jitter never pushes a delay
 * above the cap of the policy it wraps.
 */
interface BuiltInBackoff extends Backoff {

  /**
   * The ceiling of this policy: no delay it produces is larger, and {@link Backoff#withJitter}
   * never pushes a delay above it. {@link Long#MAX_VALUE} when the policy has no cap.
   *
   * @return the cap in nanoseconds
   */
  long capNanos();

  /**
   * Starts a schedule positioned before retry {@code attempt}, in O(1) whatever the attempt.
   *
   * <p>For the policies whose delay depends only on the attempt number and fresh draws (constant,
   * linear, exponential, full and equal jitter, gRPC, decorrelated jitter v2, and proportional
   * jitter over those), the returned schedule's delays have exactly the distribution of the delays
   * {@code attempt}, {@code attempt + 1}, ... of a schedule from {@link #start(RandomGenerator)}.
   * AWS decorrelated jitter depends on the previous delay; it is positioned in the state whose next
   * interval is the widest one reachable at that attempt (previous delay =
   * {@code min(cap, base * 3^(attempt - 1))}), so its first delay spans the whole documented
   * interval.
   *
   * @param attempt the retry number the first {@code nextDelayNanos()} is for, {@code >= 1}
   * @param random the source of jitter
   * @return a fresh schedule
   */
  Schedule startAt(int attempt, RandomGenerator random);
}
