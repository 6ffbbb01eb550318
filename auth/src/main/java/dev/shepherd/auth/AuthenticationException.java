package dev.shepherd.auth;

import java.util.Objects;

/**
 * Thrown when credentials are invalid: a wrong secret, an unknown device, a revoked device.
 *
 * <p>This is a verdict, not an outage: asking again with the same credentials gives the same
 * answer, so clients should not retry it in a loop, and servers answer it with HTTP 401. An outage
 * is a {@link BackendUnavailableException} instead; Shepherd never reports an outage as this
 * exception.
 *
 * <p>Invalid credentials are expected control flow (a storm of devices with stale secrets can
 * produce thousands a second), so this exception does not capture a stack trace. Its message names
 * the authenticator and the device, never the secret. Instances are immutable.
 */
public class AuthenticationException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message what was refused; must name no secret
   * @throws NullPointerException if {@code message} is null
   */
  public AuthenticationException(String message) {
    this(message, null);
  }

  /**
   * Creates the exception with a cause.
   *
   * @param message what was refused; must name no secret
   * @param cause the underlying failure, or {@code null}
   * @throws NullPointerException if {@code message} is null
   */
  public AuthenticationException(String message, Throwable cause) {
    super(Objects.requireNonNull(message, "message"), cause, false, false);
  }
}
