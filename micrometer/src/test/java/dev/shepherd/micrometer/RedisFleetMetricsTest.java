package dev.shepherd.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.redis.RedisKeyedRateLimiter;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.ratelimit.redis.RedisSlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.testing.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
  void aFleetWideSlotAdmissionShowsItsCountersAndItsFallback() throws Exception {
    try (LocalRedis redis = LocalRedis.start()) {
      RedisSlotAdmission admission = RedisSlotAdmission.builder().name("fleet-slots").connection(redis.connection())
          .key("shepherd:micrometer-slots").ticketKey(new byte[16]).permitsPerSecond(0.5).headroom(0).burst(1)
          .expectedServers(2).timeout(Duration.ofMillis(200)).listener(EventListener.noop()).build();
      RedisRateLimiterMetrics.of(admission).bindTo(registry);
      admission.acquire(1);
      assertThrows(SlotRefusedException.class, () -> admission.acquire(2));
      assertEquals(1, registry.get("shepherd.admission.admitted").tag("name", "fleet-slots")
          .tag("type", "RedisSlotAdmission").functionCounter().count());
      assertEquals(1, registry.get("shepherd.admission.slots").tag("name", "fleet-slots").functionCounter().count());
      assertEquals(0, gauge("shepherd.ratelimit.redis.fallback.active", "fleet-slots"));
      assertEquals(2, gauge("shepherd.ratelimit.redis.fleet.servers", "fleet-slots"));
      redis.kill();
      admission.acquire(3); // the local share's own burst admits one
      assertThrows(SlotRefusedException.class, () -> admission.acquire(4));
      assertEquals(1, gauge("shepherd.ratelimit.redis.fallback.active", "fleet-slots"));
      assertTrue(registry.get("shepherd.ratelimit.redis.errors").tag("name", "fleet-slots")
          .functionCounter().count() >= 1);
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
      assertEquals(0, gauge("shepherd.ratelimit.redis.lease.keys", "per-device"));
    }
  }

  @Test
  @Timeout(60)
  void aKeyedLimiterInLeaseModeShowsItsLeasesOverAllKeys() throws Exception {
    try (LocalRedis redis = LocalRedis.start()) {
      RedisKeyedRateLimiter limiter = RedisKeyedRateLimiter.builder().name("per-tenant")
          .connection(redis.connection()).rate(100, Duration.ofSeconds(1)).burst(100).lease(10)
          .timeout(Duration.ofSeconds(5)).listener(EventListener.noop()).build();
      RedisRateLimiterMetrics.of(limiter).bindTo(registry);
      assertTrue(limiter.tryAcquire("tenant-a")); // a lease of 10 for each: one spent, nine held
      assertTrue(limiter.tryAcquire("tenant-b"));
      assertTrue(limiter.tryAcquire("tenant-b"));
      assertEquals(2, gauge("shepherd.ratelimit.redis.lease.keys", "per-tenant"));
      assertEquals(9 + 8, gauge("shepherd.ratelimit.redis.lease.outstanding", "per-tenant"));
    }
  }

  @Test
  @Timeout(60)
  void theRedisAlertRulesNameSeriesAndTypesTheBindersProduce() throws Exception {
    Set<String> used = new TreeSet<>();
    Matcher m = Pattern.compile("\\b(shepherd_ratelimit_redis_[a-z_]*[a-z])\\b").matcher(
        Files.readString(Path.of("..", "examples", "prometheus", "shepherd-alerts.yml"), StandardCharsets.UTF_8));
    while (m.find()) {
      used.add(m.group(1));
    }
    assertTrue(used.contains("shepherd_ratelimit_redis_lease_keys"), used.toString());
    try (LocalRedis redis = LocalRedis.start()) {
      PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      RedisRateLimiterMetrics.of(RedisRateLimiter.builder().name("global").connection(redis.connection())
          .key("shepherd:micrometer-names").rate(10, Duration.ofSeconds(1)).lease(2)
          .listener(EventListener.noop()).build()).bindTo(prometheus);
      RedisRateLimiterMetrics.of(RedisKeyedRateLimiter.builder().name("keyed").connection(redis.connection())
          .rate(10, Duration.ofSeconds(1)).lease(2).listener(EventListener.noop()).build()).bindTo(prometheus);
      String scrape = prometheus.scrape();
      for (String series : used) {
        assertTrue(Pattern.compile("(?m)^" + series + "\\{").matcher(scrape).find(), series + " in\n" + scrape);
      }
      for (String type : new String[] {"RedisRateLimiter", "RedisKeyedRateLimiter"}) {
        assertTrue(scrape.lines().anyMatch(l -> l.startsWith("shepherd_ratelimit_redis_lease_outstanding{")
            && l.contains("type=\"" + type + "\"")), type + " in\n" + scrape);
      }
      assertTrue(scrape.lines().anyMatch(l -> l.startsWith("shepherd_ratelimit_redis_lease_keys{")
          && l.contains("type=\"RedisKeyedRateLimiter\"")), scrape);
    }
  }
}
