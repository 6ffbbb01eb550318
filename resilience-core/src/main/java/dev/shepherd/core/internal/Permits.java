package dev.shepherd.core.internal;

/**
 * The permit-count check of every limiter, with one message. Shepherd's plumbing, shared by its own
 * modules; not API. Static, stateless, thread-safe.
 */
public final class Permits {

  private Permits() {}

  /**
   * Requires {@code 1 <= permits <= max}; allocation-free unless it throws.
   *
   * @param permits the permits asked for
   * @param max the most one request may ask for
   * @param what what {@code max} is, for the message, for example {@code "the burst"}
   * @return {@code permits}
   * @throws IllegalArgumentException {@code "permits must be positive: 0"}, or
   *     {@code "permits must be at most 10 (the burst; more could never be granted): 11"}
   */
  public static int check(int permits, long max, String what) {
    if (permits < 1) {
      throw Checks.invalid("permits", "positive", permits);
    }
    if (permits > max) {
      throw Checks.invalid("permits", "at most " + max + " (" + what + "; more could never be granted)", permits);
    }
    return permits;
  }
}
