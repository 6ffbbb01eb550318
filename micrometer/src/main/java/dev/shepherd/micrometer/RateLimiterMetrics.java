package dev.shepherd.micrometer;

import dev.shepherd.ratelimit.KeyedRateLimiter;
import dev.shepherd.ratelimit.KeyedTokenBucket;
import dev.shepherd.ratelimit.LearnedRate;
import dev.shepherd.ratelimit.RateLimiter;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.TokenBucket;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.ToLongFunction;

/**
 * Meters for the rate limiters of {@code shepherd-ratelimit}, read from their own counters: binding
 * adds nothing to the path that grants a permit.
 *
 * <table class="striped">
 *   <caption>Meters (tags: {@code name} = the limiter's name, {@code type} = its class)</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.ratelimit.granted}</td><td>function counter</td>
 *         <td>requests granted</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.rejected}</td><td>function counter</td>
 *         <td>requests refused</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.available}</td><td>gauge</td>
 *         <td>permits that could be taken now ({@link TokenBucket} only)</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.keys}</td><td>gauge</td>
 *         <td>keys with a bucket ({@link KeyedRateLimiter} only)</td></tr>
 *     <tr><td>{@code shepherd.ratelimit.keys.evicted}</td><td>function counter</td>
 *         <td>buckets evicted ({@link KeyedRateLimiter} only)</td></tr>
 *   </tbody>
 * </table>
 * The retry-after distribution comes from events: see {@link MetricsListener}. A {@link LearnedRate}
 * has its own meters: see {@link #of(LearnedRate, Tag...)}.
 *
 * <table class="striped">
 *   <caption>Meters of a {@link SlotAdmission} (tags: {@code name}, {@code type})</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.admission.admitted}</td><td>function counter</td>
 *         <td>callers admitted at once, without a ticket</td></tr>
 *     <tr><td>{@code shepherd.admission.redeemed}</td><td>function counter</td>
 *         <td>callers admitted by the ticket of their slot</td></tr>
 *     <tr><td>{@code shepherd.admission.slots}</td><td>function counter</td>
 *         <td>personal slots handed out to refused callers</td></tr>
 *     <tr><td>{@code shepherd.admission.beyond.horizon}</td><td>function counter</td>
 *         <td>callers refused with a shared hint because the schedule was full to its horizon</td></tr>
 *     <tr><td>{@code shepherd.admission.backlog}</td><td>gauge, seconds</td>
 *         <td>how far ahead the schedule is booked: the storm still to drain</td></tr>
 *   </tbody>
 * </table>
 */
public final class RateLimiterMetrics {

  private RateLimiterMetrics() {}

