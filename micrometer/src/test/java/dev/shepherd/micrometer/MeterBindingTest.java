package dev.shepherd.micrometer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.auth.AuthenticationException;
import dev.shepherd.auth.Authenticator;
import dev.shepherd.auth.BackendUnavailableException;
import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.Verified;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.backoff.Retry;
import dev.shepherd.backoff.RetryBudget;
import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.bulkhead.Permit;
import dev.shepherd.circuitbreaker.AdaptiveThrottle;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.circuitbreaker.Fallback;
import dev.shepherd.circuitbreaker.ThrottledException;
import dev.shepherd.circuitbreaker.TimeoutExceededException;
import dev.shepherd.core.EventListener;
import dev.shepherd.ratelimit.KeyedRateLimiter;
import dev.shepherd.ratelimit.KeyedTokenBucket;
import dev.shepherd.ratelimit.LeakyBucketMeter;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.ratelimit.TokenBucket;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Binds each primitive to a {@link SimpleMeterRegistry}, drives it, and finds exactly what happened. */
class MeterBindingTest {

  private static final Duration HOUR = Duration.ofHours(1);

  private final ManualClock clock = new ManualClock();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final MetricsListener metrics = new MetricsListener(registry);

  /** The one value of the meter {@code name} of instance {@code instance} (a counter's count, a gauge's value). */
  private double value(String name, String instance, String... moreTags) {
    Meter meter = registry.get(name).tag("name", instance).tags(moreTags).meter();
    return meter.measure().iterator().next().getValue();
  }

  private double events(String instance, String kind) {
    return value("shepherd.events", instance, "kind", kind);
  }

  @Test
  void aTokenBucketShowsItsGrantsRefusalsAvailablePermitsAndRetryAfters() {
    TokenBucket bucket = TokenBucket.builder().name("connect").rate(1, HOUR).burst(3).ticker(clock)
        .listener(metrics).build();
    RateLimiterMetrics.of(bucket, Tag.of("zone", "eu")).bindTo(registry);
    assertEquals(3, value("shepherd.ratelimit.available", "connect"));
    for (int i = 0; i < 5; i++) {
      bucket.tryAcquire();
    }
    assertEquals(3, value("shepherd.ratelimit.granted", "connect", "type", "TokenBucket", "zone", "eu"));
    assertEquals(2, value("shepherd.ratelimit.rejected", "connect"));
    assertEquals(0, value("shepherd.ratelimit.available", "connect"));
    assertEquals(2, events("connect", "REJECTED"));
    Timer retryAfter = registry.get("shepherd.retry.after").tag("name", "connect").timer();
    assertEquals(2, retryAfter.count());
    assertEquals(2 * HOUR.toSeconds(), retryAfter.totalTime(TimeUnit.SECONDS), 1e-6, "each was told one hour");
    clock.advance(HOUR);
    assertEquals(1, value("shepherd.ratelimit.available", "connect"));
  }

  @Test
  void aSlotAdmissionShowsAdmissionsSlotsRedemptionsAndItsBacklog() {
    SlotAdmission admission = SlotAdmission.builder().name("connect-slots").permitsPerSecond(10).headroom(0)
        .burst(2).horizon(Duration.ofSeconds(1)).ticker(clock).clock(wallClockOf(clock)).listener(metrics).build();
    RateLimiterMetrics.of(admission).bindTo(registry);
    admission.acquire(1);
    admission.acquire(2);
    SlotTicket ticket = null;
    for (long caller = 3; caller < 20; caller++) {
      try {
        admission.acquire(caller);
      } catch (SlotRefusedException refused) {
        if (caller == 3) {
          ticket = refused.ticket().orElseThrow();
        }
      }
    }
    assertEquals(2, value("shepherd.admission.admitted", "connect-slots", "type", "SlotAdmission"));
    // 100 ms apart up to the 1 s horizon: ten slots, then shared hints.
    assertEquals(10, value("shepherd.admission.slots", "connect-slots"));
    assertEquals(7, value("shepherd.admission.beyond.horizon", "connect-slots"));
    // The next caller's wait: the 11th slot, 1.1 s ahead, one interval past the last one handed out.
    assertEquals(1.1, value("shepherd.admission.backlog", "connect-slots"), 1e-9);
    assertEquals(0, value("shepherd.admission.redeemed", "connect-slots"));
    clock.advance(Duration.ofMillis(100)); // the first slot
    admission.acquire(3, ticket);
    assertEquals(1, value("shepherd.admission.redeemed", "connect-slots"));
    assertEquals(1.0, value("shepherd.admission.backlog", "connect-slots"), 1e-9);
  }

