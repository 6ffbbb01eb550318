/**
 * Exact, lock-free rate limiters with {@code Retry-After}: a token bucket, both kinds of leaky
 * bucket, and per-key limiters in bounded memory.
 *
 * <p>The connect servers in the reconnect-storm outage had no rate limit: when every hub came back at
 * once, every request went through to the database. This package is the admission control that was
 * missing. It depends only on {@code resilience-core}.
 *
 * <ul>
 *   <li>{@link dev.shepherd.ratelimit.Rate}: permits per period, an exact rational number, used by
 *       every limiter here and in {@code ratelimit-redis}.
 *   <li>{@link dev.shepherd.ratelimit.RateLimiter}: the contract, a
 *       {@link dev.shepherd.core.Policy}. {@code tryAcquire} never blocks;
 *       {@code tryAcquire(permits, maxWait)} waits only when the permits are certain to come within
 *       {@code maxWait}; {@code acquireOrRetryAfterNanos(permits)} grants or, atomically, says how
 *       many nanoseconds until the same request would be granted, allocating nothing.
 *   <li>{@link dev.shepherd.ratelimit.TokenBucket}: rate plus burst, exact (it grants iff an ideal
 *       token bucket would), never more than {@code burst + rate × d} permits in any window of
 *       length {@code d}, one compare-and-set per grant; its rate can change at run time.
 *   <li>{@link dev.shepherd.ratelimit.LeakyBucketMeter}: conformance to a steady rate with a small
 *       tolerance; refuses at once, never waits.
 *   <li>{@link dev.shepherd.ratelimit.LeakyBucketShaper}: a queue that releases callers at a steady
 *       rate, refusing at once a caller whose turn is beyond {@code maxQueueDelay}.
 *   <li>{@link dev.shepherd.ratelimit.KeyedRateLimiter}: one limit per key, implemented here by
 *       {@link dev.shepherd.ratelimit.KeyedTokenBucket} (one token bucket per device or address,
 *       never more than {@code maxKeys} of them; refilled buckets are dropped, busy ones never) and
 *       fleet-wide by {@code ratelimit-redis}.
 *   <li>{@link dev.shepherd.ratelimit.SlotAdmission}: reconnect-slot admission for storms: every
 *       caller it refuses gets its own slot, spaced at the admission rate, and a
 *       {@link dev.shepherd.ratelimit.SlotTicket} any server sharing the key honours.
 *   <li>{@link dev.shepherd.ratelimit.RateLimitExceededException}: the rejection, naming the limiter
 *       and carrying the exact retry-after, also as an HTTP {@code Retry-After} value.
 * </ul>
 *
 * <h2>Exactness without drift</h2>
 * All four local limiters decide with one algorithm, the Generic Cell Rate Algorithm, in integer
 * time units of {@code 1/S} ns, where {@code S} is the numerator of the rate in permits per
 * nanosecond in lowest terms (1 for 10 per second, 3 for 3 per second), so no quantity is ever
 * rounded: 3 per second means exactly three permits in every second, for ever. Rates from one per
 * 36 years to 10^9 per second are supported. Tickers may start anywhere, including near
 * {@link java.lang.Long#MIN_VALUE} or {@link java.lang.Long#MAX_VALUE}. All limiters take a
 * {@link dev.shepherd.core.Ticker} and a {@link dev.shepherd.core.Sleeper}; tests drive them with a
 * {@code ManualClock}.
 *
 * <h2>Observability</h2>
 * Each limiter counts granted and refused requests and reports every refusal, never a grant, to its
 * {@link dev.shepherd.core.EventListener} (guarded; by default a summarising SLF4J logger; with
 * {@link dev.shepherd.core.EventListener#noop()} no event is built at all).
 */
package dev.shepherd.ratelimit;
