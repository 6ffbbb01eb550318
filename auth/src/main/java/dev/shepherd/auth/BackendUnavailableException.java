package dev.shepherd.auth;

import dev.shepherd.core.RejectedException;
import java.time.Duration;

/**
 * Thrown when no verdict on credentials could be reached: the backend is down, too slow,
 * overloaded, answered something unexpected, or a guard refused to call it.
 *
 * <p>This is <em>not</em> a statement about the credentials, which may well be valid: callers must
 * not treat it as {@link AuthenticationException}, and Shepherd never caches it as "invalid".
 * Servers answer it with HTTP 503 and the {@link #retryAfter()} hint as {@code Retry-After}
 * (render it with {@link dev.shepherd.core.RetryAfter#format(Duration)}), and clients retry with
 * jittered backoff.
 *
 * <p>It extends core's {@link RejectedException} on purpose: it is the authenticator refusing to
 * vouch for a call "for now, come back later", exactly the family a rate limiter's or bulkhead's
 * refusal belongs to, so a server's single {@code catch (RejectedException e)} turns every
 * overload signal, this one included, into a 503 with {@code Retry-After}. Like every
 * {@code RejectedException} it carries no stack trace (outages produce them in storms), and it
 * keeps the underlying failure (an {@code IOException}, a timeout, a guard's rejection) as its
 * {@linkplain #getCause() cause}. Its message names the authenticator and the device, never a
 * secret. Instances are immutable.
 */
public class BackendUnavailableException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception with no retry-after hint and no cause.
   *
   * @param source the name of the authenticator that could not reach a verdict
   * @param message what happened; must name no secret
   * @throws NullPointerException if {@code source} or {@code message} is null
   */
  public BackendUnavailableException(String source, String message) {
    this(source, message, null, null);
  }

  /**
   * Creates the exception.
   *
   * @param source the name of the authenticator that could not reach a verdict
   * @param message what happened; must name no secret
   * @param retryAfter how long until asking again makes sense, or {@code null} when unknown
   * @param cause the underlying failure, or {@code null}
   * @throws NullPointerException if {@code source} or {@code message} is null
   * @throws IllegalArgumentException if {@code retryAfter} is negative
   */
  public BackendUnavailableException(String source, String message, Duration retryAfter, Throwable cause) {
    super(source, message, retryAfter, cause);
  }
}
