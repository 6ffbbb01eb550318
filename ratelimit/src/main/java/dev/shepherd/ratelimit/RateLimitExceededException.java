package dev.shepherd.ratelimit;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.RetryAfter;
import java.time.Duration;
import java.util.Objects;

/**
 * Thrown (or used to complete a stage exceptionally) when a {@link RateLimiter} refuses a call; names
 * the limiter and carries the exact wait until the same request would be granted.
 *
 * <p>The message reads, for example, {@code "RateLimiter 'connect' does not permit further calls;
 * retry after PT0.333333334S"}. The wait is {@link #retryAfterNanos()} (also
 * {@link #retryAfter()}); {@link #retryAfterHeader()} renders it as an HTTP {@code Retry-After}
 * value in whole seconds, rounded up so a client never comes back early. Clients should add jitter
 * above it, so a fleet told to come back in 30 s does not return in one instant.
 *
 * <p>Like every {@link RejectedException} it captures no stack trace: under a storm a limiter may
 * reject thousands of calls a second. Instances are immutable.
 */
public final class RateLimitExceededException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates a rejection with the standard message.
   *
   * @param limiterName the name of the refusing limiter
   * @param retryAfterNanos nanoseconds until the same request would be granted, zero or more
   * @throws NullPointerException if {@code limiterName} is null
   * @throws IllegalArgumentException if {@code retryAfterNanos} is negative
   */
  public RateLimitExceededException(String limiterName, long retryAfterNanos) {
    this(limiterName, "", retryAfterNanos);
  }

  /**
   * Creates a rejection whose message adds a reason, for example {@code "no room for a new key"}.
   *
   * @param limiterName the name of the refusing limiter
   * @param reason what was exceeded, appended to the standard message; empty for none. Must not
   *     hold secrets: it is logged
   * @param retryAfterNanos nanoseconds until the same request would be granted, zero or more
   * @throws NullPointerException if {@code limiterName} or {@code reason} is null
   * @throws IllegalArgumentException if {@code retryAfterNanos} is negative
   */
  public RateLimitExceededException(String limiterName, String reason, long retryAfterNanos) {
    super(
        Objects.requireNonNull(limiterName, "limiterName"),
        message(limiterName, Objects.requireNonNull(reason, "reason"),
            Checks.nonNegative(retryAfterNanos, "retryAfterNanos")),
        retryAfterNanos);
  }

  /**
   * Returns the wait as an HTTP {@code Retry-After} value: whole seconds, rounded up, as rendered by
   * {@link RetryAfter#formatNanos(long)}; for example {@code "1"} for 0.3 s and {@code "2"} for 1.2 s.
   *
   * @return the header value
   */
  public String retryAfterHeader() {
    return RetryAfter.formatNanos(retryAfterNanos());
  }

  private static String message(String name, String reason, long retryAfterNanos) {
    return "RateLimiter '" + name + "' does not permit further calls"
        + (reason.isEmpty() ? "" : ": " + reason)
        + "; retry after " + Duration.ofNanos(retryAfterNanos);
  }
}
