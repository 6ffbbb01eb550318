package dev.shepherd.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class PermitsTest {

  @Test
  void acceptsOneToMaxAndNamesTheRuleOtherwise() {
    assertEquals(1, Permits.check(1, 10, "the burst"));
    assertEquals(10, Permits.check(10, 10, "the burst"));
    assertEquals("permits must be positive: 0",
        assertThrows(IllegalArgumentException.class, () -> Permits.check(0, 10, "the burst")).getMessage());
    assertEquals("permits must be at most 10 (the burst; more could never be granted): 11",
        assertThrows(IllegalArgumentException.class, () -> Permits.check(11, 10, "the burst")).getMessage());
  }
}
