package dev.shepherd.examples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler.LegendLayout;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws the live fleet's chart: database queries per second and hubs connected, against seconds
 * since the drop (a labelled vertical line), with the protected and the unprotected run on the same
 * axes when both have run into the same folder.
 *
 * <p>Each run leaves its per-second rows in {@code live-<mode>.tsv} beside its chart, so running
 * the fleet once with {@code --unprotected} and once without draws both runs in {@code live.png}
 * (each legend entry names its run's fleet and database, should they differ). The unprotected run
 * is drawn in the outage's red, dashed and wide, beneath the protected run's solid blue.
 */
final class LiveFleetChart {

  static final Color UNPROTECTED = StormCharts.UNPROTECTED[0];
  static final Color PROTECTED = StormCharts.PROTECTED[0];
  static final Color DROP = new Color(0x33, 0x33, 0x33);

  static final int WIDTH = 1100;
  static final int PANEL_HEIGHT = 420;
  /** About the plot's width in pixels (the chart less its y axis), to place the drop's label. */
  private static final int PLOT_WIDTH = WIDTH - 100;
  private static final Font LABEL = new Font(Font.SANS_SERIF, Font.BOLD, 12);

  private static final String HEADER = "# shepherd live fleet, one row per second";
  private static final String COLUMNS = "attempts\tqueries\trejected\tconnected";

  private LiveFleetChart() {}

  /**
   * One run's per-second rows, since the fleet started.
   *
   * @param unprotected whether the run had no protection
   * @param hubs the fleet size
   * @param capacity the database's queries per second
   * @param dropSecond whole seconds from the fleet's start to the drop; row {@code i} covers the
   *     second {@code [i, i + 1)} since the start, so row {@code dropSecond} is the first after it
   * @param attempts connection attempts in each second
   * @param queries database queries in each second
   * @param rejected hellos answered {@code RETRY} in each second
   * @param connected hubs connected at the end of each second
   */
  record Run(boolean unprotected, int hubs, int capacity, int dropSecond, int[] attempts, int[] queries,
      int[] rejected, int[] connected) {

    Run {
      Objects.requireNonNull(attempts, "attempts");
      Objects.requireNonNull(queries, "queries");
      Objects.requireNonNull(rejected, "rejected");
      Objects.requireNonNull(connected, "connected");
      int n = attempts.length;
      if (queries.length != n || rejected.length != n || connected.length != n) {
        throw new IllegalArgumentException(String.format(Locale.ROOT,
            "series must have one length: %d, %d, %d, %d", n, queries.length, rejected.length, connected.length));
      }
    }

    String mode() {
      return unprotected ? "unprotected" : "protected";
    }

    /** Database queries in the rows from the drop on. */
    long queriesAfterDrop() {
      long sum = 0;
      for (int i = Math.max(0, dropSecond); i < queries.length; i++) {
        sum += queries[i];
      }
      return sum;
    }

    String label() {
      return String.format(Locale.ROOT, "%s (%,d hubs, database %,d/s): %,d queries after the drop",
          mode(), hubs, capacity, queriesAfterDrop());
    }
  }

  /**
   * Builds a run from the fleet's rows, each {@code {attempts, queries, rejected, connected}} for
   * one second.
   */
  static Run run(boolean unprotected, int hubs, int capacity, long dropNanos, List<int[]> rows) {
    int n = rows.size();
    int[] attempts = new int[n];
    int[] queries = new int[n];
    int[] rejected = new int[n];
    int[] connected = new int[n];
    for (int i = 0; i < n; i++) {
      int[] row = rows.get(i);
      attempts[i] = row[0];
      queries[i] = row[1];
      rejected[i] = row[2];
      connected[i] = row[3];
    }
    return new Run(unprotected, hubs, capacity, (int) Math.round(dropNanos / 1e9), attempts, queries, rejected,
        connected);
  }

  /**
   * Writes {@code live-<mode>.tsv} and {@code live-<mode>.png} for this run, and {@code live.png}
   * with every run whose rows are in {@code directory} (this one, and the other mode's latest).
   *
   * @return the charts written, {@code live.png} first
   * @throws IOException if a file cannot be written, or the other mode's rows cannot be read
   */
  static List<Path> write(Run run, Path directory) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(directory);
    Files.writeString(directory.resolve("live-" + run.mode() + ".tsv"), format(run), StandardCharsets.UTF_8);
    List<Run> runs = new ArrayList<>();
    // The unprotected run first, so the protected run draws on top of it.
    for (boolean unprotected : new boolean[] {true, false}) {
      if (unprotected == run.unprotected()) {
        runs.add(run);
      } else {
        Path other = directory.resolve("live-" + (unprotected ? "unprotected" : "protected") + ".tsv");
        if (Files.exists(other)) {
          runs.add(parse(Files.readString(other, StandardCharsets.UTF_8), other.toString()));
        }
      }
    }
    Path both = directory.resolve("live.png");
    Path alone = directory.resolve("live-" + run.mode() + ".png");
    StormCharts.save(image(runs), both);
    StormCharts.save(image(List.of(run)), alone);
    return List.of(both, alone);
  }

  static BufferedImage image(List<Run> runs) {
    return StormCharts.stack(
        StormCharts.image(queriesChart(runs)), StormCharts.image(connectedChart(runs)));
  }

  /** Database queries per second against seconds since the drop, the database's capacity dashed. */
  static XYChart queriesChart(List<Run> runs) {
    XYChart chart = chart("Database queries per second, live on loopback", "database queries per second", runs);
    double top = 1;
    for (Run run : runs) {
      top = Math.max(top, run.capacity());
      for (int q : run.queries()) {
        top = Math.max(top, q);
      }
      style(chart.addSeries(run.label(), x(run), toDouble(run.queries())), run);
    }
    for (Run run : runs) {
      XYSeries capacity = chart.addSeries(
          String.format(Locale.ROOT, "database capacity, %s run (%,d/s)", run.mode(), run.capacity()),
          new double[] {from(runs), to(runs)}, new double[] {run.capacity(), run.capacity()});
      capacity.setMarker(SeriesMarkers.NONE);
      capacity.setLineColor(StormCharts.CAPACITY);
      capacity.setLineStyle(StormCharts.stroke(1.2f, new float[] {6f, 4f}));
      if (runs.size() > 1 && runs.get(0).capacity() == runs.get(1).capacity()) {
        capacity.setLabel(String.format(Locale.ROOT, "database capacity (%,d/s)", run.capacity()));
        break;
      }
    }
    // Headroom above the highest point for the drop's label, and a floor just below zero so that
    // a run with no queries draws its line above the axis, not on it.
    chart.getStyler().setYAxisMax(top * 1.12);
    chart.getStyler().setYAxisMin(-top * 0.03);
    markDrop(chart, runs, top * 1.07);
    return chart;
  }

  /** Hubs connected at the end of each second against seconds since the drop. */
  static XYChart connectedChart(List<Run> runs) {
    XYChart chart = chart("Hubs connected", "hubs connected", runs);
    int top = 1;
    for (Run run : runs) {
      top = Math.max(top, run.hubs());
      XYSeries series = chart.addSeries(run.mode() + String.format(Locale.ROOT, " (%,d hubs)", run.hubs()),
          x(run), toDouble(run.connected()));
      style(series, run);
    }
    chart.getStyler().setYAxisMax(top * 1.15);
    chart.getStyler().setYAxisMin(0.0);
    markDrop(chart, runs, top * 1.07);
    return chart;
  }

  /** The x of each row: the middle of its second, in seconds since the drop. */
  static double[] x(Run run) {
    double[] x = new double[run.queries().length];
    for (int i = 0; i < x.length; i++) {
      x[i] = i + 0.5 - run.dropSecond();
    }
    return x;
  }

  private static double from(List<Run> runs) {
    double from = 0;
    for (Run run : runs) {
      from = Math.min(from, -run.dropSecond());
    }
    return from;
  }

  private static double to(List<Run> runs) {
    double to = 1;
    for (Run run : runs) {
      to = Math.max(to, run.queries().length - run.dropSecond());
    }
    return to;
  }

  private static void markDrop(XYChart chart, List<Run> runs, double labelY) {
    chart.addAnnotation(new AnnotationLine(0.0, true, false));
    chart.getStyler().setAnnotationLineColor(DROP);
    chart.getStyler().setAnnotationLineStroke(new BasicStroke(2f));
    int dropped = 0;
    for (Run run : runs) {
      dropped = Math.max(dropped, run.hubs());
    }
    String label = String.format(Locale.ROOT, "drop: all %,d connections closed", dropped);
    chart.getStyler().setAnnotationTextFont(LABEL);
    chart.getStyler().setAnnotationTextFontColor(DROP);
    // XChart centres the text on its point: put it just right of the line, or left if it would not fit.
    double perPixel = (to(runs) - from(runs)) / PLOT_WIDTH;
    double half = (labelWidth(label) / 2.0 + 8) * perPixel;
    chart.addAnnotation(new AnnotationText(label, 2 * half < to(runs) ? half : -half, labelY, false));
  }

  private static int labelWidth(String label) {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    try {
      return g.getFontMetrics(LABEL).stringWidth(label);
    } finally {
      g.dispose();
    }
  }

  private static XYChart chart(String title, String yTitle, List<Run> runs) {
    XYChart chart = StormCharts.chart(WIDTH, PANEL_HEIGHT, title, yTitle, 1, false);
    StormCharts.theme(chart, true);
    chart.setXAxisTitle("seconds since the drop (negative: before it, as the fleet first connects)");
    chart.getStyler().setLegendPosition(LegendPosition.OutsideS);
    chart.getStyler().setLegendLayout(LegendLayout.Vertical);
    chart.getStyler().setXAxisMin(from(runs));
    chart.getStyler().setXAxisMax(to(runs));
    return chart;
  }

  private static void style(XYSeries series, Run run) {
    series.setMarker(SeriesMarkers.NONE);
    if (run.unprotected()) {
      series.setLineColor(UNPROTECTED);
      series.setLineStyle(StormCharts.stroke(3.2f, new float[] {10f, 5f}));
    } else {
      series.setLineColor(PROTECTED);
      series.setLineStyle(StormCharts.stroke(2.4f, null));
    }
  }

  private static double[] toDouble(int[] values) {
    double[] copy = new double[values.length];
    for (int i = 0; i < values.length; i++) {
      copy[i] = values[i];
    }
    return copy;
  }

  /** The rows as text: a header, the settings, then one tab-separated line per second. */
  static String format(Run run) {
    StringBuilder text = new StringBuilder();
    text.append(HEADER).append('\n');
    text.append("mode\t").append(run.mode()).append('\n');
    text.append("hubs\t").append(run.hubs()).append('\n');
    text.append("capacity\t").append(run.capacity()).append('\n');
    text.append("drop-second\t").append(run.dropSecond()).append('\n');
    text.append(COLUMNS).append('\n');
    for (int i = 0; i < run.queries().length; i++) {
      text.append(run.attempts()[i]).append('\t').append(run.queries()[i]).append('\t')
          .append(run.rejected()[i]).append('\t').append(run.connected()[i]).append('\n');
    }
    return text.toString();
  }

  /**
   * Reads what {@link #format(Run)} wrote.
   *
   * @throws IOException naming {@code source} if the text is not such rows
   */
  static Run parse(String text, String source) throws IOException {
    String[] lines = text.split("\n", -1);
    try {
      if (lines.length < 6 || !lines[0].equals(HEADER) || !lines[5].equals(COLUMNS)) {
        throw new IllegalArgumentException("not a live fleet's rows");
      }
      String mode = value(lines[1], "mode");
      if (!mode.equals("protected") && !mode.equals("unprotected")) {
        throw new IllegalArgumentException("mode must be protected or unprotected: " + mode);
      }
      int hubs = Integer.parseInt(value(lines[2], "hubs"));
      int capacity = Integer.parseInt(value(lines[3], "capacity"));
      int dropSecond = Integer.parseInt(value(lines[4], "drop-second"));
      List<int[]> rows = new ArrayList<>();
      for (int i = 6; i < lines.length; i++) {
        if (lines[i].isEmpty()) {
          continue;
        }
        String[] cells = lines[i].split("\t", -1);
        if (cells.length != 4) {
          throw new IllegalArgumentException("line " + (i + 1) + " must have 4 cells: " + lines[i]);
        }
        rows.add(new int[] {Integer.parseInt(cells[0]), Integer.parseInt(cells[1]), Integer.parseInt(cells[2]),
            Integer.parseInt(cells[3])});
      }
      return run(mode.equals("unprotected"), hubs, capacity, dropSecond * 1_000_000_000L, rows);
    } catch (IllegalArgumentException e) {
      throw new IOException("cannot read the live fleet's rows in " + source + " (delete it to start over): "
          + e.getMessage(), e);
    }
  }

  private static String value(String line, String key) {
    String prefix = key + "\t";
    if (!line.startsWith(prefix)) {
      throw new IllegalArgumentException("expected " + key + ": " + line);
    }
    return line.substring(prefix.length());
  }
}
