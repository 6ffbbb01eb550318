package dev.shepherd.core;

import dev.shepherd.core.internal.Checks;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads and writes the HTTP {@code Retry-After} header (RFC 9110, section 10.2.3).
 *
 * <p>Shared by every module that meets HTTP: a limiter renders its rejection's hint with
 * {@link #format(Duration)}; a client honours a server's hint read with {@link #parse(String, Clock)}.
 * Parsing is total: garbage, negative or absurd values give an empty result or a clamped one, never
 * an exception, because a malformed header from a struggling server must not crash its clients.
 *
 * <p>Static, stateless and thread-safe; dates are parsed with {@link Locale#ROOT}, whatever the
 * default locale.
 */
public final class RetryAfter {

  /** The largest wait {@link #parse(String, Clock)} returns: one day. Larger hints are clamped. */
  public static final Duration DEFAULT_MAX = Duration.ofDays(1);

  /**
   * RFC 850 dates, which recipients must still accept: {@code Sunday, 06-Nov-94 08:49:37 GMT}.
   * The weekday is stripped before parsing, since it cannot be checked before the century is known.
   */
  private static final DateTimeFormatter RFC_850 =
      DateTimeFormatter.ofPattern("dd-MMM-uu HH:mm:ss 'GMT'", Locale.ROOT);
  /** C's asctime() format without its weekday: {@code Nov  6 08:49:37 1994}. */
  private static final DateTimeFormatter ASCTIME =
      DateTimeFormatter.ofPattern("MMM ppd HH:mm:ss uuuu", Locale.ROOT);
  private static final int MAX_LENGTH = 64;

  private RetryAfter() {}

  /**
   * Parses a {@code Retry-After} value, clamped to {@link #DEFAULT_MAX}.
   *
   * @param value the header value: delta-seconds ({@code "120"}) or an HTTP-date; may be null
   * @param clock the wall clock an HTTP-date is measured against
   * @return the wait, zero for a date in the past, or empty when the value is absent or malformed
   * @throws NullPointerException if {@code clock} is null
   */
  public static Optional<Duration> parse(String value, Clock clock) {
    return parse(value, clock, DEFAULT_MAX);
  }

  /**
   * Parses a {@code Retry-After} value, clamped to {@code max}.
   *
   * @param value the header value: delta-seconds ({@code "120"}) or an HTTP-date; may be null
   * @param clock the wall clock an HTTP-date is measured against
   * @param max the largest wait to return; longer hints are clamped to it
   * @return the wait in {@code [0, max]}, or empty when the value is absent or malformed
   * @throws NullPointerException if {@code clock} or {@code max} is null
   * @throws IllegalArgumentException if {@code max} is negative
   */
  public static Optional<Duration> parse(String value, Clock clock, Duration max) {
    Objects.requireNonNull(clock, "clock");
    Checks.nonNegative(max, "max");
    if (value == null) {
      return Optional.empty();
    }
    String v = value.strip();
    if (v.isEmpty() || v.length() > MAX_LENGTH) {
      return Optional.empty();
    }
    if (isDigits(v)) {
      // delta-seconds = 1*DIGIT; a value too long for a long is absurd, not an error.
      Duration wait = v.length() > 18 ? max : Duration.ofSeconds(Long.parseLong(v));
      return Optional.of(min(wait, max));
    }
    Optional<Instant> date = parseDate(v, clock);
    if (date.isEmpty()) {
      return Optional.empty();
    }
    Duration wait = Duration.between(clock.instant(), date.get());
    return Optional.of(wait.isNegative() ? Duration.ZERO : min(wait, max));
  }

  /**
   * Renders a wait as delta-seconds, rounded up to a whole second so a client never comes back
   * early.
   *
   * @param wait the wait, zero or positive
   * @return the header value, for example {@code "2"} for 1.2 seconds
   * @throws NullPointerException if {@code wait} is null
   * @throws IllegalArgumentException if {@code wait} is negative
   */
  public static String format(Duration wait) {
    Checks.nonNegative(wait, "wait");
    long seconds = wait.getSeconds() + (wait.getNano() > 0 ? 1 : 0);
    return Long.toString(seconds);
  }

  /**
   * Renders a wait given in nanoseconds as delta-seconds, rounded up.
   *
   * @param waitNanos the wait in nanoseconds, zero or positive
   * @return the header value
   * @throws IllegalArgumentException if {@code waitNanos} is negative
   */
  public static String formatNanos(long waitNanos) {
    Checks.nonNegative(waitNanos, "waitNanos");
    long seconds = waitNanos / 1_000_000_000L + (waitNanos % 1_000_000_000L == 0 ? 0 : 1);
    return Long.toString(seconds);
  }

  private static boolean isDigits(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static Optional<Instant> parseDate(String v, Clock clock) {
    try {
      return Optional.of(ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant());
    } catch (DateTimeParseException notImfFixdate) {
      // fall through to the obsolete formats RFC 9110 still asks recipients to accept
    }
    try {
      int comma = v.indexOf(", ");
      LocalDateTime t = LocalDateTime.parse(comma < 0 ? v : v.substring(comma + 2), RFC_850);
      // A two-digit year more than 50 years in the future means the previous century (RFC 9110).
      if (t.getYear() > ZonedDateTime.now(clock.withZone(ZoneOffset.UTC)).getYear() + 50) {
        t = t.minusYears(100);
      }
      return Optional.of(t.toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException notRfc850) {
      // fall through
    }
    try {
      int space = v.indexOf(' ');
      String dateTime = space < 0 ? v : v.substring(space + 1);
      return Optional.of(LocalDateTime.parse(dateTime, ASCTIME).toInstant(ZoneOffset.UTC));
    } catch (DateTimeParseException notAsctime) {
      return Optional.empty();
    }
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
