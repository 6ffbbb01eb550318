package dev.shepherd.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A third-party API that stalls on command: an HTTP server on 127.0.0.1 (an ephemeral port) whose
 * {@code GET /api} answers {@code 200 ok} after a short latency, until {@link #stall()} is called;
 * from then on every request hangs, answering nothing, until {@link #recover()} (or {@link
 * #close()}) releases it. {@code POST /admin/stall} and {@code POST /admin/recover} do the same over
 * HTTP.
 *
 * <p>Each request is handled on its own thread, as a real server's would be, so a stalled request
 * holds a thread until released; {@link #close()} releases them all and stops the server.
 * Thread-safe.
 */
final class StubUpstream implements AutoCloseable {

  private final HttpServer server;
  private final ExecutorService handlers;
  private final long latencyMillis;
  /** Null while healthy; while stalled, the latch that releases the stalled requests. */
  private final AtomicReference<CountDownLatch> stall = new AtomicReference<>();
  private final AtomicInteger hanging = new AtomicInteger();

  private StubUpstream(HttpServer server, ExecutorService handlers, long latencyMillis) {
    this.server = server;
    this.handlers = handlers;
    this.latencyMillis = latencyMillis;
  }

  /**
   * Starts the stub on 127.0.0.1 and an ephemeral port.
   *
   * @param latencyMillis how long a healthy answer takes
   * @return the running stub
   * @throws IOException if the port cannot be bound
   */
  static StubUpstream start(long latencyMillis) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(Loopback.ADDRESS, 0), 1_024);
    ExecutorService handlers = Executors.newCachedThreadPool(runnable -> {
      Thread thread = new Thread(runnable, "stub-upstream");
      thread.setDaemon(true);
      return thread;
    });
    StubUpstream stub = new StubUpstream(server, handlers, latencyMillis);
    server.setExecutor(handlers);
    server.createContext("/api", stub::answer);
    server.createContext("/admin/stall", exchange -> {
      stub.stall();
      stub.reply(exchange, 200, "stalled\n");
    });
    server.createContext("/admin/recover", exchange -> {
      stub.recover();
      stub.reply(exchange, 200, "recovered\n");
    });
    server.start();
    return stub;
  }

  /** Returns the address the stub listens on: always 127.0.0.1. */
  InetSocketAddress address() {
    return server.getAddress();
  }

  /** Returns the URI of {@code /api}. */
  URI api() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/api");
  }

  /** Returns the base URI, for the admin commands. */
  URI base() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  /** From now on, requests hang until {@link #recover()}. */
  void stall() {
    stall.compareAndSet(null, new CountDownLatch(1));
  }

  /** Releases the hanging requests (they then answer) and answers normally again. */
  void recover() {
    CountDownLatch latch = stall.getAndSet(null);
    if (latch != null) {
      latch.countDown();
    }
  }

  /** Returns whether the upstream is stalled now. */
  boolean isStalled() {
    return stall.get() != null;
  }

  /** Returns how many requests are hanging right now. */
  int hanging() {
    return hanging.get();
  }

  private void answer(HttpExchange exchange) throws IOException {
    try {
      CountDownLatch latch = stall.get();
      if (latch != null) {
        hanging.incrementAndGet();
        try {
          latch.await();
        } finally {
          hanging.decrementAndGet();
        }
      } else if (latencyMillis > 0) {
        Thread.sleep(latencyMillis);
      }
      reply(exchange, 200, "ok\n");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      exchange.close();
    }
  }

  private void reply(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  /** Releases every hanging request and stops the server; idempotent. */
  @Override
  public void close() {
    recover();
    server.stop(0);
    handlers.shutdownNow();
    try {
      handlers.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
