package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.storm.SimulationResult;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

/**
 * The replay's charts: the adapter takes each series from its own field, the charts draw each line
 * where its data is and in its group's colour, and the files are real PNGs of the expected size.
 */
class StormChartsTest {

  @TempDir Path folder;

  @Test
  void theAdapterTakesEachSeriesFromItsOwnField() {
    int[] attempts = {9, 8};
    int[] database = {25, 24};
    int[] offered = {7, 6};
    int[] rejected = {3, 2};
    int[] connected = {1, 11};
    int[] wasted = {5, 4};
    int[] queue = {13, 12};
    SimulationResult result = new SimulationResult("Shepherd (defaults)", 11, 4, 1, attempts, database, offered,
        rejected, connected, 17, 900, 120, 5, 0, 33, -1, -1, -1, wasted, queue, 0, 0);

    ChartSeries series = ChartSeries.of(result);

    assertEquals("Shepherd (defaults)", series.name());
    assertTrue(series.isProtected());
    assertSame(attempts, series.attemptsPerSecond());
    assertSame(connected, series.connectedAtSecondEnd());
    assertSame(database, series.databasePerSecond());
    assertArrayEquals(new int[] {20, 20}, series.databaseUsefulPerSecond(), "useful = completed - wasted, per second");
    assertSame(wasted, series.databaseWastedPerSecond());
    assertEquals(780, series.databaseUseful(), "useful = completed - wasted");
    assertEquals(120, series.databaseWasted());
    assertEquals(33, series.peakQueue());
  }

  @Test
  void onlyRowsNamedAfterShepherdAreProtected() {
    assertTrue(ChartSeries.isProtected("Shepherd (defaults), fleet-wide limit"));
    assertFalse(ChartSeries.isProtected("1 immediate retry"));
    assertFalse(ChartSeries.isProtected("3 full jitter"));
  }

  @Test
  void theProtectedPaletteStaysFarFromTheOutagesRed() {
    float outage = hue(StormCharts.UNPROTECTED[0]);
    for (Color colour : StormCharts.PROTECTED) {
      float distance = Math.abs(hue(colour) - outage);
      distance = Math.min(distance, 1 - distance);
      assertTrue(distance > 0.25f, colour + " is within 90 degrees of the outage's red");
    }
  }

  @Test
  void shepherdsRowsDrawLastWithEveryLineDistinct() {
    List<StormCharts.Styled> styled = StormCharts.styled(List.of(
        series("Shepherd (defaults)", true, 0), series("1 immediate retry", false, 0),
        series("2 exponential, no jitter", false, 0), series("Shepherd, warm cache", true, 0)));

    assertEquals(List.of("1 immediate retry", "2 exponential, no jitter", "Shepherd (defaults)", "Shepherd, warm cache"),
        styled.stream().map(s -> s.series().name()).toList());
    assertEquals(StormCharts.UNPROTECTED[0], styled.get(0).colour());
    Set<String> looks = new HashSet<>();
    for (StormCharts.Styled one : styled) {
      looks.add(one.colour() + " " + Arrays.toString(one.stroke().getDashArray()) + " " + one.stroke().getLineWidth());
    }
    assertEquals(4, looks.size(), looks.toString());
    // The outage's line is the widest, so the lines drawn over it leave its edges showing.
    assertTrue(styled.get(0).stroke().getLineWidth() > styled.get(1).stroke().getLineWidth());
  }

  @Test
  void theZoomCoversThreeDrainTimesInWholeMinutesWithinTheRun() {
    assertEquals(180, new StormCharts.Frame(100_000, 2_000, 1_800).zoomSeconds());
    assertEquals(60, new StormCharts.Frame(1_000, 2_000, 1_800).zoomSeconds());
    assertEquals(100, new StormCharts.Frame(100_000, 2_000, 100).zoomSeconds());
    assertEquals(10, new StormCharts.Frame(100_000, 2_000, 1_800).windowSeconds());
  }

  @Test
  void theWholeRunDrawsTheMeanOfEachWindowAtItsMiddle() {
    int[] values = new int[25];
    for (int s = 0; s < values.length; s++) {
      values[s] = s;
    }

    StormCharts.Line line = StormCharts.means(values, 25, 10, false);

    assertArrayEquals(new double[] {5, 15, 22.5}, line.x());
    assertArrayEquals(new double[] {4.5, 14.5, 22}, line.y());
    StormCharts.Line minutes = StormCharts.means(values, 20, 10, true);
    assertArrayEquals(new double[] {5 / 60.0, 15 / 60.0}, minutes.x());
  }

