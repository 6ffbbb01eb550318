package dev.shepherd.circuitbreaker;

import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Thrown (or used to fail a stage) when a {@link Timeout} ends a call at its deadline.
 *
 * <p>It is a {@link RejectedException}, although nothing was refused up front, for three reasons:
 * it is unchecked, so it passes through {@code Callable}s and composed policies without wrapping;
 * it carries no stack trace, so a storm of timeouts (the normal symptom of a dead upstream) costs
 * no stack walks; and the single {@code catch (RejectedException e)} that a caller writes for
 * "Shepherd stopped this call" (and a {@link Fallback} that handles rejections) covers it. It is
 * not a {@link java.util.concurrent.TimeoutException}, which is checked. A timeout cannot say when
 * the upstream will answer again, so {@link #retryAfter()} is empty. Immutable.
 */
public final class TimeoutExceededException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /** The time limit that was exceeded, in nanoseconds. */
  private final long timeoutNanos;

  /**
   * Creates the exception.
   *
   * @param timeoutName the name of the {@link Timeout}
   * @param timeoutNanos the limit that was exceeded, in nanoseconds
   * @param cause what the callee threw after it was interrupted, or {@code null}
   * @throws NullPointerException if {@code timeoutName} is null
   */
  TimeoutExceededException(String timeoutName, long timeoutNanos, Throwable cause) {
    super(timeoutName, String.format(Locale.ROOT, "timeout '%s': no outcome within %s",
        Objects.requireNonNull(timeoutName, "timeoutName"), Duration.ofNanos(timeoutNanos)), null, cause);
    this.timeoutNanos = timeoutNanos;
  }

  /**
   * Returns the time limit that the call exceeded.
   *
   * @return the limit
   */
  public Duration timeout() {
    return Duration.ofNanos(timeoutNanos);
  }
}
