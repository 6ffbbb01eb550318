package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The live-server count: heartbeats on a real Redis, the source during an outage, on a ManualClock. */
@ExtendWith(Redis.class)
@Timeout(60)
class FleetTest {

  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private static Fleet fleet(RedisTarget target, String key, String id, ManualClock clock, IntSupplier source,
      int initial, List<Integer> changes) {
    return new Fleet(target, key, id, SECOND, 60_000, TimeUnit.SECONDS.toNanos(5), clock, source, initial,
        changes::add);
  }

  @Test
  void heartbeatsCountEveryLimiterOnTheKeyAndAScaleUpIsSeenWithinTwoIntervals(Redis redis) throws Exception {
    ManualClock clock = new ManualClock();
    String key = Redis.freshKey("fleet");
    RedisTarget target = RedisTarget.of(redis.connect());
    List<Fleet> fleet = new ArrayList<>();
    List<Integer> firstChanges = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      fleet.add(fleet(target, key, "server-" + i, clock, null, 1, i == 0 ? firstChanges : new ArrayList<>()));
    }
    // Interval 1: each announces itself at its first check; the last to beat sees all ten.
    for (Fleet f : fleet) {
      f.tick(true).get(10, TimeUnit.SECONDS);
    }
    assertNull(fleet.get(0).tick(true), "not due again within the interval");
    clock.advance(Duration.ofSeconds(1));
    for (Fleet f : fleet) {
      f.tick(true).get(10, TimeUnit.SECONDS);
      assertEquals(10, f.servers());
    }
    // Thirty more start; within two intervals every limiter counts forty.
    for (int i = 10; i < 40; i++) {
      fleet.add(fleet(target, key, "server-" + i, clock, null, 1, new ArrayList<>()));
    }
    for (int interval = 0; interval < 2; interval++) {
      for (Fleet f : fleet) {
        CompletableFutureOrNull.await(f.tick(true));
      }
      clock.advance(Duration.ofSeconds(1));
    }
    for (Fleet f : fleet) {
      assertEquals(40, f.servers());
    }
    assertEquals(List.of(10, 40), firstChanges.subList(firstChanges.size() - 2, firstChanges.size()));
    assertEquals(40L, redis.admin().zcard(key));
    long pttl = redis.admin().pttl(key);
    assertTrue(pttl > 50_000 && pttl <= 60_000, "the set lives as long as a heartbeat counts: " + pttl);
  }

  @Test
  void aHeartbeatExpiresAfterItsTtlOnRedissClock(Redis redis) throws Exception {
    String key = Redis.freshKey("fleet-ttl");
    RedisTarget target = RedisTarget.of(redis.connect());
    ManualClock clock = new ManualClock();
    Fleet shortLived = new Fleet(target, key, "short", SECOND, 300, TimeUnit.SECONDS.toNanos(5), clock, null, 1,
        n -> { });
    Fleet other = fleet(target, key, "other", clock, null, 1, new ArrayList<>());
    assertEquals(1, shortLived.beat().get(10, TimeUnit.SECONDS));
    assertEquals(2, other.beat().get(10, TimeUnit.SECONDS));
    // Redis's own clock expires the short heartbeat (300 ms); polling an outside process.
    Redis.await("the short heartbeat expires", Duration.ofSeconds(10), () -> {
      try {
        return other.beat().get(10, TimeUnit.SECONDS) == 1;
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Test
  void duringAnOutageTheSourceDecidesOrElseTheLastCountIsKept(Redis redis) throws Exception {
    ManualClock clock = new ManualClock();
    String key = Redis.freshKey("fleet-outage");
    RedisTarget target = RedisTarget.of(redis.connect());
    AtomicInteger autoscaler = new AtomicInteger(10);
    List<Integer> changes = new ArrayList<>();
    Fleet withSource = fleet(target, key, "a", clock, autoscaler::get, 5, changes);
    Fleet withoutSource = fleet(target, key, "b", clock, null, 5, new ArrayList<>());
    assertEquals(1, withSource.tick(true).get(10, TimeUnit.SECONDS));
    assertEquals(2, withoutSource.tick(true).get(10, TimeUnit.SECONDS));
    clock.advance(Duration.ofSeconds(1));
    assertEquals(2, withSource.tick(true).get(10, TimeUnit.SECONDS));

    // Redis unavailable (the limiter's circuit is open): the source answers, read once per interval.
    clock.advance(Duration.ofSeconds(1));
    autoscaler.set(40);
    assertNull(withSource.tick(false));
    assertNull(withoutSource.tick(false));
    assertEquals(40, withSource.servers());
    assertEquals(2, withoutSource.servers(), "no source: the last count Redis gave");
    autoscaler.set(0);
    clock.advance(Duration.ofSeconds(1));
    withSource.tick(false);
    assertEquals(40, withSource.servers(), "a source answering less than 1 is ignored");
    Fleet broken = fleet(target, key, "c", clock, () -> {
      throw new IllegalStateException("autoscaler down");
    }, 7, new ArrayList<>());
    broken.tick(false);
    assertEquals(7, broken.servers(), "a source that throws changes nothing");
    assertEquals(List.of(1, 2, 40), changes);

    // A new limiter that starts during the outage takes the source's count at its first check.
    autoscaler.set(41);
    Fleet late = fleet(target, key, "late", clock, autoscaler::get, 1, new ArrayList<>());
    late.tick(false);
    assertEquals(41, late.servers());
  }

  /** Waits for a tick's stage when it started one. */
  static final class CompletableFutureOrNull {
    static void await(java.util.concurrent.CompletableFuture<Integer> f) throws Exception {
      if (f != null) {
        f.get(10, TimeUnit.SECONDS);
      }
    }
  }
}
