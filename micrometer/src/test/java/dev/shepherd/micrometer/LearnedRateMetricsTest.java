package dev.shepherd.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shepherd.ratelimit.LearnedRate;
import dev.shepherd.testing.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A learned rate's gauges and counter read the controller; its rate changes arrive as events. */
class LearnedRateMetricsTest {

  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private double value(String name) {
    return registry.get(name).tag("name", "db").meter().measure().iterator().next().getValue();
  }

  @Test
  void theLearnedRateTheDrainingRateAndCongestedPeriodsAreMetered() {
    LearnedRate rate = LearnedRate.builder().name("db").initialPermitsPerSecond(1_000).ticker(clock)
        .listener(new MetricsListener(registry)).build();
    RateLimiterMetrics.of(rate).bindTo(registry);
    assertEquals(1_000, value("shepherd.ratelimit.learned.rate"));
    for (int i = 0; i < 100; i++) {
      rate.completed(500_000_000L); // half a second in the queue: congested
    }
    clock.advance(Duration.ofMillis(200));
    rate.completed(0); // ends the period: 101 completions in 200 ms, 505/s
    assertEquals(505 * 0.9, value("shepherd.ratelimit.learned.rate"), 1e-9);
    assertEquals(505 * (0.9 - 0.5 / 4), value("shepherd.ratelimit.learned.draining"), 1e-9);
    assertEquals(1, value("shepherd.ratelimit.learned.congested"));
    assertEquals(1, registry.get("shepherd.events").tag("name", "db").tag("kind", "LIMIT_CHANGED").counter().count());
  }
}
