package dev.shepherd.ratelimit;

import static dev.shepherd.ratelimit.TokenBucketTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.Policy;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class KeyedTokenBucketTest {

  private final ManualClock clock = new ManualClock();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  private KeyedTokenBucket.Builder keyed() {
    return KeyedTokenBucket.builder().name("per-device").ticker(clock).sleeper(clock).listener(events::add);
  }

  @Test
  void eachKeyHasItsOwnBucketStartingFull() {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(10)).burst(2).build();
    assertTrue(l.tryAcquire("hub-1", 2));
    assertFalse(l.tryAcquire("hub-1"));
    assertEquals(10_000_000_000L, l.acquireOrRetryAfterNanos("hub-1", 1));
    assertTrue(l.tryAcquire("hub-2"));
    assertTrue(l.tryAcquire("hub-2"));
    assertEquals(2, l.size());
    assertEquals(3, l.grantedCount(), "requests, not permits");
    assertEquals(2, l.rejectedCount());
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aFloodOfAMillionDistinctKeysNeverHoldsMoreThanMaxKeys() {
    KeyedTokenBucket<Long> l = keyed().rate(10, Duration.ofSeconds(1)).burst(5).maxKeys(10_000)
        .listener(EventListener.noop()).build();
    SplittableRandom random = new SplittableRandom(42);
    int granted = 0;
    for (int i = 0; i < 1_000_000; i++) {
      clock.advanceNanos(1_000); // 1 ms in total per thousand keys: buckets refill during the flood
      if (l.tryAcquire(random.nextLong())) {
        granted++;
      }
      if ((i & 1023) == 0) {
        assertTrue(l.size() <= 10_000, "size " + l.size());
      }
    }
    assertTrue(l.size() <= 10_000);
    // A bucket that gave one of its 5 permits refills in 100 ms = 100,000 keys later: the table
    // turns over about 10 times during the flood, so many more than 10,000 keys got a permit, and
    // evictions (only of refilled buckets) made that room.
    assertTrue(granted > 50_000, "granted " + granted);
    assertTrue(l.evictedCount() >= granted - 10_000L, "evicted " + l.evictedCount());
  }

  @Test
  @Timeout(value = 30, unit = TimeUnit.SECONDS)
  void aFloodOnAFrozenClockIsRefusedCheaplyOnceTheTableIsFull() {
    KeyedTokenBucket<Integer> l = keyed().rate(1, Duration.ofSeconds(1)).burst(1).maxKeys(1_000)
        .listener(EventListener.noop()).build();
    for (int i = 0; i < 1_000_000; i++) {
      boolean ok = l.tryAcquire(i);
      assertEquals(i < 1_000, ok);
    }
    assertEquals(1_000, l.size());
    assertEquals(999_000, l.rejectedCount());
  }

  @Test
  void atTheMaximumANewKeyIsRefusedUntilAnEighthOfTheTableHasRefilled() throws Exception {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(8)).burst(1).maxKeys(16).build();
    for (int i = 0; i < 16; i++) {
      assertTrue(l.tryAcquire("k" + i));
      clock.advance(Duration.ofSeconds(1).dividedBy(2)); // k0 refills at 8 s, k1 at 8.5 s, ...
    }
    // Now t = 8 s: k0 has just refilled, all others are busy.
    assertEquals(16, l.size());
    assertTrue(l.tryAcquire("new-1"), "k0 had refilled: it is evicted and its slot reused");
    assertEquals(1, l.evictedCount());
    // The sweep freed 1 < 16/8 = 2, so the next sweep waits until one more bucket will have
    // refilled (making up the eighth): k1, at 8.5 s.
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> l.call("new-2", () -> "x"));
    assertEquals(500_000_000L, e.retryAfterNanos());
    assertEquals("RateLimiter 'per-device' does not permit further calls: no room for a new key (maxKeys=16);"
        + " retry after PT0.5S", e.getMessage());
    assertEquals("no room for a new key (maxKeys=16)", events.get(events.size() - 1).detail());
    clock.advance(Duration.ofMillis(500));
    assertTrue(l.tryAcquire("new-2"));
    assertEquals(500_000_000L, l.acquireOrRetryAfterNanos("new-3", 1), "k2 refills at 9 s");
    // Keys already present are answered by their own buckets, never by the full table: k4 refills
    // at 10 s.
    assertEquals(1_500_000_000L, l.acquireOrRetryAfterNanos("k4", 1));
    assertEquals(16, l.size());
    assertEquals(2, l.evictedCount());
  }

  @Test
  void aBusyKeyIsNeverEvictedSoAFloodCannotHandItAFreshBurst() {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofMinutes(1)).burst(3).maxKeys(4)
        .listener(EventListener.noop()).build();
    assertTrue(l.tryAcquire("victim", 3));
    for (int round = 0; round < 100; round++) {
      l.tryAcquire("attacker-" + round);
      clock.advance(Duration.ofMillis(100));
    }
    // 10 s passed: the victim's bucket holds 1/6 of a permit, not a fresh burst.
    assertFalse(l.tryAcquire("victim"));
    assertEquals(50_000_000_000L, l.acquireOrRetryAfterNanos("victim", 1));
  }

  @Test
  void evictRefilledDropsOnlyBucketsThatCarryNoInformation() {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(1)).burst(2).build();
    l.tryAcquire("a");
    l.tryAcquire("b", 2);
    clock.advance(Duration.ofSeconds(1));
    assertEquals(1, l.evictRefilled()); // a is full again, b holds 1 of 2
    assertEquals(1, l.size());
    assertTrue(l.tryAcquire("a", 2), "an evicted key comes back full, exactly as it was");
    assertFalse(l.tryAcquire("b", 2));
    clock.advance(Duration.ofSeconds(2));
    assertEquals(2, l.evictRefilled());
    assertEquals(0, l.size());
  }

  @Test
  void aKeyViewIsAPolicyForOneKey() throws Exception {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(1)).burst(1).build();
    RateLimiter hub = l.forKey("hub-7");
    Policy p = Policy.compose(hub);
    assertEquals("per-device", p.name());
    assertEquals(7, (int) p.call(() -> 7));
    RateLimitExceededException e = assertThrows(RateLimitExceededException.class, () -> p.call(() -> 8));
    assertEquals("1", e.retryAfterHeader());
    AtomicInteger started = new AtomicInteger();
    assertTrue(hub.callAsync(() -> {
      started.incrementAndGet();
      return java.util.concurrent.CompletableFuture.completedFuture(1);
    }).toCompletableFuture().isCompletedExceptionally());
    assertEquals(0, started.get());
    assertTrue(hub.tryAcquire(1, Duration.ofSeconds(1)));
    assertEquals(List.of(Duration.ofSeconds(1)), clock.sleeps());
    assertTrue(l.forKey("other").tryAcquire());
  }

  @Test
  void anInterruptedWaiterForAKeyGivesItsReservationBack() {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(1)).burst(1).build();
    assertTrue(l.tryAcquire("a"));
    Thread.currentThread().interrupt();
    assertThrows(InterruptedException.class, () -> l.tryAcquire("a", 1, Duration.ofSeconds(2)));
    assertEquals(1_000_000_000L, l.acquireOrRetryAfterNanos("a", 1));
  }

  /**
   * Issue 13: a new key's retry-after was documented as at most one refill time; with reservations
   * queued on the key that holds the only slot it is longer, and that is the right answer (the slot
   * frees only when that bucket has refilled). The documentation now says so.
   */
  @Test
  void aNewKeysRetryAfterIncludesTheReservationsQueuedOnTheBusyKeys() throws InterruptedException {
    TestTime.RecordingSleeper sleeper = new TestTime.RecordingSleeper(); // time does not move
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(1)).burst(1).maxKeys(1).sleeper(sleeper).build();
    assertTrue(l.tryAcquire("a"));
    assertTrue(l.tryAcquire("a", 1, Duration.ofMinutes(30)));
    assertTrue(l.tryAcquire("a", 1, Duration.ofMinutes(30)));
    assertEquals(List.of(1_000_000_000L, 2_000_000_000L), sleeper.sleeps);
    long wait = l.acquireOrRetryAfterNanos("b", 1);
    assertEquals(3_000_000_000L, wait, "a is full again, and its slot free, in 3 s");
    // The documented bound: one refill time plus reservations up to max(1 hour, refill time).
    assertTrue(wait <= 1_000_000_000L + Duration.ofHours(1).toNanos());
    clock.advance(Duration.ofSeconds(3));
    assertTrue(l.tryAcquire("b"));
  }

  /** Refusals with the no-op listener build no event; with a listener each is reported, without the key. */
  @Test
  void refusalsAreReportedWithoutTheKey() {
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(1)).burst(1).maxKeys(1).build();
    assertTrue(l.tryAcquire("device-secret-id"));
    assertFalse(l.tryAcquire("device-secret-id"));
    assertFalse(l.tryAcquire("other"));
    assertEquals(2, events.size());
    assertEquals("rate limit exceeded", events.get(0).detail());
    assertEquals("no room for a new key (maxKeys=1)", events.get(1).detail());
    assertTrue(events.stream().noneMatch(e -> String.valueOf(e).contains("device-secret-id")));
  }

  @Test
  void badInputFailsNamingTheValue() {
    assertMessage("maxKeys must be at least 1: 0", () -> KeyedTokenBucket.builder().maxKeys(0));
    assertMessage("burst must be at least 1: -1", () -> KeyedTokenBucket.builder().burst(-1));
    assertMessage("permits must be positive: 0", () -> KeyedTokenBucket.builder().rate(0, Duration.ofSeconds(1)));
    assertMessage("permitsPerSecond must be positive and finite: NaN", () -> KeyedTokenBucket.builder().permitsPerSecond(Double.NaN));
    assertMessage("permitsPerSecond must be positive and finite: -Infinity",
        () -> KeyedTokenBucket.builder().permitsPerSecond(Double.NEGATIVE_INFINITY));
    assertThrows(IllegalStateException.class, () -> KeyedTokenBucket.builder().build());
    KeyedTokenBucket<String> l = keyed().rate(1, Duration.ofSeconds(1)).burst(2).build();
    assertMessage("permits must be at most 2 (the burst; more could never be granted): 3", () -> l.tryAcquire("a", 3));
    assertMessage("permits must be positive: 0", () -> l.tryAcquire("a", 0));
    assertMessage("maxWait must be zero or positive: PT-0.001S", () -> l.tryAcquire("a", 1, Duration.ofMillis(-1)));
    assertThrows(NullPointerException.class, () -> l.tryAcquire(null));
    assertEquals(0, l.size(), "a refused call creates no bucket");
    assertEquals("KeyedTokenBucket{'per-device', 1 per 1 s, burst=2, keys=0/100000}", l.toString());
    assertTrue(l.tryAcquire("a"));
    assertMessage("permits must be at most 2 (the burst; more could never be granted): 3", () -> l.tryAcquire("a", 3));
    assertMessage("maxWait must be zero or positive: PT-1S", () -> l.tryAcquire("a", 1, Duration.ofSeconds(-1)));
    assertEquals(0, l.rejectedCount(), "bad input is not a rejection");
    assertTrue(l.tryAcquire("a"), "the bucket still holds its second permit");
    assertEquals(1_000_000_000L, l.acquireOrRetryAfterNanos("a", 1));
  }

  @Test
  void aKeySilentLongEnoughToWrapItsStateIntoAPlausibleDebtIsStillFull() {
    // As TokenBucketTest's: S = 1,000,003 units per ns, and a key's shifted state spans 2^63 units.
    // Silences just short of a multiple of 2^63 units make the old state read as a debt of about
    // 2^59 units, inside the horizon; only the bucket's write stamp tells it apart.
    long s = 1_000_003L;
    KeyedTokenBucket<String> limiter = keyed().rate(s, Duration.ofSeconds(1)).burst(4).maxKeys(16).build();
    assertTrue(limiter.tryAcquire("hub", 4));
    for (int k = 1; k <= 3; k++) {
      long gap = java.math.BigInteger.ONE.shiftLeft(63).multiply(java.math.BigInteger.valueOf(k))
          .subtract(java.math.BigInteger.ONE.shiftLeft(59))
          .divide(java.math.BigInteger.valueOf(s)).longValueExact();
      clock.advanceNanos(gap);
      assertEquals(0, limiter.acquireOrRetryAfterNanos("hub", 4), "silence " + k + ": refilled long ago");
      assertEquals(1_000L, limiter.acquireOrRetryAfterNanos("hub", 1), "then exact: one interval, ~1 µs");
    }
  }
}
