package dev.shepherd.ratelimit;

/**
 * Reconnect-slot admission as callers see it: admit a caller now, by the ticket of its personal
 * slot, or refuse it with a slot (or, beyond the horizon, a shared hint). Implemented by
 * {@link SlotAdmission} (one server's schedule) and by the Redis module's {@code RedisSlotAdmission}
 * (one schedule for the whole fleet), so a connect handler is written once for both:
 *
 * <pre>{@code
 * try {
 *   admission.acquire(deviceKey, SlotTicket.parse(request.header(SlotAdmission.TICKET_HEADER)));
 * } catch (SlotRefusedException refused) {
 *   response.status(429).header("Retry-After", refused.retryAfterHeader());
 *   refused.slotHeader().ifPresent(slot -> response.header(SlotAdmission.SLOT_HEADER, slot));
 * }
 * }</pre>
 *
 * <p>Tickets travel in the {@value SlotAdmission#TICKET_HEADER} and {@value SlotAdmission#SLOT_HEADER}
 * headers and are honoured by every admission built with the same ticket key, of either kind.
 * Implementations are thread-safe; their guarantees are stated on each.
 */
public interface Admission {

  /**
   * Returns the admission's name, used in refusals, events and logs.
   *
   * @return the name
   */
  String name();

  /**
   * Admits a caller that presents no ticket, or refuses it with its slot; the same as
   * {@code acquire(caller, null)}.
   *
   * @param caller the caller's 64-bit identity (a hash of its device id, say)
   * @throws SlotRefusedException if the caller is not admitted now
   */
  default void acquire(long caller) throws SlotRefusedException {
    acquire(caller, null);
  }

  /**
   * Admits a caller, by its ticket or at once, or refuses it with its slot. A valid ticket (this
   * caller's, untampered, issued under the same key) admits from its slot until the grace window
   * closes; presented early, it is refused again with the same ticket and the time left; any other
   * ticket is ignored.
   *
   * @param caller the caller's 64-bit identity; its ticket is bound to it
   * @param ticket the ticket the caller presents, or null
   * @throws SlotRefusedException if the caller is not admitted now: with a personal slot and its
   *     ticket, or with a shared hint when the schedule is full up to the horizon
   */
  void acquire(long caller, SlotTicket ticket) throws SlotRefusedException;
}
