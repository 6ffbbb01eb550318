package dev.shepherd.examples;

import dev.shepherd.storm.SimulationResult;
import dev.shepherd.storm.StormConfig;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws the replay's charts, headless, as PNG files a reader takes in at a glance.
 *
 * <p>Every time chart comes in two panels side by side: the first minutes at one-second
 * resolution (where the storm is decided: the first second alone holds the whole fleet's first
 * attempts) and the whole run in ten-second means: connection attempts, hubs connected, and the
 * database's work per second, each row's useful work (its answer reached a waiting hub) drawn solid
 * and its wasted work (the hub had already given up) dashed, in the row's colour. A last chart
 * draws, per strategy, a bar of the run's useful database work followed by its wasted work.
 *
 * <p>Lines stay apart where they overlap: the rows without protection are drawn in warm colours,
 * the outage's red first and widest, each later row thinner and with its own dash pattern, so a
 * line drawn on top never hides one beneath it; Shepherd's rows come last, in blues and greens,
 * never in the outage's red. Counts that span decades are drawn on a logarithmic axis.
 */
final class StormCharts {

  /** Rows without protection: the outage's red first, then other warm colours. */
  static final Color[] UNPROTECTED = {
    new Color(0xD6, 0x27, 0x28),
    new Color(0xFF, 0x7F, 0x0E),
    new Color(0x8C, 0x56, 0x4B),
    new Color(0xE3, 0x77, 0xC2),
    new Color(0xBC, 0xBD, 0x22),
    new Color(0x7F, 0x7F, 0x7F),
  };

  /** Shepherd's rows: blues and greens. */
  static final Color[] PROTECTED = {
    new Color(0x1F, 0x77, 0xB4),
    new Color(0x2C, 0xA0, 0x2C),
    new Color(0x17, 0xBE, 0xCF),
    new Color(0x39, 0x3B, 0x79),
    new Color(0x6B, 0x6E, 0xCF),
    new Color(0x9E, 0xDA, 0xE5),
  };

  /**
   * The dash of the wasted-work key in the database-rate chart's legend. XChart strokes each segment
   * between two points on its own, restarting the dash, so a dense line never reaches a dash's gap:
   * the wasted lines themselves are drawn solid and broken in the data instead, by {@link #dashed}.
   */
  static final float[] WASTED_DASH = {6f, 3f};

  /** Dash patterns, one per row within its group; {@code null} is a solid line. */
  private static final float[][] DASHES = {
    null, {10f, 5f}, {2f, 3f}, {12f, 4f, 2f, 4f}, {6f, 6f}, {1f, 6f},
  };

  static final Color USEFUL = new Color(0x4C, 0x78, 0xA8);
  static final Color WASTED = new Color(0xE4, 0x57, 0x56);
  static final Color CAPACITY = new Color(0x55, 0x55, 0x55);

  static final int PANEL_HEIGHT = 400;
  static final int ZOOM_WIDTH = 600;
  static final int FULL_WIDTH = 900;
  static final int WIDTH = ZOOM_WIDTH + FULL_WIDTH;

  private StormCharts() {}

  /**
   * Writes, into {@code directory} (created if needed): {@code storm.png}, every chart one above
   * the other; {@code storm-attempts.png}, {@code storm-connected.png} and
   * {@code storm-database-rate.png} (useful and wasted database work per second), each the first
   * minutes beside the whole run; and {@code storm-database.png}, useful against wasted database
   * work over the run.
   *
   * @return the paths written, the combined chart first
   * @throws IOException if a file cannot be written
   */
  static List<Path> write(List<SimulationResult> results, StormConfig config, Path directory)
      throws IOException {
    List<ChartSeries> series = new ArrayList<>();
    for (SimulationResult result : results) {
      series.add(ChartSeries.of(result));
    }
    return write(series, new Frame(config.hubs(), config.capacity(), config.durationSeconds()), directory);
  }