  /**
   * Meters for one rate limiter; a {@link TokenBucket} also gets its available permits.
   *
   * @param limiter the limiter, read at each scrape (held weakly, as Micrometer does)
   * @param extraTags tags added to every meter
   * @return a binder to {@link MeterBinder#bindTo bind to} a registry
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(RateLimiter limiter, Tag... extraTags) {
    Objects.requireNonNull(limiter, "limiter");
    Tags tags = Binders.tags(limiter.name(), limiter.getClass().getSimpleName(), extraTags);
    return registry -> {
      FunctionCounter.builder("shepherd.ratelimit.granted", limiter, RateLimiter::grantedCount)
          .description("Requests granted").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.ratelimit.rejected", limiter, RateLimiter::rejectedCount)
          .description("Requests refused").tags(tags).register(registry);
      if (limiter instanceof TokenBucket) {
        Gauge.builder("shepherd.ratelimit.available", (TokenBucket) limiter, TokenBucket::availablePermits)
            .description("Permits that could be taken now").tags(tags).register(registry);
      }
    };
  }

  /**
   * Meters for a keyed rate limiter: its totals over every key, and its number of keys.
   *
   * @param limiter the limiter
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(KeyedRateLimiter<?> limiter, Tag... extraTags) {
    Objects.requireNonNull(limiter, "limiter");
    Tags tags = Binders.tags(limiter.name(), "KeyedRateLimiter", extraTags);
    return registry -> {
      FunctionCounter.builder("shepherd.ratelimit.granted", limiter, KeyedRateLimiter::grantedCount)
          .description("Requests granted").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.ratelimit.rejected", limiter, KeyedRateLimiter::rejectedCount)
          .description("Requests refused").tags(tags).register(registry);
      if (limiter instanceof KeyedTokenBucket) { // a local limiter holds its keys; Redis holds the others'
        KeyedTokenBucket<?> local = (KeyedTokenBucket<?>) limiter;
        Gauge.builder("shepherd.ratelimit.keys", local, KeyedTokenBucket::size)
            .description("Keys holding a bucket").tags(tags).register(registry);
        FunctionCounter.builder("shepherd.ratelimit.keys.evicted", local, KeyedTokenBucket::evictedCount)
            .description("Buckets evicted").tags(tags).register(registry);
      }
    };
  }

  /**
   * Meters for a reconnect-slot admission: what it admitted, the slots it handed out and the
   * backlog still booked, which together show a storm draining.
   *
   * @param admission the admission, read at each scrape (held weakly, as Micrometer does)
   * @param extraTags tags added to every meter
   * @return a binder to {@link MeterBinder#bindTo bind to} a registry
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(SlotAdmission admission, Tag... extraTags) {
    Objects.requireNonNull(admission, "admission");
    Tags tags = Binders.tags(admission.name(), "SlotAdmission", extraTags);
    return registry -> {
      bindAdmission(registry, tags, admission, SlotAdmission::admittedCount, SlotAdmission::redeemedCount,
          SlotAdmission::slotCount, SlotAdmission::beyondHorizonCount);
      Gauge.builder("shepherd.admission.backlog", admission, a -> a.backlog().toNanos() / 1e9).baseUnit("seconds")
          .description("How far ahead the slot schedule is booked").tags(tags).register(registry);
    };
  }

  /** The counters every slot admission has, local or fleet-wide. */
  static <T> void bindAdmission(MeterRegistry registry, Tags tags, T admission,
      ToLongFunction<T> admitted, ToLongFunction<T> redeemed, ToLongFunction<T> slots,
      ToLongFunction<T> beyondHorizon) {
    FunctionCounter.builder("shepherd.admission.admitted", admission, a -> admitted.applyAsLong(a))
        .description("Callers admitted at once").tags(tags).register(registry);
    FunctionCounter.builder("shepherd.admission.redeemed", admission, a -> redeemed.applyAsLong(a))
        .description("Callers admitted by the ticket of their slot").tags(tags).register(registry);
    FunctionCounter.builder("shepherd.admission.slots", admission, a -> slots.applyAsLong(a))
        .description("Personal slots handed out").tags(tags).register(registry);
    FunctionCounter.builder("shepherd.admission.beyond.horizon", admission, a -> beyondHorizon.applyAsLong(a))
        .description("Callers refused with a shared hint beyond the horizon").tags(tags).register(registry);
  }

  /**
   * Meters for a learned admission rate (tags: {@code name}, {@code type} = {@code LearnedRate}):
   * gauges {@code shepherd.ratelimit.learned.rate} and {@code shepherd.ratelimit.learned.draining}
   * (permits per second), and the function counter {@code shepherd.ratelimit.learned.congested}
   * (control periods that ended congested).
   *
   * @param rate the controller
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(LearnedRate rate, Tag... extraTags) {
    Objects.requireNonNull(rate, "rate");
    Tags tags = Binders.tags(rate.name(), "LearnedRate", extraTags);
    return registry -> {
      Gauge.builder("shepherd.ratelimit.learned.rate", rate, LearnedRate::permitsPerSecond)
          .description("The learned admission rate, per second").tags(tags).register(registry);
      Gauge.builder("shepherd.ratelimit.learned.draining", rate, LearnedRate::drainingPermitsPerSecond)
          .description("The rate work may reach the backend now, per second").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.ratelimit.learned.congested", rate, LearnedRate::congestedPeriods)
          .description("Control periods that ended congested").tags(tags).register(registry);
    };
  }
}
