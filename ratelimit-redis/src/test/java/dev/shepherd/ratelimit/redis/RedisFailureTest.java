package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.ratelimit.RateLimitExceededException;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Redis restarted, stopped, paused: the limiter keeps deciding, within its timeout, by the chosen
 * policy, and returns to the global limit when Redis answers again. Each test runs its own
 * redis-server, since it stops or restarts it.
 *
 * <p>Where the circuit's timing matters the limiter runs on a {@link ManualClock}: the cool-down
 * then ends exactly when the test says, and the time on the fallback is exact. The Redis timeout
 * stays real (it bounds real network waits).
 *
 * <p>The timeout is a second, not the 50 ms default: these tests also need the checks made while
 * Redis is up (before it stops, after it returns, the probe) to be answered in time, and on a loaded
 * CI machine a healthy round trip may take longer than 50 ms, which would send a check to the
 * fallback and fail the test on timing alone. The CLIENT PAUSE test keeps a 50 ms timeout (the
 * pause must dwarf it) and instead waits, bounded, for the checks it needs Redis to answer.
 */
@Timeout(60)
class RedisFailureTest {

  private static final Duration MINUTE = Duration.ofMinutes(1);
  private static final Duration TIMEOUT = Duration.ofSeconds(1);
  /**
   * How long any single check may take: the timeout plus a generous allowance for a slow machine
   * (still well below Lettuce's own 10 s command timeout, see {@link Redis}).
   */
  private static final long BOUND_NANOS = TIMEOUT.toNanos() + TimeUnit.SECONDS.toNanos(1);
  /** The CLIENT PAUSE test's timeout: the 1.5 s pause is thirty times as long. */
  private static final Duration PAUSE_TEST_TIMEOUT = Duration.ofMillis(50);
  private static final long PAUSE_TEST_BOUND_NANOS = PAUSE_TEST_TIMEOUT.toNanos() + TimeUnit.SECONDS.toNanos(1);

  @Test
  void aRestartMidTestIsHandledByReloadingTheScript() {
    try (Redis redis = Redis.startNew()) {
      StatefulRedisConnection<String, String> connection = redis.connect();
      RedisRateLimiter limiter = RedisRateLimiter.builder().connection(connection).key("restart").rate(1, MINUTE).burst(3)
          .timeout(Redis.ANSWER_TIMEOUT).listener(new RecordingListener()).build(); // Redis is up: no timeout expected
      assertTrue(limiter.tryAcquire());
      assertTrue(limiter.tryAcquire());
      long loadsBefore = redis.admin().scriptExists(GcraScript.SHA).get(0) ? 0 : 1;
      assertEquals(0, loadsBefore, "the script is cached before the restart");

      redis.server().restart(); // empty: no dataset, no scripts
      Redis.awaitConnected(connection);
      assertEquals(List.of(false), redis.admin().scriptExists(GcraScript.SHA));

      // NOSCRIPT -> EVAL of the source, inside one check; and the bucket is new (full).
      assertTrue(limiter.tryAcquire());
      assertTrue(limiter.tryAcquire());
      assertTrue(limiter.tryAcquire());
      assertFalse(limiter.tryAcquire());
      assertEquals(0, limiter.redisErrorCount());
      assertEquals(0, limiter.fallbackCount());
      assertFalse(limiter.fallbackActive());
    }
  }

