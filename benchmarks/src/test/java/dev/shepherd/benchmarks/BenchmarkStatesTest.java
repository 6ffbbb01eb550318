package dev.shepherd.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The benchmarks measure what their names say: on the granting path every limiter grants every
 * call, on the rejecting path every limiter refuses almost every call, every bulkhead grants, and
 * the floors compute the same thing as what they are floors for. A benchmark that silently measured
 * the other path of one peer would make the comparison meaningless.
 */
class BenchmarkStatesTest {

  private static Map<String, BooleanSupplier> rateLimiters(RateLimiterBenchmark b) {
    Map<String, BooleanSupplier> m = new LinkedHashMap<>();
    m.put("shepherdTokenBucket", b::shepherdTokenBucket);
    m.put("shepherdTokenBucketRetryAfter", () -> b.shepherdTokenBucketRetryAfter() == 0);
    m.put("shepherdLeakyBucketMeter", b::shepherdLeakyBucketMeter);
    m.put("bucket4j", b::bucket4j);
    m.put("resilience4j", b::resilience4j);
    m.put("guava", b::guava);
    m.put("failsafeSmooth", b::failsafeSmooth);
    m.put("failsafeBursty", b::failsafeBursty);
    return m;
  }

  @Test
  void onTheGrantingPathEveryRateLimiterGrantsEveryCall() {
    RateLimiterBenchmark b = new RateLimiterBenchmark();
    b.path = "granting";
    b.setUp();
    for (Map.Entry<String, BooleanSupplier> e : rateLimiters(b).entrySet()) {
      int refused = 0;
      for (int i = 0; i < 300_000; i++) {
        if (!e.getValue().getAsBoolean()) {
          refused++;
        }
      }
      assertEquals(0, refused, e.getKey() + " refused calls on the granting path");
    }
  }

  @Test
  void onTheRejectingPathEveryRateLimiterRefusesAlmostEveryCall() {
    RateLimiterBenchmark b = new RateLimiterBenchmark();
    b.path = "rejecting";
    b.setUp();
    for (Map.Entry<String, BooleanSupplier> e : rateLimiters(b).entrySet()) {
      long start = System.nanoTime();
      int granted = 0;
      int calls = 100_000;
      for (int i = 0; i < calls; i++) {
        if (e.getValue().getAsBoolean()) {
          granted++;
        }
      }
      // One permit per second and a burst of one: at most the first permit plus one per second
      // elapsed (plus one for a period boundary of the windowed peers).
      long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
      assertTrue(granted <= 2 + seconds, e.getKey() + " granted " + granted + " of " + calls + " on the rejecting path");
    }
  }

  @Test
  void everyBulkheadGrantsAndGetsEveryPermitBack() throws Exception {
    BulkheadBenchmark b = new BulkheadBenchmark();
    b.setUp();
    for (int i = 0; i < 100_000; i++) {
      assertEquals(Boolean.TRUE, b.shepherdCall());
      assertEquals(Boolean.TRUE, b.shepherdDeadlineGuardCall());
      assertEquals(Boolean.TRUE, b.shepherdDeadlineGuardCallMeasured());
      assertTrue(b.shepherdTryAcquireClose());
      assertTrue(b.semaphore());
      assertTrue(b.resilience4j());
      assertTrue(b.failsafe());
    }
  }

  @Test
  void everyCircuitBreakerStaysClosedAndPermitsEveryCall() throws Exception {
    for (String window : new String[] {"count", "time"}) {
      CircuitBreakerBenchmark b = new CircuitBreakerBenchmark();
      b.window = window;
      b.setUp();
      for (int i = 0; i < 100_000; i++) {
        assertEquals(Boolean.TRUE, b.shepherdCall());
        assertTrue(b.shepherdPermission());
        assertEquals(Boolean.TRUE, b.resilience4jCall());
        assertTrue(b.resilience4jPermission());
        assertEquals(Boolean.TRUE, b.failsafeCall());
        assertTrue(b.failsafePermission());
      }
    }
  }

  @Test
  void backoffDelaysLieWithinTheirBounds() {
    BackoffBenchmark b = new BackoffBenchmark();
    b.setUp();
    for (int i = 0; i < 10_000; i++) {
      long[] delays = {
        b.shepherdFullJitter(), b.shepherdDecorrelatedJitter(), b.shepherdDecorrelatedJitterV2(), b.shepherdGrpc(),
        b.resilience4jExponentialRandom(), b.handWrittenFullJitter()
      };
      for (long d : delays) {
        assertTrue(d >= 0 && d <= BackoffBenchmark.CAP_NANOS + TimeUnit.SECONDS.toNanos(120), "delay " + d);
      }
    }
  }

  @Test
  void bothAuthenticationPathsAcceptEveryDevice() throws Throwable {
    AuthBenchmark.Shared shared = new AuthBenchmark.Shared();
    shared.setUp();
    AuthBenchmark.PerThread thread = new AuthBenchmark.PerThread();
    thread.setUp(shared);
    AuthBenchmark b = new AuthBenchmark();
    for (int i = 0; i < 2 * AuthBenchmark.DEVICES; i++) {
      int next = (thread.next + 1) & (AuthBenchmark.DEVICES - 1);
      assertEquals(shared.ids[next], b.shepherdCachingAuthenticatorHit(shared, thread));
      assertTrue(b.caffeineGetIfPresentPlusHmac(shared, thread));
    }
    AuthBenchmark.FreshThread fresh = new AuthBenchmark.FreshThread();
    for (int i = 0; i < 16; i++) {
      int next = (thread.next + 1) & (AuthBenchmark.DEVICES - 1);
      assertEquals(shared.ids[next], b.shepherdHitOnFreshThread(shared, thread, fresh));
      assertEquals(fresh, b.freshThreadAlone(fresh));
    }
  }
}
