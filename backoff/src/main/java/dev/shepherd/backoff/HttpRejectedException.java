package dev.shepherd.backoff;

import dev.shepherd.core.RejectedException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Objects;

/**
 * An HTTP response whose status asks the client to come back later (by default 429 Too Many
 * Requests or 503 Service Unavailable), raised by {@link HttpRetry} so that a {@link Retry} retries
 * it and honours its {@code Retry-After} header.
 *
 * <p>It is a {@link RejectedException} (the server rejected the call), so {@link #retryAfter()}
 * carries the parsed header and a {@link Retry} with the default hint extractor waits at least that
 * long, plus jitter. {@link #policyName()} is the request's host. Like every rejection it carries no
 * stack trace. Immutable; the response is not serialized.
 */
public final class HttpRejectedException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /** The HTTP status of the rejecting response (429 or 503 by default). */
  private final int statusCode;
  private final transient HttpResponse<?> response;
  /** The personal slot's ticket; never part of the message (a ticket admits its holder). */
  private final transient String slotTicket;

  /**
   * Creates the rejection for {@code response}.
   *
   * @param response the response with a retryable status
   * @param retryAfter the parsed {@code Retry-After} wait, or {@code null} when absent or malformed
   * @throws NullPointerException if {@code response} is null
   * @throws IllegalArgumentException if {@code retryAfter} is negative
   */
  public HttpRejectedException(HttpResponse<?> response, Duration retryAfter) {
    super(host(response), message(response, retryAfter), retryAfter);
    this.statusCode = response.statusCode();
    this.response = response;
    this.slotTicket = null;
  }

  /**
   * Creates the rejection for a response that reserved a personal slot for this caller (the
   * {@value HttpRetry#SLOT_HEADER} header): {@link #isPersonalSlot()} is {@code true}, so a
   * {@link Retry} comes back at the slot with a small fixed jitter and does not grow its backoff.
   *
   * @param response the response with a retryable status
   * @param slot the wait until the slot, zero or more
   * @param slotTicket the ticket to present when coming back, or {@code null} if none was given
   * @throws NullPointerException if {@code response} or {@code slot} is null
   * @throws IllegalArgumentException if {@code slot} is negative
   */
  public HttpRejectedException(HttpResponse<?> response, Duration slot, String slotTicket) {
    super(host(response), message(response, slot) + " (personal slot)", slot.toNanos(), true);
    this.statusCode = response.statusCode();
    this.response = response;
    this.slotTicket = slotTicket;
  }

  /**
   * Returns the ticket of the personal slot the server reserved, to present in the
   * {@value HttpRetry#TICKET_HEADER} header when coming back ({@link HttpRetry} does so).
   *
   * @return the ticket, or empty for a shared hint or a slot without a ticket
   */
  public java.util.Optional<String> slotTicket() {
    return java.util.Optional.ofNullable(slotTicket);
  }

  private static String host(HttpResponse<?> response) {
    Objects.requireNonNull(response, "response");
    String host = response.request().uri().getHost();
    return host == null ? response.request().uri().toString() : host;
  }

  private static String message(HttpResponse<?> response, Duration retryAfter) {
    return "HTTP " + response.statusCode() + " from " + response.request().method() + " "
        + response.request().uri() + (retryAfter == null ? "" : ", Retry-After " + retryAfter);
  }

  /**
   * Returns the response's status code.
   *
   * @return the HTTP status, for example 503
   */
  public int statusCode() {
    return statusCode;
  }

  /**
   * Returns the response, body included, or null after deserialization.
   *
   * @return the rejected response
   */
  public HttpResponse<?> response() {
    return response;
  }
}
