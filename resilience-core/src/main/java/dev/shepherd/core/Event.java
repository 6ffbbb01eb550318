package dev.shepherd.core;

import java.time.Duration;
import java.util.Objects;

/**
 * Something a Shepherd primitive reports to its {@link EventListener}: a rejection, a retry, a
 * state change.
 *
 * <p>Primitives emit events on their slow paths only (a rejection, a retry, a change of state),
 * never on the path that grants a permit, so listening costs nothing while all is well.
 * The {@code detail} is meant for humans and logs: primitives never put a secret in it.
 *
 * @param source the name of the policy instance that emitted the event
 * @param kind what happened
 * @param delay the wait the event announces (a retry's delay, a rejection's retry-after), or
 *     {@link Duration#ZERO} when there is none
 * @param detail a short human-readable description; empty when there is nothing to add
 * @param cause the failure behind the event, or {@code null}
 */
public record Event(String source, Kind kind, Duration delay, String detail, Throwable cause) {

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
    /** A primitive moved between states, named in {@link Event#detail()}. */
    STATE_CHANGED,
    /** A concurrency or rate limit changed; the new value is in {@link Event#detail()}. */
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
   * @throws NullPointerException if {@code source}, {@code kind}, {@code delay} or {@code detail}
   *     is null
   */
  public Event {
    Objects.requireNonNull(source, "source");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(delay, "delay");
    Objects.requireNonNull(detail, "detail");
  }

  /**
   * Creates an event with no delay and no cause.
   *
   * @param source the emitting policy's name
   * @param kind what happened
   * @param detail a short description, or empty
   * @return the event
   */
  public static Event of(String source, Kind kind, String detail) {
    return new Event(source, kind, Duration.ZERO, detail, null);
  }
}
