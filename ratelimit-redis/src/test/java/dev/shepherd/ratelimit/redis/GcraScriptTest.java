package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisNoScriptException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The script's reply decoding, the rate's units and the error classification; no Redis needed. */
class GcraScriptTest {

  @Test
  void aWellFormedReplyDecodesToItsDecision() {
    assertEquals(0, GcraScript.decode(List.of(1L, 0L, 1_700_000_000_000_000L), 0));
    assertEquals(-250_000, GcraScript.decode(List.of(0L, 250_000L, 1_700_000_000_000_000L), 0));
    assertEquals(40, GcraScript.decode(List.of(1L, 40L, 1_700_000_000_000_000L), 100));
    assertEquals(-101, GcraScript.decode(List.of(0L, 101L, 1_700_000_000_000_000L), 100));
    assertEquals(1_700_000_000_000_000L, GcraScript.redisMicros(List.of(1L, 0L, 1_700_000_000_000_000L)));
  }

  @Test
  void anyOtherReplyIsAnErrorNamingItNeverAGrant() {
    List<Object> bad = Arrays.asList(
        null,
        "OK",
        1L,
        List.of(),
        List.of(1L, 0L),
        List.of(1L, 0L, 5L, 7L),
        List.of("1", 0L, 5L),
        List.of(1L, "0", 5L),
        Arrays.asList(1L, 0L, null),
        List.of(2L, 0L, 5L),     // flag neither 0 nor 1
        List.of(-1L, 0L, 5L),
        List.of(1L, -1L, 5L),    // negative wait
        List.of(1L, 5L, 5L),     // granted with a wait the caller did not accept
        List.of(0L, 0L, 5L),     // refused with no wait
        List.of(0L, -3L, 5L),
        List.of(0L, 1L << 54, 5L), // a wait no valid state can produce
        List.of(1L, 0L, 0L),     // no Redis time
        List.of(1L, 0L, -5L));
    for (Object reply : bad) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> GcraScript.decode(reply, 0), String.valueOf(reply));
      assertTrue(e.getMessage().contains(String.valueOf(reply)), e.getMessage());
      assertTrue(e.getMessage().startsWith("unexpected reply from the Shepherd GCRA script"), e.getMessage());
    }
    // Refused with a wait the caller would have accepted: inconsistent.
    assertThrows(IllegalStateException.class, () -> GcraScript.decode(List.of(0L, 50L, 5L), 100));
  }

  @Test
  void aHugeBadReplyIsNamedButCutShort() {
    String huge = "x".repeat(10_000);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> GcraScript.decode(huge, 0));
    assertTrue(e.getMessage().length() < 400, e.getMessage());
  }

  @Test
  void theShaIsTheLowercaseSha1OfTheSource() {
    assertTrue(GcraScript.SHA.matches("[0-9a-f]{40}"), GcraScript.SHA);
  }

  @Test
  void ratesBecomeWholeIntervalsInTheSmallestUnit() {
    RedisRate tenPerSecond = RedisRate.of(10, Duration.ofSeconds(1), 5);
    assertEquals(1, tenPerSecond.scale);
    assertEquals(100_000, tenPerSecond.interval);
    assertEquals(500_000, tenPerSecond.tau);

    RedisRate threePerSecond = RedisRate.of(3, Duration.ofSeconds(1), 2);
    assertEquals(3, threePerSecond.scale); // a third of a microsecond
    assertEquals(1_000_000, threePerSecond.interval);

    RedisRate sevenPerTwoSeconds = RedisRate.of(7, Duration.ofSeconds(2), 1);
    assertEquals(7, sevenPerTwoSeconds.scale);
    assertEquals(2_000_000, sevenPerTwoSeconds.interval);

    RedisRate billionPerSecond = RedisRate.of(1_000_000_000, Duration.ofSeconds(1), 1);
    assertEquals(1000, billionPerSecond.scale); // one permit per nanosecond: a thousand per microsecond
    assertEquals(1, billionPerSecond.interval);

    // 60 per minute is 1 per second, in lowest terms.
    assertEquals(1_000_000, RedisRate.of(60, Duration.ofMinutes(1), 1).interval);
  }

  @Test
  void reservationsMayQueueAnHourOrOneRefill() {
    assertEquals(3_600_000_000L, RedisRate.of(10, Duration.ofSeconds(1), 5).maxReservationMicros);
    RedisRate slow = RedisRate.of(1, Duration.ofHours(1), 3);
    assertEquals(3 * 3_600_000_000L, slow.maxReservationMicros);
  }

  /**
   * Issue 13: the docs promised reservations max(1 hour, refill time) ahead; at fine-grained rates
   * the 2^52-unit debt bound caps them lower, as the docs now say: 4.5 s at 999,999,937 per second.
   */
  @Test
  void atFineGrainedRatesReservationsAreCappedByTheDebtBoundAsDocumented() {
    RedisRate fine = RedisRate.of(999_999_937, Duration.ofSeconds(1), 1);
    assertEquals(999_999_937L, fine.scale);
    assertEquals(((1L << 52) - 2 * fine.tau) / fine.scale, fine.maxReservationMicros);
    assertEquals(4_503_599L, fine.maxReservationMicros);
  }

  @Test
  void ratesAndBurstsOutOfRangeFailNamingTheValue() {
    assertEquals("permits must be positive: 0",
        assertThrows(IllegalArgumentException.class, () -> RedisRate.of(0, Duration.ofSeconds(1), 1)).getMessage());
    assertEquals("permits must be positive: -3",
        assertThrows(IllegalArgumentException.class, () -> RedisRate.of(-3, Duration.ofSeconds(1), 1)).getMessage());
    assertEquals("period must be positive: PT0S",
        assertThrows(IllegalArgumentException.class, () -> RedisRate.of(1, Duration.ZERO, 1)).getMessage());
    assertEquals("burst must be at least 1: 0",
        assertThrows(IllegalArgumentException.class, () -> RedisRate.of(1, Duration.ofSeconds(1), 0)).getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> RedisRate.of(2_000_000_000L, Duration.ofSeconds(1), 1))
        .getMessage().startsWith("rate must be at most one permit per nanosecond"));
    // One per day: the refill of a burst must stay below 2^50 us (35 years).
    IllegalArgumentException tooBig =
        assertThrows(IllegalArgumentException.class, () -> RedisRate.of(1, Duration.ofDays(1), 20_000));
    assertTrue(tooBig.getMessage().startsWith("burst must be at most 13031 "), tooBig.getMessage());
    assertThrows(NullPointerException.class, () -> RedisRate.of(1, null, 1));
  }

  @Test
  void utf8LengthCountsBytesWithoutEncoding() {
    assertEquals(0, Config.utf8Length(""));
    assertEquals(3, Config.utf8Length("abc"));
    assertEquals(2, Config.utf8Length("é"));
    assertEquals(3, Config.utf8Length("€"));
    assertEquals(4, Config.utf8Length("😀"));
    assertEquals(3, Config.utf8Length("\uD800")); // unpaired: counted high, never low
    for (String s : List.of("device-42", "çğışöü", "東京", "a😀b€")) {
      assertEquals(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, Config.utf8Length(s), s);
    }
  }

  @Test
  void errorsAreClassifiedAsUnavailableOrNotUnderstood() {
    assertTrue(RedisGcra.isUnavailable(new TimeoutException()));
    assertTrue(RedisGcra.isUnavailable(new RedisCommandTimeoutException("timed out")));
    assertTrue(RedisGcra.isUnavailable(new RedisConnectionException("refused")));
    assertTrue(RedisGcra.isUnavailable(new RedisCommandExecutionException("LOADING Redis is loading the dataset in memory")));
    assertTrue(RedisGcra.isUnavailable(new RedisCommandExecutionException("BUSY Redis is busy running a script")));
    assertTrue(RedisGcra.isUnavailable(new RedisCommandExecutionException("READONLY You can't write against a read only replica.")));
    assertTrue(RedisGcra.isUnavailable(new RedisCommandExecutionException("MASTERDOWN Link with MASTER is down")));
    assertTrue(RedisGcra.isUnavailable(new RedisNoScriptException("NOSCRIPT No matching script.")));
    assertTrue(!RedisGcra.isUnavailable(new RedisCommandExecutionException("WRONGTYPE Operation against a key holding the wrong kind of value")));
    assertTrue(!RedisGcra.isUnavailable(new RedisCommandExecutionException("SHEPHERD malformed rate-limit state (expected A:f:s)")));
    assertTrue(!RedisGcra.isUnavailable(GcraScript.badReply("OK")));
    assertTrue(RedisGcra.isNoScript(new RedisCommandExecutionException("NOSCRIPT No matching script.")));
    assertTrue(RedisGcra.isNoScript(dev.shepherd.core.internal.Causes.unwrap(new CompletionException(new RedisNoScriptException("NOSCRIPT x")))));
  }
}
