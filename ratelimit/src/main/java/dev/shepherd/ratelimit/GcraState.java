package dev.shepherd.ratelimit;

/** The mutable fields of {@link Gcra}, between {@link GcraPadBefore} and {@link GcraPadAfter}. */
abstract class GcraState extends GcraPadBefore {
  /** Theoretical arrival time, in units, modulo 2^64. Accessed through {@code Gcra.TAT}. */
  volatile long tat;
  /**
   * A ticker reading (ns) at most {@code Gcra.stampSlack} older than the reading behind the latest
   * write of {@link #tat}; never decreases. Accessed through {@code Gcra.STAMP}; on tat's cache line.
   */
  volatile long stamp;
}
