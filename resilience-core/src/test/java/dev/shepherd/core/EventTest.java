package dev.shepherd.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class EventTest {

  private static final Exception CAUSE = new IllegalStateException("down");

  @Test
  void eachFactorySetsTheFieldsOfItsKindAndNoOthers() {
    assertEquals(new Event("s", Event.Kind.REJECTED, Duration.ofSeconds(2), "d", CAUSE, 0, 3, 0, 0, null, null),
        Event.rejected("s", Duration.ofSeconds(2), 3, "d", CAUSE));
    assertEquals(new Event("s", Event.Kind.RETRY, Duration.ofSeconds(1), "d", CAUSE, 4, 0, 0, 0, null, null),
        Event.retry("s", 4, Duration.ofSeconds(1), "d", CAUSE));
    assertEquals(new Event("s", Event.Kind.FAILED, Duration.ZERO, "d", CAUSE, 2, 0, 0, 0, null, null),
        Event.failed("s", 2, "d", CAUSE));
    assertEquals(new Event("s", Event.Kind.GAVE_UP, Duration.ZERO, "d", CAUSE, 5, 0, 0, 0, null, null),
        Event.gaveUp("s", 5, "d", CAUSE));
    assertEquals(new Event("s", Event.Kind.SUCCEEDED, Duration.ZERO, "d", null, 1, 0, 0, 0, null, null),
        Event.succeeded("s", 1, "d"));
    assertEquals(new Event("s", Event.Kind.LIMIT_CHANGED, Duration.ZERO, "d", null, 0, 0, 20, 18, null, null),
        Event.limitChanged("s", 20, 18, "d"));
    assertEquals(new Event("s", Event.Kind.STATE_CHANGED, Duration.ZERO, "d", null, 0, 0, 0, 0,
            Thread.State.NEW, Thread.State.RUNNABLE),
        Event.stateChanged("s", Thread.State.NEW, Thread.State.RUNNABLE, "d"));
    assertEquals(new Event("s", Event.Kind.FALLBACK, Duration.ofSeconds(5), "d", CAUSE, 0, 0, 0, 0, null, null),
        Event.fallback("s", Duration.ofSeconds(5), "d", CAUSE));
  }

  @Test
  void theSimpleFormsCarryNoTypedFields() {
    Event simple = Event.of("s", Event.Kind.STATE_CHANGED, "all devices invalidated");
    assertEquals(Duration.ZERO, simple.delay());
    assertNull(simple.cause());
    assertNull(simple.state());
    assertEquals(0, simple.attempt());
    assertEquals(new Event("s", Event.Kind.FAILED, Duration.ZERO, "d", CAUSE, 0, 0, 0, 0, null, null),
        new Event("s", Event.Kind.FAILED, Duration.ZERO, "d", CAUSE));
  }

  @Test
  void badFieldsAreRefusedWithTheirNameAndValue() {
    assertEquals("permits must be positive: 0", assertThrows(IllegalArgumentException.class,
        () -> Event.rejected("s", Duration.ZERO, 0, "d", null)).getMessage());
    assertEquals("attempt must be zero or positive: -1", assertThrows(IllegalArgumentException.class,
        () -> Event.failed("s", -1, "d", null)).getMessage());
    assertEquals("delay must be zero or positive: PT-1S", assertThrows(IllegalArgumentException.class,
        () -> Event.retry("s", 1, Duration.ofSeconds(-1), "d", null)).getMessage());
    assertThrows(NullPointerException.class, () -> Event.stateChanged("s", null, Thread.State.NEW, ""));
    assertThrows(NullPointerException.class, () -> Event.of(null, Event.Kind.FAILED, ""));
  }
}
