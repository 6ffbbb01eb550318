package dev.shepherd.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.circuitbreaker.AdaptiveThrottle;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.testing.ManualClock;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The example alert rules name the series the binders produce (a slot admission too, below): a breaker and a throttle bound to a
 * Prometheus registry, scraped, show every {@code shepherd_circuitbreaker_*} and {@code
 * shepherd_throttle_*} name that {@code examples/prometheus/shepherd-alerts.yml} uses, with the
 * labels its rules select on.
 */
class PrometheusNamesTest {

  private static final Path RULES = Path.of("..", "examples", "prometheus", "shepherd-alerts.yml");
  private static final Pattern SERIES = Pattern.compile("\\b(shepherd_(?:circuitbreaker|throttle)_[a-z_]*[a-z])\\b");

  @Test
  void theAlertRulesForBreakersAndThrottlesNameSeriesTheBindersProduce() throws Exception {
    Set<String> used = new TreeSet<>();
    Matcher m = SERIES.matcher(Files.readString(RULES, StandardCharsets.UTF_8));
    while (m.find()) {
      used.add(m.group(1));
    }
    assertEquals(Set.of("shepherd_circuitbreaker_state", "shepherd_throttle_rejected_total"), used,
        "the rules this test guards; extend it with the rules");

    ManualClock clock = new ManualClock();
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    CircuitBreaker breaker = CircuitBreaker.builder().name("mobile-api").countWindow(1).minimumCalls(1).ticker(clock)
        .listener(EventListener.noop()).build();
    AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("mobile-api").ticker(clock)
        .listener(EventListener.noop()).build();
    CircuitBreakerMetrics.of(breaker).bindTo(registry);
    CircuitBreakerMetrics.of(throttle).bindTo(registry);
    breaker.onError(breaker.tryAcquirePermission(), 0, new IllegalStateException("down")); // opens it
    clock.advance(Duration.ofSeconds(1));

    String scrape = registry.scrape();
    for (String series : used) {
      assertTrue(Pattern.compile("(?m)^" + series + "\\{").matcher(scrape).find(), series + " in\n" + scrape);
    }
    assertTrue(scrape.lines().anyMatch(line -> line.startsWith("shepherd_circuitbreaker_state{")
        && line.contains("name=\"mobile-api\"") && line.contains("state=\"OPEN\"") && line.endsWith(" 1.0")),
        "the open breaker's series, as ShepherdCircuitBreakerOpen selects it:\n" + scrape);
    assertTrue(scrape.lines().anyMatch(line -> line.startsWith("shepherd_throttle_rejected_total{")
        && line.contains("name=\"mobile-api\"")), scrape);
  }

  @Test
  void theAlertRulesForSlotAdmissionNameSeriesTheBinderProduces() throws Exception {
    Set<String> used = new TreeSet<>();
    Matcher m = Pattern.compile("\\b(shepherd_admission_[a-z_]*[a-z])\\b")
        .matcher(Files.readString(RULES, StandardCharsets.UTF_8));
    while (m.find()) {
      used.add(m.group(1));
    }
    assertEquals(Set.of("shepherd_admission_backlog_seconds", "shepherd_admission_redeemed_total",
        "shepherd_admission_slots_total"), used, "the rules this test guards; extend it with the rules");

    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    SlotAdmission admission = SlotAdmission.builder().name("connect").permitsPerSecond(10).ticker(new ManualClock())
        .listener(EventListener.noop()).build();
    RateLimiterMetrics.of(admission).bindTo(registry);
    String scrape = registry.scrape();
    for (String series : used) {
      assertTrue(Pattern.compile("(?m)^" + series + "\\{").matcher(scrape).find(), series + " in\n" + scrape);
    }
  }
}
