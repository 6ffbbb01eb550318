package dev.shepherd.ratelimit;

/** The one mutable field of {@link Gcra}, between {@link GcraPadBefore} and {@link GcraPadAfter}. */
abstract class GcraState extends GcraPadBefore {
  /** Theoretical arrival time, in units, modulo 2^64. Accessed through {@code Gcra.TAT}. */
  volatile long tat;
}
