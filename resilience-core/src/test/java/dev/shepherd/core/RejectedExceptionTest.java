package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RejectedExceptionTest {

  @Test
  void carriesThePolicyNameMessageAndRetryAfter() {
    RejectedException e = new RejectedException("connect", "RateLimiter 'connect' is saturated", Duration.ofMillis(1500));
    assertEquals("connect", e.policyName());
    assertEquals("RateLimiter 'connect' is saturated", e.getMessage());
    assertEquals(Optional.of(Duration.ofMillis(1500)), e.retryAfter());
    assertEquals(1_500_000_000L, e.retryAfterNanos());
  }

  @Test
  void aHintGivenInNanosIsExact() {
    RejectedException e = new RejectedException("connect", "no", 123_456_789L);
    assertEquals(Optional.of(Duration.ofNanos(123_456_789L)), e.retryAfter());
  }

  @Test
  void aHintIsSharedUnlessThePolicySaysItIsAPersonalSlot() {
    assertFalse(new RejectedException("connect", "no", 5L).isPersonalSlot());
    assertFalse(new RejectedException("connect", "no", Duration.ofSeconds(1)).isPersonalSlot());
    assertFalse(new RejectedException("connect", "no", 5L, false).isPersonalSlot());
    RejectedException slot = new RejectedException("connect", "your slot", 5L, true);
    assertTrue(slot.isPersonalSlot());
    assertEquals(5L, slot.retryAfterNanos());
    assertThrows(IllegalArgumentException.class, () -> new RejectedException("connect", "no", -1L, true));
  }

  @Test
  void anUnknownHintIsEmpty() {
    RejectedException e = new RejectedException("db", "Bulkhead 'db' is full", null);
    assertEquals(Optional.empty(), e.retryAfter());
    assertEquals(-1, e.retryAfterNanos());
  }

  @Test
  void aZeroHintMeansRetryNow() {
    assertEquals(Optional.of(Duration.ZERO), new RejectedException("x", "m", Duration.ZERO).retryAfter());
  }

  @Test
  void aNegativeHintIsRejectedWithItsValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new RejectedException("x", "m", Duration.ofSeconds(-2)));
    assertEquals("retryAfter must be zero or positive: PT-2S", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new RejectedException("x", "m", -5L));
    assertEquals("retryAfterNanos must be zero or positive: -5", e.getMessage());
  }

  @Test
  void anAbsurdHintSaturatesInsteadOfOverflowing() {
    RejectedException e = new RejectedException("x", "m", Duration.ofSeconds(Long.MAX_VALUE));
    assertEquals(Long.MAX_VALUE, e.retryAfterNanos());
  }

  @Test
  void rejectionsAreCheapToThrowBecauseTheyCarryNoStackTrace() {
    assertEquals(0, new RejectedException("x", "m", null).getStackTrace().length);
  }

  @Test
  void aRejectionCanCarryTheFailureBehindIt() {
    java.io.IOException down = new java.io.IOException("backend down");
    RejectedException e = new RejectedException("auth", "backend 'auth' unavailable", Duration.ofSeconds(5), down);
    assertEquals(down, e.getCause());
    assertEquals(Optional.of(Duration.ofSeconds(5)), e.retryAfter());
    assertEquals(null, new RejectedException("x", "m", null).getCause());
  }

  @Test
  void subclassesKeepTheHint() {
    class LimitExceeded extends RejectedException {
      private static final long serialVersionUID = 1L;

      LimitExceeded() {
        super("connect", "limit exceeded", Duration.ofSeconds(3));
      }
    }
    RejectedException e = new LimitExceeded();
    assertEquals(Optional.of(Duration.ofSeconds(3)), e.retryAfter());
  }
}
