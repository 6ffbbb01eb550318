package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RetryAfterTest {

  private static final Clock NOW = Clock.fixed(Instant.parse("1994-11-06T08:49:00Z"), ZoneOffset.UTC);

  @Test
  void deltaSecondsAreParsed() {
    assertEquals(Optional.of(Duration.ofSeconds(120)), RetryAfter.parse("120", NOW));
    assertEquals(Optional.of(Duration.ZERO), RetryAfter.parse("0", NOW));
    assertEquals(Optional.of(Duration.ofSeconds(7)), RetryAfter.parse("  7 ", NOW));
  }

  @Test
  void allThreeHttpDateFormatsAreParsedAgainstTheClock() {
    Optional<Duration> in37s = Optional.of(Duration.ofSeconds(37));
    assertEquals(in37s, RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", NOW));
    assertEquals(in37s, RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", NOW));
    assertEquals(in37s, RetryAfter.parse("Sun Nov  6 08:49:37 1994", NOW));
  }

  @Test
  void aDateInThePastMeansNow() {
    assertEquals(Optional.of(Duration.ZERO), RetryAfter.parse("Sat, 05 Nov 1994 08:49:37 GMT", NOW));
  }

  @Test
  void absurdValuesAreClamped() {
    assertEquals(Optional.of(RetryAfter.DEFAULT_MAX), RetryAfter.parse("99999999999999999999999999", NOW));
    assertEquals(Optional.of(RetryAfter.DEFAULT_MAX), RetryAfter.parse("Fri, 01 Jan 2100 00:00:00 GMT", NOW));
    assertEquals(Optional.of(Duration.ofSeconds(30)), RetryAfter.parse("3600", NOW, Duration.ofSeconds(30)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  ", "-5", "+5", "1.5", "soon", "12abc", "0x10", "Sun, 32 Nov 1994 08:49:37 GMT",
      "Mon, 06 Nov 1994 08:49:37 GMT", "١٢٣"})
  void garbageIsEmptyNeverAnException(String value) {
    assertEquals(Optional.empty(), RetryAfter.parse(value, NOW));
  }

  @Test
  void nullIsEmpty() {
    assertEquals(Optional.empty(), RetryAfter.parse(null, NOW));
  }

  @Test
  void formatRoundsUpToWholeSeconds() {
    assertEquals("0", RetryAfter.format(Duration.ZERO));
    assertEquals("1", RetryAfter.format(Duration.ofNanos(1)));
    assertEquals("2", RetryAfter.format(Duration.ofMillis(1200)));
    assertEquals("3", RetryAfter.format(Duration.ofSeconds(3)));
    assertEquals("2", RetryAfter.formatNanos(1_000_000_001L));
    assertEquals("1", RetryAfter.formatNanos(1_000_000_000L));
    assertEquals("9223372037", RetryAfter.formatNanos(Long.MAX_VALUE));
  }

  @Test
  void formatRejectsNegativeWaits() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RetryAfter.format(Duration.ofSeconds(-1)));
    assertEquals("wait must be zero or positive: PT-1S", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> RetryAfter.formatNanos(-1));
    assertEquals("waitNanos must be zero or positive: -1", e.getMessage());
  }

  @Property
  void parseNeverThrowsAndStaysWithinTheClamp(@ForAll String anything) {
    Optional<Duration> parsed = RetryAfter.parse(anything, NOW);
    parsed.ifPresent(d -> {
      if (d.isNegative() || d.compareTo(RetryAfter.DEFAULT_MAX) > 0) {
        throw new AssertionError("out of [0, max]: " + d);
      }
    });
  }

  @Property
  void formatThenParseNeverComesBackEarly(@ForAll long nanos) {
    long wait = Math.abs(nanos == Long.MIN_VALUE ? 0 : nanos) % Duration.ofDays(1).toNanos();
    Duration parsed = RetryAfter.parse(RetryAfter.formatNanos(wait), NOW).orElseThrow();
    if (parsed.toNanos() < wait || parsed.toNanos() - wait >= 1_000_000_000L) {
      throw new AssertionError(wait + " rendered as " + parsed);
    }
  }
}
