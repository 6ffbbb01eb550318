package dev.shepherd.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SlotAdmissionTest {

  private static final long MS = 1_000_000L;
  private static final long SECOND = 1_000_000_000L;
  private static final byte[] KEY = "sixteen byte key".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

  private final SlotClock clock = new SlotClock(Long.MAX_VALUE - 10 * SECOND, 1_700_000_000_000L);
  private final List<Event> events = new ArrayList<>();

  /** 1,000 per second with no headroom (interval 1 ms), a burst of 5, a 10 s horizon. */
  private SlotAdmission.Builder admission() {
    return SlotAdmission.builder().name("connect").permitsPerSecond(1_000).headroom(0).burst(5)
        .horizon(Duration.ofSeconds(10)).ticketKey(KEY).ticker(clock).clock(clock).listener(events::add);
  }

  private static SlotRefusedException refusal(SlotAdmission admission, long caller, SlotTicket ticket) {
    return assertThrows(SlotRefusedException.class, () -> admission.acquire(caller, ticket));
  }

  @Test
  void aBurstIsAdmittedAndTheRefusedGetSlotsOneIntervalApart() {
    SlotAdmission admission = admission().build();
    for (int caller = 0; caller < 5; caller++) {
      admission.acquire(caller);
    }
    for (int k = 1; k <= 100; k++) {
      SlotRefusedException refused = refusal(admission, 100 + k, null);
      assertTrue(refused.isPersonalSlot());
      assertEquals(k * MS, refused.retryAfterNanos(), "the k-th refusal's slot is k intervals away");
      assertTrue(refused.ticket().isPresent());
      assertEquals(1_700_000_000_000L + k, refused.ticket().orElseThrow().slotEpochMillis());
    }
    assertEquals(5, admission.admittedCount());
    assertEquals(100, admission.slotCount());
    assertEquals(Duration.ofMillis(101), admission.backlog());
    assertEquals(100, events.stream().filter(e -> e.kind() == Event.Kind.REJECTED).count());
  }

  @Test
  void theHeadroomLowersTheRateAndTheIntervalIsRoundedUp() {
    SlotAdmission admission = SlotAdmission.builder().permitsPerSecond(2_000).build();
    assertEquals(Duration.ofNanos(515_464), admission.interval(), "1 s / (2,000 x 0.97), rounded up");
    assertEquals(193, admission.burst(), "a tenth of a second's admissions, rounded down");
    assertEquals(1, SlotAdmission.builder().permitsPerSecond(3).build().burst());
  }

  @Test
  void aTicketAdmitsItsCallerFromItsSlotUntilTheGraceWindowClosesWithoutTakingAPermit() {
    SlotAdmission admission = admission().grace(Duration.ofMillis(200)).build();
    for (int caller = 0; caller < 5; caller++) {
      admission.acquire(caller);
    }
    SlotTicket ticket = refusal(admission, 7, null).ticket().orElseThrow(); // slot in 1 ms
    clock.advance(MS);
    admission.acquire(7, ticket);
    clock.advance(199 * MS);
    admission.acquire(7, ticket); // a replay within the window is admitted too (stateless tickets)
    assertEquals(2, admission.redeemedCount());
    assertEquals(0, admission.backlog().toNanos(), "redemptions take nothing from the schedule");
  }

  @Test
  void aTicketPresentedEarlyIsRefusedAgainWithTheSameTicketAndTheTimeLeft() {
    SlotAdmission admission = admission().build();
    for (int caller = 0; caller < 5; caller++) {
      admission.acquire(caller);
    }
    for (int k = 1; k < 50; k++) {
      refusal(admission, 1_000 + k, null);
    }
    SlotTicket ticket = refusal(admission, 7, null).ticket().orElseThrow(); // slot in 50 ms
    clock.advance(20 * MS);
    SlotRefusedException again = refusal(admission, 7, ticket);
    assertTrue(again.isPersonalSlot());
    assertEquals(30 * MS, again.retryAfterNanos());
    assertEquals(Optional.of(ticket), again.ticket());
    assertEquals(50, admission.slotCount(), "no new slot was reserved");
  }

  @Test
  void anExpiredForgedOrBorrowedTicketIsIgnored() {
    SlotAdmission admission = admission().grace(Duration.ofMillis(100)).build();
    for (int caller = 0; caller < 5; caller++) {
      admission.acquire(caller);
    }
    SlotTicket ticket = refusal(admission, 7, null).ticket().orElseThrow();
    clock.advance(MS);
    SlotTicket shifted = new SlotTicket(ticket.slotEpochMillis() - 1, ticket.tag());
    SlotTicket flipped = new SlotTicket(ticket.slotEpochMillis(), ticket.tag() ^ 1);
    for (SlotTicket bad : new SlotTicket[] {shifted, flipped}) {
      SlotRefusedException refused = refusal(admission, 7, bad);
      assertNotEquals(Optional.of(bad), refused.ticket(), "a bad ticket is not handed back");
    }
    refusal(admission, 8, ticket); // another caller's ticket
    clock.advance(101 * MS);
    // After the window the caller is decided afresh: the schedule has room again by now
    admission.acquire(7, ticket);
    assertEquals(0, admission.redeemedCount());
    assertEquals(6, admission.admittedCount());
  }

  @Test
  void anotherServerWithTheSameKeyHonoursTheTicketAndOneWithAnotherKeyDoesNot() {
    SlotAdmission first = admission().build();
    SlotAdmission second = admission().build();
    SlotAdmission stranger = admission().ticketKey(new byte[16]).burst(1).build();
    for (int caller = 0; caller < 5; caller++) {
      first.acquire(caller);
    }
    SlotTicket ticket = refusal(first, 7, null).ticket().orElseThrow();
    clock.advance(MS);
    stranger.acquire(99); // empties the stranger's burst
    second.acquire(7, ticket);
    assertEquals(1, second.redeemedCount());
    assertEquals(0, second.admittedCount());
    SlotRefusedException refused = refusal(stranger, 7, ticket);
    assertNotEquals(Optional.of(ticket), refused.ticket());
  }

  @Test
  void callersBeyondTheHorizonGetDifferentSharedHintsWithinTheNextHorizon() {
    SlotAdmission admission = admission().horizon(Duration.ofMillis(100)).build();
    for (int caller = 0; caller < 105; caller++) {
      try {
        admission.acquire(caller);
      } catch (SlotRefusedException slot) {
        assertTrue(slot.isPersonalSlot());
      }
    }
    Set<Long> hints = new HashSet<>();
    for (int caller = 0; caller < 1_000; caller++) {
      SlotRefusedException refused = refusal(admission, 1_000 + caller, null);
      assertFalse(refused.isPersonalSlot());
      assertTrue(refused.ticket().isEmpty());
      assertTrue(refused.slotHeader().isEmpty());
      // the next free slot is 101 ms away: hints lie in [1 ms, 101 ms)
      assertTrue(refused.retryAfterNanos() >= MS && refused.retryAfterNanos() < 101 * MS,
          Long.toString(refused.retryAfterNanos()));
      hints.add(refused.retryAfterNanos() / MS);
    }
    assertEquals(100, hints.size(), "spread over every millisecond of the next horizon");
    assertEquals(1_000, admission.beyondHorizonCount());
    assertEquals(100, admission.slotCount());
  }

  @Test
  void theRefusalRendersBothHeadersRoundedUp() {
    SlotAdmission admission = SlotAdmission.builder().permitsPerSecond(3).headroom(0).burst(1).ticketKey(KEY)
        .ticker(clock).clock(clock).listener(EventListener.noop()).build();
    admission.acquire(1);
    SlotRefusedException refused = refusal(admission, 2, null);
    assertEquals(334 * MS, refused.retryAfterNanos(), "333,333,334 ns rounded up to whole ms");
    assertEquals("1", refused.retryAfterHeader());
    String header = refused.slotHeader().orElseThrow();
    assertEquals("334; ticket=" + refused.ticket().orElseThrow(), header);
    assertTrue(refused instanceof RejectedException);
    assertEquals("SlotAdmission 'slot-admission' does not admit now; your slot is in PT0.334S", refused.getMessage());
  }

  @Test
  void ticketsTravelAsTextAndMalformedTextIsNoTicket() {
    SlotTicket ticket = new SlotTicket(1_723_456_789_012L, 0x9f3a0c1d2e3f4a5bL);
    assertEquals("1723456789012.9f3a0c1d2e3f4a5b", ticket.toString());
    assertEquals(ticket, SlotTicket.parse(ticket.toString()));
    assertEquals(new SlotTicket(0, -1), SlotTicket.parse("0.ffffffffffffffff"));
    for (String bad : new String[] {null, "", ".", "1.", "12", "1723456789012.9F3A0C1D2E3F4A5B",
        "1723456789012.9f3a0c1d2e3f4a5", "1723456789012.9f3a0c1d2e3f4a5bb", "-5.9f3a0c1d2e3f4a5b",
        "99999999999999999999.9f3a0c1d2e3f4a5b", "17234x6789012.9f3a0c1d2e3f4a5b", "1723456789012-9f3a0c1d2e3f4a5b",
        ".9f3a0c1d2e3f4a5b"}) {
      assertNull(SlotTicket.parse(bad), bad);
    }
  }

  @Test
  void sipHashMatchesTheReferenceVectors() {
    // Key 00 01 .. 0f, messages 00 01 .. (n-1): vectors_sip64 of the reference implementation
    long k0 = 0x0706050403020100L;
    long k1 = 0x0f0e0d0c0b0a0908L;
    assertEquals(0x726fdb47dd0e0e31L, SipHash.hash(k0, k1, new long[0]));
    assertEquals(0x93f5f5799a932462L, SipHash.hash(k0, k1, new long[] {0x0706050403020100L}));
    assertEquals(0x3f2acc7f57c29bdbL, SipHash.hash(k0, k1, 0x0706050403020100L, 0x0f0e0d0c0b0a0908L));
    assertEquals(0x3f2acc7f57c29bdbL, SipHash.hash(k0, k1, new long[] {0x0706050403020100L, 0x0f0e0d0c0b0a0908L}));
    assertEquals(0xb8ad50c6f649af94L,
        SipHash.hash(k0, k1, new long[] {0x0706050403020100L, 0x0f0e0d0c0b0a0908L, 0x1716151413121110L}));
  }

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheValue() {
    SlotAdmission.Builder b = SlotAdmission.builder();
    assertEquals("rate must be set: call permitsPerSecond(rate)",
        assertThrows(IllegalStateException.class, b::build).getMessage());
    assertEquals("permitsPerSecond must be positive and at most 10^9: 0.0",
        assertThrows(IllegalArgumentException.class, () -> b.permitsPerSecond(0)).getMessage());
    assertEquals("headroom must be between 0 and 0.5: 0.6",
        assertThrows(IllegalArgumentException.class, () -> b.headroom(0.6)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.headroom(Double.NaN));
    assertThrows(IllegalArgumentException.class, () -> b.burst(0));
    assertThrows(IllegalArgumentException.class, () -> b.horizon(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> b.horizon(Duration.ofDays(400)));
    assertThrows(IllegalArgumentException.class, () -> b.grace(Duration.ofNanos(999_999)));
    assertEquals("ticketKey must be 16 bytes long: 15 bytes",
        assertThrows(IllegalArgumentException.class, () -> b.ticketKey(new byte[15])).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.name(" "));
    assertThrows(NullPointerException.class, () -> b.ticker(null));
    assertThrows(NullPointerException.class, () -> b.clock(null));
  }

  @Test
  void theKeyIsCopiedSoChangingTheCallersArrayChangesNothing() {
    byte[] key = KEY.clone();
    SlotAdmission admission = admission().ticketKey(key).burst(1).build();
    admission.acquire(1);
    SlotTicket ticket = refusal(admission, 2, null).ticket().orElseThrow();
    key[0] ^= 1;
    clock.advance(SECOND);
    admission.acquire(2, ticket);
    assertEquals(1, admission.redeemedCount());
  }
}
