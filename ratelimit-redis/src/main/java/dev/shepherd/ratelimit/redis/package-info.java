/**
 * One fleet-wide rate limit across every server, kept in Redis, with a local fallback when Redis is
 * slow or down.
 *
 * <p>A per-server bucket lets a fleet of {@code N} servers admit {@code N × rate}, and autoscaling
 * in a storm raises {@code N} exactly when the database can least take it. The limiters here keep
 * the bucket in Redis instead, so the whole fleet shares one limit:
 *
 * <ul>
 *   <li>{@link dev.shepherd.ratelimit.redis.RedisRateLimiter}: one global limit on one Redis key; a
 *       {@link dev.shepherd.ratelimit.RateLimiter} (and so a {@link dev.shepherd.core.Policy}) like
 *       the local buckets, with the same retry-after contract and
 *       {@link dev.shepherd.ratelimit.RateLimitExceededException}, plus asynchronous forms.
 *   <li>{@link dev.shepherd.ratelimit.redis.RedisKeyedRateLimiter}: one limit per key (per device,
 *       per tenant) with the same script, under a key prefix, with bounded key length; a
 *       {@link dev.shepherd.ratelimit.KeyedRateLimiter} like the in-process
 *       {@link dev.shepherd.ratelimit.KeyedTokenBucket}, so call sites do not change between them.
 *   <li>{@link dev.shepherd.ratelimit.redis.FailurePolicy}: what to decide while Redis is
 *       unavailable: {@code FAIL_LOCAL} (default: this server's share in an in-process bucket),
 *       {@code FAIL_OPEN} or {@code FAIL_CLOSED}.
 * </ul>
 *
 * <h2>How a check works</h2>
 * One {@code EVALSHA} of one Lua script on one key: the script reads Redis's {@code TIME} (so the
 * servers' clocks play no part), applies the Generic Cell Rate Algorithm to the bucket's
 * theoretical arrival time, writes it back with a TTL of the time until the bucket is full again
 * (idle keys vanish), and replies {@code {granted, wait µs, Redis time µs}}. Redis runs the script
 * atomically: one round trip, no client-side retry loop. After a restart or failover the script
 * cache is empty; the limiter answers {@code NOSCRIPT} by sending the script's source once with
 * {@code EVAL}, to the same key's node, which caches it there.
 *
 * <h2>Standalone, Sentinel and Cluster</h2>
 * The builders take a {@code StatefulRedisConnection} (standalone, or master–replica from
 * {@code MasterReplica.connect} with a {@code redis-sentinel://} URI: every script goes to the
 * master the Sentinel names) or a {@code StatefulRedisClusterConnection}
 * ({@code clusterConnection(...)}). Every script touches exactly one key, so in a cluster it runs
 * on that key's master and no hash tags are needed; Lettuce follows {@code MOVED} and {@code ASK}
 * inside the check's timeout. {@code CLUSTERDOWN}, {@code TRYAGAIN}, {@code READONLY} (a demoted
 * master), {@code MASTERDOWN}, a dead node and a timeout make the check fall back within the
 * timeout, as any unavailable Redis does.
 *
 * <h2>A failover's price</h2>
 * Redis replicates asynchronously. When a master fails over, the writes the promoted replica had
 * not received are lost: for each key, the new master holds the bucket as it was {@code λ} ago,
 * where {@code λ} is the replication lag at promotion plus the time clients kept writing to the old
 * master. The fleet can then be granted again what was granted in that window: at most
 * {@code burst + rate × λ} extra permits per key, once per failover (and if the new master's clock
 * runs {@code δ} ahead of the old one's, up to {@code rate × δ} more, since the script reads
 * {@code TIME} on whichever master runs it). The lag is visible as the difference between the
 * master's {@code master_repl_offset} and the replica's {@code slave_repl_offset}; {@code WAIT}
 * is not used, because it would add a round trip to every check.
 *
 * <h2>A share that follows the fleet, and leases</h2>
 * With {@code heartbeat(interval)} each limiter announces itself (one script call per interval on
 * a sorted set {@code shepherd:fleet:<name>}, members expiring after three intervals on Redis's
 * clock) and the fallback share is {@code rate / live servers}; with {@code fleetSize(source)} the
 * count comes from the source during an outage, so servers started then share correctly; without
 * one the last count is kept. {@code lease(n)} (on both limiters; per key on the keyed one) takes
 * up to {@code n} permits per script call and spends them locally: every limiter on the key
 * together grants at most {@code burst + rate × d + servers × n} in any window of length {@code d}.
 *
 * <h2>Units and resolution</h2>
 * Redis time is read in microseconds; Lua numbers are doubles, exact for integers below 2^53. The
 * script counts time in units of {@code 1/S} µs, where {@code S} makes the emission interval a
 * whole number (1 at 10 per second, 3 at 3 per second), and keeps every quantity a non-negative
 * integer below 2^53, so decisions are exact at Redis's microsecond tick: no rounding and no drift.
 * {@code S} may be at most 2^40, which every rate with at most 1,099,511,627 permits per period (in
 * lowest terms) fits, up to 10^9 per second; a rate needing a finer unit is refused where it is set.
 * Retry-afters are whole microseconds (returned in nanoseconds, multiples of 1000). A burst's
 * refill time is limited to 2^50 units (35 years at {@code S = 1}), reservations to 2^52 units in
 * all (4.5 s ahead at {@code S} near 10^9), and Redis time must stay below 2^53 µs (until the year
 * 2255).
 *
 * <h2>Failure handling</h2>
 * Every check waits at most a configurable timeout (default 50 ms). A timeout or connection
 * failure opens a circuit: for a cool-down the failure policy decides every check at once, without
 * touching Redis; then a background probe ({@code SCRIPT LOAD}, on every master of a cluster)
 * tests Redis, and the first answer
 * returns the limiter to the global limit. Counters (checks, grants, rejections, Redis errors,
 * fallback decisions, time on the fallback) and events ({@code REJECTED}, {@code FAILED},
 * {@code FALLBACK}, {@code STATE_CHANGED}; summarised by the default logging listener) make it
 * visible. A reply the limiter cannot read is an error and a refusal, never a grant.
 */
package dev.shepherd.ratelimit.redis;
