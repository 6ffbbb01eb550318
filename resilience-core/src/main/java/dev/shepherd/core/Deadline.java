package dev.shepherd.core;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Objects;

/**
 * The instant by which a call's caller needs the answer, carried with the call as an explicit
 * value, so that no one works for a caller who has left.
 *
 * <pre>{@code
 * Deadline deadline = Deadline.after(Duration.ofSeconds(2), ticker);   // at the edge
 * request.header(Deadline.HEADER, deadline.toHeaderValue());           // "2000", then less
 * // on the server, whose clock need not agree with the client's:
 * Deadline deadline = Deadline.fromHeaderValue(request.header(Deadline.HEADER), ticker);
 * Answer a = guard.call(deadline, () -> database.query(q));            // dropped once it is late
 * }</pre>
 *
 * <p>A deadline is an instant on one {@link Ticker}: it is created from a timeout measured on that
 * ticker, and it answers how much of the timeout is left by reading it again. Across processes it
 * travels as the <em>remaining</em> time, in whole milliseconds, in the {@link #HEADER} header
 * (the idea of gRPC's {@code grpc-timeout}), so the two machines' clocks need not agree; the time
 * the request spends on the wire is not counted, which errs on the side of working slightly longer
 * than the caller waits, never of giving up early.
 *
 * <p><b>Arithmetic never overflows.</b> Timeouts beyond what nanoseconds hold (about 292 years) are
 * "for ever"; a deadline created from a negative timeout has already passed; remaining time
 * saturates at {@link Long#MIN_VALUE} and {@link Long#MAX_VALUE} nanoseconds instead of wrapping.
 *
 * <p>Immutable and thread-safe: one deadline may be read by every thread working on the call.
 */
public final class Deadline {

  /**
   * The HTTP header that carries a deadline as the remaining whole milliseconds:
   * {@value #HEADER}. A name of Shepherd's own (no {@code X-} prefix, as RFC 6648 advises), since
   * no standard header carries a request's deadline; {@code grpc-timeout} has the same meaning in
   * gRPC but a different syntax (a number and a unit letter).
   */
  public static final String HEADER = "Shepherd-Deadline-Ms";

  /** The most digits a header value may have; more would be beyond any real deadline (19 digits). */
  private static final int MAX_HEADER_DIGITS = 18;
  private static final long NANOS_PER_MILLI = 1_000_000L;

  private final Ticker ticker;
  /** The ticker's reading when the deadline was created. */
  private final long originNanos;
  /** The timeout from {@link #originNanos}, saturated; negative for a deadline already past. */
  private final long timeoutNanos;

  private Deadline(Ticker ticker, long originNanos, long timeoutNanos) {
    this.ticker = ticker;
    this.originNanos = originNanos;
    this.timeoutNanos = timeoutNanos;
  }

  /**
   * Returns the deadline {@code timeout} from now on {@code ticker}.
   *
   * @param timeout how long the caller waits; zero or negative for a deadline already past, beyond
   *     about 292 years for one that never passes
   * @param ticker the time source the deadline is measured on
   * @return the deadline
   * @throws NullPointerException if {@code timeout} or {@code ticker} is null
   */
  public static Deadline after(Duration timeout, Ticker ticker) {
    Objects.requireNonNull(timeout, "timeout");
    Objects.requireNonNull(ticker, "ticker");
    return new Deadline(ticker, ticker.read(), Durations.toNanosSaturated(timeout));
  }

  /**
   * Returns the deadline {@code timeout} from now on the {@linkplain Ticker#system() system ticker}.
   *
   * @param timeout how long the caller waits
   * @return the deadline
   * @throws NullPointerException if {@code timeout} is null
   */
  public static Deadline after(Duration timeout) {
    return after(timeout, Ticker.system());
  }

