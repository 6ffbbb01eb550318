package dev.shepherd.core.internal;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * Argument checks with one message shape for the whole library:
 * {@code "<name> must be <rule>: <value>"}, formatted with {@link Locale#ROOT}.
 *
 * <p>Every Shepherd builder validates its input through these methods, so a bad configuration fails
 * at build time with an {@link IllegalArgumentException} that names the parameter and the value it
 * got, for example {@code "cap must be positive: PT0S"}. They are Shepherd's plumbing, exported only
 * to its own modules, not API.
 *
 * <p>All methods are static, stateless and thread-safe. Each returns its argument so checks can be
 * written inline: {@code this.base = Checks.positive(base, "base");}.
 */
public final class Checks {

  private Checks() {}

  /**
   * Builds the exception every check throws.
   *
   * @param name the parameter's name, as the user wrote it in the builder
   * @param rule what the value must be, completing "{@code <name> must be ...}"
   * @param value the value that broke the rule; rendered with {@link String#valueOf(Object)}
   * @return an exception with the message {@code "<name> must be <rule>: <value>"}
   */
  public static IllegalArgumentException invalid(String name, String rule, Object value) {
    return new IllegalArgumentException(
        String.format(Locale.ROOT, "%s must be %s: %s", name, rule, value));
  }

  /**
   * Fails unless {@code condition} holds.
   *
   * @param condition the rule, already evaluated
   * @param name the parameter's name
   * @param rule what the value must be
   * @param value the value checked
   * @throws IllegalArgumentException if {@code condition} is false
   */
  public static void check(boolean condition, String name, String rule, Object value) {
    if (!condition) {
      throw invalid(name, rule, value);
    }
  }

  /**
   * Requires a duration strictly greater than zero.
   *
   * @param value the duration
   * @param name the parameter's name
   * @return {@code value}
   * @throws NullPointerException if {@code value} is null
   * @throws IllegalArgumentException if {@code value} is zero or negative
   */
  public static Duration positive(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isZero() || value.isNegative()) {
      throw invalid(name, "positive", value);
    }
    return value;
  }

  /**
   * Requires a duration of zero or more.
   *
   * @param value the duration
   * @param name the parameter's name
   * @return {@code value}
   * @throws NullPointerException if {@code value} is null
   * @throws IllegalArgumentException if {@code value} is negative
   */
  public static Duration nonNegative(Duration value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isNegative()) {
      throw invalid(name, "zero or positive", value);
    }
    return value;
  }

  /**
   * Requires a {@code long} strictly greater than zero.
   *
   * @param value the value
   * @param name the parameter's name
   * @return {@code value}
   * @throws IllegalArgumentException if {@code value <= 0}
   */
  public static long positive(long value, String name) {
    if (value <= 0) {
      throw invalid(name, "positive", value);
    }
    return value;
  }

  /**
   * Requires an {@code int} strictly greater than zero.
   *
   * @param value the value
   * @param name the parameter's name
   * @return {@code value}
   * @throws IllegalArgumentException if {@code value <= 0}
   */
  public static int positive(int value, String name) {
    if (value <= 0) {
      throw invalid(name, "positive", value);
    }
    return value;
  }

  /**
   * Requires a {@code long} of zero or more.
   *
   * @param value the value
   * @param name the parameter's name
   * @return {@code value}
   * @throws IllegalArgumentException if {@code value < 0}
   */
  public static long nonNegative(long value, String name) {
    if (value < 0) {
      throw invalid(name, "zero or positive", value);
    }
    return value;
  }

  /**
   * Requires an {@code int} of at least {@code min}.
   *
   * @param value the value
   * @param min the smallest value allowed
   * @param name the parameter's name
   * @return {@code value}
   * @throws IllegalArgumentException if {@code value < min}
   */
  public static int atLeast(int value, int min, String name) {
    if (value < min) {
      throw invalid(name, "at least " + min, value);
    }
    return value;
  }

  /**
   * Requires a finite {@code double} strictly greater than zero.
   *
   * @param value the value
   * @param name the parameter's name
   * @return {@code value}
   * @throws IllegalArgumentException if {@code value} is NaN, infinite, zero or negative
   */
  public static double positiveFinite(double value, String name) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw invalid(name, "positive and finite", value);
    }
    return value;
  }

  /**
   * Requires a finite {@code double} in the closed range {@code [min, max]}.
   *
   * @param value the value
   * @param min the smallest value allowed
   * @param max the largest value allowed
   * @param name the parameter's name
   * @return {@code value}
   * @throws IllegalArgumentException if {@code value} is NaN or outside {@code [min, max]}
   */
  public static double inRange(double value, double min, double max, String name) {
    if (!(value >= min && value <= max)) {
      throw invalid(name, String.format(Locale.ROOT, "in [%s, %s]", min, max), value);
    }
    return value;
  }

  /**
   * Requires a non-null, non-blank name for a policy instance.
   *
   * @param value the name
   * @param name the parameter's name
   * @return {@code value}
   * @throws NullPointerException if {@code value} is null
   * @throws IllegalArgumentException if {@code value} is blank
   */
  public static String notBlank(String value, String name) {
    Objects.requireNonNull(value, name);
    if (value.isBlank()) {
      throw invalid(name, "non-blank", "\"" + value + "\"");
    }
    return value;
  }
}
