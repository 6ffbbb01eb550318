package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The runaway upstream on loopback, short: 100 calls/s, one healthy second, a two-second stall,
 * one second after. Real threads and sockets; every assertion is about counts, none about timing.
 */
@Tag("concurrency")
class RunawayUpstreamTest {

  private static final RunawayUpstream.Plan PLAN = new RunawayUpstream.Plan(
      100, Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(1));

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void withoutABulkheadCallsPileUpAndThroughOneTheyStayBoundedAndAreRefusedFast() throws Exception {
    RunawayUpstream.Summary piled = RunawayUpstream.replay(PLAN, RunawayUpstream.unprotected(), out);
    RunawayUpstream.Summary held = RunawayUpstream.replay(PLAN, RunawayUpstream.adaptive(), out);

    // Without: two seconds of stall at 100 calls/s leave on the order of 200 calls hanging (at
    // least half of that, whatever the scheduling), none refused.
    assertTrue(piled.inFlightAtStallEnd() >= 100, "in flight at the stall's end: " + piled.inFlightAtStallEnd());
    assertEquals(0, piled.rejected());
    // With: never more than the bulkhead's maximum limit in flight (plus one: a refused call is
    // counted for the instant between its start and its refusal), and most callers refused.
    assertTrue(held.maxInFlight() <= 50 + 1, "max in flight " + held.maxInFlight());
    assertTrue(held.rejected() > 50, "rejected " + held.rejected());
    assertTrue(held.inFlightAtStallEnd() < piled.inFlightAtStallEnd() / 2);
    // The timeline was printed for both runs.
    String timeline = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(timeline.contains("STALLED") && timeline.contains("AdaptiveBulkhead"), timeline);
  }

  @Test
  void badOptionsExitWithTwo() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = RunawayUpstream.run(new String[] {"--rate", "fast"}, out,
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, status);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--rate"));
  }
}
