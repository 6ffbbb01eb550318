package dev.shepherd.examples;

import dev.shepherd.storm.Simulation;
import dev.shepherd.storm.SimulationResult;
import dev.shepherd.storm.StormConfig;
import dev.shepherd.storm.StormReport;
import dev.shepherd.storm.Strategies;
import dev.shepherd.storm.Strategy;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Replays the reconnect storm: a seeded discrete-event simulation of a fleet of hubs that lose
 * their connection at the same instant, under strategies side by side that separate the causes,
 * from the outage (immediate retry) to the library's defaults and their ablations. Prints a table
 * and writes charts; {@code --guard-study} runs the deadline-guard study instead.
 *
 * <p>Run it from the repository root with {@code mvn -q -pl examples -am compile exec:java
 * -Dexec.mainClass=dev.shepherd.examples.StormSimulator}; add {@code -Dexec.args="--help"} for the
 * options.
 */
public final class StormSimulator {

  private static final Set<String> VALUED =
      Set.of("hubs", "capacity", "servers", "seed", "duration", "timeout", "out", "json", "only");
  private static final Set<String> FLAGS = Set.of("help", "guard-study");
  /** The default folder of the charts. */
  static final Path DEFAULT_OUTPUT_DIR = Path.of("target", "storm");

  private StormSimulator() {}

  /**
   * Runs the simulator; exits with status 2 on a bad command line.
   *
   * @param args the options; {@code --help} lists them
   */
  public static void main(String[] args) {
    int status = run(args, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  /**
   * Runs the simulator without exiting the JVM.
   *
   * @return 0 on success, 2 on a bad command line, 1 if the charts cannot be written
   */
  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      CommandLine line = CommandLine.parse(args, VALUED, FLAGS);
      if (line.has("help")) {
        out.print(usage());
        return 0;
      }
      options = configure(line);
    } catch (UsageException e) {
      err.println("storm simulator: " + e.getMessage());
      err.println("Try --help for the options.");
      return 2;
    }
    StormConfig config = options.config();
    List<Strategy> strategies = new ArrayList<>();
    for (Strategy strategy : options.guardStudy() ? Strategies.deadlineGuardStudy() : Strategies.all(config)) {
      if (strategy.name().toLowerCase(Locale.ROOT).contains(options.only().toLowerCase(Locale.ROOT))) {
        strategies.add(strategy);
      }
    }
    if (strategies.isEmpty()) {
      err.println("storm simulator: no strategy's name contains '" + options.only() + "'");
      err.println("Try --help for the options.");
      return 2;
    }
    List<SimulationResult> results = simulate(config, strategies, out);
    out.println();
    out.println(StormReport.heading(config));
    out.println();
    out.print(StormReport.table(results));
    out.println();
    try {
      if (options.json() != null) {
        Path parent = options.json().toAbsolutePath().getParent();
        if (parent != null) {
          java.nio.file.Files.createDirectories(parent);
        }
        java.nio.file.Files.writeString(options.json(), StormReport.json(config, results));
        out.println("json: " + options.json().toAbsolutePath().normalize());
      }
      List<Path> files = StormCharts.write(results, config, options.outputDir());
      for (Path file : files) {
        out.println("chart: " + file.toAbsolutePath().normalize());
      }
    } catch (IOException e) {
      err.println("storm simulator: cannot write the charts or the json: " + e.getMessage());
      return 1;
    }
    return 0;
  }

