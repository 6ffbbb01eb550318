package dev.shepherd.micrometer;

import dev.shepherd.ratelimit.redis.RedisKeyedRateLimiter;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.ratelimit.redis.RedisSlotAdmission;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;
import java.util.function.ToLongFunction;

/**
 * Meters for the fleet-wide rate limiters of {@code shepherd-ratelimit-redis}, read from their own
 * counters.
 *
 * <table class="striped">
 *   <caption>Meters (tags: {@code name}, {@code type})</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.ratelimit.granted}, {@code shepherd.ratelimit.rejected}</td>
 *         <td>function counters</td><td>as for the local limiters ({@link RateLimiterMetrics})</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.errors}</td><td>function counter</td>
 *         <td>checks and probes Redis failed</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.fallback.active}</td><td>gauge</td>
 *         <td>1 while the limiter decides without Redis, else 0</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.fallback.decisions}</td><td>function counter</td>
 *         <td>checks decided by the failure policy</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.fallback.time}</td><td>function counter, seconds</td>
 *         <td>total time spent on the fallback (Prometheus:
 *         {@code shepherd_ratelimit_redis_fallback_time_seconds_total})</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.fallback.share}</td><td>gauge, permits per second</td>
 *         <td>this server's share, what the local fallback admits (per key for a keyed limiter)</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.fleet.servers}</td><td>gauge</td>
 *         <td>the servers the share is computed for: live ones from heartbeats, the fleet-size source
 *         during an outage, or {@code expectedServers}</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.fleet.rate}</td><td>gauge, permits per second</td>
 *         <td>the fleet-wide rate (per key for a keyed limiter)</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.lease.outstanding}</td><td>gauge</td>
 *         <td>permits leased from Redis and not yet spent (over all keys for a keyed limiter; 0
 *         without lease mode)</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.redis.lease.keys}</td><td>gauge</td>
 *         <td>keys holding a lease ({@link RedisKeyedRateLimiter} only; 0 without lease mode)</td></tr>
 *   </tbody>
 * </table>
 */
public final class RedisRateLimiterMetrics {

  private RedisRateLimiterMetrics() {}

