package dev.shepherd.backoff;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The backoff {@link Retry} and {@link Reconnector} use when none is given: full jitter, the wait
 * before retry n uniform on {@code [0, min(cap, base·2^(n−1))]} (AWS's "full jitter").
 *
 * <p>Kept package-private and minimal on purpose: the public backoff factories live on
 * {@link Backoff}; this class only gives the builders a safe default without depending on them.
 * The ceiling is computed in O(1) with a saturating shift, so no attempt number overflows it.
 * Immutable and thread-safe; each schedule belongs to one loop.
 */
final class RetryDefaultBackoff implements Backoff {

  /** Retry's default: 100 ms doubling up to 10 s. */
  static final RetryDefaultBackoff RETRY = new RetryDefaultBackoff(100_000_000L, 10_000_000_000L);
  /** Reconnector's default: 1 s doubling up to 2 min (gRPC's scale). */
  static final RetryDefaultBackoff RECONNECT =
      new RetryDefaultBackoff(1_000_000_000L, 120_000_000_000L);

  private final long baseNanos;
  private final long capNanos;

  private RetryDefaultBackoff(long baseNanos, long capNanos) {
    this.baseNanos = baseNanos;
    this.capNanos = capNanos;
  }

  /**
   * Returns the ceiling {@code min(cap, base·2^(n−1))} for retry {@code n}, without overflow.
   *
   * @param n the retry number, 1 or more
   * @return the ceiling in nanoseconds
   */
  long ceilingNanos(long n) {
    long shift = Math.min(n - 1, 62);
    // base << shift would exceed cap exactly when base > cap >> shift; checked before shifting.
    return baseNanos > (capNanos >> shift) ? capNanos : Math.min(capNanos, baseNanos << shift);
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new Schedule() {
      private long n;

      @Override
      public long nextDelayNanos() {
        if (n < Long.MAX_VALUE) {
          n++;
        }
        long ceiling = ceilingNanos(n);
        return ceiling == Long.MAX_VALUE ? random.nextLong(ceiling) : random.nextLong(ceiling + 1);
      }
    };
  }

  @Override
  public String toString() {
    return "fullJitter(base=" + baseNanos + "ns, cap=" + capNanos + "ns)";
  }
}