  /** The wall clock tickets are written on, moving with the manual ticker. */
  private static Clock wallClockOf(ManualClock ticker) {
    return new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return Instant.EPOCH.plusNanos(ticker.read());
      }
    };
  }

  @Test
  void aLeakyBucketAndAKeyedLimiterShowTheirCounts() {
    LeakyBucketMeter meter = LeakyBucketMeter.builder().name("meter").rate(1, HOUR).tolerance(Duration.ZERO)
        .ticker(clock)
        .listener(metrics).build();
    RateLimiterMetrics.of(meter).bindTo(registry);
    KeyedTokenBucket<String> perDevice = KeyedTokenBucket.builder().name("per-device").rate(1, HOUR).burst(2)
        .ticker(clock).listener(metrics).build();
    RateLimiterMetrics.of(perDevice).bindTo(registry);

    assertTrue(meter.tryAcquire());
    assertTrue(!meter.tryAcquire() && !meter.tryAcquire());
    for (String device : List.of("a", "a", "a", "b", "c", "c")) {
      perDevice.tryAcquire(device);
    }
    assertEquals(1, value("shepherd.ratelimit.granted", "meter", "type", "LeakyBucketMeter"));
    assertEquals(2, value("shepherd.ratelimit.rejected", "meter"));
    assertEquals(5, value("shepherd.ratelimit.granted", "per-device", "type", "KeyedRateLimiter"));
    assertEquals(1, value("shepherd.ratelimit.rejected", "per-device"));
    assertEquals(3, value("shepherd.ratelimit.keys", "per-device"));
    assertEquals(0, value("shepherd.ratelimit.keys.evicted", "per-device"));
    clock.advance(Duration.ofHours(3));
    assertEquals(3, perDevice.evictRefilled());
    assertEquals(3, value("shepherd.ratelimit.keys.evicted", "per-device"));
    assertEquals(0, value("shepherd.ratelimit.keys", "per-device"));
    assertEquals(2, events("meter", "REJECTED"));
    assertEquals(1, events("per-device", "REJECTED"));
  }

  @Test
  void bulkheadsShowInFlightLimitsWaitersAndRefusals() {
    Bulkhead bulkhead = Bulkhead.builder().name("db").maxConcurrent(2).ticker(clock).listener(metrics).build();
    BulkheadMetrics.of(bulkhead).bindTo(registry);
    Permit first = bulkhead.tryAcquire();
    Permit second = bulkhead.tryAcquire();
    assertNull(bulkhead.tryAcquire());
    assertEquals(2, value("shepherd.bulkhead.in.flight", "db"));
    assertEquals(2, value("shepherd.bulkhead.limit", "db"));
    assertEquals(0, value("shepherd.bulkhead.waiting", "db"));
    assertEquals(1, value("shepherd.bulkhead.rejected", "db", "type", "Bulkhead"));
    bulkhead.setMaxConcurrent(3);
    first.close();
    second.close();
    assertEquals(0, value("shepherd.bulkhead.in.flight", "db"));
    assertEquals(3, value("shepherd.bulkhead.limit", "db"));
    assertEquals(1, events("db", "REJECTED"));
    assertEquals(1, events("db", "LIMIT_CHANGED"));

    AdaptiveBulkhead adaptive = AdaptiveBulkhead.builder().name("upstream").minLimit(2).initialLimit(4)
        .maxLimit(8).ticker(clock).listener(metrics).build();
    BulkheadMetrics.of(adaptive).bindTo(registry);
    Permit held = adaptive.tryAcquire();
    assertEquals(1, value("shepherd.bulkhead.in.flight", "upstream", "type", "AdaptiveBulkhead"));
    assertEquals(4, value("shepherd.bulkhead.limit", "upstream"));
    assertEquals(2, value("shepherd.bulkhead.limit.min", "upstream"));
    assertEquals(8, value("shepherd.bulkhead.limit.max", "upstream"));
    assertEquals(0, value("shepherd.bulkhead.rejected", "upstream"));
    held.close();
  }

  @Test
  void aRetryBudgetShowsItsBalanceAndARetryItsEvents() throws Exception {
    RetryBudget budget = RetryBudget.builder().name("fetch-budget").ratio(0.5).minRetriesPerSecond(1)
        .ttl(Duration.ofSeconds(10)).ticker(clock).build();
    BackoffMetrics.of(budget).bindTo(registry);
    assertEquals(10, value("shepherd.retry.budget.balance", "fetch-budget"), "the floor: 1 per second over 10 s");
    for (int i = 0; i < 4; i++) {
      budget.recordRequest();
    }
    Retry retry = Retry.builder().name("fetch").backoff(Backoff.constant(Duration.ofSeconds(1))).maxAttempts(5)
        .budget(budget).ticker(clock).sleeper(clock).listener(metrics).build();
    AtomicInteger calls = new AtomicInteger();
    assertEquals("ok", retry.call(() -> {
      if (calls.incrementAndGet() <= 3) {
        throw new IOException("timeout " + calls.get());
      }
      return "ok";
    }));
    assertEquals(10 + 2 - 3, value("shepherd.retry.budget.balance", "fetch-budget"));
    assertEquals(3, events("fetch", "RETRY"));
    assertEquals(1, events("fetch", "SUCCEEDED"));
  }

  /** A connection that stays up until closed. */
  private static final class Link implements Reconnector.Connection {
    final CompletableFuture<Void> closed = new CompletableFuture<>();

    @Override
    public CompletionStage<?> closed() {
      return closed;
    }

    @Override
    public void close() {
      closed.complete(null);
    }
  }

  @Test
  @org.junit.jupiter.api.Tag("concurrency")
  @Timeout(30)
  void reconnectorsShowTheirAttemptsAndStatesOneByOneAndAsAFleet() throws Exception {
    ManualClock instant = ManualClock.instant();
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch connected = new CountDownLatch(1);
    Reconnector<Link> hub = Reconnector.<Link>builder(() -> {
      if (calls.incrementAndGet() <= 2) {
        throw new IOException("Connection refused");
      }
      return new Link();
    }).name("hub-1").initialSpread(Duration.ZERO).ticker(instant).sleeper(instant)
        .listener(metrics.andThen(e -> {
          if (e.state() == Reconnector.State.CONNECTED) {
            connected.countDown();
          }
        })).build();
    Reconnector<Link> idle = Reconnector.<Link>builder(Link::new).name("hub-2").listener(EventListener.noop()).build();
    BackoffMetrics.of(hub).bindTo(registry);
    List<Reconnector<Link>> fleet = List.of(hub, idle); // held weakly by the meters: kept until the end
    BackoffMetrics.reconnectors("fleet", fleet).bindTo(registry);
    assertEquals(1, value("shepherd.reconnector.state", "hub-1", "state", "NEW"));
    try {
      hub.start();
      assertTrue(connected.await(20, TimeUnit.SECONDS));
      assertEquals(3, value("shepherd.reconnector.attempts", "hub-1", "type", "Reconnector"));
      assertEquals(1, value("shepherd.reconnector.state", "hub-1", "state", "CONNECTED"));
      for (String state : List.of("NEW", "WAITING", "CONNECTING", "CLOSED")) {
        assertEquals(0, value("shepherd.reconnector.state", "hub-1", "state", state), state);
      }
      assertEquals(2, events("hub-1", "FAILED"));
      assertEquals(3, events("hub-1", "RETRY"), "the spread wait, then one wait per failure");
      assertEquals(3, value("shepherd.reconnector.attempts", "fleet"));
      assertEquals(1, value("shepherd.reconnector.state", "fleet", "state", "CONNECTED"));
      assertEquals(1, value("shepherd.reconnector.state", "fleet", "state", "NEW"));
    } finally {
      hub.close();
      idle.close();
      assertTrue(hub.awaitTermination(Duration.ofSeconds(10)));
    }
    assertEquals(2, value("shepherd.reconnector.state", "fleet", "state", "CLOSED"));
    java.lang.ref.Reference.reachabilityFence(fleet);
  }

  @Test
  void aCachingAuthenticatorShowsHitsMissesStaleRefusalsAndBackendCalls() {
    AtomicInteger backendCalls = new AtomicInteger();
    boolean[] down = {false};
    Authenticator<DeviceCredentials, Verified<String>> backend = credentials -> {
      backendCalls.incrementAndGet();
      if (down[0]) {
        throw new BackendUnavailableException("device-db", "down");
      }
      if (new String(credentials.secret(), StandardCharsets.UTF_8).equals("right")) {
        return Verified.of("principal-" + credentials.deviceId());
      }
      throw new AuthenticationException("wrong secret");
    };
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(backend).name("device-auth")
        .ttl(Duration.ofMinutes(5)).refreshAhead(0).maxStale(Duration.ofMinutes(30)).ticker(clock)
        .executor(Runnable::run).listener(metrics).build();
    AuthMetrics.of(auth).bindTo(registry);

    auth.authenticate(creds("hub-1", "right")); // miss, backend call 1
    auth.authenticate(creds("hub-1", "right")); // hit
    auth.authenticate(creds("hub-1", "right")); // hit
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-2", "wrong"))); // miss, call 2
    down[0] = true;
    clock.advance(Duration.ofMinutes(5));
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right"))); // backend fails: stale

    CachingAuthenticator.Stats stats = auth.stats();
    assertEquals(stats.hits(), value("shepherd.auth.cache.hits", "device-auth", "type", "CachingAuthenticator"));
    assertEquals(2, stats.hits());
    assertEquals(stats.misses(), value("shepherd.auth.cache.misses", "device-auth"));
    assertEquals(1, value("shepherd.auth.stale", "device-auth"));
    assertEquals(1, value("shepherd.auth.refused", "device-auth"));
    assertEquals(backendCalls.get(), value("shepherd.auth.backend.calls", "device-auth"));
    assertEquals(3, backendCalls.get());
    assertEquals(1, value("shepherd.auth.backend.failures", "device-auth"));
    assertEquals(auth.estimatedSize(), value("shepherd.auth.cache.size", "device-auth"));
    assertEquals(1, events("device-auth", "FALLBACK"));
    assertEquals(1, events("device-auth", "REJECTED"));
  }

  private void assertBreakerState(String instance, CircuitBreaker.State expected) {
    for (CircuitBreaker.State state : CircuitBreaker.State.values()) {
      assertEquals(state == expected ? 1 : 0, value("shepherd.circuitbreaker.state", instance, "state", state.name()),
          state.name());
    }
  }

  @Test
  void aCircuitBreakerShowsItsStateWindowRatesProbesRefusalsAndTransitions() throws Exception {
    CircuitBreaker breaker = CircuitBreaker.builder().name("cloud").countWindow(4).minimumCalls(4)
        .failureRateThreshold(0.5).slowCallDuration(Duration.ofSeconds(1)).openDuration(Duration.ofSeconds(30))
        .openJitter(Duration.ZERO).halfOpenProbes(2).halfOpenTimeout(Duration.ofSeconds(10)).ticker(clock)
        .listener(metrics).build();
    CircuitBreakerMetrics.of(breaker, Tag.of("zone", "eu")).bindTo(registry);
    assertBreakerState("cloud", CircuitBreaker.State.CLOSED);

    breaker.call(() -> {
      clock.advance(Duration.ofSeconds(2)); // slow, and a success
      return "ok";
    });
    breaker.call(() -> "ok");
    assertThrows(IOException.class, () -> breaker.call(() -> {
      throw new IOException("down");
    }));
    assertEquals(3, value("shepherd.circuitbreaker.window.calls", "cloud", "type", "CircuitBreaker", "zone", "eu"));
    assertEquals(1.0 / 3, value("shepherd.circuitbreaker.failure.rate", "cloud"), 1e-12);
    assertEquals(1.0 / 3, value("shepherd.circuitbreaker.slow.call.rate", "cloud"), 1e-12);
    assertThrows(IOException.class, () -> breaker.call(() -> {
      throw new IOException("down");
    }));
    assertBreakerState("cloud", CircuitBreaker.State.OPEN);
    assertEquals(0.5, value("shepherd.circuitbreaker.failure.rate", "cloud"));
    assertEquals(0.25, value("shepherd.circuitbreaker.slow.call.rate", "cloud"));
    for (int i = 0; i < 3; i++) {
      assertEquals(CircuitBreaker.NOT_PERMITTED, breaker.tryAcquirePermission());
    }
    assertEquals(3, value("shepherd.circuitbreaker.calls.not.permitted", "cloud"));
    assertEquals(1, value("shepherd.circuitbreaker.transitions", "cloud"));

    clock.advance(Duration.ofSeconds(30));
    assertBreakerState("cloud", CircuitBreaker.State.HALF_OPEN); // open time over: the next call probes
    long probe = breaker.tryAcquirePermission();
    breaker.tryAcquirePermission(); // a probe whose caller never reports
    assertEquals(CircuitBreaker.NOT_PERMITTED, breaker.tryAcquirePermission());
    assertEquals(2, value("shepherd.circuitbreaker.probes.in.flight", "cloud"));
    breaker.onSuccess(probe, 0);
    assertEquals(1, value("shepherd.circuitbreaker.probes.in.flight", "cloud"));
    clock.advance(Duration.ofSeconds(10)); // the lost probe counts as failed: 1 of 2 reaches 0.5
    assertBreakerState("cloud", CircuitBreaker.State.OPEN);
    assertEquals(0, value("shepherd.circuitbreaker.probes.in.flight", "cloud"));
    assertEquals(4, value("shepherd.circuitbreaker.calls.not.permitted", "cloud"));
    assertEquals(3, value("shepherd.circuitbreaker.transitions", "cloud"));
    assertEquals(4, events("cloud", "REJECTED"));
    assertEquals(3, events("cloud", "STATE_CHANGED"));
  }

  @Test
  void aTimeoutAndAFallbackShowWhatTheyEnded() throws Exception {
    try (ManualScheduler scheduler = new ManualScheduler(clock)) {
      dev.shepherd.circuitbreaker.Timeout timeout = dev.shepherd.circuitbreaker.Timeout.builder().name("cloud-call")
          .timeout(Duration.ofSeconds(2)).scheduler(scheduler).listener(metrics).build();
      CircuitBreakerMetrics.of(timeout).bindTo(registry);
      assertEquals(2.0, value("shepherd.timeout.limit", "cloud-call", "type", "Timeout"));
      CompletableFuture<String> inTime = timeout.callAsync(() -> CompletableFuture.completedFuture("ok"))
          .toCompletableFuture();
      CompletableFuture<String> lost1 = timeout.<String>callAsync(CompletableFuture::new).toCompletableFuture();
      CompletableFuture<String> lost2 = timeout.<String>callAsync(CompletableFuture::new).toCompletableFuture();
      assertEquals(0, value("shepherd.timeout.timed.out", "cloud-call"));
      clock.advance(Duration.ofSeconds(2));
      assertEquals("ok", inTime.join());
      for (CompletableFuture<String> lost : List.of(lost1, lost2)) {
        ExecutionException e = assertThrows(ExecutionException.class, lost::get);
        assertTrue(e.getCause() instanceof TimeoutExceededException, e.getCause().toString());
      }
      assertEquals(2, value("shepherd.timeout.timed.out", "cloud-call"));
      assertEquals(2, events("cloud-call", "FAILED"));
    }

    Fallback<String> local = Fallback.<String>builder((result, failure) -> "from the hub").name("hub-local")
        .listener(metrics).build();
    CircuitBreakerMetrics.of(local).bindTo(registry);
    assertEquals("from the cloud", local.answer(() -> "from the cloud"));
    for (int i = 0; i < 3; i++) {
      assertEquals("from the hub", local.answer(() -> {
        throw new IOException("cloud down");
      }));
    }
    assertEquals(3, value("shepherd.fallback.used", "hub-local", "type", "Fallback"));
    assertEquals(3, events("hub-local", "FALLBACK"));
  }

  @Test
  void anAdaptiveThrottleShowsItsWindowRejectionsAndProbability() throws Exception {
    AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("mobile-api").k(2).window(Duration.ofSeconds(10), 10)
        .minRequestRate(0).ticker(clock).random(new SplittableRandom(7)).listener(metrics).build();
    CircuitBreakerMetrics.of(throttle).bindTo(registry);
    for (int i = 0; i < 4; i++) {
      assertEquals("ok", throttle.call(() -> "ok")); // p = 0 while requests ≤ 2 × accepts
    }
    assertEquals(4, value("shepherd.throttle.requests", "mobile-api", "type", "AdaptiveThrottle"));
    assertEquals(4, value("shepherd.throttle.accepts", "mobile-api"));
    assertEquals(0, value("shepherd.throttle.rejection.probability", "mobile-api"));
    int rejected = 0;
    for (int i = 0; i < 200; i++) { // the backend refuses everything from now on
      try {
        throttle.call(() -> {
          throw new IOException("503");
        });
      } catch (ThrottledException e) {
        rejected++;
      } catch (IOException e) {
        // refused by the backend: counted as a request, not as an accept
      }
    }
    assertTrue(rejected > 0, "the throttle rejected some locally");
    assertEquals(rejected, throttle.rejected());
    assertEquals(rejected, value("shepherd.throttle.rejected", "mobile-api"));
    assertEquals(204, value("shepherd.throttle.requests", "mobile-api"));
    assertEquals(4, value("shepherd.throttle.accepts", "mobile-api"));
    assertEquals(Math.min(0.9, (204 - 2 * 4) / 205.0), value("shepherd.throttle.rejection.probability", "mobile-api"),
        1e-12);
    assertEquals(rejected, events("mobile-api", "REJECTED"));
    clock.advance(Duration.ofSeconds(10));
    assertEquals(0, value("shepherd.throttle.requests", "mobile-api"), "the window moved on");
    assertEquals(rejected, value("shepherd.throttle.rejected", "mobile-api"), "the counter did not");
  }

  private static DeviceCredentials creds(String id, String secret) {
    return DeviceCredentials.of(id, secret.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  @Timeout(60)
  void aRedisLimiterShowsItsCountsAndHowLongItRanOnTheFallback() throws Exception {
    try (LocalRedis redis = LocalRedis.start()) {
      RedisRateLimiter limiter = RedisRateLimiter.builder().name("fleet-connect").connection(redis.connection())
          .key("shepherd:micrometer-test").rate(1, HOUR).burst(3).timeout(Duration.ofMillis(200))
          .coolDown(Duration.ofHours(1)).ticker(clock).listener(metrics).build();
      RedisRateLimiterMetrics.of(limiter).bindTo(registry);
      for (int i = 0; i < 5; i++) {
        limiter.tryAcquire();
      }
      assertEquals(3, value("shepherd.ratelimit.granted", "fleet-connect", "type", "RedisRateLimiter"));
      assertEquals(2, value("shepherd.ratelimit.rejected", "fleet-connect"));
      assertEquals(0, value("shepherd.ratelimit.redis.fallback.active", "fleet-connect"));
      assertEquals(0, value("shepherd.ratelimit.redis.fallback.time", "fleet-connect"));

      redis.kill();
      limiter.tryAcquire(); // Redis is gone: this check opens the circuit and is decided locally
      limiter.tryAcquire(); // decided locally at once
      clock.advance(Duration.ofSeconds(7));
      assertEquals(1, value("shepherd.ratelimit.redis.fallback.active", "fleet-connect"));
      assertEquals(7.0, value("shepherd.ratelimit.redis.fallback.time", "fleet-connect"), 1e-9);
      assertEquals(2, value("shepherd.ratelimit.redis.fallback.decisions", "fleet-connect"));
      assertEquals(1, value("shepherd.ratelimit.redis.errors", "fleet-connect"));
      assertEquals(1, events("fleet-connect", "FALLBACK"));
      assertEquals(limiter.grantedCount(), value("shepherd.ratelimit.granted", "fleet-connect"));
    }
  }
}
