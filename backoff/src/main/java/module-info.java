/**
 * Jittered backoff, {@code Retry} (sync and async), {@code RetryBudget}, {@code Reconnector} and
 * {@code HttpRetry}: the hub side of Shepherd. See {@link dev.shepherd.backoff}.
 */
module dev.shepherd.backoff {
  requires transitive dev.shepherd.core;
  // HttpRetry takes and returns java.net.http types.
  requires transitive java.net.http;

  exports dev.shepherd.backoff;
}
