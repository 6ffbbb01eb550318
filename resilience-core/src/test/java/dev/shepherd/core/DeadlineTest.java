package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DeadlineTest {

  private final TestTicker ticker = new TestTicker();

  @Test
  void remainingTimeShrinksAsTheTickerMovesAndTheDeadlineThenPasses() {
    Deadline d = Deadline.after(Duration.ofSeconds(2), ticker);
    assertEquals(Duration.ofSeconds(2), d.remaining());
    assertFalse(d.isExpired());
    ticker.advance(Duration.ofMillis(1500));
    assertEquals(Duration.ofMillis(500), d.remaining());
    assertEquals(500_000_000L, d.remainingNanos());
    ticker.advance(Duration.ofMillis(500));
    assertTrue(d.isExpired());
    assertEquals(Duration.ZERO, d.remaining());
    ticker.advance(Duration.ofMillis(250));
    assertEquals(-250_000_000L, d.remainingNanos());
    assertTrue(d.toString().contains("passed PT0.25S ago"), d.toString());
  }

  @Test
  void aZeroOrNegativeTimeoutHasAlreadyPassed() {
    assertTrue(Deadline.after(Duration.ZERO, ticker).isExpired());
    assertTrue(Deadline.after(Duration.ofSeconds(-3), ticker).isExpired());
    assertEquals(-3_000_000_000L, Deadline.after(Duration.ofSeconds(-3), ticker).remainingNanos());
  }

  @Test
  void hugeTimeoutsAndHugeTickerReadingsSaturateInsteadOfOverflowing() {
    Duration huge = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
    Deadline forever = Deadline.after(huge, ticker);
    assertEquals(Long.MAX_VALUE, forever.remainingNanos());
    ticker.advanceNanos(Long.MAX_VALUE - 1);
    assertEquals(1L, forever.remainingNanos());
    assertFalse(forever.isExpired());
    Deadline past = Deadline.after(Duration.ofSeconds(Long.MIN_VALUE), ticker);
    assertEquals(Long.MIN_VALUE, past.remainingNanos());
    assertTrue(past.isExpired());
    assertTrue(past.toString().startsWith("Deadline{passed"), past.toString());
    assertEquals("9223372036854", Deadline.after(huge, ticker).toHeaderValue()); // 13 digits at most
  }

  /** Whatever the ticker's origin (System.nanoTime may be anywhere, even negative), the answer is exact. */
  @Property
  void remainingIsTheTimeoutMinusTheElapsedTimeForEveryOrigin(
      @ForAll long origin, @ForAll @LongRange(min = -1_000_000_000_000L, max = 1_000_000_000_000L) long timeout,
      @ForAll @LongRange(min = 0, max = 1_000_000_000_000L) long elapsed) {
    TestTicker t = new TestTicker();
    t.advanceNanos(origin);
    Deadline d = Deadline.after(Duration.ofNanos(timeout), t);
    t.advanceNanos(elapsed);
    assertEquals(timeout - elapsed, d.remainingNanos());
    assertEquals(timeout - elapsed <= 0, d.isExpired());
  }

  @Test
  void minIsTheDeadlineWithLessTimeLeft() {
    Deadline soon = Deadline.after(Duration.ofSeconds(1), ticker);
    ticker.advance(Duration.ofMillis(100));
    Deadline later = Deadline.after(Duration.ofSeconds(1), ticker);
    assertSame(soon, soon.min(later));
    assertSame(soon, later.min(soon));
    assertSame(soon, soon.min(soon));
    Deadline forever = Deadline.after(Duration.ofSeconds(Long.MAX_VALUE), ticker);
    assertSame(later, forever.min(later));
  }

  @Test
  void minRefusesADeadlineOnAnotherTicker() {
    Deadline mine = Deadline.after(Duration.ofSeconds(1), ticker);
    Deadline theirs = Deadline.after(Duration.ofSeconds(1), new TestTicker());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> mine.min(theirs));
    assertTrue(e.getMessage().startsWith("other must be a deadline on the same ticker: Deadline{"), e.getMessage());
    assertThrows(NullPointerException.class, () -> mine.min(null));
  }

  @Test
  void theHeaderCarriesTheRemainingWholeMillisecondsRoundedDown() {
    Deadline d = Deadline.after(Duration.ofMillis(2_000), ticker);
    assertEquals("2000", d.toHeaderValue());
    ticker.advanceNanos(1_500_001L);
    assertEquals("1998", d.toHeaderValue()); // 1998.499999 ms left: never more than the caller has
    ticker.advance(Duration.ofSeconds(5));
    assertEquals("0", d.toHeaderValue());
    assertEquals("Shepherd-Deadline-Ms", Deadline.HEADER);
  }

  @Test
  void aDeadlineReadFromTheHeaderCountsFromItsArrivalOnTheReceiversTicker() {
    TestTicker server = new TestTicker();
    server.advance(Duration.ofDays(400)); // the machines' clocks need not agree
    Deadline received = Deadline.fromHeaderValue("1998", server);
    assertEquals(Duration.ofMillis(1998), received.remaining());
    assertSame(server, received.ticker());
    server.advance(Duration.ofMillis(1998));
    assertTrue(received.isExpired());
    assertEquals(Duration.ofMillis(7), Deadline.fromHeaderValue(" \t7 ", server).remaining());
    assertTrue(Deadline.fromHeaderValue("0", server).isExpired());
    assertEquals(Long.MAX_VALUE, Deadline.fromHeaderValue("999999999999999999", server).remainingNanos());
  }

  @Property
  void writingAndReadingTheHeaderRoundTripsWholeMilliseconds(
      @ForAll @LongRange(min = 0, max = 9_223_372_036_853L) long millis) {
    Deadline d = Deadline.after(Duration.ofMillis(millis), ticker);
    assertEquals(Long.toString(millis), d.toHeaderValue());
    assertEquals(d.remainingNanos(), Deadline.fromHeaderValue(d.toHeaderValue(), ticker).remainingNanos());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "-5", "+5", "1.5", "1e3", "10ms", "0x10", "1 000", "١٢٣",
      "1234567890123456789"})
  void aBadHeaderValueIsRefusedWithTheHeaderAndTheValue(String value) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Deadline.fromHeaderValue(value, ticker));
    assertEquals("Shepherd-Deadline-Ms must be a whole number of milliseconds, zero or more, at most 18 digits: \""
        + value + "\"", e.getMessage());
  }

  @Test
  void aLongBadHeaderValueIsShortenedInTheMessage() {
    String value = "x".repeat(1000);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Deadline.fromHeaderValue(value, ticker));
    assertTrue(e.getMessage().endsWith("\"" + "x".repeat(40) + "...\""), e.getMessage());
  }

  @Test
  void nullsAreRefusedByName() {
    assertEquals("timeout", assertThrows(NullPointerException.class, () -> Deadline.after(null, ticker)).getMessage());
    assertEquals("ticker", assertThrows(NullPointerException.class,
        () -> Deadline.after(Duration.ZERO, null)).getMessage());
    assertEquals("headerValue", assertThrows(NullPointerException.class,
        () -> Deadline.fromHeaderValue(null, ticker)).getMessage());
  }

  @Test
  void theSystemTickerIsTheDefault() {
    Deadline d = Deadline.after(Duration.ofHours(1));
    assertSame(Ticker.system(), d.ticker());
    assertFalse(d.isExpired());
  }

  @Test
  void deadlineExceededIsARejectionWithoutRetryAfter() {
    DeadlineExceededException e = new DeadlineExceededException("db", "late");
    assertEquals("db", e.policyName());
    assertTrue(e.retryAfter().isEmpty());
    assertEquals(0, e.getStackTrace().length);
  }
}