  @Test
  void eachLineIsDrawnAtItsOwnValueInItsOwnColour() {
    // The outage at 10 attempts/s, Shepherd at 1,000/s: swap a mapping and the colours swap.
    ChartSeries outage = series("1 immediate retry", false, 10);
    ChartSeries shepherd = series("Shepherd (defaults)", true, 1_000);
    StormCharts.Frame frame = new StormCharts.Frame(1_000, 100, 600);
    List<StormCharts.Styled> styled = StormCharts.styled(List.of(outage, shepherd));

    for (boolean zoom : new boolean[] {true, false}) {
      XYChart chart = StormCharts.attemptsChart(styled, frame, zoom);
      BufferedImage image = StormCharts.image(chart);
      double x = zoom ? 30 : 5;
      assertTrue(near(image, chart.getScreenXFromChart(x), chart.getScreenYFromChart(10), StormCharts.UNPROTECTED[0]),
          "no outage red at 10/s");
      assertTrue(near(image, chart.getScreenXFromChart(x), chart.getScreenYFromChart(1_000), StormCharts.PROTECTED[0]),
          "no Shepherd blue at 1,000/s");
      assertFalse(near(image, chart.getScreenXFromChart(x), chart.getScreenYFromChart(1_000),
          StormCharts.UNPROTECTED[0]), "outage red at 1,000/s");
    }
  }

  @Test
  void theConnectedChartDrawsEachCountAtItsSecond() {
    ChartSeries shepherd = new ChartSeries("Shepherd (defaults)", true, new int[600], ramp(600, 1_000, 100),
        new int[600], new int[600], new int[600], 0, 0, 0);
    StormCharts.Frame frame = new StormCharts.Frame(1_000, 100, 600);
    XYChart chart = StormCharts.connectedChart(StormCharts.styled(List.of(shepherd)), frame, true);
    BufferedImage image = StormCharts.image(chart);

    // 10 a second: 50 connected at the end of second 5, 500 at the end of second 50.
    assertTrue(near(image, chart.getScreenXFromChart(5), chart.getScreenYFromChart(50), StormCharts.PROTECTED[0]));
    assertTrue(near(image, chart.getScreenXFromChart(50), chart.getScreenYFromChart(500), StormCharts.PROTECTED[0]));
    assertFalse(near(image, chart.getScreenXFromChart(50), chart.getScreenYFromChart(250), StormCharts.PROTECTED[0]));
  }

  @Test
  void usefulWorkIsSolidAndWastedWorkDashedEachAtItsOwnRate() {
    // The outage: 10 useful and 90 wasted a second; Shepherd: 60 useful, none wasted. Swap the
    // series or the line styles and a line lands at the wrong height or in the wrong style.
    ChartSeries outage = rates("1 immediate retry", false, 10, 90);
    ChartSeries shepherd = rates("Shepherd (defaults)", true, 60, 0);
    StormCharts.Frame frame = new StormCharts.Frame(1_000, 100, 600);
    List<StormCharts.Styled> styled = StormCharts.styled(List.of(outage, shepherd));
    Color red = StormCharts.UNPROTECTED[0];
    Color blue = StormCharts.PROTECTED[0];

    for (boolean zoom : new boolean[] {true, false}) {
      XYChart chart = StormCharts.databaseRateChart(styled, frame, zoom);
      BufferedImage image = StormCharts.image(chart);
      int middle = (int) Math.round(chart.getScreenXFromChart(zoom ? 30 : 5));
      double useful = chart.getScreenYFromChart(10);
      double wasted = chart.getScreenYFromChart(90);
      double shepherdUseful = chart.getScreenYFromChart(60);
      for (int x = middle - 30; x <= middle + 30; x++) {
        assertTrue(near(image, x, useful, red), "outage's useful line broken at x " + x);
        assertTrue(near(image, x, shepherdUseful, blue), "Shepherd's useful line broken at x " + x);
        assertFalse(near(image, x, shepherdUseful, red), "outage red at 60/s, x " + x);
        assertFalse(near(image, x, wasted, blue), "Shepherd blue at 90/s, x " + x);
      }
      // Solid: no two columns in a row without the line. Dashed: gaps of two columns or more, yet
      // the line in at least a third of the columns.
      assertEquals(0, gaps(image, middle - 30, middle + 30, useful, red), "useful line dashed");
      assertEquals(0, gaps(image, middle - 30, middle + 30, shepherdUseful, blue), "Shepherd's useful line dashed");
      int wastedGaps = gaps(image, middle - 30, middle + 30, wasted, red);
      assertTrue(wastedGaps >= 3, "wasted line has only " + wastedGaps + " gaps in 61 columns");
      int carried = 0;
      for (int x = middle - 30; x <= middle + 30; x++) {
        carried += inColumn(image, x, wasted, red) ? 1 : 0;
      }
      assertTrue(carried >= 20, "wasted line in only " + carried + " of 61 columns");
    }
  }

