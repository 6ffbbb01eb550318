/**
 * A circuit breaker with a bounded, jittered half-open state, a timeout that ends the call, a
 * fallback, and client-side adaptive throttling. See {@link dev.shepherd.circuitbreaker}.
 */
module dev.shepherd.circuitbreaker {
  requires transitive dev.shepherd.core;

  exports dev.shepherd.circuitbreaker;
}
