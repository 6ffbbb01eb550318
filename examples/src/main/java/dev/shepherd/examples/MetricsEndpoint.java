package dev.shepherd.examples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * A Prometheus scrape endpoint for a demo: Micrometer's Prometheus registry served by the JDK's
 * HTTP server on 127.0.0.1, at {@code /metrics}, on an ephemeral port. Point a Prometheus at it
 * (with {@code examples/prometheus/shepherd-alerts.yml} as a rule file) to watch a run.
 */
final class MetricsEndpoint implements AutoCloseable {

  static final String PATH = "/metrics";

  private final PrometheusMeterRegistry registry;
  private final HttpServer server;

  private MetricsEndpoint(PrometheusMeterRegistry registry, HttpServer server) {
    this.registry = registry;
    this.server = server;
  }

  /** Starts the endpoint on a free port of 127.0.0.1. */
  static MetricsEndpoint start() throws IOException {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HttpServer server = HttpServer.create(new InetSocketAddress(Loopback.ADDRESS, 0), 0);
    server.createContext(PATH, exchange -> scrape(registry, exchange));
    server.start();
    return new MetricsEndpoint(registry, server);
  }

  private static void scrape(PrometheusMeterRegistry registry, HttpExchange exchange) throws IOException {
    try {
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    } finally {
      exchange.close();
    }
  }

  /** The registry to bind the demo's primitives to. */
  MeterRegistry registry() {
    return registry;
  }

  /** The address the endpoint listens on: always 127.0.0.1. */
  InetSocketAddress address() {
    return server.getAddress();
  }

  /** The scrape address, {@code http://127.0.0.1:<port>/metrics}. */
  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + PATH);
  }

  @Override
  public void close() {
    server.stop(0);
    registry.close();
  }
}
