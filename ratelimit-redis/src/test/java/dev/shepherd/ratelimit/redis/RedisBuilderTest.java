package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.ratelimit.Rate;
import io.lettuce.core.api.StatefulRedisConnection;
import java.lang.reflect.Proxy;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Rates and settings the Redis limiters refuse, and what they say: no Redis needed. */
class RedisBuilderTest {

  /**
   * Issue 13: the package promised exactness "for any rate up to 10^9 per second", but this rate
   * (just under one per nanosecond) was refused with a message about units of 2^-40 µs that
   * rate()'s javadoc never mentioned. The docs now state the condition, and the message names it.
   */
  @Test
  void aRateNeedingAUnitFinerThan2ToTheMinus40MicrosecondsIsRefusedSayingWhichRatesFit() {
    Rate fine = Rate.of(1_999_999_999L, Duration.ofNanos(2_000_000_001L));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RedisRateLimiter.builder().rate(fine));
    assertEquals("rate must be at most 1099511627 permits per period in lowest terms (more need a time unit finer"
        + " than the script's 2^-40 µs): 1999999999 per 2000000001 ns", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> RedisKeyedRateLimiter.builder().rate(fine));
    // What the docs promise fits: every rate of at most 1,099,511,627 permits per period in lowest
    // terms, whatever the period, up to 10^9 per second.
    for (Rate ok : new Rate[] {
        Rate.of(1_099_511_627L, Duration.ofNanos(1_099_511_629L)),
        Rate.of(1_000_000_000L, Duration.ofSeconds(1)),
        Rate.of(999_999_937L, Duration.ofSeconds(1)),
        Rate.perSecond(123_456_789.0),
        Rate.of(3, Duration.ofSeconds(1)),
        Rate.of(1, Duration.ofDays(365))}) {
      RedisRate.checkRate(ok);
    }
  }

  /** Issue 13: an oversized expectedServers was refused with a message about the derived local rate. */
  @Test
  void anExpectedServersThatMakesTheLocalShareInvalidIsRefusedNamingExpectedServers() {
    Config c = new Config("share");
    c.connection(unusedConnection());
    c.rate(Rate.of(1, Duration.ofDays(1)));
    c.expectedServers(1_000_000);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::rate);
    assertTrue(e.getMessage().startsWith("expectedServers must be small enough that this server's share,"
        + " 1 per 1 d × 1000000, burst 1, is a rate the local fallback holds ("), e.getMessage());
    assertTrue(e.getMessage().endsWith("): 1000000"), e.getMessage());
  }

  /** A connection the check never uses: every call on it fails. */
  @SuppressWarnings("unchecked")
  private static StatefulRedisConnection<String, String> unusedConnection() {
    return (StatefulRedisConnection<String, String>) Proxy.newProxyInstance(
        RedisBuilderTest.class.getClassLoader(), new Class<?>[] {StatefulRedisConnection.class},
        (proxy, method, args) -> {
          throw new AssertionError("the connection was used: " + method.getName());
        });
  }

  /** Two builders said "validates ... the whole in build()": each setter validates its own value. */
  @Test
  void settersValidateAtOnce() {
    assertThrows(IllegalArgumentException.class, () -> RedisRateLimiter.builder().burst(0));
    assertThrows(IllegalArgumentException.class, () -> RedisKeyedRateLimiter.builder().timeout(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> RedisKeyedRateLimiter.builder().maxKeyLength(0));
    assertThrows(NullPointerException.class, () -> RedisRateLimiter.builder().rate(null));
  }
}
