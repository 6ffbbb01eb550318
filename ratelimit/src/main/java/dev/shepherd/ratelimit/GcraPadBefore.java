package dev.shepherd.ratelimit;

/**
 * Padding before {@link GcraState#tat}: 128 bytes (two cache lines, for the adjacent-line
 * prefetcher), so that no other object's fields share a line with the contended state. Superclass
 * fields are laid out before subclass fields, which is what keeps this order.
 */
@SuppressWarnings("unused") // the fields exist only to take space
abstract class GcraPadBefore {
  long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}