  /**
   * Meters for a fleet-wide limiter on one key.
   *
   * @param limiter the limiter
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(RedisRateLimiter limiter, Tag... extraTags) {
    Objects.requireNonNull(limiter, "limiter");
    Tags tags = Binders.tags(limiter.name(), "RedisRateLimiter", extraTags);
    return registry -> {
      bind(registry, tags, limiter, RedisRateLimiter::grantedCount,
          RedisRateLimiter::rejectedCount, RedisRateLimiter::redisErrorCount, RedisRateLimiter::fallbackCount,
          RedisRateLimiter::fallbackActive, RedisRateLimiter::timeInFallback);
      bindFleet(registry, tags, limiter, RedisRateLimiter::fleetServers, l -> l.fallbackShare().permitsPerSecond(),
          l -> l.rate().permitsPerSecond());
      Gauge.builder("shepherd.ratelimit.redis.lease.outstanding", limiter, RedisRateLimiter::leasedPermits)
          .description("Permits leased from Redis and not yet spent").tags(tags).register(registry);
    };
  }

  /**
   * Meters for a fleet-wide keyed limiter: its totals over every key.
   *
   * @param limiter the limiter
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(RedisKeyedRateLimiter limiter, Tag... extraTags) {
    Objects.requireNonNull(limiter, "limiter");
    Tags tags = Binders.tags(limiter.name(), "RedisKeyedRateLimiter", extraTags);
    return registry -> {
      bind(registry, tags, limiter, RedisKeyedRateLimiter::grantedCount,
          RedisKeyedRateLimiter::rejectedCount, RedisKeyedRateLimiter::redisErrorCount,
          RedisKeyedRateLimiter::fallbackCount, RedisKeyedRateLimiter::fallbackActive,
          RedisKeyedRateLimiter::timeInFallback);
      bindFleet(registry, tags, limiter, RedisKeyedRateLimiter::fleetServers,
          l -> l.fallbackShare().permitsPerSecond(), l -> l.rate().permitsPerSecond());
      Gauge.builder("shepherd.ratelimit.redis.lease.outstanding", limiter, RedisKeyedRateLimiter::leasedPermits)
          .description("Permits leased from Redis and not yet spent, over all keys").tags(tags).register(registry);
      Gauge.builder("shepherd.ratelimit.redis.lease.keys", limiter, RedisKeyedRateLimiter::leasedKeys)
          .description("Keys holding a lease").tags(tags).register(registry);
    };
  }

  /**
   * Meters for a fleet-wide slot admission: the counters of a local one ({@code
   * shepherd.admission.*}, see {@link RateLimiterMetrics}), its Redis errors, fallback state and
   * fleet share.
   *
   * @param admission the admission
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(RedisSlotAdmission admission, Tag... extraTags) {
    Objects.requireNonNull(admission, "admission");
    Tags tags = Binders.tags(admission.name(), "RedisSlotAdmission", extraTags);
    return registry -> {
      RateLimiterMetrics.bindAdmission(registry, tags, admission, RedisSlotAdmission::admittedCount,
          RedisSlotAdmission::redeemedCount, RedisSlotAdmission::slotCount, RedisSlotAdmission::beyondHorizonCount);
      bindFallback(registry, tags, admission, RedisSlotAdmission::redisErrorCount,
          RedisSlotAdmission::fallbackCount, RedisSlotAdmission::fallbackActive, RedisSlotAdmission::timeInFallback);
      Gauge.builder("shepherd.ratelimit.redis.fleet.servers", admission, a -> a.fleetServers())
          .description("Servers the fallback share is computed for").tags(tags).register(registry);
    };
  }

  private static <T> void bindFleet(MeterRegistry registry, Tags tags, T limiter, ToIntFunction<T> servers,
      ToDoubleFunction<T> share, ToDoubleFunction<T> fleetRate) {
    Gauge.builder("shepherd.ratelimit.redis.fleet.servers", limiter, l -> servers.applyAsInt(l))
        .description("Servers the fallback share is computed for").tags(tags).register(registry);
    Gauge.builder("shepherd.ratelimit.redis.fallback.share", limiter, share)
        .description("This server's share of the rate, permits per second, admitted by the local fallback")
        .tags(tags).register(registry);
    Gauge.builder("shepherd.ratelimit.redis.fleet.rate", limiter, fleetRate)
        .description("The fleet-wide rate, permits per second").tags(tags).register(registry);
  }

  private static <T> void bind(MeterRegistry registry, Tags tags, T limiter, ToLongFunction<T> granted,
      ToLongFunction<T> rejected, ToLongFunction<T> errors, ToLongFunction<T> fallbacks,
      Predicate<T> fallbackActive, Function<T, Duration> timeInFallback) {
    FunctionCounter.builder("shepherd.ratelimit.granted", limiter, l -> granted.applyAsLong(l))
        .description("Requests granted").tags(tags).register(registry);
    FunctionCounter.builder("shepherd.ratelimit.rejected", limiter, l -> rejected.applyAsLong(l))
        .description("Requests refused").tags(tags).register(registry);
    bindFallback(registry, tags, limiter, errors, fallbacks, fallbackActive, timeInFallback);
  }

  private static <T> void bindFallback(MeterRegistry registry, Tags tags, T limiter, ToLongFunction<T> errors,
      ToLongFunction<T> fallbacks, Predicate<T> fallbackActive, Function<T, Duration> timeInFallback) {
    FunctionCounter.builder("shepherd.ratelimit.redis.errors", limiter, l -> errors.applyAsLong(l))
        .description("Checks and probes that Redis failed").tags(tags).register(registry);
    Gauge.builder("shepherd.ratelimit.redis.fallback.active", limiter, l -> fallbackActive.test(l) ? 1 : 0)
        .description("1 while the limiter decides without Redis").tags(tags).register(registry);
    FunctionCounter.builder("shepherd.ratelimit.redis.fallback.decisions", limiter, l -> fallbacks.applyAsLong(l))
        .description("Checks decided by the failure policy").tags(tags).register(registry);
    FunctionCounter.builder("shepherd.ratelimit.redis.fallback.time", limiter,
            l -> timeInFallback.apply(l).toNanos() / 1e9)
        .description("Time spent deciding without Redis").baseUnit("seconds").tags(tags).register(registry);
  }
}