  /**
   * Writes the five files of {@link #write(List, StormConfig, Path)} from adapted series.
   *
   * @return the paths written, the combined chart first
   * @throws IOException if a file cannot be written
   */
  static List<Path> write(List<ChartSeries> series, Frame frame, Path directory) throws IOException {
    System.setProperty("java.awt.headless", "true");
    Files.createDirectories(directory);
    List<Styled> styled = styled(series);
    BufferedImage attempts = sideBySide(
        attemptsChart(styled, frame, true), attemptsChart(styled, frame, false));
    BufferedImage connected = sideBySide(
        connectedChart(styled, frame, true), connectedChart(styled, frame, false));
    BufferedImage databaseRate = sideBySide(
        databaseRateChart(styled, frame, true), databaseRateChart(styled, frame, false));
    BufferedImage database = databaseChart(styled, WIDTH);
    Path combinedFile = directory.resolve("storm.png");
    Path attemptsFile = directory.resolve("storm-attempts.png");
    Path connectedFile = directory.resolve("storm-connected.png");
    Path databaseFile = directory.resolve("storm-database.png");
    Path databaseRateFile = directory.resolve("storm-database-rate.png");
    save(stack(attempts, connected, databaseRate, database), combinedFile);
    save(attempts, attemptsFile);
    save(connected, connectedFile);
    save(database, databaseFile);
    save(databaseRate, databaseRateFile);
    return List.of(combinedFile, attemptsFile, connectedFile, databaseFile, databaseRateFile);
  }

  /**
   * What every chart of one replay shares.
   *
   * @param hubs the fleet size, the connected chart's ceiling
   * @param capacity the database's authentications per second, drawn as a dashed line
   * @param durationSeconds the run's length after the drop
   */
  record Frame(int hubs, int capacity, int durationSeconds) {

    /**
     * The zoomed panel's span: three times the fleet's drain time N/C (the time the database
     * needs to authenticate every hub once), rounded up to whole minutes, at least one minute and
     * at most the run.
     */
    int zoomSeconds() {
      long drain = 3L * hubs / Math.max(1, capacity);
      long minutes = Math.max(1, (drain + 59) / 60);
      return (int) Math.min(durationSeconds, minutes * 60);
    }

    /** The whole-run panel averages windows of this many seconds: at most about 180 points a line. */
    int windowSeconds() {
      return Math.max(1, durationSeconds / 180);
    }
  }

  /** A series with the colour, width and dash it is drawn with. */
  record Styled(ChartSeries series, Color colour, BasicStroke stroke) {}

  /**
   * Gives each series its look: within each group (unprotected, protected) the i-th row takes the
   * group's i-th colour and dash, and a width that shrinks with i, so later rows draw on top of
   * earlier ones without hiding them.
   */
  static List<Styled> styled(List<ChartSeries> series) {
    List<Styled> styled = new ArrayList<>();
    int unprotected = 0;
    int isProtected = 0;
    for (ChartSeries one : series) {
      int index = one.isProtected() ? isProtected++ : unprotected++;
      Color[] palette = one.isProtected() ? PROTECTED : UNPROTECTED;
      float width = Math.max(1.4f, (one.isProtected() ? 2.8f : 4.0f) - 0.6f * index);
      styled.add(new Styled(one, palette[index % palette.length], stroke(width, DASHES[index % DASHES.length])));
    }
    // Unprotected rows first, in the table's order, then Shepherd's on top.
    List<Styled> ordered = new ArrayList<>();
    for (Styled one : styled) {
      if (!one.series().isProtected()) {
        ordered.add(one);
      }
    }
    for (Styled one : styled) {
      if (one.series().isProtected()) {
        ordered.add(one);
      }
    }
    return ordered;
  }

