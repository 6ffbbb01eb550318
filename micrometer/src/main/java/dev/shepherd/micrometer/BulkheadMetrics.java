package dev.shepherd.micrometer;

import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.bulkhead.Bulkhead;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;

/**
 * Meters for the bulkheads of {@code shepherd-bulkhead}, read from their own state: binding adds
 * nothing to the path that grants a permit.
 *
 * <table class="striped">
 *   <caption>Meters (tags: {@code name}, {@code type})</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.bulkhead.in.flight}</td><td>gauge</td><td>permits held now</td></tr>
 *     <tr><td>{@code shepherd.bulkhead.limit}</td><td>gauge</td><td>the limit in force</td></tr>
 *     <tr><td>{@code shepherd.bulkhead.limit.min}, {@code shepherd.bulkhead.limit.max}</td><td>gauges</td>
 *         <td>the bounds of an {@link AdaptiveBulkhead}'s limit (so an alert can compare)</td></tr>
 *     <tr><td>{@code shepherd.bulkhead.waiting}</td><td>gauge</td><td>callers queued for a permit</td></tr>
 *     <tr><td>{@code shepherd.bulkhead.rejected}</td><td>function counter</td><td>calls refused</td></tr>
 *   </tbody>
 * </table>
 */
public final class BulkheadMetrics {

  private BulkheadMetrics() {}

  /**
   * Meters for a fixed bulkhead.
   *
   * @param bulkhead the bulkhead
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(Bulkhead bulkhead, Tag... extraTags) {
    Objects.requireNonNull(bulkhead, "bulkhead");
    Tags tags = Binders.tags(bulkhead.name(), "Bulkhead", extraTags);
    return registry -> {
      Gauge.builder("shepherd.bulkhead.in.flight", bulkhead, Bulkhead::inFlight)
          .description("Permits held now").tags(tags).register(registry);
      Gauge.builder("shepherd.bulkhead.limit", bulkhead, Bulkhead::maxConcurrent)
          .description("The concurrency limit in force").tags(tags).register(registry);
      Gauge.builder("shepherd.bulkhead.waiting", bulkhead, Bulkhead::waiting)
          .description("Callers queued for a permit").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.bulkhead.rejected", bulkhead, Bulkhead::rejected)
          .description("Calls refused").tags(tags).register(registry);
    };
  }

  /**
   * Meters for an adaptive bulkhead, whose limit follows the upstream's latency.
   *
   * @param bulkhead the bulkhead
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(AdaptiveBulkhead bulkhead, Tag... extraTags) {
    Objects.requireNonNull(bulkhead, "bulkhead");
    Tags tags = Binders.tags(bulkhead.name(), "AdaptiveBulkhead", extraTags);
    return registry -> {
      Gauge.builder("shepherd.bulkhead.in.flight", bulkhead, AdaptiveBulkhead::inFlight)
          .description("Permits held now").tags(tags).register(registry);
      Gauge.builder("shepherd.bulkhead.limit", bulkhead, AdaptiveBulkhead::limit)
          .description("The concurrency limit in force").tags(tags).register(registry);
      Gauge.builder("shepherd.bulkhead.limit.min", bulkhead, AdaptiveBulkhead::minLimit)
          .description("The lowest limit the adaptive bulkhead may set").tags(tags).register(registry);
      Gauge.builder("shepherd.bulkhead.limit.max", bulkhead, AdaptiveBulkhead::maxLimit)
          .description("The highest limit the adaptive bulkhead may set").tags(tags).register(registry);
      Gauge.builder("shepherd.bulkhead.waiting", bulkhead, AdaptiveBulkhead::waiting)
          .description("Callers queued for a permit").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.bulkhead.rejected", bulkhead, AdaptiveBulkhead::rejected)
          .description("Calls refused").tags(tags).register(registry);
    };
  }
}
