package dev.shepherd.ratelimit;

import java.util.Locale;

/**
 * A caller's proof of its reconnect slot: handed out by a {@link SlotAdmission} with a refusal,
 * presented when the caller comes back, and honoured by every admission that shares the ticket key
 * (any server behind the load balancer), from the slot until the admission's grace window closes.
 *
 * <p>A ticket holds the slot as a wall-clock instant in epoch milliseconds and a 64-bit tag, a
 * SipHash-2-4 MAC of the slot and the caller's identity under the shared key. It cannot be moved
 * to another slot or another caller without the key: a tampered ticket admits nothing. It travels
 * as text ({@link #toString()}, parsed by {@link #parse(CharSequence)}), for example in the
 * {@value SlotAdmission#TICKET_HEADER} request header: {@code 1723456789012.9f3a0c1d2e3f4a5b},
 * the slot in decimal, a dot, the tag in 16 lower-case hexadecimal digits.
 *
 * <p>Immutable and thread-safe; it carries no secret.
 */
public final class SlotTicket {

  private static final int TAG_DIGITS = 16;
  private static final int MAX_SLOT_DIGITS = 19;

  private final long slotEpochMillis;
  private final long tag;

  SlotTicket(long slotEpochMillis, long tag) {
    this.slotEpochMillis = slotEpochMillis;
    this.tag = tag;
  }

  /**
   * Parses a ticket's text form. Parsing is total: anything malformed gives null, never an
   * exception, since the text comes from the network.
   *
   * @param text the ticket as {@link #toString()} renders it; may be null
   * @return the ticket, or null when {@code text} is null or not a ticket's text
   */
  public static SlotTicket parse(CharSequence text) {
    if (text == null) {
      return null;
    }
    int length = text.length();
    int dot = length - TAG_DIGITS - 1;
    if (dot < 1 || dot > MAX_SLOT_DIGITS || text.charAt(dot) != '.') {
      return null;
    }
    long slot = 0;
    for (int i = 0; i < dot; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9' || slot > (Long.MAX_VALUE - (c - '0')) / 10) {
        return null;
      }
      slot = slot * 10 + (c - '0');
    }
    long tag = 0;
    for (int i = dot + 1; i < length; i++) {
      int digit = Character.digit(text.charAt(i), 16);
      if (digit < 0 || Character.isUpperCase(text.charAt(i))) {
        return null;
      }
      tag = (tag << 4) | digit;
    }
    return new SlotTicket(slot, tag);
  }

  /**
   * Returns the slot: the wall-clock instant, in milliseconds since the epoch, from which the
   * ticket admits its caller.
   *
   * @return the slot in epoch milliseconds
   */
  public long slotEpochMillis() {
    return slotEpochMillis;
  }

  long tag() {
    return tag;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof SlotTicket
        && ((SlotTicket) other).slotEpochMillis == slotEpochMillis
        && ((SlotTicket) other).tag == tag;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(slotEpochMillis) * 31 + Long.hashCode(tag);
  }

  /**
   * Returns the ticket's text form, which {@link #parse(CharSequence)} reads back.
   *
   * @return for example {@code 1723456789012.9f3a0c1d2e3f4a5b}
   */
  @Override
  public String toString() {
    return slotEpochMillis + "." + String.format(Locale.ROOT, "%016x", tag);
  }
}
