package dev.shepherd.circuitbreaker;

import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.Locale;

/**
 * Thrown (or used to fail a stage) when a {@link CircuitBreaker} does not permit a call: it is open,
 * forced open, or half-open with every probe already out.
 *
 * <p>When the breaker is {@link CircuitBreaker.State#OPEN open}, {@link #retryAfter()} is the time
 * left until it lets probes through, exactly; each breaker of a fleet drew its own open time, so the
 * hints of a fleet are already spread. Half-open and forced-open breakers cannot tell, and give no
 * hint. The message names the breaker and its state, for example
 * {@code "circuit breaker 'cloud' is OPEN: calls not permitted for another PT12.5S"}. Like every
 * {@link RejectedException} it carries no stack trace. Immutable.
 */
public final class CircuitBreakerOpenException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /** The state that refused the call. */
  private final CircuitBreaker.State state;

  /**
   * Creates a rejection.
   *
   * @param breakerName the name of the refusing breaker
   * @param state the state that refused
   * @param retryAfterNanos nanoseconds until probes are allowed, or {@code -1} when unknown
   * @throws NullPointerException if {@code breakerName} or {@code state} is null
   */
  CircuitBreakerOpenException(String breakerName, CircuitBreaker.State state, long retryAfterNanos) {
    super(breakerName, message(breakerName, state, retryAfterNanos),
        retryAfterNanos < 0 ? null : Duration.ofNanos(retryAfterNanos));
    this.state = state;
  }

  private static String message(String name, CircuitBreaker.State state, long retryAfterNanos) {
    String base = String.format(Locale.ROOT, "circuit breaker '%s' is %s", name, state);
    if (state == CircuitBreaker.State.HALF_OPEN) {
      return base + ": every probe is out, waiting for their outcome";
    }
    return retryAfterNanos < 0 ? base + ": calls not permitted"
        : base + ": calls not permitted for another " + Duration.ofNanos(retryAfterNanos);
  }

  /**
   * Returns the state of the breaker when it refused the call.
   *
   * @return {@code OPEN}, {@code HALF_OPEN} or {@code FORCED_OPEN}
   */
  public CircuitBreaker.State state() {
    return state;
  }
}
