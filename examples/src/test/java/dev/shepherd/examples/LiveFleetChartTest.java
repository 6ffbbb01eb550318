package dev.shepherd.examples;

import static dev.shepherd.examples.StormChartsTest.near;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

/**
 * The live fleet's chart: queries per second against seconds since the drop, both runs on one
 * chart, the drop marked, the protected run never in the outage's red.
 */
class LiveFleetChartTest {

  @TempDir Path folder;

  /**
   * 30 seconds, the drop after 10: before it both runs query 50/s as the fleet first connects;
   * after it the unprotected run queries 300/s and the protected run none.
   */
  private static LiveFleetChart.Run run(boolean unprotected) {
    List<int[]> rows = new ArrayList<>();
    for (int s = 0; s < 30; s++) {
      int queries = s < 10 ? 50 : unprotected ? 300 : 0;
      rows.add(new int[] {queries + 7, queries, unprotected ? 0 : 3, s < 10 ? 5 * (s + 1) : 50});
    }
    return LiveFleetChart.run(unprotected, 50, 400, 10_000_000_000L, rows);
  }

  @Test
  void rowsSurviveTheirFileExactly() throws IOException {
    LiveFleetChart.Run run = run(true);

    LiveFleetChart.Run back = LiveFleetChart.parse(LiveFleetChart.format(run), "test");

    assertEquals(run.unprotected(), back.unprotected());
    assertEquals(run.hubs(), back.hubs());
    assertEquals(run.capacity(), back.capacity());
    assertEquals(10, back.dropSecond());
    assertArrayEquals(run.attempts(), back.attempts());
    assertArrayEquals(run.queries(), back.queries());
    assertArrayEquals(run.rejected(), back.rejected());
    assertArrayEquals(run.connected(), back.connected());
  }

  @Test
  void aFileThatIsNotRowsIsRefusedByName() {
    IOException e = assertThrows(IOException.class, () -> LiveFleetChart.parse("hello\n", "live-protected.tsv"));
    assertTrue(e.getMessage().contains("live-protected.tsv"), e.getMessage());
  }

  @Test
  void queriesAfterTheDropCountFromTheDropsSecond() {
    assertEquals(20 * 300, run(true).queriesAfterDrop());
    assertEquals(0, run(false).queriesAfterDrop());
  }

  @Test
  void bothRunsAreDrawnWhereTheirQueriesAreWithTheDropMarked() {
    List<LiveFleetChart.Run> runs = List.of(run(true), run(false));
    XYChart chart = LiveFleetChart.queriesChart(runs);
    BufferedImage image = StormCharts.image(chart);

    assertTrue(chart.getSeriesMap().containsKey(
        "unprotected (50 hubs, database 400/s): 6,000 queries after the drop"), chart.getSeriesMap().keySet()::toString);
    assertTrue(chart.getSeriesMap().containsKey(
        "protected (50 hubs, database 400/s): 0 queries after the drop"), chart.getSeriesMap().keySet()::toString);
    // Ten seconds after the drop: the unprotected run at 300/s in red, the protected one at 0 in blue.
    double x = chart.getScreenXFromChart(10);
    assertTrue(near(image, x, chart.getScreenYFromChart(300), LiveFleetChart.UNPROTECTED));
    assertTrue(near(image, x, chart.getScreenYFromChart(0), LiveFleetChart.PROTECTED));
    assertFalse(near(image, x, chart.getScreenYFromChart(0), LiveFleetChart.UNPROTECTED));
    // Before the drop both ran at 50/s: the protected run, drawn last, on top.
    assertTrue(near(image, chart.getScreenXFromChart(-5), chart.getScreenYFromChart(50), LiveFleetChart.PROTECTED));
    // The drop: a vertical line at zero, between the two runs' lines.
    assertTrue(near(image, chart.getScreenXFromChart(0), chart.getScreenYFromChart(200), LiveFleetChart.DROP));
  }

  @Test
  void eachRunLeavesItsRowsAndTheSecondDrawsBothInOneChart() throws IOException {
    List<Path> first = LiveFleetChart.write(run(true), folder);
    List<Path> second = LiveFleetChart.write(run(false), folder);

    assertEquals(List.of(folder.resolve("live.png"), folder.resolve("live-unprotected.png")), first);
    assertEquals(List.of(folder.resolve("live.png"), folder.resolve("live-protected.png")), second);
    assertTrue(Files.exists(folder.resolve("live-unprotected.tsv")) && Files.exists(folder.resolve("live-protected.tsv")));
    for (Path file : List.of(folder.resolve("live.png"), folder.resolve("live-protected.png"))) {
      BufferedImage image = ImageIO.read(file.toFile());
      assertEquals(LiveFleetChart.WIDTH, image.getWidth());
      assertEquals(2 * LiveFleetChart.PANEL_HEIGHT, image.getHeight());
    }
    // Both runs' colours in the combined chart; only the protected run's in its own.
    assertTrue(contains(ImageIO.read(folder.resolve("live.png").toFile()), LiveFleetChart.UNPROTECTED));
    assertTrue(contains(ImageIO.read(folder.resolve("live.png").toFile()), LiveFleetChart.PROTECTED));
    assertFalse(contains(ImageIO.read(folder.resolve("live-protected.png").toFile()), LiveFleetChart.UNPROTECTED));
  }

  private static boolean contains(BufferedImage image, java.awt.Color colour) {
    for (int x = 0; x < image.getWidth(); x++) {
      for (int y = 0; y < image.getHeight(); y++) {
        if (image.getRGB(x, y) == colour.getRGB()) {
          return true;
        }
      }
    }
    return false;
  }
}
