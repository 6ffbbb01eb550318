package dev.shepherd.auth;

import java.util.Objects;

/**
 * Thrown when credentials are invalid: a wrong secret, an unknown device, a revoked device.
 *
 * <p>This is a verdict, not an outage: it means that the backend itself refused these exact
 * credentials (for a {@link CachingAuthenticator}: refused this exact secret in a call that started
 * less than its {@code negativeTtl} ago). Servers answer it with HTTP 401, and clients should not
 * retry the same credentials in a loop: until the backend's verdict changes (the device is
 * enrolled, or its secret rotated to these credentials), asking again gets the same answer, and a
 * caching authenticator answers it from its cache meanwhile. Nothing another request does (with
 * another secret, for the same device) can make credentials be refused with this exception. An
 * outage, an overload or a deferral is a {@link BackendUnavailableException} instead; Shepherd
 * never reports one as this exception.
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
