package dev.shepherd.ratelimit.redis;

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
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;

/**
 * A real {@code redis-server} on a free loopback port, without persistence, started and stopped by
 * the tests: no mocks, no Docker.
 *
 * <p>Started as {@code redis-server --port P --bind 127.0.0.1 --save '' --appendonly no} (plus a
 * private working directory), and considered up once it answers {@code PING}. {@link #stop()} ends
 * it (SIGTERM, then SIGKILL after 5 s); {@link #start()} brings it back on the same port, with an
 * empty dataset and an empty script cache, as after a real restart. Every process is also
 * registered with a JVM shutdown hook that kills it, so a crashed or aborted test run never leaves
 * a server behind.
 *
 * <p>Where {@code redis-server} is not installed, {@link #requireInstalled()} skips the calling
 * tests with a loud message, except when the environment variable {@code CI} is {@code "true"}:
 * there its absence fails the build, so CI can never skip silently. The executable is
 * {@code $REDIS_SERVER} when that is set (only there), otherwise the first {@code redis-server} on
 * the {@code PATH} or in the usual Debian locations.
 */
final class RedisServer implements AutoCloseable {

  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final AtomicBoolean BANNER_SHOWN = new AtomicBoolean();
  private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly), "redis-server-reaper"));
  }

  private final Path executable;
  private final Path dir;
  private final int port;
  private volatile Process process;

  private RedisServer(Path executable, Path dir, int port) {
    this.executable = executable;
    this.dir = dir;
    this.port = port;
  }

  /** Finds redis-server, or returns empty. */
  static Optional<Path> executable() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv("REDIS_SERVER");
    if (env != null && !env.isBlank()) {
      candidates.add(Paths.get(env)); // when set, the only place looked at
      return candidates.stream().filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst();
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String entry : path.split(java.io.File.pathSeparator)) {
        if (!entry.isEmpty()) {
          candidates.add(Paths.get(entry, "redis-server"));
        }
      }
    }
    candidates.add(Paths.get("/usr/bin/redis-server"));
    candidates.add(Paths.get("/usr/sbin/redis-server"));
    candidates.add(Paths.get("/usr/local/bin/redis-server"));
    return candidates.stream().filter(p -> Files.isRegularFile(p) && Files.isExecutable(p)).findFirst();
  }

  /**
   * Returns the redis-server executable; skips the calling test loudly when there is none, or
   * fails it when running in CI ({@code CI=true}).
   */
  static Path requireInstalled() {
    Optional<Path> found = executable();
    if (found.isPresent()) {
      return found.get();
    }
    boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
    String message = "redis-server is not installed (looked in $REDIS_SERVER if set, else $PATH, /usr/bin, /usr/sbin, "
        + "/usr/local/bin): "
        + "the ratelimit-redis tests need a real Redis. Install it (Debian: apt-get install redis-server).";
    if (ci) {
      throw new AssertionError("CI=true and " + message + " CI must never skip these tests.");
    }
    if (BANNER_SHOWN.compareAndSet(false, true)) {
      String banner = "*".repeat(100);
      System.err.println(banner);
      System.err.println("*** SKIPPING the ratelimit-redis tests that need Redis: " + message);
      System.err.println(banner);
    }
    Assumptions.abort("SKIPPED (loudly): " + message);
    throw new AssertionError("unreachable");
  }

  /** Starts a server on a free loopback port; skips or fails as {@link #requireInstalled()} says. */
  static RedisServer start() {
    Path exe = requireInstalled();
    IOException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      int port = freePort();
      Path dir;
      try {
        dir = Files.createTempDirectory("shepherd-redis-" + port + "-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      RedisServer server = new RedisServer(exe, dir, port);
      try {
        server.launch();
        return server;
      } catch (IOException e) {
        // Most likely the port was taken between freePort() and the bind: try another.
        last = e;
        server.close();
      }
    }
    throw new IllegalStateException("could not start redis-server after 5 attempts", last);
  }

  int port() {
    return port;
  }

  String uri() {
    return "redis://127.0.0.1:" + port;
  }

  boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Stops the server (as a crash would look to clients: connections drop). */
  void stop() {
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
  }

  /** Starts the server again on the same port, empty. */
  void restart() {
    stop();
    try {
      launch();
    } catch (IOException e) {
      throw new UncheckedIOException("redis-server did not come back on port " + port, e);
    }
  }

  @Override
  public void close() {
    stop();
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // A leftover empty temp directory is harmless.
    }
  }

  private void launch() throws IOException {
    ProcessBuilder pb = new ProcessBuilder(
        executable.toString(),
        "--port", Integer.toString(port),
        "--bind", "127.0.0.1",
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", dir.toString(),
        "--loglevel", "warning");
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

  /** Sends PING on a fresh socket; true iff the answer is +PONG. */
  static boolean ping(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
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

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "redis-server on 127.0.0.1:%d%s", port, isRunning() ? "" : " (stopped)");
  }
}
