/**
 * Backoff, retry and reconnection for clients that fail together: the hub side of Shepherd.
 *
 * <p>In the outage that shaped this library, a load balancer dropped every hub's connection at the
 * same instant, every hub reconnected at once and kept retrying without backoff, and the retries
 * kept the servers down. This package makes that hard to do by accident:
 *
 * <ul>
 *   <li>{@link dev.shepherd.backoff.Backoff} policies say how long to wait before each retry:
 *       constant, linear and exponential ones, AWS's full, equal and decorrelated jitter, Polly's
 *       decorrelated jitter v2, gRPC's connection backoff ({@link dev.shepherd.backoff.GrpcConfig}),
 *       and proportional jitter for any of them. Each states the exact interval of every delay; the
 *       jittered ones stay spread once they reach their cap, so a capped fleet does not
 *       re-synchronise; none overflows, whatever the attempt number.
 *   <li>{@link dev.shepherd.backoff.Retry} runs a call again on failure, synchronously or asynchronously, with a
 *       deadline, predicates, and server hints ({@code Retry-After}) honoured with jitter above them.
 *   <li>{@link dev.shepherd.backoff.RetryBudget} caps retries to a fraction of first attempts, so a mass failure cannot
 *       multiply the load.
 *   <li>{@link dev.shepherd.backoff.Reconnector} keeps a long-lived connection up, waiting a random
 *       delay before even the first reconnect, because the whole fleet lost its connection in the
 *       same instant.
 * </ul>
 *
 * <p>Randomness is injected as a {@link java.util.random.RandomGenerator}: a seeded generator makes
 * a whole fleet's schedule reproducible in tests, and {@code start()} without one draws from
 * {@link java.util.concurrent.ThreadLocalRandom}. Time is injected as core's {@code Ticker} and
 * {@code Sleeper}, so tests drive a {@code ManualClock} instead of sleeping.
 *
 * <p>Configuration objects and policies are immutable and thread-safe; per-use state (one loop's
 * {@link dev.shepherd.backoff.Backoff.Schedule}) is not shared. The module depends on
 * {@code resilience-core} only.
 */
package dev.shepherd.backoff;
