package dev.shepherd.ratelimit;

import dev.shepherd.ratelimit.internal.SlotTickets;

/**
 * Lends {@link SlotTickets} the package-private pieces of a ticket (its constructor, its tag, the
 * MAC) and of a refusal, so the Redis slot admission issues and honours the same tickets as
 * {@link SlotAdmission}. Installed when this class is initialised, which {@link SlotTickets#access()}
 * triggers. Stateless.
 */
final class SlotTicketAccess implements SlotTickets.Access {

  static {
    SlotTickets.install(new SlotTicketAccess());
  }

  private SlotTicketAccess() {}

  @Override
  public long[] keyWords(byte[] key) {
    if (key.length != 16) {
      throw new IllegalArgumentException("ticketKey must be 16 bytes long: " + key.length + " bytes");
    }
    return new long[] {littleEndian(key, 0), littleEndian(key, 8)};
  }

  /** The key's bytes {@code from .. from + 7} as a little-endian word, as {@code SlotAdmission} reads them. */
  private static long littleEndian(byte[] key, int from) {
    long word = 0;
    for (int i = 7; i >= 0; i--) {
      word = (word << 8) | (key[from + i] & 0xFF);
    }
    return word;
  }

  @Override
  public long tag(long k0, long k1, long caller, long slotEpochMillis) {
    return SipHash.hash(k0, k1, caller, slotEpochMillis);
  }

  @Override
  public long tagOf(SlotTicket ticket) {
    return ticket.tag();
  }

  @Override
  public SlotTicket ticket(long slotEpochMillis, long tag) {
    return new SlotTicket(slotEpochMillis, tag);
  }

  @Override
  public SlotRefusedException refused(String name, long retryAfterNanos, SlotTicket ticket) {
    return new SlotRefusedException(name, retryAfterNanos, ticket);
  }
}
