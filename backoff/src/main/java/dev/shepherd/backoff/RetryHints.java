package dev.shepherd.backoff;

import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * How {@link Retry} and {@link Reconnector} honour a server's retry-after hint: the hint's
 * extraction from a failure, then the public {@link RetryAfterJitter} rule (clamp, and jitter
 * above the hint, never below) for a shared hint, or the slot rule for a personal slot (clamp, and
 * a small fixed jitter above it). Immutable and thread-safe.
 */
final class RetryHints {

  /** How deep {@link #fromRejection(Throwable)} follows the cause chain. */
  private static final int MAX_CAUSE_DEPTH = 8;

  /** The default extractor: the first {@link RejectedException} hint in the cause chain. */
  static final Function<Throwable, Optional<Duration>> DEFAULT_EXTRACTOR = RetryHints::fromRejection;

  private final Function<? super Throwable, Optional<Duration>> extractor;
  private final RetryAfterJitter jitter;
  private final long slotJitterNanos;

  RetryHints(
      Function<? super Throwable, Optional<Duration>> extractor,
      double spread,
      Duration minJitter,
      Duration max,
      Duration slotJitter) {
    this.extractor = extractor;
    this.jitter = RetryAfterJitter.of(spread, minJitter, max);
    this.slotJitterNanos = Durations.toNanosSaturated(slotJitter);
  }

  /**
   * Returns the first {@link RejectedException} in {@code failure}'s cause chain (the failure itself
   * first) that carries a retry-after hint, following at most eight causes.
   *
   * @param failure the failure, may be null
   * @return the refusal, or null when no rejection in the chain carries a hint
   */
  static RejectedException refusal(Throwable failure) {
    Throwable t = failure;
    for (int depth = 0; t != null && depth <= MAX_CAUSE_DEPTH; depth++) {
      if (t instanceof RejectedException && ((RejectedException) t).retryAfterNanos() >= 0) {
        return (RejectedException) t;
      }
      t = t.getCause();
    }
    return null;
  }

  /**
   * Returns the personal slot {@code failure} carries: the hint of the first rejection in its cause
   * chain that carries one, if that rejection {@linkplain RejectedException#isPersonalSlot() is a
   * personal slot}; clamped to {@code [0, max]}. Read from the chain whatever the extractor, which
   * reads only shared hints.
   *
   * @param failure the failure of the last attempt, may be null
   * @return the slot in nanoseconds, or {@code -1} when the failure carries none
   */
  long slotNanos(Throwable failure) {
    RejectedException refusal = refusal(failure);
    return refusal != null && refusal.isPersonalSlot() ? jitter.clampNanos(refusal.retryAfterNanos()) : -1;
  }

  /**
   * Draws the wait for a clamped personal slot: uniform on {@code [slot, slot + slotJitter]}.
   *
   * @param slotNanos the clamped slot, zero or more
   * @param random the jitter source
   * @return the wait in nanoseconds, at least {@code slotNanos}
   */
  long slotWaitNanos(long slotNanos, RandomGenerator random) {
    long draw = slotJitterNanos == 0 ? 0
        : slotJitterNanos == Long.MAX_VALUE ? random.nextLong(slotJitterNanos) : random.nextLong(slotJitterNanos + 1);
    return Durations.saturatedAdd(slotNanos, draw);
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
    return jitter.clampNanos(Durations.toNanosSaturated(hint.get()));
  }

  /**
   * Draws the wait for a clamped hint: uniform on {@code [h, h + max(h·spread, minJitter)]}.
   *
   * @param hintNanos the clamped hint, zero or more
   * @param random the jitter source
   * @return the wait in nanoseconds, at least {@code hintNanos}
   */
  long waitNanos(long hintNanos, RandomGenerator random) {
    return jitter.waitNanos(hintNanos, random);
  }
}
