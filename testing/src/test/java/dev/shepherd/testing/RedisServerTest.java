package dev.shepherd.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.opentest4j.TestAbortedException;

class RedisServerTest {

  /** Sends one inline command on a fresh connection and returns the first reply line. */
  private static String command(int port, String command) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2_000);
      s.setSoTimeout(5_000);
      OutputStream out = s.getOutputStream();
      out.write((command + "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0 && c != '\n') {
        line.append((char) c);
      }
      return line.toString().strip();
    }
  }

  @Test
  @Timeout(60)
  void startsOnLoopbackWithoutPersistenceAndComesBackEmptyAfterARestart() throws Exception {
    try (RedisServer redis = RedisServer.start()) {
      assertTrue(redis.isRunning());
      assertTrue(redis.ping());
      assertEquals("redis://127.0.0.1:" + redis.port(), redis.uri());
      assertEquals("+OK", command(redis.port(), "SET shepherd 1"));
      assertEquals("*2", command(redis.port(), "CONFIG GET save"));
      // CONFIG GET answers an array; read the whole reply to check the values.
      assertEquals("127.0.0.1", configValue(redis.port(), "bind"));
      assertEquals("", configValue(redis.port(), "save"));
      assertEquals("no", configValue(redis.port(), "appendonly"));

      redis.stop();
      assertFalse(redis.isRunning());
      assertFalse(redis.ping());
      redis.stop(); // idempotent

      redis.restart();
      assertTrue(redis.ping(), "back on the same port");
      assertEquals("$-1", command(redis.port(), "GET shepherd"), "empty after a restart");
    }
  }

  @Test
  @Timeout(60)
  void closeEndsTheProcessAndIsIdempotent() {
    RedisServer redis = RedisServer.start();
    int port = redis.port();
    redis.close();
    assertFalse(redis.isRunning());
    assertFalse(redis.ping());
    redis.close();
    assertTrue(redis.toString().endsWith(port + " (stopped)"), redis.toString());
  }

  private static String configValue(int port, String key) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 2_000);
      s.setSoTimeout(5_000);
      s.getOutputStream().write(("CONFIG GET " + key + "\r\n").getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      // *2 / $len / key / $len / value
      String[] lines = new String[5];
      for (int i = 0; i < lines.length; i++) {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
          line.append((char) c);
        }
        lines[i] = line.toString().strip();
      }
      return lines[4];
    }
  }

  /** Runs {@link SkipProbe} in a fresh JVM whose redis-server cannot be found, with or without CI. */
  private static String probe(boolean ci) throws Exception {
    Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
    ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-cp", System.getProperty("java.class.path"),
        SkipProbe.class.getName()));
    Map<String, String> env = pb.environment();
    env.put("REDIS_SERVER", "/nonexistent/redis-server");
    if (ci) {
      env.put("CI", "true");
    } else {
      env.remove("CI");
    }
    pb.redirectErrorStream(true);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    return new String(out, StandardCharsets.UTF_8);
  }

  @Test
  @Tag("concurrency")
  @Timeout(60)
  void withoutRedisATestIsSkippedLoudlyButFailsOnCi() throws Exception {
    String local = probe(false);
    assertTrue(local.contains("*** SKIPPING the tests that need Redis"), local);
    assertTrue(local.contains("thrown: " + TestAbortedException.class.getName()), local);
    String ci = probe(true);
    assertTrue(ci.contains("thrown: " + AssertionError.class.getName()), ci);
    assertTrue(ci.contains("CI must never skip"), ci);
    assertFalse(ci.contains("SKIPPING"), ci);
  }

  /** The child JVM of {@link #withoutRedisATestIsSkippedLoudlyButFailsOnCi()}. */
  static final class SkipProbe {
    public static void main(String[] args) {
      try {
        RedisServer.start();
        System.out.println("started");
      } catch (Throwable t) {
        System.out.println("thrown: " + t.getClass().getName() + ": " + t.getMessage());
      }
    }
  }
}