  @Test
  void failLocalAdmitsAtMostTheLocalShareThenReturnsToTheGlobalLimit() {
    try (Redis redis = Redis.startNew()) {
      ManualClock clock = ManualClock.instant();
      RecordingListener events = new RecordingListener();
      StatefulRedisConnection<String, String> connection = redis.connect();
      // The fleet: 8 per minute, burst 8, over 4 servers. This server's share: 2 per minute, burst 2.
      RedisRateLimiter limiter = RedisRateLimiter.builder().name("connect").connection(connection).key("fleet")
          .rate(8, MINUTE).burst(8).expectedServers(4).timeout(TIMEOUT).coolDown(Duration.ofSeconds(1))
          .ticker(clock).sleeper(clock).listener(events).build();
      for (int i = 0; i < 8; i++) {
        assertTrue(limiter.tryAcquire(), "global permit " + i);
      }
      assertFalse(limiter.tryAcquire());

      redis.server().stop();
      int granted = 0;
      for (int i = 0; i < 20; i++) {
        long start = System.nanoTime();
        long wait = limiter.acquireOrRetryAfterNanos(1);
        assertTrue(System.nanoTime() - start < BOUND_NANOS, "check " + i + " was stuck");
        if (wait == 0) {
          granted++;
        } else {
          assertTrue(wait > 0);
        }
      }
      assertEquals(2, granted, "the local share's burst, no more (the clock stands still)");
      assertEquals(20, limiter.fallbackCount());
      assertEquals(1, limiter.redisErrorCount(), "only the first check asked Redis; the circuit kept the others off it");
      assertTrue(limiter.fallbackActive());
      Event fallback = events.of(Event.Kind.FALLBACK).get(0);
      assertTrue(fallback.detail().contains("fail-local"), fallback.detail());
      assertEquals(1, events.of(Event.Kind.FALLBACK).size(), "one line when switching, not one per request");

      // A minute later the local share has refilled 2 permits; the cool-down is over, so a
      // probe goes out in the background and fails: Redis is still down.
      clock.advance(MINUTE);
      assertTrue(limiter.tryAcquire());
      Redis.await("the probe fails", Duration.ofSeconds(10), () -> limiter.redisErrorCount() == 2);
      assertTrue(limiter.tryAcquire());
      assertFalse(limiter.tryAcquire());
      assertTrue(limiter.fallbackActive());
      assertEquals(Duration.ofMinutes(1), limiter.timeInFallback());

      redis.server().restart();
      Redis.awaitConnected(connection);
      clock.advance(Duration.ofSeconds(1)); // the next probe is due
      assertFalse(limiter.tryAcquire(), "decided locally while the probe is out");
      // The probe's callback closes the circuit, then tells the listener: wait for both.
      Redis.await("the probe succeeds", Duration.ofSeconds(10),
          () -> !limiter.fallbackActive() && !events.of(Event.Kind.STATE_CHANGED).isEmpty());
      assertEquals(Duration.ofSeconds(61), limiter.timeInFallback(), "exactly the manual time on the fallback");
      assertTrue(events.of(Event.Kind.STATE_CHANGED).get(0).detail().startsWith("Redis answers again"));

      // Back on Redis (restarted empty): the global burst of 8, not the local 2.
      long fallbackDecisions = limiter.fallbackCount();
      for (int i = 0; i < 8; i++) {
        assertTrue(limiter.tryAcquire(), "global permit " + i + " after the return");
      }
      assertFalse(limiter.tryAcquire());
      assertEquals(fallbackDecisions, limiter.fallbackCount());
      assertEquals(Duration.ofSeconds(61), limiter.timeInFallback());
    }
  }

