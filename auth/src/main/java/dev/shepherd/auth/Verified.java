package dev.shepherd.auth;

import dev.shepherd.core.internal.Checks;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What a backend vouches for: a principal and, optionally, how long it vouches for it.
 *
 * <p>A {@link CachingAuthenticator} serves the answer from its cache for at most its configured
 * TTL, and never beyond {@link #validFor()} when the backend states one: a token that expires in
 * ten seconds is not cached for five minutes. A {@code validFor} of zero means "valid now, do not
 * cache" (HTTP's {@code Cache-Control: no-store}).
 *
 * <p>Immutable and thread-safe if the principal is.
 *
 * @param <P> the principal type
 */
public final class Verified<P> {

  private final P principal;
  private final Duration validFor;

  private Verified(P principal, Duration validFor) {
    this.principal = principal;
    this.validFor = validFor;
  }

  /**
   * Vouches for a principal with no stated time limit; the cache's TTL applies.
   *
   * @param principal the principal
   * @param <P> the principal type
   * @return the verdict
   * @throws NullPointerException if {@code principal} is null
   */
  public static <P> Verified<P> of(P principal) {
    return new Verified<>(Objects.requireNonNull(principal, "principal"), null);
  }

  /**
   * Vouches for a principal for at most {@code validFor}, counted from when the backend call
   * started (the backend decided at or after that instant, so a slow answer is not cached longer).
   *
   * @param principal the principal
   * @param validFor how long the backend vouches; zero means "do not cache"
   * @param <P> the principal type
   * @return the verdict
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code validFor} is negative
   */
  public static <P> Verified<P> of(P principal, Duration validFor) {
    return new Verified<>(Objects.requireNonNull(principal, "principal"),
        Checks.nonNegative(validFor, "validFor"));
  }

  /**
   * Returns the principal the backend vouched for.
   *
   * @return the principal, never null
   */
  public P principal() {
    return principal;
  }

  /**
   * Returns how long the backend vouches for the principal, if it said.
   *
   * @return the stated validity, or empty when the backend stated none
   */
  public Optional<Duration> validFor() {
    return Optional.ofNullable(validFor);
  }

  /** The stated validity in nanoseconds (saturated), or -1 when none was stated. */
  long validForNanos() {
    return validFor == null ? -1 : dev.shepherd.core.internal.Durations.toNanosSaturated(validFor);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Verified<?> && ((Verified<?>) o).principal.equals(principal)
        && Objects.equals(((Verified<?>) o).validFor, validFor);
  }

  @Override
  public int hashCode() {
    return principal.hashCode() * 31 + Objects.hashCode(validFor);
  }

  @Override
  public String toString() {
    return "Verified{principal=" + principal + (validFor == null ? "" : ", validFor=" + validFor) + "}";
  }
}
