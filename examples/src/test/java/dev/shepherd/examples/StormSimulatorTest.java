package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StormSimulatorTest {

  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

  @TempDir Path folder;

  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
  private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

  private String out() {
    return outBytes.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  void helpExplainsEveryOptionAndExitsZero() {
    int status = StormSimulator.run(new String[] {"--help"}, out, err);
    assertEquals(0, status);
    for (String option : new String[] {"--hubs", "--capacity", "--servers", "--seed", "--duration", "--timeout",
        "--out", "--json", "--only", "--guard-study"}) {
      assertTrue(out().contains(option), "help does not mention " + option);
    }
    assertEquals("", err());
  }

  @ParameterizedTest
  @ValueSource(strings = {
    "--hubs abc", "--hubs 0", "--hubs -5", "--capacity", "--duration 0", "--timeout zero",
    "--seed 1.5", "--bogus 1", "stray", "--hubs 10 --hubs 20", "--help=yes", "--out=", "--servers 0",
    "--json=", "--only nothing-is-called-this"
  })
  void badOptionsGetAClearMessageAndExitCodeTwo(String line) {
    int status = StormSimulator.run(line.split(" "), out, err);
    assertEquals(2, status, line);
    assertTrue(err().startsWith("storm simulator: "), err());
    assertTrue(err().contains("--help"), err());
    assertEquals("", out(), "nothing is simulated on a bad command line");
  }

  @Test
  void theMessageNamesTheOptionAndTheValue() {
    StormSimulator.run(new String[] {"--hubs", "lots"}, out, err);
    assertTrue(err().contains("--hubs") && err().contains("lots"), err());
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void theGuardStudyRunsTheOutageAgainstBothOrdersOfTheDeadlineGuard() {
    int status = StormSimulator.run(new String[] {"--hubs", "2,000", "--capacity=40", "--duration", "120",
        "--guard-study", "--only", "newest", "--out", folder.toString()}, out, err);
    assertEquals(0, status, err());
    for (String cost : new String[] {"0", "5", "20"}) {
      assertTrue(out().contains("immediate retry, guard, newest-first, drop " + cost + " %"), out());
    }
    assertTrue(!out().contains("FIFO"), out());
  }

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aSmallRunPrintsTheTableAndWritesValidPngCharts() throws IOException {
    Path charts = folder.resolve("charts");
    Path json = folder.resolve("rows").resolve("storm.json");
    int status = StormSimulator.run(new String[] {"--hubs", "2,000", "--capacity=40", "--duration", "300", "--out",
        charts.toString(), "--servers", "2", "--json", json.toString()}, out, err);

    assertEquals(0, status, err());
    assertTrue(out().contains("peak att/s"), out());
    assertTrue(out().contains("Shepherd (defaults) "), out());
    String rows = Files.readString(json);
    for (String row : new String[] {"1 outage: immediate retry", "Shepherd (defaults)", "Shepherd (defaults), fleet-wide limit"}) {
      assertTrue(rows.contains("\"strategy\": \"" + row + "\""), rows);
    }
    for (String name : new String[] {"storm.png", "storm-attempts.png", "storm-connected.png"}) {
      Path file = charts.resolve(name);
      assertTrue(out().contains(file.toAbsolutePath().normalize().toString()), "path not printed: " + name);
      byte[] bytes = Files.readAllBytes(file);
      assertArrayEquals(PNG_SIGNATURE, Arrays.copyOf(bytes, PNG_SIGNATURE.length), name + " is not a PNG");
      // A chart with axes, five lines and a legend is tens of kilobytes; an empty image is a few.
      assertTrue(bytes.length > 15_000, name + " is only " + bytes.length + " bytes");
    }
  }
}
