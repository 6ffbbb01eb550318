package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.EventListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The script against the reference model, exactly: every decision and every wait, on schedules
 * driven by real time.
 *
 * <p>The script decides on Redis's clock, which a test cannot set. But every reply carries the
 * Redis time at which the script ran, so the model replays each request at exactly that instant
 * (microseconds, as nanoseconds): no margin is needed for the comparison itself, and real time
 * only has to pass between the steps (the sleeps are coarse: 0 to 130 ms) so that the bucket both
 * refills and runs dry. Each schedule alternates between two engines on two connections (two
 * "servers"), so it also proves they share one bucket: the model is a single bucket.
 */
@ExtendWith(Redis.class)
@Timeout(60)
class RedisGcraConformanceTest {

  /** A local fallback that must never be used here: Redis is up. */
  static final RedisGcra.Local NO_FALLBACK = new RedisGcra.Local() {
    @Override
    public long acquireOrRetryAfterNanos(String key, int permits) {
      throw new AssertionError("fallback used while Redis is up");
    }

    @Override
    public boolean tryAcquire(String key, int permits, Duration maxWait) {
      throw new AssertionError("fallback used while Redis is up");
    }

    @Override
    public int burst() {
      return 1;
    }

    @Override
    public dev.shepherd.ratelimit.Rate rate() {
      throw new AssertionError("fallback used while Redis is up");
    }

    @Override
    public String describe() {
      return "none";
    }

    @Override
    public void share(int servers, boolean onFallback) {
      throw new AssertionError("no fleet tracking here");
    }
  };

  static RedisGcra engine(Redis redis, long permits, Duration period, int burst) {
    Config c = new Config("conformance");
    c.connection(redis.connect());
    c.rate(dev.shepherd.ratelimit.Rate.of(permits, period));
    c.burst(burst);
    c.timeout(Duration.ofSeconds(2)); // generous: this test is about decisions, not latency
    c.listener(EventListener.noop());
    return new RedisGcra(c, c.rate(), NO_FALLBACK);
  }

  @Test
  void tenPerSecondBurstFiveMatchesTheModel(Redis redis) throws Exception {
    conform(redis, 10, Duration.ofSeconds(1), 5, new long[] {0, 0, 3, 17, 41, 90, 130}, 4, 30, 1L);
  }

  @Test
  void threePerSecondWithAThirdOfAMicrosecondUnitMatchesTheModel(Redis redis) throws Exception {
    conform(redis, 3, Duration.ofSeconds(1), 2, new long[] {0, 0, 5, 60, 120, 200}, 4, 20, 2L);
  }

  @Test
  void sevenPerTwoSecondsWithMultiPermitRequestsMatchesTheModel(Redis redis) throws Exception {
    conform(redis, 7, Duration.ofSeconds(2), 3, new long[] {0, 0, 10, 50, 100, 150}, 2, 20, 3L);
  }

  @Test
  void anOddFastRateWithLargeRequestsMatchesTheModel(Redis redis) throws Exception {
    // 1,000,003 per second: the interval is 0.999997 us, so the unit is 1/1,000,003 us. Every
    // request asks for 1 to 100,000 permits (the burst, refilled in 100 ms), mostly back to back,
    // so the bucket runs dry; the sleeps of 40 and 80 ms refill it partly, so requests are also
    // granted. What refills during a round trip (a permit per microsecond) must stay small next to
    // the requests: with a burst of 5000 (5 ms to refill) the round trips of a loaded machine
    // refilled the bucket between requests, nothing was refused, and the coverage check failed.
    conform(redis, 1_000_003, Duration.ofSeconds(1), 100_000, new long[] {0, 0, 0, 0, 40, 80}, 1, 40, 4L);
  }

  /**
   * Runs {@code steps} requests, alternating two engines on one key: each step sleeps one of
   * {@code sleeps} (ms), asks for 1 to burst permits (one request in {@code multiEvery}; the
   * others ask for one), and sometimes accepts a wait of up to
   * 0.6 intervals' worth of permits; then compares the reply with the model at the reply's time.
   */
  private static void conform(
      Redis redis, long permits, Duration period, int burst, long[] sleeps, int multiEvery, int steps, long seed)
      throws Exception {
    RedisGcra[] engines = {engine(redis, permits, period, burst), engine(redis, permits, period, burst)};
    String[] keys = {Redis.freshKey("conformance")};
    IdealBucket model = new IdealBucket(permits, period.toNanos(), burst);
    SplittableRandom random = new SplittableRandom(seed);
    long intervalMicros = Math.max(1, period.toNanos() / permits / 1000);
    long previous = -1;
    int grants = 0;
    int refusals = 0;
    int reservations = 0;
    List<String> trace = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      long sleep = sleeps[random.nextInt(sleeps.length)];
      if (sleep > 0) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(sleep)); // Redis's clock must move
      }
      int n = random.nextInt(multiEvery) == 0 ? 1 + random.nextInt(burst) : 1;
      long maxWaitMicros = random.nextInt(4) == 0 ? random.nextLong(intervalMicros * n) : 0;
      RedisGcra engine = engines[i % 2];
      Object reply = engine.evalSync(keys, engine.args(n, maxWaitMicros));
      long decision = GcraScript.decode(reply, maxWaitMicros);
      long now = GcraScript.redisMicros(reply);
      if (previous >= 0) {
        model.advance((now - previous) * 1000);
      }
      previous = now;
      long modelWaitMicros = ceilDiv(model.waitFor(n), 1000);
      String where = String.format(Locale.ROOT, "step %d (%d permits, max wait %d us) at Redis time %d; so far %s",
          i, n, maxWaitMicros, now, trace);
      if (modelWaitMicros == 0) {
        assertTrue(model.tryTake(n));
        assertEquals(0, decision, "granted at once: " + where);
        grants++;
      } else if (modelWaitMicros <= maxWaitMicros) {
        model.reserve(modelWaitMicros * 1000, n);
        assertEquals(modelWaitMicros, decision, "reserved with this wait: " + where);
        reservations++;
      } else {
        assertEquals(-modelWaitMicros, decision, "refused with this retry-after: " + where);
        refusals++;
      }
      trace.add(n + (decision == 0 ? "+" : decision > 0 ? "w" + decision : "-" + (-decision)));
    }
    // The schedule must have exercised both outcomes, or it proves little.
    assertTrue(grants > 0 && refusals > 0, "grants " + grants + ", refusals " + refusals + ": " + trace);
    assertEquals(0, engines[0].redisErrorCount() + engines[1].redisErrorCount());
    System.out.printf(Locale.ROOT, "conformance %d per %s burst %d: %d granted, %d reserved, %d refused%n",
        permits, period, burst, grants, reservations, refusals);
  }

  private static long ceilDiv(long x, long y) {
    return (x + y - 1) / y;
  }
}
