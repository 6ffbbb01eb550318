package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.Policy;
import dev.shepherd.ratelimit.RateLimitExceededException;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The global limiter against a real Redis that stays up: decisions, waits, expiry, NOSCRIPT, bad input. */
@ExtendWith(Redis.class)
@Timeout(30)
class RedisRateLimiterTest {

  private static final Duration MINUTE = Duration.ofMinutes(1);

  @Test
  void grantsTheBurstThenRefusesWithAWholeMicrosecondRetryAfter(Redis redis) {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("burst")).rate(1, MINUTE).burst(3).build();
    assertEquals(0, limiter.acquireOrRetryAfterNanos(1));
    assertTrue(limiter.tryAcquire());
    assertTrue(limiter.tryAcquire(1));
    long wait = limiter.acquireOrRetryAfterNanos(1);
    // Three taken at one permit a minute: the next comes a minute after the first, less the
    // (sub-second) time this test took.
    assertTrue(wait > 50_000_000_000L && wait <= 60_000_000_000L, "wait " + wait);
    assertEquals(0, wait % 1000, "whole microseconds");
    assertFalse(limiter.tryAcquire());
    assertEquals(3, limiter.grantedCount());
    assertEquals(2, limiter.rejectedCount());
    assertEquals(5, limiter.checkCount());
    assertEquals(0, limiter.redisErrorCount());
    assertEquals(0, limiter.fallbackCount());
    assertFalse(limiter.fallbackActive());
    assertEquals(Duration.ZERO, limiter.timeInFallback());
  }

  @Test
  void multiPermitRequestsTakeAllOrNothing(Redis redis) {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("multi")).rate(1, MINUTE).burst(5).build();
    assertTrue(limiter.tryAcquire(3));
    assertFalse(limiter.tryAcquire(3)); // two left: nothing taken
    assertTrue(limiter.tryAcquire(2));
    assertFalse(limiter.tryAcquire(1));
  }

  @Test
  void callRunsTheActionOrThrowsTheRejectionNamingTheLimiter(Redis redis) throws Exception {
    RedisRateLimiter limiter = redis.limiter().name("connect").key(Redis.freshKey("call")).rate(1, MINUTE).burst(1).build();
    assertEquals("ok", limiter.call(() -> "ok"));
    AtomicBoolean ran = new AtomicBoolean();
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> limiter.call(() -> ran.getAndSet(true)));
    assertFalse(ran.get());
    assertEquals("connect", e.policyName());
    assertTrue(e.getMessage().startsWith("RateLimiter 'connect' does not permit further calls"), e.getMessage());
    assertTrue(e.retryAfterNanos() > 50_000_000_000L && e.retryAfterNanos() <= 60_000_000_000L);
    // Whole seconds, rounded up: "60" when the refusal came within a second of the grant, which a
    // loaded machine does not promise, so the expected value is computed from the wait itself.
    assertEquals(Long.toString((e.retryAfterNanos() + 999_999_999L) / 1_000_000_000L), e.retryAfterHeader());
    // As a Policy, composed like the local limiters.
    assertThrows(RateLimitExceededException.class, () -> Policy.compose(limiter).call(() -> "no"));
  }

  @Test
  void callAsyncChecksWithoutBlockingAndFailsTheStageWhenRefused(Redis redis) throws Exception {
    RedisRateLimiter limiter = redis.limiter().name("async").key(Redis.freshKey("callAsync")).rate(1, MINUTE).burst(1).build();
    assertEquals("ok", limiter.callAsync(() -> CompletableFuture.completedFuture("ok")).toCompletableFuture().get(5, TimeUnit.SECONDS));
    AtomicBoolean ran = new AtomicBoolean();
    ExecutionException e = assertThrows(ExecutionException.class, () -> limiter
        .callAsync(() -> {
          ran.set(true);
          return CompletableFuture.completedFuture("no");
        })
        .toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertInstanceOf(RateLimitExceededException.class, e.getCause());
    assertFalse(ran.get());
    assertEquals("async", ((RateLimitExceededException) e.getCause()).policyName());
  }

  @Test
  void asyncChecksDecideLikeTheSynchronousOnes(Redis redis) throws Exception {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("async")).rate(1, MINUTE).burst(2).build();
    assertEquals(0L, limiter.acquireOrRetryAfterNanosAsync(1).toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertTrue(limiter.tryAcquireAsync().toCompletableFuture().get(5, TimeUnit.SECONDS));
    assertFalse(limiter.tryAcquireAsync().toCompletableFuture().get(5, TimeUnit.SECONDS));
    long wait = limiter.acquireOrRetryAfterNanosAsync(2).toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertTrue(wait > 100_000_000_000L && wait <= 120_000_000_000L, "two permits: two minutes from the start, " + wait);
    assertEquals(2, limiter.grantedCount());
    assertEquals(2, limiter.rejectedCount());
  }

  @Test
  void tryAcquireWithAWaitReservesInRedisThenSleeps(Redis redis) throws InterruptedException {
    ManualClock sleeper = ManualClock.instant();
    // One permit per 10 s: Redis's clock is real, so the interval must dwarf any pause of a loaded
    // machine between two checks (at 10 per second, a 100 ms pause already made the next permit due).
    long interval = 10_000_000_000L;
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("reserve")).rate(1, Duration.ofNanos(interval)).burst(1)
        .sleeper(sleeper).build();
    assertTrue(limiter.tryAcquire());
    // The next permit is at most 10 s away: too far for 10 ms, near enough for 20 s.
    assertFalse(limiter.tryAcquire(1, Duration.ofMillis(10)));
    assertTrue(sleeper.sleeps().isEmpty());
    assertTrue(limiter.tryAcquire(1, Duration.ofSeconds(20)));
    List<Duration> sleeps = sleeper.sleeps();
    assertEquals(1, sleeps.size());
    long slept = sleeps.get(0).toNanos();
    assertTrue(slept > 0 && slept <= interval, "slept " + slept);
    assertEquals(0, slept % 1000, "whole microseconds");
    // The reservation was taken in Redis: the next permit is one more interval away.
    long wait = limiter.acquireOrRetryAfterNanos(1);
    assertTrue(wait > slept && wait <= slept + interval, "wait " + wait + " after sleeping " + slept);
    assertEquals(2, limiter.grantedCount());
  }

  @Test
  void idleKeysExpireOnceTheirBucketIsFullAgain(Redis redis) {
    String key = Redis.freshKey("expiry");
    RedisCommands<String, String> admin = redis.admin();
    RedisRateLimiter slow = redis.limiter().key(key).rate(1, MINUTE).burst(5).build();
    assertEquals(0, admin.exists(key));
    assertTrue(slow.tryAcquire());
    // One permit of five owed at one a minute: full again in 60 s; the TTL is that, rounded up.
    long pttl = admin.pttl(key);
    assertTrue(pttl > 55_000 && pttl <= 60_001, "PTTL " + pttl);

    // A key that empties within seconds. The PTTL is read in real time after the grants, so the debt
    // must outlast a pause of a loaded machine: at 100 per second (30 ms owed) the key could expire
    // before the PTTL is read. Here the key lives up to 3 s, and at least 1 s after the last grant.
    String fastKey = Redis.freshKey("expiry-fast");
    RedisRateLimiter fast = redis.limiter().key(fastKey).rate(1, Duration.ofSeconds(1)).burst(10).build();
    for (int i = 0; i < 3; i++) {
      assertTrue(fast.tryAcquire());
    }
    long fastTtl = admin.pttl(fastKey);
    assertTrue(fastTtl >= 1 && fastTtl <= 3_000, "three permits at 1 s each: PTTL " + fastTtl);
    Redis.await("the idle key expires", Duration.ofSeconds(10), () -> admin.exists(fastKey) == 0);
    // A missing key is a full bucket.
    for (int i = 0; i < 10; i++) {
      assertTrue(fast.tryAcquire(), "permit " + i);
    }
  }

  @Test
  void aRefusalWritesNothing(Redis redis) {
    String key = Redis.freshKey("refusal");
    RedisCommands<String, String> admin = redis.admin();
    RedisRateLimiter limiter = redis.limiter().key(key).rate(1, MINUTE).burst(1).build();
    assertTrue(limiter.tryAcquire());
    String state = admin.get(key);
    long pttl = admin.pttl(key);
    assertFalse(limiter.tryAcquire());
    assertEquals(state, admin.get(key));
    assertTrue(admin.pttl(key) <= pttl, "a refusal does not extend the TTL");
  }

  @Test
  void anEmptiedScriptCacheIsReloadedOnceTransparently(Redis redis) throws Exception {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("noscript")).rate(1, MINUTE).burst(5).build();
    assertTrue(limiter.tryAcquire());
    RedisCommands<String, String> admin = redis.admin();
    admin.scriptFlush();
    assertEquals(List.of(false), admin.scriptExists(GcraScript.SHA));
    assertTrue(limiter.tryAcquire(), "NOSCRIPT -> EVAL of the source, in one call");
    assertEquals(List.of(true), admin.scriptExists(GcraScript.SHA));
    admin.scriptFlush();
    assertTrue(limiter.tryAcquireAsync().toCompletableFuture().get(5, TimeUnit.SECONDS), "the same, asynchronously");
    admin.scriptFlush();
    assertTrue(limiter.tryAcquire(1, Duration.ofSeconds(1)), "and for reservations");
    assertEquals(0, limiter.redisErrorCount());
    assertEquals(0, limiter.fallbackCount());
    assertEquals(4, limiter.grantedCount());
  }

  @Test
  void redisComputesTheSameShaForTheScript(Redis redis) {
    assertEquals(GcraScript.SHA, redis.admin().scriptLoad(GcraScript.SOURCE));
  }

  @Test
  void aMalformedStateIsRefusedAndReportedNeverGrantedWhateverThePolicy(Redis redis) {
    RedisCommands<String, String> admin = redis.admin();
    for (String garbage : List.of("garbage", "5:7:3", "1:2", "99999999999999999999:0:1", "")) {
      String key = Redis.freshKey("malformed");
      admin.set(key, garbage);
      RecordingListener events = new RecordingListener();
      RedisRateLimiter limiter = redis.limiter().key(key).rate(1000, Duration.ofSeconds(1)).burst(100)
          .failurePolicy(FailurePolicy.FAIL_OPEN).listener(events).build();
      long wait = limiter.acquireOrRetryAfterNanos(1);
      assertEquals(1_000_000_000L, wait, "refused, retry after the cool-down: " + garbage);
      assertEquals(0, limiter.grantedCount());
      assertEquals(1, limiter.redisErrorCount());
      assertEquals(0, limiter.fallbackCount(), "not a fallback decision: Redis is up");
      assertFalse(limiter.fallbackActive(), "the circuit stays closed: Redis is up");
      Event failed = events.of(Event.Kind.FAILED).get(0);
      assertTrue(failed.cause().getMessage().contains("malformed rate-limit state"), failed.cause().getMessage());
      assertEquals("Redis reply not understood", events.of(Event.Kind.REJECTED).get(0).detail());
      assertEquals(garbage, admin.get(key), "left as found");
    }
  }

  @Test
  void aKeyOfTheWrongTypeIsRefusedAndReported(Redis redis) {
    String key = Redis.freshKey("wrongtype");
    redis.admin().rpush(key, "x");
    RecordingListener events = new RecordingListener();
    RedisRateLimiter limiter = redis.limiter().key(key).rate(1000, Duration.ofSeconds(1)).burst(100)
        .failurePolicy(FailurePolicy.FAIL_OPEN).listener(events).build();
    assertFalse(limiter.tryAcquire());
    assertTrue(events.of(Event.Kind.FAILED).get(0).cause().getMessage().contains("WRONGTYPE"));
    assertFalse(limiter.fallbackActive());
  }

  @Test
  void aStateWrittenAtAnotherRateIsRoundedUpNeverDown(Redis redis) {
    // A 3-per-second limiter (units of 1/3 us) left its bucket owing 5 s and a third of a
    // microsecond; a 10-per-second limiter (whole microseconds) reads 5 s and one microsecond.
    RedisCommands<String, String> admin = redis.admin();
    long nowMicros = redisMicros(admin);
    String key = Redis.freshKey("rescale");
    admin.set(key, (nowMicros + 5_000_000) + ":1:3");
    RedisRateLimiter limiter = redis.limiter().key(key).rate(10, Duration.ofSeconds(1)).burst(1).build();
    long wait = limiter.acquireOrRetryAfterNanos(1);
    long afterMicros = redisMicros(admin);
    // Debt 5 s + 1 us, tolerance 100 ms, cost 100 ms: 5 s + 1 us from the state's writing, less the
    // Redis time that passed before the check (at most afterMicros - nowMicros, however slow the machine).
    long lower = 5_000_000_000L - (afterMicros - nowMicros) * 1_000L;
    assertTrue(wait >= lower && wait <= 5_000_001_000L, "wait " + wait + ", expected within [" + lower + ", 5000001000]");
  }

  private static long redisMicros(RedisCommands<String, String> admin) {
    List<String> time = admin.time();
    return Long.parseLong(time.get(0)) * 1_000_000 + Long.parseLong(time.get(1));
  }

  @Test
  void theDefaultKeyIsPrefixedWithTheName(Redis redis) {
    RedisRateLimiter limiter = redis.limiter().name("connect-" + System.nanoTime()).rate(1, MINUTE).burst(2).build();
    assertEquals("shepherd:ratelimit:" + limiter.name(), limiter.key());
    assertTrue(limiter.tryAcquire());
    assertEquals(1, redis.admin().exists(limiter.key()));
    assertEquals(2, limiter.burst());
    assertEquals(FailurePolicy.FAIL_LOCAL, limiter.failurePolicy());
    assertTrue(limiter.toString().contains(limiter.key()), limiter.toString());
  }

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheValue(Redis redis) {
    RedisRateLimiter.Builder b = RedisRateLimiter.builder();
    assertEquals("permits must be positive: 0", assertThrows(IllegalArgumentException.class, () -> b.rate(0, MINUTE)).getMessage());
    assertEquals("permits must be positive: -1", assertThrows(IllegalArgumentException.class, () -> b.rate(-1, MINUTE)).getMessage());
    assertEquals("period must be positive: PT0S",
        assertThrows(IllegalArgumentException.class, () -> b.rate(1, Duration.ZERO)).getMessage());
    assertEquals("burst must be at least 1: 0", assertThrows(IllegalArgumentException.class, () -> b.burst(0)).getMessage());
    assertEquals("timeout must be positive: PT0S",
        assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ZERO)).getMessage());
    assertEquals("coolDown must be positive: PT-1S",
        assertThrows(IllegalArgumentException.class, () -> b.coolDown(Duration.ofSeconds(-1))).getMessage());
    assertEquals("expectedServers must be at least 1: 0",
        assertThrows(IllegalArgumentException.class, () -> b.expectedServers(0)).getMessage());
    assertEquals("key must be non-empty: \"\"", assertThrows(IllegalArgumentException.class, () -> b.key("")).getMessage());
    assertEquals("key must be at most 1024 bytes in UTF-8: 1025 bytes",
        assertThrows(IllegalArgumentException.class, () -> b.key("k".repeat(1025))).getMessage());
    assertEquals("name must be non-blank: \" \"", assertThrows(IllegalArgumentException.class, () -> b.name(" ")).getMessage());
    assertEquals("connection", assertThrows(NullPointerException.class, () -> b.connection(null)).getMessage());
    assertEquals("failurePolicy", assertThrows(NullPointerException.class, () -> b.failurePolicy(null)).getMessage());
    assertEquals("ticker", assertThrows(NullPointerException.class, () -> b.ticker(null)).getMessage());
    assertEquals("sleeper", assertThrows(NullPointerException.class, () -> b.sleeper(null)).getMessage());
    assertEquals("listener", assertThrows(NullPointerException.class, () -> b.listener(null)).getMessage());
    assertThrows(NullPointerException.class, () -> b.key(null));
    assertEquals("connection must be set: call connection(redisClient.connect())",
        assertThrows(IllegalStateException.class, () -> RedisRateLimiter.builder().rate(1, MINUTE).build()).getMessage());
    assertEquals("rate must be set: call rate(Rate) or rate(permits, period)",
        assertThrows(IllegalStateException.class, () -> RedisRateLimiter.builder().connection(redis.connect()).build()).getMessage());
    IllegalArgumentException burst = assertThrows(IllegalArgumentException.class,
        () -> redis.limiter().rate(1, Duration.ofDays(1)).burst(20_000).build());
    assertTrue(burst.getMessage().startsWith("burst must be at most 13031 "), burst.getMessage());
    IllegalArgumentException name = assertThrows(IllegalArgumentException.class,
        () -> redis.limiter().name("n".repeat(1100)).rate(1, MINUTE).build());
    assertTrue(name.getMessage().startsWith("key must be at most 1024 bytes"), name.getMessage());
  }

  @Test
  void badRequestsFailFastAndLeaveTheStateAsItWas(Redis redis) {
    RedisRateLimiter limiter = redis.limiter().key(Redis.freshKey("bad")).rate(1, MINUTE).burst(3).build();
    assertEquals("permits must be positive: 0",
        assertThrows(IllegalArgumentException.class, () -> limiter.acquireOrRetryAfterNanos(0)).getMessage());
    assertEquals("permits must be at most 3 (the burst; more could never be granted): 4",
        assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire(4)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> limiter.acquireOrRetryAfterNanosAsync(-1));
    assertEquals("maxWait must be zero or positive: PT-1S",
        assertThrows(IllegalArgumentException.class, () -> limiter.tryAcquire(1, Duration.ofSeconds(-1))).getMessage());
    assertEquals("maxWait", assertThrows(NullPointerException.class, () -> limiter.tryAcquire(1, null)).getMessage());
    assertThrows(NullPointerException.class, () -> limiter.call(null));
    assertThrows(NullPointerException.class, () -> limiter.callAsync(null));
    assertEquals(0, limiter.checkCount());
    assertTrue(limiter.tryAcquire(3), "the burst is intact");
  }

  @Test
  void aConnectionIsSharedNotOwned(Redis redis) {
    var connection = redis.connect();
    RedisRateLimiter a = RedisRateLimiter.builder().connection(connection).key(Redis.freshKey("shared-a")).rate(1, MINUTE)
        .timeout(Redis.ANSWER_TIMEOUT).build();
    RedisRateLimiter b = RedisRateLimiter.builder().connection(connection).key(Redis.freshKey("shared-b")).rate(1, MINUTE)
        .timeout(Redis.ANSWER_TIMEOUT).build();
    assertTrue(a.tryAcquire());
    assertTrue(b.tryAcquire());
    assertFalse(a.tryAcquire());
    assertTrue(connection.isOpen());
    assertSame(FailurePolicy.FAIL_LOCAL, b.failurePolicy());
  }
}
