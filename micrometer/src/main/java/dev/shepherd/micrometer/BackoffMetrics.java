package dev.shepherd.micrometer;

import dev.shepherd.backoff.Reconnector;
import dev.shepherd.backoff.RetryBudget;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Collection;
import java.util.Objects;

/**
 * Meters for {@code shepherd-backoff}: retry budgets and reconnectors, one at a time or a whole
 * fleet of reconnectors as one group. {@code Retry} keeps no counters of its own: its retries and
 * give-ups are counted from its events by {@link MetricsListener} ({@code shepherd.events}).
 *
 * <table class="striped">
 *   <caption>Meters (tags: {@code name}, {@code type}; the state gauge also {@code state})</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.retry.budget.balance}</td><td>gauge</td>
 *         <td>retries the budget would allow now</td></tr>
 *     <tr><td>{@code shepherd.reconnector.attempts}</td><td>function counter</td>
 *         <td>connection attempts (calls of the connector)</td></tr>
 *     <tr><td>{@code shepherd.reconnector.state}</td><td>gauge per {@link Reconnector.State}</td>
 *         <td>how many of the bound reconnectors are in that state (0 or 1 for a single one)</td></tr>
 *   </tbody>
 * </table>
 */
public final class BackoffMetrics {

  private static final Reconnector.State[] STATES = Reconnector.State.values();

  private BackoffMetrics() {}

  /**
   * Meters for a retry budget.
   *
   * @param budget the budget
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(RetryBudget budget, Tag... extraTags) {
    Objects.requireNonNull(budget, "budget");
    Tags tags = Binders.tags(budget.name(), "RetryBudget", extraTags);
    return registry -> Gauge.builder("shepherd.retry.budget.balance", budget, RetryBudget::available)
        .description("Retries the budget would allow now").tags(tags).register(registry);
  }

  /**
   * Meters for one reconnector.
   *
   * @param reconnector the reconnector
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(Reconnector<?> reconnector, Tag... extraTags) {
    Objects.requireNonNull(reconnector, "reconnector");
    Tags tags = Binders.tags(reconnector.name(), "Reconnector", extraTags);
    return registry -> {
      FunctionCounter.builder("shepherd.reconnector.attempts", reconnector, Reconnector::connectAttempts)
          .description("Connection attempts").tags(tags).register(registry);
      for (Reconnector.State state : STATES) {
        Gauge.builder("shepherd.reconnector.state", reconnector, r -> r.state() == state ? 1 : 0)
            .description("Reconnectors in this state").tags(tags).tag("state", state.name())
            .register(registry);
      }
    };
  }

  /**
   * Meters for a group of reconnectors under one name (a fleet of hubs in one process): the total
   * of their attempts and how many are in each state, so a fleet costs six series, not six per hub.
   *
   * @param name the group's name, the {@code name} tag
   * @param reconnectors the group, read at each scrape and held weakly, as Micrometer holds what
   *     it measures: keep a reference to it (a live collection may change; it must then be safe to
   *     iterate concurrently with changes)
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder reconnectors(String name, Collection<? extends Reconnector<?>> reconnectors,
      Tag... extraTags) {
    Objects.requireNonNull(reconnectors, "reconnectors");
    Tags tags = Binders.tags(name, "Reconnector", extraTags);
    return registry -> {
      FunctionCounter.builder("shepherd.reconnector.attempts", reconnectors, BackoffMetrics::attempts)
          .description("Connection attempts").tags(tags).register(registry);
      for (Reconnector.State state : STATES) {
        Gauge.builder("shepherd.reconnector.state", reconnectors, group -> count(group, state))
            .description("Reconnectors in this state").tags(tags).tag("state", state.name())
            .register(registry);
      }
    };
  }

  private static double attempts(Collection<? extends Reconnector<?>> group) {
    long total = 0;
    for (Reconnector<?> r : group) {
      total += r.connectAttempts();
    }
    return total;
  }

  private static double count(Collection<? extends Reconnector<?>> group, Reconnector.State state) {
    int n = 0;
    for (Reconnector<?> r : group) {
      if (r.state() == state) {
        n++;
      }
    }
    return n;
  }
}
