package dev.shepherd.micrometer;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A private {@code redis-server} on a free 127.0.0.1 port, without persistence; skipped where it
 * is not installed, except on CI ({@code CI=true}), where its absence fails.
 */
final class LocalRedis implements AutoCloseable {

  private final Process process;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;

  private LocalRedis(Process process, RedisClient client, StatefulRedisConnection<String, String> connection) {
    this.process = process;
    this.client = client;
    this.connection = connection;
  }

  static LocalRedis start() throws IOException, InterruptedException {
    Path executable = List.of("/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server")
        .stream().map(Path::of).filter(Files::isExecutable).findFirst().orElse(null);
    if (executable == null) {
      if ("true".equals(System.getenv("CI"))) {
        throw new IllegalStateException("redis-server is not installed; CI must install it");
      }
      Assumptions.abort("redis-server is not installed: the Redis meters are not tested here");
    }
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = probe.getLocalPort();
    }
    Path dir = Files.createTempDirectory("shepherd-micrometer-redis");
    Process process = new ProcessBuilder(executable.toString(), "--port", Integer.toString(port),
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port)
        .withTimeout(Duration.ofSeconds(2)).build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        StatefulRedisConnection<String, String> connection = client.connect();
        connection.sync().ping();
        return new LocalRedis(process, client, connection);
      } catch (RuntimeException notYet) {
        if (System.nanoTime() > deadline || !process.isAlive()) {
          process.destroyForcibly();
          client.shutdown();
          throw new IllegalStateException("redis-server did not start on port " + port, notYet);
        }
        TimeUnit.MILLISECONDS.sleep(50);
      }
    }
  }

  StatefulRedisConnection<String, String> connection() {
    return connection;
  }

  /** Kills the server, as a crash would; the connection stays open and fails. */
  void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    kill();
    connection.close();
    client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
  }
}
