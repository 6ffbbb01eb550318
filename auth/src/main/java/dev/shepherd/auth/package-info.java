/**
 * Authentication that survives a reconnect storm: a caching authenticator that makes one backend
 * call per device however many reconnects arrive together, serves the last known good answer
 * while the backend is down, never accepts a wrong secret, and never calls a right secret wrong.
 *
 * <h2>The pieces</h2>
 * <ul>
 *   <li>{@link dev.shepherd.auth.Authenticator}: credentials to principal, synchronously or as a
 *       {@link java.util.concurrent.CompletionStage}. Two failures that callers must keep apart:
 *       {@link dev.shepherd.auth.AuthenticationException} (invalid credentials, HTTP 401) and
 *       {@link dev.shepherd.auth.BackendUnavailableException} (no verdict now, HTTP 503 with
 *       {@code Retry-After}; a {@link dev.shepherd.core.RejectedException}).
 *   <li>{@link dev.shepherd.auth.DeviceCredentials}: a normalised device id and a secret held as
 *       bytes, copied defensively, wipeable, never printed.
 *   <li>{@link dev.shepherd.auth.Verified}: what a backend vouches for, and for how long.
 *   <li>{@link dev.shepherd.auth.CachingAuthenticator}: the storm absorber, on Caffeine. Single
 *       flight, HMAC digests instead of secrets, refresh-ahead with jitter, per-secret negative
 *       caching, a per-device allowance of calls for unverified secrets, its own backend timeout,
 *       stale-if-error with fail-closed for unknown devices, revocation, bounded memory, an
 *       optional guard {@link dev.shepherd.core.Policy} on backend calls.
 *   <li>{@link dev.shepherd.auth.HttpAuthenticator}: a backend over {@code java.net.http}.
 * </ul>
 *
 * <h2>Typical use</h2>
 * <pre>{@code
 * CachingAuthenticator<String> auth = CachingAuthenticator
 *     .builder(HttpAuthenticator.of(URI.create("http://auth.internal:8080")))
 *     .guard(bulkhead)                         // optional: any dev.shepherd.core.Policy
 *     .build();
 * try {
 *   String principal = auth.authenticate(DeviceCredentials.of(deviceId, secret));
 *   // connect the device
 * } catch (AuthenticationException e) {
 *   // 401: refuse the device
 * } catch (BackendUnavailableException e) {
 *   // 503 + Retry-After: RetryAfter.format(e.retryAfter().orElse(Duration.ofSeconds(1)))
 * }
 * }</pre>
 *
 * <h2>Testing</h2>
 * Give the authenticator a {@code ManualClock} as its ticker, a seeded
 * {@link java.util.random.RandomGenerator}, and {@code Runnable::run} as its executor: expiry,
 * refresh and jitter then happen exactly when the test moves the clock.
 */
package dev.shepherd.auth;