  @Test
  void failClosedRefusesEveryRequestWhileRedisIsDown() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = RedisRateLimiter.builder().name("closed").connection(redis.connect()).rate(100, MINUTE)
          .burst(100).timeout(TIMEOUT).coolDown(Duration.ofSeconds(30)).failurePolicy(FailurePolicy.FAIL_CLOSED)
          .listener(new RecordingListener()).build();
      assertTrue(limiter.tryAcquire());
      redis.server().stop();
      for (int i = 0; i < 10; i++) {
        long start = System.nanoTime();
        assertFalse(limiter.tryAcquire());
        assertTrue(System.nanoTime() - start < BOUND_NANOS);
      }
      RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> limiter.call(() -> "x"));
      assertEquals("closed", e.policyName());
      long retry = e.retryAfterNanos();
      assertTrue(retry > 0 && retry <= Duration.ofSeconds(30).toNanos(), "until the next probe: " + retry);
      assertFalse(limiter.tryAcquireAsync().toCompletableFuture().get(5, TimeUnit.SECONDS));
      assertFalse(limiter.tryAcquire(1, Duration.ofSeconds(1)));
      assertEquals(1, limiter.grantedCount());
      assertEquals(1, limiter.redisErrorCount());
    }
  }

  @Test
  void failOpenGrantsEveryRequestWhileRedisIsDown() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = RedisRateLimiter.builder().connection(redis.connect()).rate(1, MINUTE).burst(1)
          .timeout(TIMEOUT).failurePolicy(FailurePolicy.FAIL_OPEN).listener(new RecordingListener()).build();
      assertTrue(limiter.tryAcquire());
      assertFalse(limiter.tryAcquire());
      redis.server().stop();
      for (int i = 0; i < 10; i++) {
        assertTrue(limiter.tryAcquire(), "granted beyond the burst: Redis is down and the policy is fail-open");
      }
      assertTrue(limiter.tryAcquireAsync().toCompletableFuture().get(5, TimeUnit.SECONDS));
      assertTrue(limiter.tryAcquire(1, Duration.ZERO));
      assertEquals(12, limiter.fallbackCount());
    }
  }

  @Test
  void asynchronousChecksCompleteWithinTheTimeoutWhenRedisIsDown() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RedisRateLimiter limiter = RedisRateLimiter.builder().connection(redis.connect()).rate(10, MINUTE).burst(4)
          .expectedServers(2).timeout(TIMEOUT).listener(new RecordingListener()).build();
      assertTrue(limiter.tryAcquire());
      redis.server().stop();
      long start = System.nanoTime();
      // The first asks Redis and times out; the rest find the circuit open.
      List<CompletableFuture<Long>> checks = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        checks.add(limiter.acquireOrRetryAfterNanosAsync(1).toCompletableFuture());
      }
      int granted = 0;
      for (CompletableFuture<Long> c : checks) {
        if (c.get(5, TimeUnit.SECONDS) == 0) {
          granted++;
        }
      }
      assertTrue(System.nanoTime() - start < BOUND_NANOS);
      assertEquals(2, granted, "the local share: burst 4 / 2 servers");
      assertTrue(limiter.fallbackActive());
    }
  }

  @Test
  void failLocalKeepsEachKeysShare() {
    try (Redis redis = Redis.startNew()) {
      // A cool-down longer than the test: no probe (which would count a second error) goes out.
      RedisKeyedRateLimiter limiter = RedisKeyedRateLimiter.builder().connection(redis.connect()).rate(4, MINUTE).burst(4)
          .expectedServers(2).timeout(TIMEOUT).coolDown(MINUTE).listener(new RecordingListener()).build();
      assertTrue(limiter.tryAcquire("a", 4));
      redis.server().stop();
      assertTrue(limiter.tryAcquire("a"));
      assertTrue(limiter.tryAcquire("a"));
      assertFalse(limiter.tryAcquire("a"), "a's local share: burst 4 / 2 servers");
      assertTrue(limiter.tryAcquire("b", 2));
      assertFalse(limiter.tryAcquire("b"));
      assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire("c", 5), "beyond the global burst");
      assertFalse(limiter.tryAcquire("c", 3), "beyond the local burst: refused, not an error");
      assertEquals(1, limiter.redisErrorCount());
    }
  }

  /**
   * {@code CLIENT PAUSE} for 1.5 s, thirty times the timeout: the first checks wait out the
   * timeout and open the circuit; every other check is decided at once, locally. No check takes
   * longer than the timeout plus a generous second, none is stuck, and once the pause ends the
   * limiter is back on Redis.
   */
  @Test
  void aPauseLongerThanTheTimeoutFallsBackAndNoRequestIsStuck() throws Exception {
    try (Redis redis = Redis.startNew()) {
      RecordingListener events = new RecordingListener();
      RedisRateLimiter limiter = RedisRateLimiter.builder().connection(redis.connect()).key("paused")
          .rate(1000, Duration.ofSeconds(1)).burst(100).timeout(PAUSE_TEST_TIMEOUT).coolDown(Duration.ofMillis(200))
          .listener(events).build();
      // On Redis before the pause. A first check slower than 50 ms (a cold JVM, a loaded machine)
      // would open the circuit for a cool-down: wait, bounded, for one that Redis decides.
      Redis.await("a check decided by Redis before the pause", Duration.ofSeconds(10),
          () -> decidedByRedis(limiter, 1));
      // Counted from here: the warm-up may have fallen back once.
      long errorsBefore = limiter.redisErrorCount();
      long fallbacksBefore = limiter.fallbackCount();
      int fallbackEventsBefore = events.of(Event.Kind.FALLBACK).size();
      redis.admin().clientPause(1500);

      ExecutorService pool = Executors.newFixedThreadPool(4);
      AtomicLong slowest = new AtomicLong();
      long runNanos = TimeUnit.MILLISECONDS.toNanos(700);
      long start = System.nanoTime();
      try {
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          boolean async = t == 3;
          workers.add(pool.submit(() -> {
            while (System.nanoTime() - start < runNanos) {
              long before = System.nanoTime();
              if (async) {
                limiter.acquireOrRetryAfterNanosAsync(1).toCompletableFuture().get(5, TimeUnit.SECONDS);
              } else {
                limiter.acquireOrRetryAfterNanos(1);
              }
              slowest.accumulateAndGet(System.nanoTime() - before, Math::max);
            }
            return null;
          }));
        }
        for (Future<?> w : workers) {
          w.get(20, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
      }
      long errors = limiter.redisErrorCount() - errorsBefore;
      long fallbacks = limiter.fallbackCount() - fallbacksBefore;
      String what = String.format(Locale.ROOT, "slowest check %.1f ms, %d fallback decisions, %d Redis errors",
          slowest.get() / 1e6, fallbacks, errors);
      System.out.println("CLIENT PAUSE: " + what);
      assertTrue(slowest.get() < PAUSE_TEST_BOUND_NANOS, what);
      assertTrue(fallbacks > 0, what);
      // At most one timeout per caller before the circuit opened, then one failed probe per
      // cool-down: far fewer errors than checks.
      assertTrue(errors <= 4 + 700 / 200 + 1, what);
      assertTrue(events.of(Event.Kind.FALLBACK).size() > fallbackEventsBefore, "the pause opened the circuit");

      // Back on Redis once the pause ends: five checks in a row decided by Redis. Waited for
      // (bounded): a single round trip slower than 50 ms on a loaded machine is a legitimate
      // fallback, not a failure to return; a limiter that never returns fails here.
      Redis.await("back on Redis after the pause", Duration.ofSeconds(10), () -> decidedByRedis(limiter, 5));
    }
  }

  /** Makes {@code checks} checks; true iff Redis decided every one (no fallback decision, circuit closed). */
  private static boolean decidedByRedis(RedisRateLimiter limiter, int checks) {
    if (limiter.fallbackActive()) {
      limiter.tryAcquire(); // lets a due probe go out
      return false;
    }
    long fallbackDecisions = limiter.fallbackCount();
    for (int i = 0; i < checks; i++) {
      limiter.tryAcquire();
    }
    return limiter.fallbackCount() == fallbackDecisions && !limiter.fallbackActive();
  }
}
