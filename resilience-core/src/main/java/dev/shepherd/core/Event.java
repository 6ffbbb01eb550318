package dev.shepherd.core;

import dev.shepherd.core.internal.Checks;
import java.time.Duration;
import java.util.Objects;

/**
 * Something a Shepherd primitive reports to its {@link EventListener}: a rejection, a retry, a
 * change of limit or state, as typed data.
 *
 * <p>Primitives emit events on their slow paths only (a rejection, a retry, a change of state),
 * never on the path that grants a permit, so listening costs nothing while all is well.
 *
 * <p><b>Fields by kind.</b> Every event has a {@code source} (the instance's name) and a
 * {@code kind}; {@code detail} is a short text for humans, {@code cause} the failure behind the
 * event if any. The typed fields below carry what machines need; a field that does not apply to a
 * kind is zero ({@code attempt}, {@code permits}, {@code limitBefore}, {@code limitAfter}),
 * {@link Duration#ZERO} ({@code delay}) or {@code null} (the states). The factories, one per
 * kind, set exactly the fields of their kind.
 * <table class="striped">
 *   <caption>What each kind carries</caption>
 *   <thead><tr><th>kind</th><th>factory</th><th>typed fields</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@link Kind#REJECTED}</td><td>{@link #rejected rejected}</td>
 *         <td>{@code delay}: the retry-after hint ({@code ZERO} when none); {@code permits} asked</td></tr>
 *     <tr><td>{@link Kind#RETRY}</td><td>{@link #retry retry}</td>
 *         <td>{@code attempt}: the attempt that just failed (1 for the first; 0 for a wait before
 *         any attempt); {@code delay}: the wait before the next one</td></tr>
 *     <tr><td>{@link Kind#FAILED}</td><td>{@link #failed failed}</td>
 *         <td>{@code attempt} that failed, 0 when the failure is not an attempt</td></tr>
 *     <tr><td>{@link Kind#GAVE_UP}</td><td>{@link #gaveUp gaveUp}</td>
 *         <td>{@code attempt}: attempts made</td></tr>
 *     <tr><td>{@link Kind#SUCCEEDED}</td><td>{@link #succeeded succeeded}</td>
 *         <td>{@code attempt} that succeeded, 0 when not counted</td></tr>
 *     <tr><td>{@link Kind#LIMIT_CHANGED}</td><td>{@link #limitChanged limitChanged}</td>
 *         <td>{@code limitBefore}, {@code limitAfter}</td></tr>
 *     <tr><td>{@link Kind#STATE_CHANGED}</td><td>{@link #stateChanged stateChanged}</td>
 *         <td>{@code previousState}, {@code state}: the primitive's own state enum (for example
 *         {@code Reconnector.State})</td></tr>
 *     <tr><td>{@link Kind#FALLBACK}</td><td>{@link #fallback fallback}</td>
 *         <td>{@code delay}: how long the degraded mode lasts at least, {@code ZERO} when unknown</td></tr>
 *   </tbody>
 * </table>
 *
 * <p><b>No secrets.</b> Shepherd's primitives never put a credential, a ticket or any other secret
 * they hold into {@code detail}, and never into the message of an exception they create; logs and
 * metrics built from events can be shipped anywhere.
 *
 * @param source the name of the policy instance that emitted the event
 * @param kind what happened
 * @param delay the wait the event announces (a retry's delay, a rejection's retry-after), or
 *     {@link Duration#ZERO} when there is none
 * @param detail a short human-readable description; empty when there is nothing to add
 * @param cause the failure behind the event, or {@code null}
 * @param attempt the attempt number the event is about (1 for the first), or 0
 * @param permits the permits a rejected request asked for, or 0
 * @param limitBefore the limit before a {@link Kind#LIMIT_CHANGED}, otherwise 0
 * @param limitAfter the limit after a {@link Kind#LIMIT_CHANGED}, otherwise 0
 * @param previousState the state left by a {@link Kind#STATE_CHANGED}, or {@code null}
 * @param state the state entered by a {@link Kind#STATE_CHANGED}, or {@code null}
 */
