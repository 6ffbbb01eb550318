package dev.shepherd.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.redis.RedisKeyedRateLimiter;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.testing.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The fleet share, the server count and the leases of the Redis limiters, as meters. */
class RedisFleetMetricsTest {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private double gauge(String name, String instance) {
    return registry.get(name).tag("name", instance).gauge().value();
  }

  @Test
  @Timeout(60)
  void theShareTheServerCountAndTheLeasedPermitsAreGauges() throws Exception {
    ManualClock clock = new ManualClock();
    AtomicInteger autoscaler = new AtomicInteger(4);
    try (LocalRedis redis = LocalRedis.start()) {
      RedisRateLimiter limiter = RedisRateLimiter.builder().name("fleet-share").connection(redis.connection())
          .key("shepherd:micrometer-fleet").rate(400, Duration.ofSeconds(1)).burst(40).lease(10)
          .fleetSize(autoscaler::get).timeout(Duration.ofMillis(200)).coolDown(Duration.ofHours(1))
          .ticker(clock).listener(EventListener.noop()).build();
      RedisRateLimiterMetrics.of(limiter).bindTo(registry);
      assertTrue(limiter.tryAcquire()); // a lease of 10: one spent, nine held
      assertEquals(9, gauge("shepherd.ratelimit.redis.lease.outstanding", "fleet-share"));
      assertEquals(400, gauge("shepherd.ratelimit.redis.fleet.rate", "fleet-share"), 1e-9);
      assertEquals(4, gauge("shepherd.ratelimit.redis.fleet.servers", "fleet-share"));
      assertEquals(100, gauge("shepherd.ratelimit.redis.fallback.share", "fleet-share"), 1e-9);

      redis.kill();
      autoscaler.set(8);
      for (int i = 0; i < 9; i++) {
        assertTrue(limiter.tryAcquire()); // the lease is spent first, without Redis
      }
      assertEquals(0, gauge("shepherd.ratelimit.redis.lease.outstanding", "fleet-share"));
      limiter.tryAcquire(); // Redis is gone: the circuit opens
      clock.advance(Duration.ofSeconds(2));
      limiter.tryAcquire(); // on the fallback, the next update reads the source
      assertEquals(8, gauge("shepherd.ratelimit.redis.fleet.servers", "fleet-share"));
      assertEquals(50, gauge("shepherd.ratelimit.redis.fallback.share", "fleet-share"), 1e-9);
    }
  }

  @Test
  @Timeout(60)
  void aKeyedLimiterShowsItsPerKeyShare() throws Exception {
    try (LocalRedis redis = LocalRedis.start()) {
      RedisKeyedRateLimiter limiter = RedisKeyedRateLimiter.builder().name("per-device")
          .connection(redis.connection()).rate(6, Duration.ofMinutes(1)).burst(3).expectedServers(3)
          .listener(EventListener.noop()).build();
      RedisRateLimiterMetrics.of(limiter).bindTo(registry);
      assertEquals(3, gauge("shepherd.ratelimit.redis.fleet.servers", "per-device"));
      assertEquals(0.1, gauge("shepherd.ratelimit.redis.fleet.rate", "per-device"), 1e-12);
      assertEquals(0.1 / 3, gauge("shepherd.ratelimit.redis.fallback.share", "per-device"), 1e-12);
    }
  }
}
