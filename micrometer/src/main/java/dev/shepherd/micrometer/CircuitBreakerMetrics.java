package dev.shepherd.micrometer;

import dev.shepherd.circuitbreaker.AdaptiveThrottle;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.circuitbreaker.Fallback;
import dev.shepherd.circuitbreaker.Timeout;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;

/**
 * Meters for {@code shepherd-circuitbreaker}: circuit breakers, timeouts, fallbacks and adaptive
 * throttles, read from their own counters and state at scrape time: binding adds nothing to the
 * path that permits a call.
 *
 * <table class="striped">
 *   <caption>Meters (tags: {@code name}, {@code type}; the state gauge also {@code state})</caption>
 *   <thead><tr><th>name</th><th>kind</th><th>what</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@code shepherd.circuitbreaker.state}</td><td>gauge per {@link CircuitBreaker.State}</td>
 *         <td>1 for the state the breaker is in, as {@link CircuitBreaker#state()} reads it, 0 for the
 *         others</td></tr>
 *     <tr><td>{@code shepherd.circuitbreaker.calls.not.permitted}</td><td>function counter</td>
 *         <td>calls refused, in every state</td></tr>
 *     <tr><td>{@code shepherd.circuitbreaker.window.calls}</td><td>gauge</td>
 *         <td>permitted calls judged in the current window ({@link CircuitBreaker#windowCalls()})</td></tr>
 *     <tr><td>{@code shepherd.circuitbreaker.failure.rate}</td><td>gauge</td>
 *         <td>failures / calls of that window, in [0, 1]</td></tr>
 *     <tr><td>{@code shepherd.circuitbreaker.slow.call.rate}</td><td>gauge</td>
 *         <td>slow calls / calls of that window, in [0, 1]</td></tr>
 *     <tr><td>{@code shepherd.circuitbreaker.probes.in.flight}</td><td>gauge</td>
 *         <td>half-open probes out and not yet reported (at most {@code halfOpenProbes})</td></tr>
 *     <tr><td>{@code shepherd.circuitbreaker.transitions}</td><td>function counter</td>
 *         <td>state changes, manual ones included</td></tr>
 *     <tr><td>{@code shepherd.timeout.timed.out}</td><td>function counter</td>
 *         <td>calls a {@link Timeout} ended at their deadline</td></tr>
 *     <tr><td>{@code shepherd.timeout.limit}</td><td>gauge, seconds</td><td>the configured time limit</td></tr>
 *     <tr><td>{@code shepherd.fallback.used}</td><td>function counter</td>
 *         <td>calls a {@link Fallback} answered</td></tr>
 *     <tr><td>{@code shepherd.throttle.requests}</td><td>gauge</td>
 *         <td>requests in an {@link AdaptiveThrottle}'s window, locally rejected ones included</td></tr>
 *     <tr><td>{@code shepherd.throttle.accepts}</td><td>gauge</td>
 *         <td>requests the backend accepted in that window</td></tr>
 *     <tr><td>{@code shepherd.throttle.rejected}</td><td>function counter</td>
 *         <td>requests rejected locally</td></tr>
 *     <tr><td>{@code shepherd.throttle.rejection.probability}</td><td>gauge</td>
 *         <td>the probability with which the next request would be rejected locally</td></tr>
 *   </tbody>
 * </table>
 *
 * <p>Permitted calls are not counted one by one: that would add a shared write to the path that
 * permits them. The window gauges show what was judged; refusals and transitions are also counted
 * from events by {@link MetricsListener} ({@code shepherd.events}).
 */
public final class CircuitBreakerMetrics {

  private static final CircuitBreaker.State[] STATES = CircuitBreaker.State.values();

  private CircuitBreakerMetrics() {}

