package dev.shepherd.circuitbreaker;

import dev.shepherd.core.RejectedException;
import java.util.Locale;

/**
 * Thrown (or used to fail a stage) when an {@link AdaptiveThrottle} rejects a request locally,
 * without sending it to the backend.
 *
 * <p>The message names the throttle and the rejection probability at that moment, for example
 * {@code "adaptive throttle 'cloud' rejected the request locally (rejection probability 0.873)"}.
 * The throttle cannot tell when the backend will accept again, so {@link #retryAfter()} is empty.
 * Like every {@link RejectedException} it carries no stack trace. Immutable.
 */
public final class ThrottledException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /** The rejection probability when the request was rejected. */
  private final double rejectionProbability;

  ThrottledException(String throttleName, double rejectionProbability) {
    super(throttleName, String.format(Locale.ROOT,
        "adaptive throttle '%s' rejected the request locally (rejection probability %.3f)", throttleName,
        rejectionProbability), null);
    this.rejectionProbability = rejectionProbability;
  }

  /**
   * Returns the probability with which the throttle was rejecting when it rejected this request.
   *
   * @return a probability in {@code (0, maxRejectProbability]}
   */
  public double rejectionProbability() {
    return rejectionProbability;
  }
}
