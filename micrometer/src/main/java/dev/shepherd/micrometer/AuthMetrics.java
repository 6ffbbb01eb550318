package dev.shepherd.micrometer;

import dev.shepherd.auth.CachingAuthenticator;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.ToLongFunction;

/**
 * Meters for a {@link CachingAuthenticator}, read from its {@link CachingAuthenticator#stats()
 * counters}; no secret, device id or principal is ever a tag.
 *
 * <table class="striped">
 *   <caption>Meters (tags: {@code name}, {@code type})</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.auth.cache.hits}</td><td>function counter</td>
 *         <td>requests answered from the cache alone</td></tr>
 *     <tr><td>{@code shepherd.auth.cache.misses}</td><td>function counter</td>
 *         <td>requests that waited for a backend answer</td></tr>
 *     <tr><td>{@code shepherd.auth.stale}</td><td>function counter</td>
 *         <td>requests accepted on a stale answer while the backend failed</td></tr>
 *     <tr><td>{@code shepherd.auth.refused}</td><td>function counter</td>
 *         <td>requests refused, as invalid or as unavailable</td></tr>
 *     <tr><td>{@code shepherd.auth.backend.calls}</td><td>function counter</td><td>backend calls made</td></tr>
 *     <tr><td>{@code shepherd.auth.backend.failures}</td><td>function counter</td>
 *         <td>backend calls that failed or that the guard refused</td></tr>
 *     <tr><td>{@code shepherd.auth.cache.size}</td><td>gauge</td><td>devices cached (estimate)</td></tr>
 *   </tbody>
 * </table>
 */
public final class AuthMetrics {

  private AuthMetrics() {}

  /**
   * Meters for a caching authenticator.
   *
   * @param authenticator the authenticator
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(CachingAuthenticator<?> authenticator, Tag... extraTags) {
    Objects.requireNonNull(authenticator, "authenticator");
    Tags tags = Binders.tags(authenticator.name(), "CachingAuthenticator", extraTags);
    return registry -> {
      counter(registry, "shepherd.auth.cache.hits", "Requests answered from the cache alone", tags,
          authenticator, s -> s.hits());
      counter(registry, "shepherd.auth.cache.misses", "Requests that waited for a backend answer", tags,
          authenticator, s -> s.misses());
      counter(registry, "shepherd.auth.stale", "Requests accepted on a stale answer", tags,
          authenticator, s -> s.staleServed());
      counter(registry, "shepherd.auth.refused", "Requests refused", tags, authenticator, s -> s.refusals());
      counter(registry, "shepherd.auth.backend.calls", "Backend calls made", tags,
          authenticator, s -> s.backendCalls());
      counter(registry, "shepherd.auth.backend.failures", "Backend calls failed or refused by the guard", tags,
          authenticator, s -> s.backendFailures());
      Gauge.builder("shepherd.auth.cache.size", authenticator, CachingAuthenticator::estimatedSize)
          .description("Devices cached (estimate)").tags(tags).register(registry);
    };
  }

  private static void counter(io.micrometer.core.instrument.MeterRegistry registry, String name,
      String description, Tags tags, CachingAuthenticator<?> authenticator,
      ToLongFunction<CachingAuthenticator.Stats> field) {
    FunctionCounter.builder(name, authenticator, a -> field.applyAsLong(a.stats()))
        .description(description).tags(tags).register(registry);
  }
}
