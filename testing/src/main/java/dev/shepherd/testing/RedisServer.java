package dev.shepherd.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.opentest4j.TestAbortedException;

/**
 * A real {@code redis-server} on a free loopback port, without persistence, for tests and
 * benchmarks: no mocks, no Docker.
 *
 * <pre>{@code
 * try (RedisServer redis = RedisServer.start()) {
 *   RedisClient client = RedisClient.create(redis.uri());
 *   // ...
 * }
 * }</pre>
 *
 * <p>Started as {@code redis-server --port P --bind 127.0.0.1 --save '' --appendonly no} (in a
 * private temporary working directory, logging at warning level to a file there), and considered
 * up once it answers {@code PING}. {@link #stop()} ends it (SIGTERM, then SIGKILL after 5 s), as a
 * crash looks to its clients; {@link #restart()} brings it back on the same port with an empty
 * dataset and an empty script cache, as after a real restart; {@link #close()} stops it and
 * removes its directory. Every process is also registered with a JVM shutdown hook that kills it,
 * so an aborted run never leaves a server behind.
 *
 * <p><b>When {@code redis-server} is missing.</b> {@link #start()} and {@link #requireInstalled()}
 * then abort the calling test with an {@link TestAbortedException} (JUnit 5 and other
 * opentest4j-aware frameworks report the test as skipped) after printing a loud banner once to
 * standard error, except when the environment variable {@code CI} is {@code "true"}: there they
 * throw an {@link AssertionError}, so CI can never skip silently. The executable is
 * {@code $REDIS_SERVER} when that is set (and then only there), otherwise the first
 * {@code redis-server} on the {@code PATH} or in {@code /usr/bin}, {@code /usr/sbin},
 * {@code /usr/local/bin}.
 *
 * <p>Thread-safe; {@code stop}, {@code restart} and {@code close} are serialised.
 */
public final class RedisServer implements AutoCloseable {

  /** The only address the server listens on. */
  public static final String HOST = "127.0.0.1";

  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final AtomicBoolean BANNER_SHOWN = new AtomicBoolean();
  private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final int START_ATTEMPTS = 5;

  static {
    Runtime.getRuntime().addShutdownHook(
        new Thread(() -> LIVE.forEach(Process::destroyForcibly), "redis-server-reaper"));
  }

  private final ReentrantLock lock = new ReentrantLock();
  private final Path executable;
  private final Path dir;
  private final int port;
  private final List<String> arguments;
  private volatile Process process;

  /**
   * What a launcher adds to the command line of one server: arguments before the standard ones (a
   * configuration file) and after them (cluster or replication settings). May write files into
   * the server's directory; called once per start attempt, with that attempt's port.
   */
  interface Options {
    /**
     * Returns the whole command line after the executable, given the standard arguments.
     *
     * @throws IOException if a file the server needs could not be written
     */
    List<String> arguments(Path dir, int port, List<String> standard) throws IOException;

    /** The same, for options that only append to the standard arguments. */
    static Options appending(Extra extra) {
      return (dir, port, standard) -> {
        List<String> all = new ArrayList<>(standard);
        all.addAll(extra.arguments(dir, port));
        return all;
      };
    }
  }

  /** Arguments appended to the standard ones. */
  interface Extra {
    List<String> arguments(Path dir, int port) throws IOException;
  }

  private RedisServer(Path executable, Path dir, int port, List<String> arguments) {
    this.executable = executable;
    this.dir = dir;
    this.port = port;
    this.arguments = arguments;
  }

