package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live fleet on loopback at a small size: real sockets, threads, H2 and the library's classes.
 * Every run is bounded by its own {@code maxRun} and stops every thread it started; assertions are
 * about counts, never about timing.
 */
@Tag("concurrency")
class LiveFleetTest {

  @TempDir Path folder;

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  private LiveFleet.Settings settings(int hubs, int capacity, boolean unprotected) {
    return new LiveFleet.Settings(hubs, capacity, 200, Duration.ofSeconds(1), Duration.ofSeconds(2),
        Duration.ofSeconds(30), Duration.ofSeconds(3), 7L, null, null, null, unprotected, folder);
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void protectedEveryHubReconnectsAfterTheDropWithTheCacheAnsweringForTheDatabase() throws Exception {
    LiveFleet.Summary summary = LiveFleet.run(settings(200, 200, false), out);

    assertEquals(200, summary.dropped(), bytes.toString(StandardCharsets.UTF_8));
    assertTrue(summary.nanosToReconnectAll() >= 0, "not every hub came back");
    assertEquals(200, summary.connectedAtEnd());
    // The cache was warmed by the fleet's first connection: at most one query per device after
    // the drop (none, unless an entry was refreshed), against one per reconnect without it.
    assertTrue(summary.queriesAfterDrop() <= 200, "queries after the drop: " + summary.queriesAfterDrop());
    assertTrue(summary.queriesBeforeDrop() >= 200, "the first connection of each hub is a query");
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void unprotectedEveryReconnectIsADatabaseQuery() throws Exception {
    // A database fast enough that the small fleet does not collapse.
    LiveFleet.Summary summary = LiveFleet.run(settings(100, 2_000, true), out);

    assertEquals(100, summary.dropped());
    assertTrue(summary.nanosToReconnectAll() >= 0, "not every hub came back");
    assertTrue(summary.queriesAfterDrop() >= 100, "queries after the drop: " + summary.queriesAfterDrop());
  }

  @Test
  @Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void theCommandLinePrintsATimelineASummaryAndWritesTheCharts() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = LiveFleet.run(new String[] {"--hubs", "50", "--capacity", "500", "--admission", "200",
        "--ramp", "0.5", "--drop-at", "1", "--max-seconds", "20", "--out", folder.toString()},
        out, new PrintStream(err, true, StandardCharsets.UTF_8));

    String text = bytes.toString(StandardCharsets.UTF_8);
    assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
    // How many were connected at the drop depends on this machine's load (a hub refused in the
    // ramp may still be waiting out its retry-after): the drop and the summary must be there.
    assertTrue(text.matches("(?s).*drops all \\d+ connections.*") && text.contains("Summary (protected)"), text);
    byte[] png = Files.readAllBytes(folder.resolve("live-protected.png"));
    byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    assertArrayEquals(signature, Arrays.copyOf(png, signature.length));
  }

  @Test
  void badOptionsExitWithTwo() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = LiveFleet.run(new String[] {"--drop-at", "50", "--max-seconds", "60"}, out,
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(2, status);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--drop-at"));
  }
}