  @Test
  void aDashedLineKeepsEveryPointAndLeavesOutEveryThirdSegment() {
    StormCharts.Line line = new StormCharts.Line(new double[] {0, 1, 2, 3, 4, 5, 6}, new double[] {9, 8, 7, 6, 5, 4, 3});

    StormCharts.Line dashed = StormCharts.dashed(line);

    assertArrayEquals(new double[] {0, 1, 2, 2, 3, 4, 5, 5, 6}, dashed.x());
    assertArrayEquals(new double[] {9, 8, 7, Double.NaN, 6, 5, 4, Double.NaN, 3}, dashed.y());
    assertEquals(4, StormCharts.dashed(new StormCharts.Line(new double[4], new double[4])).x().length - 1);
    assertEquals(3, StormCharts.dashed(new StormCharts.Line(new double[3], new double[3])).x().length);
  }

  @Test
  void eachBarIsUsefulWorkThenWastedWorkToScale() {
    ChartSeries outage = new ChartSeries("1 immediate retry", false, new int[1], new int[1], new int[1], new int[1],
        new int[1], 1_000, 3_000, 50);
    ChartSeries shepherd = new ChartSeries("Shepherd (defaults)", true, new int[1], new int[1], new int[1], new int[1],
        new int[1], 4_000, 0, 5);
    List<StormCharts.Styled> styled = StormCharts.styled(List.of(outage, shepherd));
    BufferedImage image = StormCharts.databaseChart(styled, StormCharts.WIDTH);
    StormCharts.Bars bars = new StormCharts.Bars(2, StormCharts.WIDTH, 4_000);

    assertEquals(bars.height(), image.getHeight());
    int outageRow = bars.middle(0);
    assertEquals(StormCharts.USEFUL.getRGB(), image.getRGB(bars.x(500), outageRow));
    assertEquals(StormCharts.WASTED.getRGB(), image.getRGB(bars.x(1_500), outageRow));
    assertEquals(StormCharts.WASTED.getRGB(), image.getRGB(bars.x(3_900), outageRow));
    int shepherdRow = bars.middle(1);
    assertEquals(StormCharts.USEFUL.getRGB(), image.getRGB(bars.x(3_900), shepherdRow));
    for (int x = 0; x < image.getWidth(); x++) {
      assertFalse(image.getRGB(x, shepherdRow) == StormCharts.WASTED.getRGB(), "wasted work drawn for Shepherd");
    }
  }

  @Test
  void gridlinesFallOnRoundCounts() {
    assertEquals(500_000, StormCharts.tickStep(3_060_019));
    assertEquals(20, StormCharts.tickStep(100));
    assertEquals(1, StormCharts.tickStep(3));
    assertEquals("16,973", StormCharts.compact(16_973));
    assertEquals("3.04 M", StormCharts.compact(3_043_046));
  }

