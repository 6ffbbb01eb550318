package dev.shepherd.benchmarks;

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
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A private {@code redis-server} for one benchmark trial: started on a free loopback port without
 * persistence ({@code --port P --bind 127.0.0.1 --save '' --appendonly no}), stopped by
 * {@link #close()}. Every process is also registered with a shutdown hook that kills it, so a
 * benchmark that fails half-way never leaves a server behind.
 *
 * <p>The executable is {@code $REDIS_SERVER} when set, otherwise the first {@code redis-server} on the
 * {@code PATH} or in the usual Debian locations.
 */
final class LocalRedisServer implements AutoCloseable {

  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
  private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

  static {
    Runtime.getRuntime().addShutdownHook(
        new Thread(() -> LIVE.forEach(Process::destroyForcibly), "redis-server-reaper"));
  }

  private final Process process;
  private final Path dir;
  private final int port;

  private LocalRedisServer(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
  }

  /** Finds redis-server, or returns empty. */
  static Optional<Path> executable() {
    List<Path> candidates = new ArrayList<>();
    String env = System.getenv("REDIS_SERVER");
    if (env != null && !env.isBlank()) {
      candidates.add(Paths.get(env));
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

  /** Starts a server on a free loopback port and waits until it answers PING. */
  static LocalRedisServer start() throws IOException {
    Path exe = executable().orElseThrow(() -> new IllegalStateException(
        "redis-server is not installed ($REDIS_SERVER, $PATH, /usr/bin, /usr/sbin, /usr/local/bin): the Redis "
            + "benchmark needs a real Redis (Debian: apt-get install redis-server)"));
    IOException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      int port = freePort();
      Path dir = Files.createTempDirectory("shepherd-bench-redis-" + port + "-");
      try {
        return launch(exe, dir, port);
      } catch (IOException e) {
        last = e; // most likely the port was taken between freePort() and the bind
        deleteDir(dir);
      }
    }
    throw new IOException("could not start redis-server after 5 attempts", last);
  }

  private static LocalRedisServer launch(Path exe, Path dir, int port) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(
        exe.toString(),
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
    LocalRedisServer server = new LocalRedisServer(p, dir, port);
    long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
    while (System.nanoTime() - deadline < 0) {
      if (!p.isAlive()) {
        String log = server.log();
        server.close();
        throw new IOException("redis-server exited with " + p.exitValue() + " on port " + port + ": " + log);
      }
      if (ping(port)) {
        return server;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
    }
    String log = server.log();
    server.close();
    throw new IOException("redis-server did not answer PING within 10 s on port " + port + ": " + log);
  }

  String uri() {
    return "redis://127.0.0.1:" + port;
  }

  /** Kills the server (SIGTERM, then SIGKILL after 5 s) and removes its directory; idempotent. */
  @Override
  public void close() {
    try {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      LIVE.remove(process);
      deleteDir(dir);
    }
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("redis.log"), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static void deleteDir(Path dir) {
    try (var files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      // A leftover empty temp directory is harmless.
    }
  }

  private static boolean ping(int port) {
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
}
