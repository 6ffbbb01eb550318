package dev.shepherd.circuitbreaker;

/**
 * Three counters (calls, failures, slow calls) packed in one {@code long}, so that a window's or a
 * half-open state's totals change with one atomic add and are read with one volatile read.
 *
 * <p>Each field is a signed 21-bit integer, so each holds values in {@code [-2^20, 2^20)}. Packed
 * values add as plain {@code long}s: a field that goes negative borrows from the field above, and
 * the decoders undo the borrow. A field is negative only transiently, when two racing updates of
 * one slot have applied their deltas out of order; at rest every field equals the sum of the
 * outcomes it counts, which is at most {@link #MAX} (1,000,000, below 2^20 with room for racing
 * deltas). Outcome codes: 0 is an empty slot; {@code 1 + (failure ? 1 : 0) + (slow ? 2 : 0)}.
 */
final class Counts {

  /** The largest window of calls (and the largest number of probes) a packed value can hold. */
  static final int MAX = 1_000_000;

  private static final int BITS = 21;

  /** What each outcome code adds: index 0 (an empty slot) adds nothing. */
  private static final long[] CONTRIBUTION = {
    0L, of(1, 0, 0), of(1, 1, 0), of(1, 0, 1), of(1, 1, 1),
  };

  private Counts() {}

  /** The outcome code of a judged call. */
  static int code(boolean failure, boolean slow) {
    return 1 + (failure ? 1 : 0) + (slow ? 2 : 0);
  }

  static boolean isFailure(int code) {
    return code == 2 || code == 4;
  }

  static boolean isSlow(int code) {
    return code >= 3;
  }

  /** What the outcome {@code code} adds to a packed value. */
  static long contribution(int code) {
    return CONTRIBUTION[code];
  }

  static long of(long calls, long failures, long slow) {
    return calls + (failures << BITS) + (slow << (2 * BITS));
  }

  static long calls(long packed) {
    return low(packed);
  }

  static long failures(long packed) {
    return low((packed - low(packed)) >> BITS);
  }

  static long slow(long packed) {
    long rest = (packed - low(packed)) >> BITS;
    return (rest - low(rest)) >> BITS;
  }

  /** The lowest field, sign-extended. */
  private static long low(long packed) {
    return (packed << (64 - BITS)) >> (64 - BITS);
  }
}