  /**
   * Meters for a circuit breaker.
   *
   * @param breaker the breaker
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(CircuitBreaker breaker, Tag... extraTags) {
    Objects.requireNonNull(breaker, "breaker");
    Tags tags = Binders.tags(breaker.name(), "CircuitBreaker", extraTags);
    return registry -> {
      for (CircuitBreaker.State state : STATES) {
        Gauge.builder("shepherd.circuitbreaker.state", breaker, b -> b.state() == state ? 1 : 0)
            .description("1 for the state the circuit breaker is in").tags(tags).tag("state", state.name())
            .register(registry);
      }
      FunctionCounter.builder("shepherd.circuitbreaker.calls.not.permitted", breaker,
          CircuitBreaker::notPermittedCalls).description("Calls refused").tags(tags).register(registry);
      Gauge.builder("shepherd.circuitbreaker.window.calls", breaker, CircuitBreaker::windowCalls)
          .description("Permitted calls judged in the current window").tags(tags).register(registry);
      Gauge.builder("shepherd.circuitbreaker.failure.rate", breaker, CircuitBreaker::failureRate)
          .description("Failures per call in the current window").tags(tags).register(registry);
      Gauge.builder("shepherd.circuitbreaker.slow.call.rate", breaker, CircuitBreaker::slowCallRate)
          .description("Slow calls per call in the current window").tags(tags).register(registry);
      Gauge.builder("shepherd.circuitbreaker.probes.in.flight", breaker, CircuitBreaker::probesInFlight)
          .description("Half-open probes out and not yet reported").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.circuitbreaker.transitions", breaker, CircuitBreaker::transitions)
          .description("State changes").tags(tags).register(registry);
    };
  }

  /**
   * Meters for a timeout.
   *
   * @param timeout the timeout
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(Timeout timeout, Tag... extraTags) {
    Objects.requireNonNull(timeout, "timeout");
    Tags tags = Binders.tags(timeout.name(), "Timeout", extraTags);
    return registry -> {
      FunctionCounter.builder("shepherd.timeout.timed.out", timeout, Timeout::timedOut)
          .description("Calls ended at their deadline").tags(tags).register(registry);
      Gauge.builder("shepherd.timeout.limit", timeout, t -> t.timeout().toNanos() / 1e9).baseUnit("seconds")
          .description("The time limit of a call").tags(tags).register(registry);
    };
  }

  /**
   * Meters for a fallback.
   *
   * @param fallback the fallback
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(Fallback<?> fallback, Tag... extraTags) {
    Objects.requireNonNull(fallback, "fallback");
    Tags tags = Binders.tags(fallback.name(), "Fallback", extraTags);
    return registry -> FunctionCounter.builder("shepherd.fallback.used", fallback, Fallback::fallbacks)
        .description("Calls answered by the fallback").tags(tags).register(registry);
  }

  /**
   * Meters for a client-side adaptive throttle.
   *
   * @param throttle the throttle
   * @param extraTags tags added to every meter
   * @return a binder
   * @throws NullPointerException if an argument is null
   */
  public static MeterBinder of(AdaptiveThrottle throttle, Tag... extraTags) {
    Objects.requireNonNull(throttle, "throttle");
    Tags tags = Binders.tags(throttle.name(), "AdaptiveThrottle", extraTags);
    return registry -> {
      Gauge.builder("shepherd.throttle.requests", throttle, AdaptiveThrottle::requests)
          .description("Requests in the window, locally rejected ones included").tags(tags).register(registry);
      Gauge.builder("shepherd.throttle.accepts", throttle, AdaptiveThrottle::accepts)
          .description("Requests the backend accepted in the window").tags(tags).register(registry);
      FunctionCounter.builder("shepherd.throttle.rejected", throttle, AdaptiveThrottle::rejected)
          .description("Requests rejected locally").tags(tags).register(registry);
      Gauge.builder("shepherd.throttle.rejection.probability", throttle, AdaptiveThrottle::rejectionProbability)
          .description("The probability of rejecting the next request locally").tags(tags).register(registry);
    };
  }
}
