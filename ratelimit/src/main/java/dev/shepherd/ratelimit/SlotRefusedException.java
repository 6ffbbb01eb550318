package dev.shepherd.ratelimit;

import dev.shepherd.core.RejectedException;
import dev.shepherd.core.RetryAfter;
import java.time.Duration;
import java.util.Optional;

/**
 * A {@link SlotAdmission}'s refusal: when to come back and, for a personal slot, the ticket to
 * present then.
 *
 * <p>Most refusals carry a <em>personal slot</em> ({@link #isPersonalSlot()} is true): a time
 * reserved for this caller alone, spaced from the other refused callers' slots at the rate the
 * admission will serve, with a {@link #ticket()} that any server sharing the ticket key honours
 * from the slot until the grace window closes. A caller should come back at the slot with only a
 * small fixed jitter. A caller beyond the admission's horizon gets a <em>shared hint</em> instead
 * (no ticket), to be honoured with proportional jitter as any other.
 *
 * <p>Over HTTP, send {@link #retryAfterHeader()} as {@code Retry-After} (whole seconds, rounded up,
 * for any client) and, for a personal slot, {@link #slotHeader()} as {@value
 * SlotAdmission#SLOT_HEADER}. Like every rejection it captures no stack trace. Immutable.
 */
public final class SlotRefusedException extends RejectedException {

  private static final long serialVersionUID = 1L;

  /** The ticket of a personal slot, null for a shared hint. */
  private final transient SlotTicket ticket; // a ticket admits its holder: never serialised

  SlotRefusedException(String admissionName, long retryAfterNanos, SlotTicket ticket) {
    super(admissionName, message(admissionName, retryAfterNanos, ticket != null), retryAfterNanos, ticket != null);
    this.ticket = ticket;
  }

  private static String message(String name, long retryAfterNanos, boolean personal) {
    return "SlotAdmission '" + name + "' does not admit now; "
        + (personal ? "your slot is in " : "the schedule is full; retry after ") + Duration.ofNanos(retryAfterNanos);
  }

  /**
   * Returns the ticket to present at the slot.
   *
   * @return the ticket of a personal slot, empty for a shared hint
   */
  public Optional<SlotTicket> ticket() {
    return Optional.ofNullable(ticket);
  }

  /**
   * Returns the wait as an HTTP {@code Retry-After} value: whole seconds, rounded up.
   *
   * @return the header value, for example {@code "42"}
   */
  public String retryAfterHeader() {
    return RetryAfter.formatNanos(retryAfterNanos());
  }

  /**
   * Returns the {@value SlotAdmission#SLOT_HEADER} header value of a personal slot: the wait in
   * whole milliseconds (rounded up, so the caller never comes back early), then the ticket, as in
   * {@code 41250; ticket=1723456789012.9f3a0c1d2e3f4a5b}.
   *
   * @return the header value, or empty for a shared hint
   */
  public Optional<String> slotHeader() {
    if (ticket == null) {
      return Optional.empty();
    }
    long millis = retryAfterNanos() / 1_000_000L + (retryAfterNanos() % 1_000_000L == 0 ? 0 : 1);
    return Optional.of(millis + "; ticket=" + ticket);
  }
}
