package dev.shepherd.backoff;

import dev.shepherd.core.Durations;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * How {@link Retry} and {@link Reconnector} honour a server's retry-after hint: extraction, clamping
 * and the jitter added above it.
 *
 * <p>A hint {@code h} (clamped to {@code [0, max]}) turns into a wait drawn uniformly from
 * {@code [h, h + width]} with {@code width = max(h·spread, minJitter)}: never below {@code h}, since
 * the server asked for that much, and spread above it so that a fleet told "come back in 30 s" does
 * not come back in one instant. The {@code minJitter} term spreads a fleet told "come back now"
 * ({@code h = 0}) too. Immutable and thread-safe.
 */
final class RetryHints {

  /** How deep {@link #fromRejection(Throwable)} follows the cause chain. */
  private static final int MAX_CAUSE_DEPTH = 8;

  /** The default extractor: the first {@link RejectedException} hint in the cause chain. */
  static final Function<Throwable, Optional<Duration>> DEFAULT_EXTRACTOR = RetryHints::fromRejection;

  private final Function<? super Throwable, Optional<Duration>> extractor;
  private final double spread;
  private final long minJitterNanos;
  private final long maxNanos;

  RetryHints(
      Function<? super Throwable, Optional<Duration>> extractor,
      double spread,
      Duration minJitter,
      Duration max) {
    this.extractor = extractor;
    this.spread = spread;
    this.minJitterNanos = Durations.toNanosSaturated(minJitter);
    this.maxNanos = Durations.toNanosSaturated(max);
  }

  /**
   * Reads the retry-after hint of the first {@link RejectedException} in {@code failure}'s cause
   * chain (the failure itself first), following at most eight causes.
   *
   * @param failure the failure, may be null
   * @return the hint, or empty when no rejection in the chain carries one
   */
  static Optional<Duration> fromRejection(Throwable failure) {
    Throwable t = failure;
    for (int depth = 0; t != null && depth <= MAX_CAUSE_DEPTH; depth++) {
      if (t instanceof RejectedException) {
        long nanos = ((RejectedException) t).retryAfterNanos();
        if (nanos >= 0) {
          return Optional.of(Duration.ofNanos(nanos));
        }
      }
      t = t.getCause();
    }
    return Optional.empty();
  }

  /**
   * Returns the hint carried by {@code failure}, clamped to {@code [0, max]}.
   *
   * <p>An extractor that throws or returns null counts as "no hint": a broken extractor must not
   * turn a retryable failure into a different one.
   *
   * @param failure the failure of the last attempt
   * @return the hint in nanoseconds, or {@code -1} when there is none
   */
  long hintNanos(Throwable failure) {
    Optional<Duration> hint;
    try {
      hint = extractor.apply(failure);
    } catch (RuntimeException brokenExtractor) {
      return -1;
    }
    if (hint == null || hint.isEmpty()) {
      return -1;
    }
    long nanos = Durations.toNanosSaturated(hint.get());
    return Math.min(Math.max(nanos, 0L), maxNanos);
  }

  /**
   * Returns the jitter width above a hint: {@code max(h·spread, minJitter)}, saturated.
   *
   * @param hintNanos the clamped hint, zero or more
   * @return the width in nanoseconds
   */
  long widthNanos(long hintNanos) {
    double scaled = hintNanos * spread;
    long width = scaled >= 0x1p63 ? Long.MAX_VALUE : (long) scaled;
    return Math.max(width, minJitterNanos);
  }

  /**
   * Draws the wait for a hint: uniform on {@code [h, h + width(h)]}, saturated at
   * {@link Long#MAX_VALUE}.
   *
   * @param hintNanos the clamped hint, zero or more
   * @param random the jitter source
   * @return the wait in nanoseconds, at least {@code hintNanos}
   */
  long waitNanos(long hintNanos, RandomGenerator random) {
    long width = widthNanos(hintNanos);
    long jitter = width == 0 ? 0 : width == Long.MAX_VALUE ? random.nextLong(width) : random.nextLong(width + 1);
    return Durations.saturatedAdd(hintNanos, jitter);
  }
}
