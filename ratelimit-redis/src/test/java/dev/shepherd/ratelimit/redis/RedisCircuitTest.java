package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The circuit alone, on a manual clock, with probes the test completes by hand: no Redis needed. */
class RedisCircuitTest {

  private static final long COOL_DOWN = Duration.ofSeconds(1).toNanos();
  private static final long PROBE_TIMEOUT = Duration.ofMillis(50).toNanos();

  private final ManualClock clock = new ManualClock();
  private final List<CompletableFuture<String>> probes = new ArrayList<>();
  private final List<String> reports = new ArrayList<>();
  private final RedisCircuit circuit = new RedisCircuit(clock, COOL_DOWN, PROBE_TIMEOUT, () -> {
    CompletableFuture<String> f = new CompletableFuture<>();
    probes.add(f);
    return f;
  }, new RedisCircuit.Transitions() {
    @Override
    public void opened(Throwable cause) {
      reports.add("opened: " + cause.getMessage());
    }

    @Override
    public void closed(long openNanos) {
      reports.add("closed after " + Duration.ofNanos(openNanos));
    }

    @Override
    public void probeFailed(Throwable cause) {
      reports.add("probe failed: " + cause.getMessage());
    }
  });

  @Test
  void aClosedCircuitLetsEveryCheckThroughAndReportsNothing() {
    for (int i = 0; i < 3; i++) {
      assertTrue(circuit.allowed());
    }
    assertFalse(circuit.isOpen());
    assertEquals(0, circuit.timeOpenNanos());
    assertEquals(COOL_DOWN, circuit.untilProbeNanos());
    assertEquals(List.of(), reports);
    assertEquals(List.of(), probes);
  }

  @Test
  void aFailureOpensItOnceAndChecksAreDecidedLocallyWithoutProbingUntilTheCoolDownEnds() {
    circuit.trip(new IOException("timeout"));
    circuit.trip(new IOException("another request's timeout")); // the same outage: no second report
    assertEquals(List.of("opened: timeout"), reports);
    assertTrue(circuit.isOpen());
    clock.advance(Duration.ofMillis(400));
    assertFalse(circuit.allowed());
    assertEquals(List.of(), probes, "no probe before the cool-down");
    assertEquals(Duration.ofMillis(600).toNanos(), circuit.untilProbeNanos());
    assertEquals(Duration.ofMillis(400).toNanos(), circuit.timeOpenNanos());
    clock.advance(Duration.ofMillis(599));
    assertFalse(circuit.allowed());
    assertEquals(0, probes.size());
    assertEquals(PROBE_TIMEOUT, circuit.untilProbeNanos(), "never less than one probe's timeout");
  }

  @Test
  void exactlyOneProbeStartsAtTheEndOfTheCoolDownAndItsAnswerClosesTheCircuit() {
    circuit.trip(new IOException("timeout"));
    clock.advance(Duration.ofSeconds(1));
    assertFalse(circuit.allowed(), "the check that starts the probe is still decided locally");
    assertFalse(circuit.allowed());
    assertFalse(circuit.allowed());
    assertEquals(1, probes.size(), "one probe, however many checks");
    assertEquals(PROBE_TIMEOUT, circuit.untilProbeNanos());
    clock.advance(Duration.ofMillis(10));
    probes.get(0).complete("sha");
    assertFalse(circuit.isOpen());
    assertTrue(circuit.allowed());
    assertEquals(List.of("opened: timeout", "closed after PT1.01S"), reports);
    clock.advance(Duration.ofMinutes(1));
    assertEquals(Duration.ofMillis(1010).toNanos(), circuit.timeOpenNanos(), "the finished episode only");
  }

  @Test
  void aFailedProbeKeepsItOpenForAnotherCoolDownAndTheEpisodesAddUp() {
    circuit.trip(new IOException("timeout"));
    clock.advance(Duration.ofSeconds(1));
    circuit.allowed();
    clock.advance(Duration.ofMillis(50));
    IOException refused = new IOException("connection refused");
    probes.get(0).completeExceptionally(refused);
    assertTrue(circuit.isOpen());
    assertEquals(List.of("opened: timeout", "probe failed: connection refused"), reports);
    assertEquals(COOL_DOWN, circuit.untilProbeNanos(), "the next probe one cool-down after the failure");
    clock.advance(Duration.ofMillis(999));
    assertFalse(circuit.allowed());
    assertEquals(1, probes.size());
    clock.advance(Duration.ofMillis(1));
    assertFalse(circuit.allowed());
    assertEquals(2, probes.size());
    probes.get(1).complete("sha");
    assertEquals(Duration.ofMillis(2050).toNanos(), circuit.timeOpenNanos());
    // A second outage adds to the total.
    circuit.trip(new IOException("again"));
    clock.advance(Duration.ofMillis(300));
    assertEquals(Duration.ofMillis(2350).toNanos(), circuit.timeOpenNanos());
  }

  @Test
  void aProbeThatThrowsWhenStartedCountsAsAFailedProbe() {
    IllegalStateException closedConnection = new IllegalStateException("connection closed");
    RedisCircuit c = new RedisCircuit(clock, COOL_DOWN, PROBE_TIMEOUT, () -> {
      throw closedConnection;
    }, new RedisCircuit.Transitions() {
      @Override
      public void opened(Throwable cause) {}

      @Override
      public void closed(long openNanos) {
        throw new AssertionError("closed without an answer");
      }

      @Override
      public void probeFailed(Throwable cause) {
        assertSame(closedConnection, cause);
        reports.add("failed");
      }
    });
    c.trip(new IOException("timeout"));
    clock.advance(Duration.ofSeconds(1));
    assertFalse(c.allowed());
    assertEquals(List.of("failed"), reports);
    assertTrue(c.isOpen());
    assertEquals(COOL_DOWN, c.untilProbeNanos());
  }
}
