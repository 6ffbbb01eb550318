package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** The lease script on a real Redis, on the same state as the GCRA script. */
@ExtendWith(Redis.class)
@Timeout(60)
class LeaseScriptTest {

  private static final long HOUR_MICROS = 3_600_000_000L;

  private static long lease(RedisTarget target, String key, int burst, int need, int want) throws Exception {
    String[] args = {Long.toString(HOUR_MICROS), "1", Long.toString(HOUR_MICROS * burst),
        Integer.toString(need), Integer.toString(want)};
    Object reply = target.run(LeaseScript.SCRIPT, new String[] {key}, args, System.nanoTime() + 5_000_000_000L)
        .get(10, TimeUnit.SECONDS);
    return LeaseScript.decode(reply, need, want);
  }

  private static long gcra(RedisTarget target, String key, int burst) throws Exception {
    String[] args = {Long.toString(HOUR_MICROS), "1", Long.toString(HOUR_MICROS * burst), "1", "0"};
    Object reply = target.run(GcraScript.SCRIPT, new String[] {key}, args, System.nanoTime() + 5_000_000_000L)
        .get(10, TimeUnit.SECONDS);
    return GcraScript.decode(reply, 0);
  }

  @Test
  void aLeaseTakesUpToWantAtLeastNeedFromTheSameBucketAsDirectChecks(Redis redis) throws Exception {
    RedisTarget target = RedisTarget.of(redis.connect());
    String key = Redis.freshKey("lease");
    // One permit per hour, burst 10: nothing refills during the test.
    assertEquals(4, lease(target, key, 10, 1, 4));
    assertEquals(0, gcra(target, key, 10), "a direct check draws from the same bucket");
    assertEquals(4, lease(target, key, 10, 2, 4));
    // One left: a lease needing 2 is refused with the wait until 2 are there (about an hour).
    long refused = lease(target, key, 10, 2, 4);
    assertTrue(refused < -(HOUR_MICROS - 60_000_000L) && refused >= -HOUR_MICROS, "retry-after " + refused);
    assertEquals(1, lease(target, key, 10, 1, 4), "what is there, when at least need");
    long empty = lease(target, key, 10, 1, 4);
    assertTrue(empty < 0, "empty: " + empty);
    assertTrue(gcra(target, key, 10) < 0, "the direct check agrees the bucket is empty");
    // The TTL is the time until the bucket is full again: 10 permits at one per hour, from now.
    long pttl = redis.admin().pttl(key);
    assertTrue(pttl > 10 * 3_600_000L - 60_000L && pttl <= 10 * 3_600_000L + 1, "PTTL " + pttl);
  }

  @Test
  void anyOtherReplyIsAnErrorNeverAGrant() {
    assertEquals(3, LeaseScript.decode(List.of(3L, 0L, 5L), 2, 4));
    assertEquals(-7, LeaseScript.decode(List.of(0L, 7L, 5L), 2, 4));
    List<Object> bad = Arrays.asList(null, "OK", List.of(1L, 0L, 5L), List.of(5L, 0L, 5L), List.of(3L, 1L, 5L),
        List.of(0L, 0L, 5L), List.of(3L, 0L, 0L), List.of("3", 0L, 5L), List.of(3L, 0L));
    for (Object reply : bad) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> LeaseScript.decode(reply, 2, 4),
          String.valueOf(reply));
      assertTrue(e.getMessage().startsWith("unexpected reply from the Shepherd lease script"), e.getMessage());
    }
  }
}