  @Test
  void writesFivePngsOfTheExpectedSizes() throws IOException {
    List<ChartSeries> series = List.of(series("1 immediate retry", false, 10), series("3 full jitter", false, 100),
        series("Shepherd (defaults)", true, 1_000));
    Path out = folder.resolve("charts");

    List<Path> files = StormCharts.write(series, new StormCharts.Frame(1_000, 100, 600), out);

    assertEquals(List.of(out.resolve("storm.png"), out.resolve("storm-attempts.png"),
        out.resolve("storm-connected.png"), out.resolve("storm-database.png"), out.resolve("storm-database-rate.png")),
        files);
    int barsHeight = new StormCharts.Bars(3, StormCharts.WIDTH, 1).height();
    int[] heights = {3 * StormCharts.PANEL_HEIGHT + barsHeight, StormCharts.PANEL_HEIGHT, StormCharts.PANEL_HEIGHT,
        barsHeight, StormCharts.PANEL_HEIGHT};
    for (int i = 0; i < files.size(); i++) {
      BufferedImage image = ImageIO.read(files.get(i).toFile());
      assertEquals(StormCharts.WIDTH, image.getWidth(), files.get(i).toString());
      assertEquals(heights[i], image.getHeight(), files.get(i).toString());
      assertTrue(colours(image) > 20, files.get(i) + " is nearly blank");
      assertTrue(Files.size(files.get(i)) > 10_000, files.get(i) + " is only " + Files.size(files.get(i)) + " bytes");
    }
  }

  /** A row of 600 seconds: attempts constant, hubs connecting 10 a second until all are in. */
  static ChartSeries series(String name, boolean isProtected, int attempts) {
    int[] perSecond = new int[600];
    Arrays.fill(perSecond, attempts);
    return new ChartSeries(name, isProtected, perSecond, ramp(600, 1_000, 100), new int[600], new int[600],
        new int[600], 100, 0, 1);
  }

  /** A row of 600 seconds doing {@code useful} and {@code wasted} database work every second. */
  private static ChartSeries rates(String name, boolean isProtected, int useful, int wasted) {
    int[] usefulPerSecond = new int[600];
    int[] wastedPerSecond = new int[600];
    int[] database = new int[600];
    Arrays.fill(usefulPerSecond, useful);
    Arrays.fill(wastedPerSecond, wasted);
    Arrays.fill(database, useful + wasted);
    return new ChartSeries(name, isProtected, new int[600], ramp(600, 1_000, 100), database, usefulPerSecond,
        wastedPerSecond, 600L * useful, 600L * wasted, 1);
  }

  private static int[] ramp(int seconds, int hubs, int perSecondTenths) {
    int[] connected = new int[seconds];
    for (int s = 0; s < seconds; s++) {
      connected[s] = Math.min(hubs, (s + 1) * perSecondTenths / 10);
    }
    return connected;
  }

  private static float hue(Color colour) {
    return Color.RGBtoHSB(colour.getRed(), colour.getGreen(), colour.getBlue(), null)[0];
  }

  /** Whether a pixel within two of (x, y) has exactly this colour. */
  static boolean near(BufferedImage image, double x, double y, Color colour) {
    int cx = (int) Math.round(x);
    int cy = (int) Math.round(y);
    for (int dx = -2; dx <= 2; dx++) {
      for (int dy = -2; dy <= 2; dy++) {
        int px = cx + dx;
        int py = cy + dy;
        if (px >= 0 && py >= 0 && px < image.getWidth() && py < image.getHeight()
            && image.getRGB(px, py) == colour.getRGB()) {
          return true;
        }
      }
    }
    return false;
  }

  /** How many runs of two or more columns in [from, to] have no pixel of this colour within two of y. */
  private static int gaps(BufferedImage image, int from, int to, double y, Color colour) {
    int runs = 0;
    int empty = 0;
    for (int x = from; x <= to + 1; x++) {
      if (x <= to && !inColumn(image, x, y, colour)) {
        empty++;
      } else {
        runs += empty >= 2 ? 1 : 0;
        empty = 0;
      }
    }
    return runs;
  }

  /** Whether a pixel in column x within two of y has exactly this colour. */
  private static boolean inColumn(BufferedImage image, int x, double y, Color colour) {
    int cy = (int) Math.round(y);
    for (int py = cy - 2; py <= cy + 2; py++) {
      if (py >= 0 && py < image.getHeight() && image.getRGB(x, py) == colour.getRGB()) {
        return true;
      }
    }
    return false;
  }

  private static int colours(BufferedImage image) {
    Set<Integer> seen = new HashSet<>();
    for (int x = 0; x < image.getWidth(); x += 3) {
      for (int y = 0; y < image.getHeight(); y += 3) {
        seen.add(image.getRGB(x, y));
      }
    }
    return seen.size();
  }
}
