package dev.shepherd.auth;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * Turns credentials into a principal, or says why it cannot: the contract of every authenticator
 * in Shepherd, from an HTTP backend to the {@link CachingAuthenticator} in front of it.
 *
 * <p>An authenticator answers in one of three ways, and callers must keep them apart:
 * <ul>
 *   <li>a principal: the credentials are valid;
 *   <li>{@link AuthenticationException}: the credentials are <em>invalid</em> (wrong secret,
 *       unknown or revoked device); retrying with the same credentials will not help;
 *   <li>{@link BackendUnavailableException}: no verdict could be reached (backend down, slow,
 *       overloaded or refused by a guard); the credentials may well be valid, and the exception's
 *       {@link BackendUnavailableException#retryAfter() retry-after} says when to ask again.
 * </ul>
 * A server maps the first failure to HTTP 401 and the second to 503 with a {@code Retry-After}.
 * Both exceptions are unchecked, so authenticators compose as lambdas and in
 * {@link CompletionStage} pipelines.
 *
 * <p>Implementations must be thread-safe. Implementations that do I/O should override
 * {@link #authenticateAsync(Object)} so that it does not block the calling thread.
 *
 * @param <C> the credentials type, for example {@link DeviceCredentials}
 * @param <P> the principal type
 */
@FunctionalInterface
public interface Authenticator<C, P> {

  /**
   * Verifies {@code credentials}, blocking until there is a verdict.
   *
   * @param credentials what the client presented
   * @return the principal the credentials identify; never null
   * @throws AuthenticationException if the credentials are invalid
   * @throws BackendUnavailableException if no verdict could be reached
   * @throws NullPointerException if {@code credentials} is null
   */
  P authenticate(C credentials);

  /**
   * Verifies {@code credentials} without blocking the calling thread (when the implementation
   * supports it).
   *
   * <p>The returned stage completes with the principal, or exceptionally with an
   * {@link AuthenticationException} or a {@link BackendUnavailableException}, as
   * {@link #authenticate(Object)} would have thrown. The default implementation calls
   * {@link #authenticate(Object)} on the calling thread and returns a completed stage; it never
   * throws.
   *
   * @param credentials what the client presented
   * @return a stage completing with the principal or the failure
   */
  default CompletionStage<P> authenticateAsync(C credentials) {
    try {
      return CompletableFuture.completedFuture(authenticate(credentials));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /**
   * Returns an authenticator that converts this one's principals with {@code mapper}, in both the
   * synchronous and the asynchronous form; failures pass through unchanged.
   *
   * <p>The usual use adapts a plain backend for a {@link CachingAuthenticator}:
   * {@code backend.map(Verified::of)}.
   *
   * @param mapper converts a principal; must not return null
   * @param <Q> the new principal type
   * @return the mapped authenticator
   * @throws NullPointerException if {@code mapper} is null
   */
  default <Q> Authenticator<C, Q> map(Function<? super P, ? extends Q> mapper) {
    Objects.requireNonNull(mapper, "mapper");
    return new MappedAuthenticator<>(this, mapper);
  }
}