  /**
   * Reads a deadline from a {@link #HEADER} value: the remaining whole milliseconds, as written by
   * {@link #toHeaderValue()}, counted from now on {@code ticker}.
   *
   * <p>The value is one or more ASCII digits, optionally surrounded by spaces or tabs (HTTP's
   * optional whitespace), at most 18 digits (31 million years): no sign, no fraction, no unit.
   *
   * @param headerValue the header's value
   * @param ticker the time source the deadline is measured on at this end
   * @return the deadline that many milliseconds from now
   * @throws NullPointerException if {@code headerValue} or {@code ticker} is null
   * @throws IllegalArgumentException if the value is not a whole number of milliseconds of at most
   *     18 digits; the message names the header and quotes the value
   */
  public static Deadline fromHeaderValue(CharSequence headerValue, Ticker ticker) {
    Objects.requireNonNull(headerValue, "headerValue");
    Objects.requireNonNull(ticker, "ticker");
    int start = 0;
    int end = headerValue.length();
    while (start < end && isOptionalWhitespace(headerValue.charAt(start))) {
      start++;
    }
    while (end > start && isOptionalWhitespace(headerValue.charAt(end - 1))) {
      end--;
    }
    if (start == end || end - start > MAX_HEADER_DIGITS) {
      throw badHeader(headerValue);
    }
    long millis = 0;
    for (int i = start; i < end; i++) {
      char c = headerValue.charAt(i);
      if (c < '0' || c > '9') {
        throw badHeader(headerValue);
      }
      millis = millis * 10 + (c - '0'); // at most 18 digits: cannot overflow
    }
    return new Deadline(ticker, ticker.read(), Durations.saturatedMultiply(millis, NANOS_PER_MILLI));
  }

  private static boolean isOptionalWhitespace(char c) {
    return c == ' ' || c == '\t';
  }

  private static IllegalArgumentException badHeader(CharSequence value) {
    String shown = value.length() > 40 ? value.subSequence(0, 40) + "..." : value.toString();
    return Checks.invalid(HEADER, "a whole number of milliseconds, zero or more, at most 18 digits",
        "\"" + shown + "\"");
  }

  /**
   * Returns the ticker this deadline is measured on.
   *
   * @return the ticker given at creation
   */
  public Ticker ticker() {
    return ticker;
  }

  /**
   * Returns the time left until this deadline, in nanoseconds, reading the ticker once.
   *
   * @return positive while the deadline lies ahead; zero or negative (how late) once it has passed;
   *     saturated, never wrapped
   */
  public long remainingNanos() {
    return remainingAt(ticker.read());
  }

  private long remainingAt(long now) {
    long elapsed = Math.max(0L, now - originNanos); // a ticker never goes back; if it did, no time passed
    return Durations.saturatedAdd(timeoutNanos, -elapsed);
  }

  /**
   * Returns the time left until this deadline.
   *
   * @return the remaining time, {@link Duration#ZERO} once the deadline has passed
   */
  public Duration remaining() {
    return Duration.ofNanos(Math.max(0L, remainingNanos()));
  }

  /**
   * Returns whether this deadline has passed: no time is left.
   *
   * @return {@code true} once the remaining time is zero or less
   */
  public boolean isExpired() {
    return remainingNanos() <= 0;
  }

  /**
   * Returns the earlier of this deadline and {@code other}: the deadline a call must meet when it
   * serves two callers, or when a server's own budget is shorter than the client's.
   *
   * @param other another deadline on the same ticker
   * @return whichever of the two has less time left (this one when they are equal)
   * @throws NullPointerException if {@code other} is null
   * @throws IllegalArgumentException if {@code other} is measured on a different ticker
   */
  public Deadline min(Deadline other) {
    Objects.requireNonNull(other, "other");
    if (other.ticker != ticker) {
      throw Checks.invalid("other", "a deadline on the same ticker", other);
    }
    long now = ticker.read();
    return other.remainingAt(now) < remainingAt(now) ? other : this;
  }

  /**
   * Returns the {@link #HEADER} value for this deadline: the remaining time in whole milliseconds,
   * rounded down (so a downstream server never believes it has more time than the caller), and
   * {@code "0"} once the deadline has passed.
   *
   * @return the remaining whole milliseconds as ASCII digits, at most 13 of them
   */
  public String toHeaderValue() {
    return Long.toString(Math.max(0L, remainingNanos()) / NANOS_PER_MILLI);
  }

  @Override
  public String toString() {
    long remaining = remainingNanos();
    return remaining <= 0 ? "Deadline{passed " + Duration.ofNanos(-Math.max(remaining, -Long.MAX_VALUE)) + " ago}"
        : "Deadline{" + Duration.ofNanos(remaining) + " left}";
  }
}