public record Event(
    String source,
    Kind kind,
    Duration delay,
    String detail,
    Throwable cause,
    int attempt,
    int permits,
    long limitBefore,
    long limitAfter,
    Enum<?> previousState,
    Enum<?> state) {

  /** What an {@link Event} reports. */
  public enum Kind {
    /** A guarded call succeeded (for example after retries, or a backend call that answered). */
    SUCCEEDED,
    /** A guarded call or one attempt of it failed. */
    FAILED,
    /** An attempt failed and another one follows after {@link Event#delay()}. */
    RETRY,
    /** Retrying stopped: attempts, deadline or budget exhausted, or an abort condition met. */
    GAVE_UP,
    /** A policy refused a call; {@link Event#delay()} is the retry-after hint when known. */
    REJECTED,
    /** A primitive moved between states: {@link Event#previousState()} to {@link Event#state()}. */
    STATE_CHANGED,
    /** A concurrency or rate limit changed: {@link Event#limitBefore()} to {@link Event#limitAfter()}. */
    LIMIT_CHANGED,
    /** A degraded answer was given: a stale cache entry, a local fallback limit. */
    FALLBACK
  }

  /**
   * Validates the components.
   *
   * @param source the name of the policy instance that emitted the event
   * @param kind what happened
   * @param delay the announced wait, or {@link Duration#ZERO}
   * @param detail a short description, or empty
   * @param cause the failure behind the event, or {@code null}
   * @param attempt the attempt number, or 0
   * @param permits the permits asked, or 0
   * @param limitBefore the limit before a change, or 0
   * @param limitAfter the limit after a change, or 0
   * @param previousState the state left, or {@code null}
   * @param state the state entered, or {@code null}
   * @throws NullPointerException if {@code source}, {@code kind}, {@code delay} or {@code detail}
   *     is null
   * @throws IllegalArgumentException if {@code delay}, {@code attempt} or {@code permits} is negative
   */
  public Event {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(detail, "detail");
    Checks.nonNegative(delay, "delay");
    Checks.nonNegative(attempt, "attempt");
    Checks.nonNegative(permits, "permits");
  }

  /**
   * Creates an event with no typed fields: for a kind whose fields do not apply, or for code
   * written before the typed fields existed.
   *
   * @param source the name of the policy instance that emitted the event
   * @param kind what happened
   * @param delay the announced wait, or {@link Duration#ZERO}
   * @param detail a short description, or empty
   * @param cause the failure behind the event, or {@code null}
   * @throws NullPointerException if {@code source}, {@code kind}, {@code delay} or {@code detail}
   *     is null
   * @throws IllegalArgumentException if {@code delay} is negative
   */
  public Event(String source, Kind kind, Duration delay, String detail, Throwable cause) {
    this(source, kind, delay, detail, cause, 0, 0, 0L, 0L, null, null);
  }

  /**
   * Creates an event with no delay, no cause and no typed fields.
   *
   * @param source the emitting policy's name
   * @param kind what happened
   * @param detail a short description, or empty
   * @return the event
   * @throws NullPointerException if an argument is null
   */
  public static Event of(String source, Kind kind, String detail) {
    return new Event(source, kind, Duration.ZERO, detail, null);
  }

  /**
   * A {@link Kind#REJECTED} event: a call was refused.
   *
   * @param source the emitting policy's name
   * @param retryAfter when to come back, {@link Duration#ZERO} when the policy cannot tell
   * @param permits the permits the refused request asked for, at least 1
   * @param detail why, for humans
   * @param cause the exception the caller received, or {@code null}
   * @return the event
   * @throws NullPointerException if {@code source}, {@code retryAfter} or {@code detail} is null
   * @throws IllegalArgumentException if {@code retryAfter} is negative or {@code permits < 1}
   */
  public static Event rejected(String source, Duration retryAfter, int permits, String detail, Throwable cause) {
    Checks.positive(permits, "permits");
    return new Event(source, Kind.REJECTED, retryAfter, detail, cause, 0, permits, 0L, 0L, null, null);
  }

  /**
   * A {@link Kind#RETRY} event: attempt {@code attempt} failed and the next one follows after
   * {@code delay}.
   *
   * @param source the emitting policy's name
   * @param attempt the attempt that failed, 1 for the first; 0 for a wait before any attempt
   * @param delay the wait before the next attempt
   * @param detail a short description
   * @param cause the failure of the attempt, or {@code null}
   * @return the event
   * @throws NullPointerException if {@code source}, {@code delay} or {@code detail} is null
   * @throws IllegalArgumentException if {@code attempt} or {@code delay} is negative
   */
  public static Event retry(String source, int attempt, Duration delay, String detail, Throwable cause) {
    return new Event(source, Kind.RETRY, delay, detail, cause, attempt, 0, 0L, 0L, null, null);
  }

  /**
   * A {@link Kind#FAILED} event.
   *
   * @param source the emitting policy's name
   * @param attempt the attempt that failed, or 0 when the failure is not an attempt
   * @param detail a short description
   * @param cause the failure, or {@code null}
   * @return the event
   * @throws NullPointerException if {@code source} or {@code detail} is null
   * @throws IllegalArgumentException if {@code attempt} is negative
   */
  public static Event failed(String source, int attempt, String detail, Throwable cause) {
    return new Event(source, Kind.FAILED, Duration.ZERO, detail, cause, attempt, 0, 0L, 0L, null, null);
  }

  /**
   * A {@link Kind#GAVE_UP} event: retrying stopped.
   *
   * @param source the emitting policy's name
   * @param attempts the attempts made
   * @param detail why it stopped
   * @param cause the last failure, or {@code null}
   * @return the event
   * @throws NullPointerException if {@code source} or {@code detail} is null
   * @throws IllegalArgumentException if {@code attempts} is negative
   */
  public static Event gaveUp(String source, int attempts, String detail, Throwable cause) {
    return new Event(source, Kind.GAVE_UP, Duration.ZERO, detail, cause, attempts, 0, 0L, 0L, null, null);
  }

  /**
   * A {@link Kind#SUCCEEDED} event.
   *
   * @param source the emitting policy's name
   * @param attempt the attempt that succeeded, or 0 when attempts are not counted
   * @param detail a short description
   * @return the event
   * @throws NullPointerException if {@code source} or {@code detail} is null
   * @throws IllegalArgumentException if {@code attempt} is negative
   */
  public static Event succeeded(String source, int attempt, String detail) {
    return new Event(source, Kind.SUCCEEDED, Duration.ZERO, detail, null, attempt, 0, 0L, 0L, null, null);
  }

  /**
   * A {@link Kind#LIMIT_CHANGED} event.
   *
   * @param source the emitting policy's name
   * @param before the limit before the change
   * @param after the limit after the change
   * @param detail a short description (for example the reason)
   * @return the event
   * @throws NullPointerException if {@code source} or {@code detail} is null
   */
  public static Event limitChanged(String source, long before, long after, String detail) {
    return new Event(source, Kind.LIMIT_CHANGED, Duration.ZERO, detail, null, 0, 0, before, after, null, null);
  }

  /**
   * A {@link Kind#STATE_CHANGED} event between two values of the primitive's own state enum.
   *
   * @param source the emitting policy's name
   * @param previous the state left
   * @param next the state entered
   * @param detail a short description, or empty
   * @return the event
   * @throws NullPointerException if an argument is null
   */
  public static Event stateChanged(String source, Enum<?> previous, Enum<?> next, String detail) {
    Objects.requireNonNull(previous, "previous");
    Objects.requireNonNull(next, "next");
    return new Event(source, Kind.STATE_CHANGED, Duration.ZERO, detail, null, 0, 0, 0L, 0L, previous, next);
  }

  /**
   * A {@link Kind#FALLBACK} event: a degraded answer was given.
   *
   * @param source the emitting policy's name
   * @param duration how long the degraded mode lasts at least, {@link Duration#ZERO} when unknown
   * @param detail what was served instead
   * @param cause the failure that forced the fallback, or {@code null}
   * @return the event
   * @throws NullPointerException if {@code source}, {@code duration} or {@code detail} is null
   * @throws IllegalArgumentException if {@code duration} is negative
   */
  public static Event fallback(String source, Duration duration, String detail, Throwable cause) {
    return new Event(source, Kind.FALLBACK, duration, detail, cause, 0, 0, 0L, 0L, null, null);
  }
}
