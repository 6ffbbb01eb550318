package dev.shepherd.ratelimit;

/**
 * Padding after {@link GcraState#tat}: 128 bytes, so that {@link Gcra}'s own fields, which every
 * call reads, do not share a cache line with the state that every grant writes. Without it, each
 * grant on one core made the other core miss on the rate's constants as well as on the state.
 */
@SuppressWarnings("unused") // the fields exist only to take space
abstract class GcraPadAfter extends GcraState {
  long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;
}
