/**
 * Stopping calls that cannot succeed: a circuit breaker, a timeout that ends the call, a fallback to
 * a second source, and client-side adaptive throttling.
 *
 * <ul>
 *   <li>{@link dev.shepherd.circuitbreaker.CircuitBreaker}: count- or time-based sliding windows,
 *       failure-rate and slow-call thresholds, at most {@code k} probes when half-open, and an open
 *       time with jitter drawn per opening, so a fleet whose breakers opened together does not
 *       probe together. Refusals are {@link dev.shepherd.circuitbreaker.CircuitBreakerOpenException}s
 *       whose retry-after is the exact time left.
 *   <li>{@link dev.shepherd.circuitbreaker.Timeout}: releases the caller at the deadline even when
 *       the callee ignores interrupts, on an executor you bound; never a thread per call. Ends calls
 *       with a {@link dev.shepherd.circuitbreaker.TimeoutExceededException}.
 *   <li>{@link dev.shepherd.circuitbreaker.Fallback}: answers from a second source (the hub on the
 *       local network when the cloud is down) for the failures, refusals and results it handles.
 *   <li>{@link dev.shepherd.circuitbreaker.AdaptiveThrottle}: rejects locally with the probability
 *       of the SRE book's formula, capped so that a client never stops probing, with {@link
 *       dev.shepherd.circuitbreaker.ThrottledException}.
 * </ul>
 *
 * <p>All four are {@link dev.shepherd.core.Policy policies} and compose: {@code
 * Policy.compose(fallback, breaker, timeout)} answers from the fallback when the breaker refuses or
 * the timeout ends the call, and the breaker counts each timeout as a failure. Every refusal is a
 * {@link dev.shepherd.core.RejectedException}. Time is read from an injected {@link
 * dev.shepherd.core.Ticker} and randomness from an injected {@link java.util.random.RandomGenerator},
 * so tests run on a {@code ManualClock} with seeded generators. The module depends on {@code
 * resilience-core} only.
 */
package dev.shepherd.circuitbreaker;
