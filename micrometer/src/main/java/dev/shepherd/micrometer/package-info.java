/**
 * Micrometer meters for every Shepherd primitive.
 *
 * <p>Two halves, because primitives keep cheap counters and report events:
 * <ul>
 *   <li><b>Binders</b> ({@link dev.shepherd.micrometer.RateLimiterMetrics},
 *       {@link dev.shepherd.micrometer.RedisRateLimiterMetrics},
 *       {@link dev.shepherd.micrometer.BulkheadMetrics}, {@link dev.shepherd.micrometer.BackoffMetrics},
 *       {@link dev.shepherd.micrometer.AuthMetrics},
 *       {@link dev.shepherd.micrometer.CircuitBreakerMetrics}) read each instance's own counters and state at
 *       scrape time: gauges and function counters, bound per instance with the tags {@code name}
 *       (the instance's name) and {@code type}. They add nothing to the paths that grant permits.
 *       Each binder class names only its own module's types, and those modules are optional
 *       dependencies of this one: a user pulls only what they use.
 *   <li><b>{@link dev.shepherd.micrometer.MetricsListener}</b> turns events into meters: a counter
 *       per source and kind, and the distribution of retry-after hints. Give it to the builders.
 * </ul>
 *
 * <pre>{@code
 * MetricsListener metrics = new MetricsListener(registry);
 * TokenBucket connect = TokenBucket.builder().name("connect").permitsPerSecond(500)
 *     .listener(EventListener.logging().andThen(metrics))
 *     .build();
 * RateLimiterMetrics.of(connect).bindTo(registry);
 * }</pre>
 *
 * <p>Names follow Micrometer's conventions (dot-separated, lower case, base units: seconds); a
 * Prometheus registry renders {@code shepherd.ratelimit.rejected} as
 * {@code shepherd_ratelimit_rejected_total}; circuit breakers show {@code shepherd.circuitbreaker.state}
 * as {@code shepherd_circuitbreaker_state{state="OPEN"}} (a gauge per state, like the reconnector's).
 */
package dev.shepherd.micrometer;
