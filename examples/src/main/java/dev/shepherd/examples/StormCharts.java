package dev.shepherd.examples;

import dev.shepherd.storm.SimulationResult;
import dev.shepherd.storm.StormConfig;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder.BitmapFormat;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws the simulator's charts with XChart, headless: attempts per second and connected hubs over
 * time, one line per strategy.
 */
final class StormCharts {

  /** One colour per strategy, from the outage (red) to the cure (green, and teal for its variant). */
  private static final Color[] COLOURS = {
    new Color(0xD6, 0x27, 0x28),
    new Color(0xFF, 0x7F, 0x0E),
    new Color(0x1F, 0x77, 0xB4),
    new Color(0x94, 0x67, 0xBD),
    new Color(0x2C, 0xA0, 0x2C),
    new Color(0x17, 0xBE, 0xCF),
  };

  private static final int WIDTH = 1100;
  private static final int HEIGHT = 420;

  private StormCharts() {}

  /**
   * Writes {@code storm-attempts.png}, {@code storm-connected.png} and {@code storm.png} (both
   * charts, one above the other) into {@code directory}, creating it if needed.
   *
   * @return the paths written, the combined chart first
   * @throws IOException if a file cannot be written
   */
  static List<Path> write(List<SimulationResult> results, StormConfig config, Path directory)
      throws IOException {
    return write(results, config.hubs(), config.capacity(), config.durationSeconds(), directory, "storm",
        "after the drop");
  }

  /**
   * Writes {@code <prefix>-attempts.png}, {@code <prefix>-connected.png} and {@code <prefix>.png}
   * (both charts, one above the other) into {@code directory}, creating it if needed.
   *
   * @param results one line per result
   * @param hubs the fleet size, the connected chart's ceiling
   * @param capacity the database's capacity per second, drawn as a dashed line
   * @param durationSeconds the span of the x axis
   * @param directory where to write
   * @param prefix the files' common name
   * @param since what time zero is, completing the x axis' title ("seconds after the drop")
   * @return the paths written, the combined chart first
   * @throws IOException if a file cannot be written
   */
  static List<Path> write(List<SimulationResult> results, int hubs, int capacity, int durationSeconds,
      Path directory, String prefix, String since) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(directory);
    Axis axis = new Axis(durationSeconds, since);
    XYChart attempts = attemptsChart(results, capacity, axis);
    XYChart connected = connectedChart(results, hubs, axis);
    Path combined = directory.resolve(prefix + ".png");
    Path attemptsFile = directory.resolve(prefix + "-attempts.png");
    Path connectedFile = directory.resolve(prefix + "-connected.png");
    BitmapEncoder.saveBitmap(List.of(attempts, connected), 2, 1, strip(combined), BitmapFormat.PNG);
    BitmapEncoder.saveBitmap(attempts, strip(attemptsFile), BitmapFormat.PNG);
    BitmapEncoder.saveBitmap(connected, strip(connectedFile), BitmapFormat.PNG);
    return List.of(combined, attemptsFile, connectedFile);
  }

  /**
   * The time axis: minutes for long runs, seconds for short ones.
   *
   * @param durationSeconds the span
   * @param since what time zero is
   */
  record Axis(int durationSeconds, String since) {
    double unit() {
      return durationSeconds > 300 ? 60.0 : 1.0;
    }

    String title() {
      return (durationSeconds > 300 ? "minutes " : "seconds ") + since;
    }

    double at(double seconds) {
      return seconds / unit();
    }

    /** The attempts chart averages windows of this many seconds: about 180 points per line. */
    int windowSeconds() {
      return Math.max(1, durationSeconds / 180);
    }
  }

  /** XChart appends the extension itself. */
  private static String strip(Path file) {
    String name = file.toString();
    return name.substring(0, name.length() - ".png".length());
  }

  static XYChart attemptsChart(List<SimulationResult> results, int capacity, Axis axis) {
    XYChart chart = chart(
        axis.windowSeconds() == 1
            ? "Connection attempts per second (log scale; 0 shown as 1)"
            : "Connection attempts per second, mean of each " + axis.windowSeconds() + " s (log scale; 0 shown as 1)",
        "attempts / s", axis);
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setYAxisMin(1.0);
    chart.getStyler().setYAxisDecimalPattern("#,###");
    int index = 0;
    for (SimulationResult result : results) {
      int[] values = result.attemptsPerSecond();
      int window = axis.windowSeconds();
      int windows = (values.length + window - 1) / window;
      double[] x = new double[windows];
      double[] y = new double[windows];
      for (int w = 0; w < windows; w++) {
        int from = w * window;
        int to = Math.min(values.length, from + window);
        long sum = 0;
        for (int s = from; s < to; s++) {
          sum += values[s];
        }
        // Each window's mean is drawn at its middle.
        x[w] = axis.at((from + to) / 2.0);
        // A logarithmic axis cannot show zero: a silent window is drawn on the axis, at 1.
        y[w] = Math.max(1.0, (double) sum / (to - from));
      }
      style(chart.addSeries(result.name(), x, y), index++);
    }
    XYSeries capacityLine = chart.addSeries(
        String.format(java.util.Locale.ROOT, "database capacity (%,d/s)", capacity),
        new double[] {0.0, axis.at(axis.durationSeconds())},
        new double[] {capacity, capacity});
    capacityLine.setMarker(SeriesMarkers.NONE);
    capacityLine.setLineColor(Color.GRAY);
    capacityLine.setLineStyle(
        new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
    return chart;
  }

  static XYChart connectedChart(List<SimulationResult> results, int hubs, Axis axis) {
    XYChart chart = chart(
        String.format(java.util.Locale.ROOT, "Connected hubs (of %,d)", hubs), "hubs connected", axis);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax((double) hubs);
    chart.getStyler().setYAxisDecimalPattern("#,###");
    int index = 0;
    for (SimulationResult result : results) {
      int[] values = result.connectedAtSecondEnd();
      double[] x = new double[values.length + 1];
      double[] y = new double[values.length + 1];
      // None connected at time zero; then the count at the end of each second.
      for (int s = 0; s < values.length; s++) {
        x[s + 1] = axis.at(s + 1);
        y[s + 1] = values[s];
      }
      style(chart.addSeries(result.name(), x, y), index++);
    }
    return chart;
  }

  private static XYChart chart(String title, String yTitle, Axis axis) {
    XYChart chart = new XYChartBuilder()
        .width(WIDTH)
        .height(HEIGHT)
        .title(title)
        .xAxisTitle(axis.title())
        .yAxisTitle(yTitle)
        .build();
    chart.getStyler().setLegendPosition(LegendPosition.OutsideE);
    chart.getStyler().setChartBackgroundColor(Color.WHITE);
    chart.getStyler().setPlotBackgroundColor(Color.WHITE);
    chart.getStyler().setPlotGridLinesColor(new Color(0xE0, 0xE0, 0xE0));
    chart.getStyler().setXAxisMin(0.0);
    chart.getStyler().setXAxisMax(axis.at(axis.durationSeconds()));
    chart.getStyler().setXAxisDecimalPattern("#,##0.#");
    chart.getStyler().setMarkerSize(0);
    return chart;
  }

  private static void style(XYSeries series, int index) {
    series.setMarker(SeriesMarkers.NONE);
    series.setLineColor(COLOURS[index % COLOURS.length]);
    series.setLineStyle(new BasicStroke(1.6f));
  }
}