  static String usage() {
    return String.join(System.lineSeparator(),
        "Usage: StormSimulator [options]",
        "",
        "Replays a reconnect storm: N hubs lose their connection at t = 0 and reconnect through a",
        "load balancer to connect servers whose database authenticates C connections per second.",
        "The strategies run side by side on the same seeded storm, from immediate retry (the",
        "outage) to Shepherd's defaults; prints a table and writes PNG charts.",
        "",
        "Options:",
        "  --hubs N         hubs in the fleet (default 100,000)",
        "  --capacity C     database authentications per second at full speed (default 2,000)",
        "  --servers S      connect servers behind the load balancer (default 4); with more than",
        "                   one, a row with one fleet-wide admission is added",
        "  --seed S         seed of every random draw; same seed, same table (default 42)",
        "  --duration SEC   seconds simulated after the drop (default 1,800)",
        "  --timeout SEC    how long a hub waits for an answer before retrying (default 10)",
        "  --out DIR        folder for the charts (default target/storm)",
        "  --json FILE      also write every row's outcome as JSON to FILE",
        "  --only TEXT      run only the strategies whose name contains TEXT (any case)",
        "  --guard-study    instead of the replay's rows, run the deadline-guard study: immediate",
        "                   retry against a database queue with only a deadline guard, first-in",
        "                   first-out and newest-first, drops costing 0, 5 and 20 % of a query",
        "  --help           print this help and exit",
        "",
        "From the repository root: mvn -q -pl examples -am compile exec:java",
        "  -Dexec.mainClass=dev.shepherd.examples.StormSimulator -Dexec.args=\"--hubs 20000\"",
        "Exit status: 0 on success, 1 if the charts cannot be written, 2 on a bad option.",
        "");
  }

  /** What the command line asks for: the storm, and where the charts go. */
  record Options(StormConfig config, Path outputDir, Path json, String only, boolean guardStudy) {}

  static Options configure(CommandLine line) throws UsageException {
    StormConfig defaults = StormConfig.defaults();
    int hubs = (int) line.whole("hubs", defaults.hubs(), 1, 10_000_000);
    int capacity = (int) line.whole("capacity", defaults.capacity(), 1, 100_000_000);
    int servers = (int) line.whole("servers", defaults.servers(), 1, 1_000);
    long seed = line.whole("seed", defaults.seed(), Long.MIN_VALUE, Long.MAX_VALUE);
    int duration = (int) line.whole("duration", defaults.durationSeconds(), 1, 86_400);
    double timeout = line.decimal("timeout", StormConfig.DEFAULT_TIMEOUT_SECONDS, 0.001, 3_600);
    String out = line.string("out", DEFAULT_OUTPUT_DIR.toString());
    if (out.isBlank()) {
      throw new UsageException("--out must name a folder");
    }
    String json = line.string("json", null);
    if (json != null && json.isBlank()) {
      throw new UsageException("--json must name a file");
    }
    return new Options(new StormConfig(hubs, capacity, servers, seed, duration, Math.round(timeout * 1e9)),
        Path.of(out), json == null ? null : Path.of(json), line.string("only", ""), line.has("guard-study"));
  }

  /**
   * Runs every strategy on the same storm, in parallel, printing progress.
   */
  static List<SimulationResult> simulate(
      StormConfig config, List<Strategy> strategies, PrintStream out) {
    out.printf(Locale.ROOT, "Simulating %,d hubs under %d strategies, %,d s after the drop...%n",
        config.hubs(), strategies.size(), config.durationSeconds());
    Progress progress = new Progress(strategies, out);
    long started = System.nanoTime();
    List<SimulationResult> results = Simulation.runAll(config, strategies, progress);
    out.printf(Locale.ROOT, "Simulated in %.1f s.%n", (System.nanoTime() - started) / 1e9);
    return results;
  }

  /** Prints overall progress in steps of 10 % and a line per finished strategy. */
  private static final class Progress implements Simulation.Progress {
    private final List<Strategy> strategies;
    private final PrintStream out;
    private final AtomicIntegerArray percent;
    private int printed;

    Progress(List<Strategy> strategies, PrintStream out) {
      this.strategies = strategies;
      this.out = out;
      this.percent = new AtomicIntegerArray(strategies.size());
    }

    @Override
    public void update(int index, int value) {
      percent.set(index, value);
      int total = 0;
      for (int i = 0; i < percent.length(); i++) {
        total += percent.get(i);
      }
      int overall = total / percent.length() / 10 * 10;
      synchronized (this) {
        if (overall > printed && overall < 100) {
          printed = overall;
          out.printf(Locale.ROOT, "  %d%%%n", overall);
        }
      }
    }

    @Override
    public synchronized void done(int index, long nanos) {
      out.printf(Locale.ROOT, "  done: %s (%.1f s)%n", strategies.get(index).name(), nanos / 1e9);
    }
  }
}
