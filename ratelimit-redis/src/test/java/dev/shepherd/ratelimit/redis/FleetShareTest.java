package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fallback share follows the fleet: limiter instances (each on its own connection, as servers
 * are) scaled from 10 to 40, during a Redis outage with a fleet-size source, and while Redis
 * answers with heartbeats alone. Demand is saturated on a ManualClock (every limiter asks until
 * refused, every 10 ms), and the fleet's total fallback admission is measured per second.
 */
@Timeout(120)
class FleetShareTest {

  private static final long RATE = 1000; // per second, for the whole fleet
  private static final int BURST = 100;

  private static RedisRateLimiter limiter(StatefulRedisConnection<String, String> connection, String name,
      ManualClock clock, IntSupplier source) {
    RedisRateLimiter.Builder b = RedisRateLimiter.builder()
        .name(name)
        .connection(connection)
        .rate(RATE, Duration.ofSeconds(1))
        .burst(BURST)
        .timeout(Duration.ofMillis(300))
        .coolDown(Duration.ofHours(1)) // no probe during the measured outage
        .heartbeat(Duration.ofSeconds(1))
        .ticker(clock)
        .listener(EventListener.noop());
    if (source != null) {
      b.fleetSize(source);
    }
    return b.build();
  }

  /** Saturated demand for {@code seconds} of manual time in 10 ms steps; returns grants per second. */
  private static List<Long> drive(List<RedisRateLimiter> fleet, ManualClock clock, int seconds) {
    List<Long> perSecond = new ArrayList<>();
    for (int s = 0; s < seconds; s++) {
      long granted = 0;
      for (int step = 0; step < 100; step++) {
        clock.advance(Duration.ofMillis(10));
        for (RedisRateLimiter l : fleet) {
          for (int i = 0; i < 1000 && l.acquireOrRetryAfterNanos(1) == 0; i++) {
            granted++;
          }
        }
      }
      perSecond.add(granted);
    }
    return perSecond;
  }

  private static void assertWithinTenPercent(List<Long> perSecond, String what) {
    for (long g : perSecond) {
      assertTrue(Math.abs(g - RATE) <= RATE / 10,
          String.format(Locale.ROOT, "%s: %d granted in a second against %d per second (all: %s)", what, g, RATE,
              perSecond));
    }
  }

  @Test
  void scaledFromTenToFortyDuringAnOutageTheFleetAdmitsItsRateWithinTwoSourceUpdates() {
    try (Redis redis = Redis.startNew()) {
      ManualClock clock = new ManualClock();
      AtomicInteger autoscaler = new AtomicInteger(10);
      String name = "share-outage-" + System.nanoTime();
      List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        connections.add(redis.connect());
      }
      List<RedisRateLimiter> fleet = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        fleet.add(limiter(connections.get(i), name, clock, autoscaler::get));
        assertEquals(0, fleet.get(i).acquireOrRetryAfterNanos(1));
      }
      Redis.await("ten heartbeats counted", Duration.ofSeconds(10), () -> {
        clock.advance(Duration.ofSeconds(1));
        fleet.forEach(l -> l.acquireOrRetryAfterNanos(1));
        return fleet.stream().allMatch(l -> l.fleetServers() == 10);
      });

      redis.server().stop();
      for (RedisRateLimiter l : fleet) {
        l.acquireOrRetryAfterNanos(1); // a timeout opens each circuit
        assertTrue(l.fallbackActive());
      }
      assertWithinTenPercent(drive(fleet, clock, 3).subList(1, 3), "ten servers on the fallback");

      // The autoscaler adds thirty servers during the outage; they and the ten share by its count.
      autoscaler.set(40);
      for (int i = 10; i < 40; i++) {
        RedisRateLimiter l = limiter(connections.get(i), name, clock, autoscaler::get);
        assertEquals(40, l.fleetServers(), "a server started during the outage asks the source first");
        fleet.add(l);
      }
      List<Long> after = drive(fleet, clock, 8);
      for (RedisRateLimiter l : fleet) {
        assertEquals(40, l.fleetServers());
        assertEquals(dev.shepherd.ratelimit.Rate.of(RATE, Duration.ofSeconds(40)), l.fallbackShare());
      }
      // Each limiter reads the source at most once a second: from the third second on, all share by 40.
      assertWithinTenPercent(after.subList(2, after.size()), "forty servers on the fallback");
    }
  }

  @Test
  void scaledFromTenToFortyWhileRedisAnswersTheHeartbeatsCarryTheCountIntoTheOutage() {
    try (Redis redis = Redis.startNew()) {
      ManualClock clock = new ManualClock();
      String name = "share-heartbeat-" + System.nanoTime();
      List<RedisRateLimiter> fleet = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        fleet.add(limiter(redis.connect(), name, clock, null));
      }
      fleet.forEach(l -> l.acquireOrRetryAfterNanos(1));
      Redis.await("ten heartbeats counted", Duration.ofSeconds(10), () -> {
        clock.advance(Duration.ofSeconds(1));
        fleet.forEach(l -> l.acquireOrRetryAfterNanos(1));
        return fleet.stream().allMatch(l -> l.fleetServers() == 10);
      });
      for (int i = 10; i < 40; i++) {
        fleet.add(limiter(redis.connect(), name, clock, null));
      }
      // Two heartbeat intervals: every limiter checks (and so announces itself) once in each.
      for (int interval = 0; interval < 2; interval++) {
        fleet.forEach(l -> l.acquireOrRetryAfterNanos(1));
        clock.advance(Duration.ofSeconds(1));
      }
      // The heartbeats' replies arrive asynchronously; no further heartbeat is due meanwhile.
      Redis.await("all forty counted within two heartbeats", Duration.ofSeconds(10),
          () -> fleet.stream().allMatch(l -> l.fleetServers() == 40));

      redis.server().stop();
      for (RedisRateLimiter l : fleet) {
        l.acquireOrRetryAfterNanos(1);
        assertTrue(l.fallbackActive());
      }
      List<Long> perSecond = drive(fleet, clock, 5);
      assertEquals(40, fleet.get(0).fleetServers(), "no source: the last count is kept through the outage");
      assertWithinTenPercent(perSecond.subList(1, perSecond.size()), "forty servers on the fallback");
    }
  }
}