  static BasicStroke stroke(float width, float[] dash) {
    return dash == null
        ? new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND)
        : new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f);
  }

  /**
   * Connection attempts per second on a log axis (a silent second is drawn at 1), with the
   * database's capacity dashed: per second over the zoom, in window means over the whole run.
   */
  static XYChart attemptsChart(List<Styled> styled, Frame frame, boolean zoom) {
    int span = zoom ? frame.zoomSeconds() : frame.durationSeconds();
    int window = zoom ? 1 : frame.windowSeconds();
    String resolution = window == 1 ? "each second" : "mean of each " + window + " s";
    XYChart chart = chart(zoom ? ZOOM_WIDTH : FULL_WIDTH, PANEL_HEIGHT,
        (zoom ? "First " + minutes(span) + ": " : "Whole run: ") + "connection attempts/s, " + resolution,
        "attempts per second (log scale)", span, !zoom);
    chart.getStyler().setYAxisLogarithmic(true);
    chart.getStyler().setYAxisMin(1.0);
    for (Styled one : styled) {
      Line line = means(one.series().attemptsPerSecond(), span, window, frame.durationSeconds() > 300 && !zoom);
      double[] y = line.y();
      for (int i = 0; i < y.length; i++) {
        // A logarithmic axis cannot show zero: a silent second is drawn on the axis, at 1.
        y[i] = Math.max(1.0, y[i]);
      }
      style(chart.addSeries(one.series().name(), line.x(), y), one);
    }
    capacityLine(chart, frame.capacity(), span, frame.durationSeconds() > 300 && !zoom);
    return chart;
  }

  /** Hubs connected at the end of each second (every second in both panels: the count is exact). */
  static XYChart connectedChart(List<Styled> styled, Frame frame, boolean zoom) {
    int span = zoom ? frame.zoomSeconds() : frame.durationSeconds();
    boolean inMinutes = frame.durationSeconds() > 300 && !zoom;
    XYChart chart = chart(zoom ? ZOOM_WIDTH : FULL_WIDTH, PANEL_HEIGHT,
        String.format(Locale.ROOT, "%s: hubs connected (of %,d)", zoom ? "First " + minutes(span) : "Whole run",
            frame.hubs()),
        "hubs connected", span, !zoom);
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisMax((double) frame.hubs());
    for (Styled one : styled) {
      int[] values = one.series().connectedAtSecondEnd();
      int n = Math.min(values.length, span);
      double[] x = new double[n + 1];
      double[] y = new double[n + 1];
      // None connected at the drop; then the count at the end of each second.
      for (int s = 0; s < n; s++) {
        x[s + 1] = inMinutes ? (s + 1) / 60.0 : s + 1;
        y[s + 1] = values[s];
      }
      style(chart.addSeries(one.series().name(), x, y), one);
    }
    return chart;
  }

  /**
   * The database's work per second on a linear axis from zero, with its capacity dotted: per row,
   * the useful authentications (the answer reached a waiting hub) as a solid line and the wasted
   * ones (the hub had already given up) as a dashed line, both in the row's colour and width; per
   * second over the zoom, in window means over the whole run. The legend names each row once (by
   * its solid line) and keys the two line styles in black. A row without a wasted series (a run
   * measured without it) draws its useful line only.
   */
  static XYChart databaseRateChart(List<Styled> styled, Frame frame, boolean zoom) {
    int span = zoom ? frame.zoomSeconds() : frame.durationSeconds();
    int window = zoom ? 1 : frame.windowSeconds();
    boolean inMinutes = frame.durationSeconds() > 300 && !zoom;
    String resolution = window == 1 ? "each second" : "mean of each " + window + " s";
    XYChart chart = chart(zoom ? ZOOM_WIDTH : FULL_WIDTH, PANEL_HEIGHT,
        (zoom ? "First " + minutes(span) + ": " : "Whole run: ") + "useful vs wasted database work/s, " + resolution,
        "authentications per second", span, !zoom);
    chart.getStyler().setYAxisMin(0.0);
    for (Styled one : styled) {
      Line useful = means(one.series().databaseUsefulPerSecond(), span, window, inMinutes);
      if (useful.x().length > 0) {
        style(chart.addSeries(one.series().name(), useful.x(), useful.y()), one.colour(),
            stroke(one.stroke().getLineWidth(), null));
      }
      Line wasted = means(one.series().databaseWastedPerSecond(), span, window, inMinutes);
      if (wasted.x().length > 0) {
        Line broken = dashed(wasted);
        XYSeries line = chart.addSeries(one.series().name() + ", wasted", broken.x(), broken.y());
        style(line, one.colour(), stroke(one.stroke().getLineWidth(), null));
        line.setShowInLegend(false);
      }
    }
    XYSeries capacity = chart.addSeries(
        String.format(Locale.ROOT, "database capacity (%,d/s)", frame.capacity()),
        new double[] {0.0, inMinutes ? span / 60.0 : span},
        new double[] {frame.capacity(), frame.capacity()});
    style(capacity, CAPACITY, stroke(1.4f, new float[] {2f, 3f}));
    // The key: one point at the origin each (drawn under the axis), shown only in the legend.
    style(chart.addSeries("solid: useful (a hub read it)", new double[] {0.0}, new double[] {0.0}), Color.BLACK,
        stroke(2f, null));
    style(chart.addSeries("dashed: wasted (hub gave up)", new double[] {0.0}, new double[] {0.0}), Color.BLACK,
        stroke(2f, WASTED_DASH));
    return chart;
  }

  /**
   * The same line with every third segment left out (a NaN point, which XChart does not join), so it
   * reads as dashed however densely its points lie. Every point still ends a drawn segment: no value,
   * not even a one-second spike, falls in a gap.
   */
  static Line dashed(Line line) {
    int n = line.x().length;
    int gaps = Math.max(0, (n - 1) / 3);
    double[] x = new double[n + gaps];
    double[] y = new double[n + gaps];
    int j = 0;
    for (int i = 0; i < n; i++) {
      x[j] = line.x()[i];
      y[j++] = line.y()[i];
      // Segments 0 and 1 drawn, segment 2 (from point 3k + 2 to 3k + 3) left out.
      if (i % 3 == 2 && i < n - 1) {
        x[j] = line.x()[i];
        y[j++] = Double.NaN;
      }
    }
    return new Line(x, y);
  }

  /**
   * Per strategy, one horizontal bar: the database's useful authentications (those that connected
   * a hub), then its wasted ones (answers that came after the hub had given up), each counted at
   * the bar's end, with the peak of the database's queue; on a linear axis, so that a bar's length
   * is its work.
   */
  static BufferedImage databaseChart(List<Styled> styled, int width) {
    Bars bars = new Bars(styled.size(), width, max(styled));
    BufferedImage image = new BufferedImage(width, bars.height(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, width, bars.height());
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
      String title = "Database work over the run: useful (it connected a hub) and wasted (the hub had already "
          + "given up)";
      g.drawString(title, (width - g.getFontMetrics().stringWidth(title)) / 2, 24);
      legend(g, bars.left(), 38);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      // The axis: gridlines at round counts, labelled below the last bar.
      long step = tickStep(bars.max());
      int axisY = bars.top() + styled.size() * Bars.ROW;
      for (long tick = 0; tick <= bars.max(); tick += step) {
        int x = bars.x(tick);
        g.setColor(new Color(0xE4, 0xE4, 0xE4));
        g.drawLine(x, bars.top() - 4, x, axisY);
        g.setColor(Color.DARK_GRAY);
        String label = String.format(Locale.ROOT, "%,d", tick);
        g.drawString(label, x - g.getFontMetrics().stringWidth(label) / 2, axisY + 16);
      }
      String axisTitle = "database authentications over the whole run";
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
      g.drawString(axisTitle, bars.x(0) + (bars.x(bars.max()) - bars.x(0) - g.getFontMetrics().stringWidth(axisTitle))
          / 2, axisY + 36);
      for (int i = 0; i < styled.size(); i++) {
        ChartSeries one = styled.get(i).series();
        int y = bars.top() + i * Bars.ROW;
        g.setFont(new Font(Font.SANS_SERIF, one.isProtected() ? Font.BOLD : Font.PLAIN, 13));
        g.setColor(Color.BLACK);
        String name = one.name();
        g.drawString(name, bars.left() - 10 - g.getFontMetrics().stringWidth(name), y + Bars.BAR / 2 + 5);
        int usefulEnd = bars.x(one.databaseUseful());
        int end = bars.x(one.databaseUseful() + one.databaseWasted());
        g.setColor(USEFUL);
        g.fillRect(bars.x(0), y, usefulEnd - bars.x(0), Bars.BAR);
        g.setColor(WASTED);
        g.fillRect(usefulEnd, y, end - usefulEnd, Bars.BAR);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawString(String.format(Locale.ROOT, "%s useful, %s wasted; peak queue %s", compact(one.databaseUseful()),
            compact(one.databaseWasted()), compact(one.peakQueue())), end + 8, y + Bars.BAR / 2 + 5);
      }
    } finally {
      g.dispose();
    }
    return image;
  }

  private static void legend(Graphics2D g, int x, int y) {
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setColor(USEFUL);
    g.fillRect(x, y, 14, 12);
    g.setColor(Color.BLACK);
    g.drawString("useful", x + 20, y + 11);
    g.setColor(WASTED);
    g.fillRect(x + 80, y, 14, 12);
    g.setColor(Color.BLACK);
    g.drawString("wasted", x + 100, y + 11);
  }

  private static long max(List<Styled> styled) {
    long max = 1;
    for (Styled one : styled) {
      max = Math.max(max, one.series().databaseUseful() + one.series().databaseWasted());
    }
    return max;
  }

  /**
   * Where the database chart draws: one row per strategy; counts map linearly onto
   * {@code [left, right]}, leaving room on the right for each bar's figures.
   *
   * @param rows the strategies
   * @param width the image's width
   * @param max the longest bar's count
   */
  record Bars(int rows, int width, long max) {
    static final int ROW = 30;
    static final int BAR = 20;
    static final int LABELS = 260;
    static final int FIGURES = 390;

    int left() {
      return LABELS;
    }

    int right() {
      return width - FIGURES;
    }

    int top() {
      return 64;
    }

    int height() {
      return top() + rows * ROW + 48;
    }

    /** The x of a count: 0 at {@link #left()}, {@code max} at {@link #right()}. */
    int x(long count) {
      return left() + (int) Math.round((double) count / max * (right() - left()));
    }

    /** The y of the middle of row {@code i}'s bar. */
    int middle(int row) {
      return top() + row * ROW + BAR / 2;
    }
  }

  /** A round step for about five gridlines up to {@code max}: 1, 2 or 5 times a power of ten. */
  static long tickStep(long max) {
    long step = 1;
    while (true) {
      for (long factor : new long[] {1, 2, 5}) {
        if (max / (step * factor) <= 6) {
          return step * factor;
        }
      }
      step *= 10;
    }
  }

  /** A count, exact below a million (16,973), else in millions to two decimals (3.04 M). */
  static String compact(long count) {
    if (count < 1_000_000) {
      return String.format(Locale.ROOT, "%,d", count);
    }
    return String.format(Locale.ROOT, "%.2f M", count / 1e6);
  }

  /** Points of one line: x in seconds or minutes, y the mean of each window. */
  record Line(double[] x, double[] y) {}

  /**
   * The mean of each {@code window} seconds of {@code values} over the first {@code span} seconds,
   * each drawn at its window's middle.
   */
  static Line means(int[] values, int span, int window, boolean inMinutes) {
    int n = Math.min(values.length, span);
    int windows = (n + window - 1) / window;
    double[] x = new double[windows];
    double[] y = new double[windows];
    for (int w = 0; w < windows; w++) {
      int from = w * window;
      int to = Math.min(n, from + window);
      long sum = 0;
      for (int s = from; s < to; s++) {
        sum += values[s];
      }
      double middle = window == 1 ? from : (from + to) / 2.0;
      x[w] = inMinutes ? middle / 60 : middle;
      y[w] = (double) sum / (to - from);
    }
    return new Line(x, y);
  }

  static void capacityLine(XYChart chart, int capacity, int span, boolean inMinutes) {
    XYSeries line = chart.addSeries(
        String.format(Locale.ROOT, "database capacity (%,d/s)", capacity),
        new double[] {0.0, inMinutes ? span / 60.0 : span},
        new double[] {capacity, capacity});
    line.setMarker(SeriesMarkers.NONE);
    line.setLineColor(CAPACITY);
    line.setLineStyle(stroke(1.4f, new float[] {6f, 4f}));
  }

  private static String minutes(int seconds) {
    return seconds % 60 == 0 ? seconds / 60 + (seconds == 60 ? " minute" : " minutes") : seconds + " s";
  }

  /**
   * A time chart over {@code span} seconds: the x axis in minutes when the span is over five
   * minutes and {@code wholeRun} (the whole-run panel, which alone carries the legend), else
   * in seconds.
   */
  static XYChart chart(int width, int height, String title, String yTitle, int span, boolean wholeRun) {
    boolean inMinutes = wholeRun && span > 300;
    XYChart chart = new XYChartBuilder()
        .width(width)
        .height(height)
        .title(title)
        .xAxisTitle(inMinutes ? "minutes after the drop" : "seconds after the drop")
        .yAxisTitle(yTitle)
        .build();
    // One legend per pair of panels, outside the whole-run panel: the zoom shares its colours.
    theme(chart, wholeRun);
    chart.getStyler().setLegendPosition(LegendPosition.OutsideE);
    chart.getStyler().setXAxisMin(0.0);
    chart.getStyler().setXAxisMax(inMinutes ? span / 60.0 : span);
    chart.getStyler().setXAxisDecimalPattern("#,##0.#");
    chart.getStyler().setXAxisTickMarkSpacingHint(90);
    chart.getStyler().setYAxisDecimalPattern("#,###");
    chart.getStyler().setMarkerSize(0);
    return chart;
  }

  static void theme(Chart<? extends AxesChartStyler, ?> chart, boolean legend) {
    AxesChartStyler styler = chart.getStyler();
    styler.setLegendVisible(legend);
    styler.setLegendBackgroundColor(new Color(255, 255, 255, 225));
    styler.setLegendBorderColor(new Color(0xBB, 0xBB, 0xBB));
    styler.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    styler.setLegendSeriesLineLength(36);
    styler.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    styler.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    styler.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    styler.setChartBackgroundColor(Color.WHITE);
    styler.setPlotBackgroundColor(Color.WHITE);
    styler.setPlotBorderColor(new Color(0x99, 0x99, 0x99));
    styler.setPlotGridLinesColor(new Color(0xE4, 0xE4, 0xE4));
    styler.setAntiAlias(true);
  }

  private static void style(XYSeries series, Styled styled) {
    style(series, styled.colour(), styled.stroke());
  }

  private static void style(XYSeries series, Color colour, BasicStroke stroke) {
    series.setMarker(SeriesMarkers.NONE);
    series.setLineColor(colour);
    series.setLineStyle(stroke);
  }

  static BufferedImage image(Chart<?, ?> chart) {
    BufferedImage image = new BufferedImage(chart.getWidth(), chart.getHeight(), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      chart.paint(g, chart.getWidth(), chart.getHeight());
    } finally {
      g.dispose();
    }
    return image;
  }

  static BufferedImage sideBySide(Chart<?, ?> left, Chart<?, ?> right) {
    BufferedImage image = new BufferedImage(left.getWidth() + right.getWidth(),
        Math.max(left.getHeight(), right.getHeight()), BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.drawImage(image(left), 0, 0, null);
      g.drawImage(image(right), left.getWidth(), 0, null);
    } finally {
      g.dispose();
    }
    return image;
  }

  static BufferedImage stack(BufferedImage... images) {
    int width = 0;
    int height = 0;
    for (BufferedImage one : images) {
      width = Math.max(width, one.getWidth());
      height += one.getHeight();
    }
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, width, height);
      int y = 0;
      for (BufferedImage one : images) {
        g.drawImage(one, 0, y, null);
        y += one.getHeight();
      }
    } finally {
      g.dispose();
    }
    return image;
  }

  static void save(BufferedImage image, Path file) throws IOException {
    if (!ImageIO.write(image, "png", file.toFile())) {
      throw new IOException("no PNG writer in this JDK");
    }
  }
}
