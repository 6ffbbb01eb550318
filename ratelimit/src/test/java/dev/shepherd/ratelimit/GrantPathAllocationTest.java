package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The grant path allocates nothing: measured with HotSpot's per-thread allocation counter over
 * 200,000 grants. Any per-call allocation would cost at least 16 bytes a call (3.2 MB in all); the
 * threshold of 64 KB in all leaves room only for one-off noise such as a lazily created counter cell.
 */
class GrantPathAllocationTest {

  private static final int CALLS = 200_000;
  private static final Object RESULT = new Object();

  /** A ticker moving 1 us per read, allocation-free, so every request is granted. */
  private static final class SteppingTicker implements Ticker {
    private final AtomicLong now = new AtomicLong(Long.MAX_VALUE - 1_000_000L); // crosses the overflow
    @Override
    public long read() {
      return now.addAndGet(1_000);
    }
  }

  private static long allocatedBy(LongSupplier grants) {
    return allocatedBy(grants, CALLS);
  }

  private static long allocatedBy(LongSupplier grants, long expectedGrants) {
    java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
    assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "needs HotSpot's allocation counter");
    com.sun.management.ThreadMXBean hotspot = (com.sun.management.ThreadMXBean) bean;
    assumeTrue(hotspot.isThreadAllocatedMemorySupported() && hotspot.isThreadAllocatedMemoryEnabled());
    long id = Thread.currentThread().getId();
    grants.getAsLong(); // warm up: class loading, JIT, counter cells
    long before = hotspot.getThreadAllocatedBytes(id);
    long granted = grants.getAsLong();
    long allocated = hotspot.getThreadAllocatedBytes(id) - before;
    assertEquals(expectedGrants, granted, "grants");
    return allocated;
  }

  @Test
  void grantingFromATokenBucketAllocatesNothing() {
    TokenBucket b = TokenBucket.builder().rate(3, Duration.ofNanos(1_000)).burst(10)
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    long bytes = allocatedBy(() -> {
      long n = 0;
      for (int i = 0; i < CALLS; i++) {
        n += b.acquireOrRetryAfterNanos(1) == 0 ? 1 : 0;
      }
      return n;
    });
    assertTrue(bytes < 64 * 1024, bytes + " bytes for " + CALLS + " grants");
  }

  @Test
  void grantingThroughGetAndRunAllocatesNothing() {
    TokenBucket b = TokenBucket.builder().rate(3, Duration.ofNanos(1_000)).burst(10)
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    Supplier<Object> supplier = () -> RESULT;
    long[] ran = new long[1];
    Runnable runnable = () -> ran[0]++;
    long getBytes = allocatedBy(() -> {
      long n = 0;
      for (int i = 0; i < CALLS; i++) {
        n += b.get(supplier) == RESULT ? 1 : 0;
      }
      return n;
    });
    long runBytes = allocatedBy(() -> {
      long before = ran[0];
      for (int i = 0; i < CALLS; i++) {
        b.run(runnable);
      }
      return ran[0] - before;
    });
    assertTrue(getBytes < 64 * 1024, getBytes + " bytes for " + CALLS + " get()s");
    assertTrue(runBytes < 64 * 1024, runBytes + " bytes for " + CALLS + " run()s");
  }

  @Test
  void grantingToAKnownKeyAllocatesNothing() {
    KeyedRateLimiter<String> l = KeyedTokenBucket.builder().rate(3, Duration.ofNanos(1_000)).burst(10)
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    String key = "hub-42";
    long bytes = allocatedBy(() -> {
      long n = 0;
      for (int i = 0; i < CALLS; i++) {
        n += l.tryAcquire(key) ? 1 : 0;
      }
      return n;
    });
    assertTrue(bytes < 64 * 1024, bytes + " bytes for " + CALLS + " grants");
  }

  @Test
  void grantingATurnOfAnIdleShaperOrAMeterAllocatesNothing() {
    for (RateLimiter q : new RateLimiter[] {
        LeakyBucketShaper.builder().rate(1, Duration.ofNanos(500)).maxQueueDelay(Duration.ofSeconds(1))
            .ticker(new SteppingTicker()).listener(EventListener.noop()).build(),
        LeakyBucketMeter.builder().rate(1, Duration.ofNanos(500)).tolerance(Duration.ofNanos(100))
            .ticker(new SteppingTicker()).listener(EventListener.noop()).build()}) {
      long bytes = allocatedBy(() -> {
        long n = 0;
        for (int i = 0; i < CALLS; i++) {
          n += q.tryAcquire() ? 1 : 0;
        }
        return n;
      });
      assertTrue(bytes < 64 * 1024, q + ": " + bytes + " bytes for " + CALLS + " grants");
    }
  }

  @Test
  void refusingWithTheNoopListenerAllocatesNothing() {
    // Nobody listens, so no event is built: a storm of refusals costs no garbage either.
    TokenBucket b = TokenBucket.builder().rate(1, Duration.ofDays(1)).burst(1)
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    LeakyBucketMeter m = LeakyBucketMeter.builder().rate(1, Duration.ofDays(1))
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    LeakyBucketShaper q = LeakyBucketShaper.builder().rate(1, Duration.ofDays(1)).maxQueueDelay(Duration.ZERO)
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    KeyedRateLimiter<String> k = KeyedTokenBucket.builder().rate(1, Duration.ofDays(1)).burst(1)
        .ticker(new SteppingTicker()).listener(EventListener.noop()).build();
    RateLimiter key = k.forKey("hub-42");
    assertTrue(b.tryAcquire());
    assertTrue(m.tryAcquire());
    assertTrue(q.tryAcquire());
    assertTrue(key.tryAcquire());
    for (RateLimiter l : new RateLimiter[] {b, m, q, key}) {
      long bytes = allocatedBy(() -> {
        long n = 0;
        for (int i = 0; i < CALLS; i++) {
          n += l.acquireOrRetryAfterNanos(1) == 0 ? 1 : 0;
        }
        return n;
      }, 0);
      assertTrue(bytes < 64 * 1024, l + ": " + bytes + " bytes for " + CALLS + " refusals");
    }
  }
}
