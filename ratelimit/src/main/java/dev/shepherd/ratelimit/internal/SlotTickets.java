package dev.shepherd.ratelimit.internal;

import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Minting and checking {@link SlotTicket}s, and building {@link SlotRefusedException}s, for
 * admissions outside {@code dev.shepherd.ratelimit} (the Redis slot admission), so that they issue
 * and honour exactly the tickets a {@code SlotAdmission} does. Not API: this package is exported
 * only to Shepherd's own modules.
 *
 * <p>The ticket's constructor, its tag and the MAC are package-private in
 * {@code dev.shepherd.ratelimit}; a package-private class there ({@code SlotTicketAccess}) hands
 * this class an {@link Access} when it is initialised, which {@link #access()} triggers on first
 * use (the JDK's "shared secrets" pattern). Stateless after that; thread-safe.
 */
public final class SlotTickets {

  /** What {@code dev.shepherd.ratelimit} lends this package. */
  public interface Access {
    /**
     * Returns the 128-bit MAC key of a 16-byte ticket key, as the two little-endian words
     * {@code SlotAdmission} uses.
     *
     * @param key 16 bytes
     * @return {k0, k1}
     */
    long[] keyWords(byte[] key);

    /**
     * Returns the tag of a caller's slot under the key {@code k0 ‖ k1}.
     *
     * @param k0 the key's first word
     * @param k1 the key's second word
     * @param caller the caller's identity
     * @param slotEpochMillis the slot
     * @return the SipHash-2-4 tag
     */
    long tag(long k0, long k1, long caller, long slotEpochMillis);

    /**
     * Returns a ticket's tag.
     *
     * @param ticket the ticket
     * @return its tag
     */
    long tagOf(SlotTicket ticket);

    /**
     * Returns a ticket for a slot with a tag.
     *
     * @param slotEpochMillis the slot
     * @param tag its tag
     * @return the ticket
     */
    SlotTicket ticket(long slotEpochMillis, long tag);

    /**
     * Returns a refusal.
     *
     * @param name the admission's name
     * @param retryAfterNanos the wait
     * @param ticket the ticket of a personal slot, or null for a shared hint
     * @return the exception
     */
    SlotRefusedException refused(String name, long retryAfterNanos, SlotTicket ticket);
  }

  private static final AtomicReference<Access> ACCESS = new AtomicReference<>();

  private SlotTickets() {}

  /**
   * Installs the access; called once, by {@code dev.shepherd.ratelimit}'s own initialiser.
   *
   * @param a the access
   * @throws IllegalStateException if one is installed already
   */
  public static void install(Access a) {
    if (!ACCESS.compareAndSet(null, Objects.requireNonNull(a, "a"))) {
      throw new IllegalStateException("slot ticket access already installed");
    }
  }

  /**
   * Returns the access, initialising the class that installs it on first use.
   *
   * @return the access
   */
  public static Access access() {
    Access a = ACCESS.get();
    if (a != null) {
      return a;
    }
    try {
      // Same module: reflection needs no opens; initialising the class runs its install call.
      Class.forName("dev.shepherd.ratelimit.SlotTicketAccess", true, SlotTickets.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
    return Objects.requireNonNull(ACCESS.get(), "access");
  }
}