  /**
   * Finds the {@code redis-server} executable, as the class comment says where.
   *
   * @return the executable, or empty if there is none
   */
  public static Optional<Path> executable() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv("REDIS_SERVER");
    if (env != null && !env.isBlank()) {
      candidates.add(Paths.get(env)); // when set, the only place looked at
    } else {
      String path = System.getenv("PATH");
      if (path != null) {
        for (String entry : path.split(File.pathSeparator)) {
          if (!entry.isEmpty()) {
            candidates.add(Paths.get(entry, "redis-server"));
          }
        }
      }
      candidates.add(Paths.get("/usr/bin/redis-server"));
      candidates.add(Paths.get("/usr/sbin/redis-server"));
      candidates.add(Paths.get("/usr/local/bin/redis-server"));
    }
    return candidates.stream().filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst();
  }

  /**
   * Returns whether this run must fail rather than skip when {@code redis-server} is missing: when
   * the environment variable {@code CI} is {@code "true"} (in any case).
   *
   * @return {@code true} on CI
   */
  public static boolean mustNotSkip() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /**
   * Returns the {@code redis-server} executable, or aborts the calling test (skipped, with a loud
   * banner) when there is none, or fails it on CI.
   *
   * @return the executable
   * @throws TestAbortedException if {@code redis-server} is missing and this is not CI
   * @throws AssertionError if {@code redis-server} is missing on CI ({@code CI=true})
   */
  public static Path requireInstalled() {
    Optional<Path> found = executable();
    if (found.isPresent()) {
      return found.get();
    }
    String message = "redis-server is not installed (looked in $REDIS_SERVER if set, else $PATH, /usr/bin, "
        + "/usr/sbin, /usr/local/bin), and this needs a real Redis. "
        + "Install it (Debian: apt-get install redis-server).";
    if (mustNotSkip()) {
      throw new AssertionError("CI=true and " + message + " CI must never skip the tests that need Redis.");
    }
    if (BANNER_SHOWN.compareAndSet(false, true)) {
      // The JDK's platform logger (java.util.logging unless the application routes it): once per
      // JVM, at WARNING, so a skipped Redis suite stands out in a build log without a dependency.
      String banner = "*".repeat(100);
      System.getLogger(RedisServer.class.getName()).log(System.Logger.Level.WARNING,
          "%n%s%n*** SKIPPING the tests that need Redis: %s%n%s".formatted(banner, message, banner));
    }
    throw new TestAbortedException("SKIPPED (loudly): " + message);
  }

  /**
   * Starts a server on a free loopback port and returns once it answers {@code PING}.
   *
   * @return the running server; close it when done
   * @throws TestAbortedException if {@code redis-server} is missing and this is not CI
   * @throws AssertionError if {@code redis-server} is missing on CI
   * @throws IllegalStateException if the server did not come up after 5 attempts on fresh ports
   *     (its log is in the message)
   */
  public static RedisServer start() {
    return start("redis", Options.appending(NONE));
  }

  private static final Extra NONE = (dir, port) -> List.of();

  /**
   * Starts a server with {@code options} on a free loopback port (5 attempts on fresh ports).
   *
   * @param tag the start of its temporary directory's name
   */
  static RedisServer start(String tag, Options options) {
    Path exe = requireInstalled();
    IOException last = null;
    for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      int port = freePort();
      Path dir;
      try {
        dir = Files.createTempDirectory("shepherd-" + tag + "-" + port + "-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      RedisServer server;
      try {
        server = new RedisServer(exe, dir, port, List.copyOf(options.arguments(dir, port, standard(dir, port))));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      try {
        server.launch();
        return server;
      } catch (IOException e) {
        // Most likely the port was taken between freePort() and the bind: try another.
        last = e;
        server.close();
      }
    }
    throw new IllegalStateException("could not start redis-server after " + START_ATTEMPTS + " attempts", last);
  }

  /**
   * Returns the port the server listens on (the same after a restart).
   *
   * @return the loopback port
   */
  public int port() {
    return port;
  }

  /**
   * Returns the server's address as a Redis URI, {@code redis://127.0.0.1:<port>}.
   *
   * @return the URI to connect to
   */
  public String uri() {
    return "redis://" + HOST + ":" + port;
  }

  /**
   * Returns whether the server process is alive.
   *
   * @return {@code false} after {@link #stop()} or {@link #close()}, or if it died
   */
  public boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /**
   * Returns one section of {@code INFO} as its {@code field -> value} pairs, for example
   * {@code info("replication").get("master_repl_offset")}.
   *
   * @param section the section, such as {@code "replication"} or {@code "server"}
   * @return the fields in the order Redis lists them
   * @throws UncheckedIOException if the server does not answer
   * @throws IllegalStateException if it answers with an error
   */
  public Map<String, String> info(String section) {
    Objects.requireNonNull(section, "section");
    return Resp.fields(Resp.once(port, "INFO", section));
  }

  /** The server's private working directory. */
  Path dir() {
    return dir;
  }

  /**
   * Sends {@code PING} on a fresh connection.
   *
   * @return whether the server answered {@code +PONG}
   */
  public boolean ping() {
    return ping(port);
  }

  /**
   * Stops the server, as a crash looks to its clients: connections drop. Does nothing if it is
   * stopped already. If interrupted while waiting for the process to end, kills it forcibly and
   * keeps the thread's interrupt status.
   */
  public void stop() {
    lock.lock();
    try {
      Process p = process;
      process = null;
      if (p == null) {
        return;
      }
      try {
        p.destroy();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
      } finally {
        LIVE.remove(p);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops the server if it runs and starts it again on the same port, empty.
   *
   * @throws UncheckedIOException if it did not come back (its log is in the message)
   */
  public void restart() {
    lock.lock();
    try {
      stop();
      launch();
    } catch (IOException e) {
      throw new UncheckedIOException("redis-server did not come back on port " + port, e);
    } finally {
      lock.unlock();
    }
  }

  /** Stops the server and deletes its working directory; idempotent. */
  @Override
  public void close() {
    lock.lock();
    try {
      stop();
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          Files.deleteIfExists(f);
        }
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        // Already gone, or a leftover empty temporary directory: harmless either way.
      }
    } finally {
      lock.unlock();
    }
  }

  private static List<String> standard(Path dir, int port) {
    return List.of(
        "--port", Integer.toString(port),
        "--bind", HOST,
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", dir.toString(),
        "--loglevel", "warning");
  }

  private void launch() throws IOException {
    List<String> command = new ArrayList<>(arguments.size() + 1);
    command.add(executable.toString());
    command.addAll(arguments);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectErrorStream(true);
    pb.redirectOutput(dir.resolve("redis.log").toFile());
    Process p = pb.start();
    LIVE.add(p);
    process = p;
    long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
    while (System.nanoTime() - deadline < 0) {
      if (!p.isAlive()) {
        LIVE.remove(p);
        process = null;
        throw new IOException("redis-server exited with " + p.exitValue() + " on port " + port + ": " + log());
      }
      if (ping(port)) {
        return;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10)); // polling a process start, not timing
    }
    stop();
    throw new IOException("redis-server did not answer PING within 10 s on port " + port + ": " + log());
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("redis.log"), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static boolean ping(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getByName(HOST), port), 200);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[7];
      int n = 0;
      while (n < buf.length) {
        int r = in.read(buf, n, buf.length - n);
        if (r < 0) {
          break;
        }
        n += r;
      }
      return new String(buf, 0, n, StandardCharsets.US_ASCII).equals("+PONG\r\n");
    } catch (IOException e) {
      return false;
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(HOST))) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "redis-server on %s:%d%s", HOST, port, isRunning() ? "" : " (stopped)");
  }
}
