package dev.shepherd.ratelimit.redis;

/**
 * What a Redis-backed limiter decides when Redis cannot answer: it is unreachable, too slow (no
 * reply within the limiter's timeout), loading, busy or read-only.
 *
 * <p>While Redis is unavailable the limiter does not ask it on every request: after a failure it
 * decides by this policy for a cool-down, then probes Redis in the background and returns to the
 * global limit as soon as Redis answers, so a dead Redis costs no request a timeout. A reply that
 * is not what the script returns is not "unavailable": it is always refused, whatever the policy,
 * and reported as an error.
 */
public enum FailurePolicy {

  /** Refuse every request; the retry-after is the time until Redis is probed again. */
  FAIL_CLOSED,

  /** Grant every request: availability over protection. */
  FAIL_OPEN,

  /**
   * The default: decide with an in-process token bucket holding this server's share of the global
   * limit, {@code rate / expectedServers} with a burst of {@code max(1, burst / expectedServers)}.
   * A fleet of {@code expectedServers} servers then admits about the global limit between them.
   */
  FAIL_LOCAL
}
