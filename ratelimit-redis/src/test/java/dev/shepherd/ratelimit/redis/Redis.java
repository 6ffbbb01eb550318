package dev.shepherd.ratelimit.redis;

import dev.shepherd.core.EventListener;
import dev.shepherd.testing.RedisServer;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.lettuce.core.resource.DefaultClientResources;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A test's Redis: a {@link RedisServer} (shepherd-testing's loopback launcher) plus Lettuce clients on it (each client stands for one
 * "server" of a fleet), closed together. Also a JUnit 5 extension: {@code @ExtendWith(Redis.class)}
 * starts one server per test class and injects it as a {@code Redis} parameter; tests that stop or
 * restart Redis start their own with {@link #startNew()} in a try-with-resources block.
 *
 * <p>Clients reconnect every 20 ms (Lettuce's default backs off up to 30 s), so a restarted server
 * is found quickly; their default command timeout is 10 s, for the tests' own commands (well above
 * any limiter timeout the tests set, so a limiter that ignored its own timeout would show).
 *
 * <p>Limiters that talk to a Redis that is up get {@link #ANSWER_TIMEOUT}, not the 50 ms default:
 * on a loaded CI machine (two shared cores, a cold JVM still loading Lettuce's classes) a healthy
 * round trip can take longer than 50 ms, the check then falls back, and a test about decisions
 * would fail on timing. Only the tests about timeouts use short ones, against a Redis that is down.
 */
public final class Redis implements AutoCloseable, BeforeAllCallback, BeforeEachCallback, ParameterResolver {

  /** The limiter timeout of tests whose Redis is up: generous, since they are about decisions, not latency. */
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(5);

  private static final AtomicInteger KEYS = new AtomicInteger();
  /**
   * Lettuce and Netty log through java.util.logging here (the tests have no SLF4J provider): their
   * reconnect chatter as the tests stop and restart servers, and Netty's complaints when a client
   * shuts down mid-reconnect, are expected. Held strongly so the levels stick.
   */
  private static final java.util.logging.Logger LETTUCE_LOG = java.util.logging.Logger.getLogger("io.lettuce");
  private static final java.util.logging.Logger NETTY_LOG = java.util.logging.Logger.getLogger("io.netty");

  static {
    LETTUCE_LOG.setLevel(java.util.logging.Level.SEVERE);
    NETTY_LOG.setLevel(java.util.logging.Level.OFF);
  }

  private RedisServer server;
  private ClientResources resources;
  private final List<RedisClient> clients = new ArrayList<>();
  private StatefulRedisConnection<String, String> admin;

  /** For JUnit only. */
  public Redis() {}

  private Redis(RedisServer server) {
    this.server = server;
    this.resources = DefaultClientResources.builder()
        .ioThreadPoolSize(2)
        .computationThreadPoolSize(2)
        .reconnectDelay(Delay.constant(Duration.ofMillis(20)))
        .build();
  }

  /** Starts a server of its own and returns its Redis (skips or fails if redis-server is missing). */
  static Redis startNew() {
    return new Redis(RedisServer.start());
  }

  RedisServer server() {
    return server;
  }

  /** A new client (one "server" of the fleet) and a connection on it. */
  StatefulRedisConnection<String, String> connect() {
    RedisURI uri = RedisURI.builder().withHost("127.0.0.1").withPort(server.port()).withTimeout(Duration.ofSeconds(10)).build();
    RedisClient client = RedisClient.create(resources, uri);
    client.setOptions(ClientOptions.builder().autoReconnect(true).build());
    clients.add(client);
    return client.connect();
  }

  /** The tests' own connection, for PTTL, SET, CLIENT PAUSE... */
  RedisCommands<String, String> admin() {
    if (admin == null) {
      admin = connect();
    }
    return admin.sync();
  }

  /** A key no other test uses. */
  static String freshKey(String what) {
    return "test:" + what + ":" + KEYS.incrementAndGet() + ":" + System.nanoTime();
  }

  /** A builder on a new connection, with a quiet listener and the generous {@link #ANSWER_TIMEOUT}. */
  RedisRateLimiter.Builder limiter() {
    return RedisRateLimiter.builder().connection(connect()).timeout(ANSWER_TIMEOUT).listener(EventListener.noop());
  }

  /** Waits (bounded) until {@code condition} holds; fails after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("timed out after " + timeout + " waiting until " + what);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // polling an outside process
    }
  }

  /** Waits (bounded) until {@code connection} answers PING again, e.g. after a restart. */
  static void awaitConnected(StatefulRedisConnection<String, String> connection) {
    await("the connection answers PING", Duration.ofSeconds(10), () -> {
      try {
        return "PONG".equals(connection.async().ping().get(200, TimeUnit.MILLISECONDS));
      } catch (Exception e) {
        return false;
      }
    });
  }

  @Override
  public void close() {
    for (RedisClient client : clients) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    clients.clear();
    if (resources != null) {
      resources.shutdown(0, 2, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  // ---------------------------------------------------------------- JUnit extension

  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(Redis.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    if (RedisServer.executable().isPresent()) {
      // JUnit closes AutoCloseable store values when the class's context ends, also after failures.
      context.getStore(NS).put("instance", startNew());
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    // Without redis-server, each test is skipped (counted in the summary) or, in CI, fails.
    RedisServer.requireInstalled();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == Redis.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return extensionContext.getStore(NS).get("instance", Redis.class);
  }
}
