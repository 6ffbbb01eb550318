package dev.shepherd.auth;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.binaryEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import dev.shepherd.core.LogSummaryListener;
import dev.shepherd.testing.ManualClock;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.AbstractLogger;
import org.slf4j.helpers.MessageFormatter;

/**
 * The default summariser's lines for an authenticator going through every path (accepted, wrong
 * secret, backend failing, stale answers, backend unreachable) carry causes but never a secret.
 */
@Timeout(60)
class LogLinesTest {

  private static final String RIGHT = "RIGHT-s3cr3t-0123";
  private static final String WRONG = "WRONG-s3cr3t-4567";

  /** An SLF4J logger that keeps its lines. */
  static final class CapturingLogger extends AbstractLogger {
    private static final long serialVersionUID = 1L;
    final transient List<String> lines = new CopyOnWriteArrayList<>(); // a test double: never serialised

    CapturingLogger() {
      this.name = "capture";
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args, Throwable t) {
      lines.add(level + " " + MessageFormatter.basicArrayFormat(pattern, args) + (t == null ? "" : " " + t));
    }

    @Override
    public boolean isTraceEnabled() {
      return true;
    }

    @Override
    public boolean isTraceEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isDebugEnabled() {
      return true;
    }

    @Override
    public boolean isDebugEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isInfoEnabled() {
      return true;
    }

    @Override
    public boolean isInfoEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isWarnEnabled() {
      return true;
    }

    @Override
    public boolean isWarnEnabled(Marker marker) {
      return true;
    }

    @Override
    public boolean isErrorEnabled() {
      return true;
    }

    @Override
    public boolean isErrorEnabled(Marker marker) {
      return true;
    }
  }

  private static DeviceCredentials creds(String id, String secret) {
    return DeviceCredentials.of(id, bytes(secret));
  }

  @Test
  void noLineEverCarriesASecretWhateverPathTheAuthenticatorTakes() throws Exception {
    CapturingLogger logger = new CapturingLogger();
    ManualClock clock = new ManualClock();
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
    WireMockServer server = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
    try (LogSummaryListener log = LogSummaryListener.builder().logger(logger).ticker(clock).scheduler(timer).build()) {
      server.stubFor(post("/devices/hub-1/verify").atPriority(1).withRequestBody(binaryEqualTo(bytes(RIGHT)))
          .willReturn(aResponse().withStatus(200).withHeader("X-Principal", "p1")));
      server.stubFor(post("/devices/hub-1/verify").atPriority(9).willReturn(aResponse().withStatus(401)));
      server.stubFor(post("/devices/hub-2/verify").willReturn(aResponse().withStatus(401)));
      HttpAuthenticator http = HttpAuthenticator.builder(URI.create(server.baseUrl())).name("device-db")
          .timeout(Duration.ofSeconds(10)).build();
      CachingAuthenticator<String> auth = CachingAuthenticator.builder(http).name("device-auth").ticker(clock)
          .executor(Runnable::run).ttl(Duration.ofMinutes(5)).refreshAhead(0).listener(log).build();

      auth.authenticate(creds("hub-1", RIGHT));                                               // accepted
      assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-2", WRONG))); // refused
      assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", WRONG))); // wrong secret
      // the backend fails: answers are served stale, new devices are refused as unavailable
      server.stubFor(post("/devices/hub-1/verify").atPriority(1).willReturn(aResponse().withStatus(503).withHeader("Retry-After", "7")));
      server.stubFor(post("/devices/hub-3/verify").willReturn(aResponse().withStatus(500).withBody(RIGHT)));
      clock.advance(Duration.ofMinutes(5));
      auth.authenticate(creds("hub-1", RIGHT));
      assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-3", RIGHT)));

      // the backend unreachable altogether
      int closedPort;
      try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        closedPort = probe.getLocalPort();
      }
      HttpAuthenticator gone = HttpAuthenticator.builder(URI.create("http://127.0.0.1:" + closedPort)).name("gone")
          .timeout(Duration.ofSeconds(5)).build();
      CachingAuthenticator<String> unreachable = CachingAuthenticator.builder(gone).name("unreachable")
          .ticker(clock).executor(Runnable::run).listener(log).build();
      assertThrows(BackendUnavailableException.class, () -> unreachable.authenticate(creds("hub-4", RIGHT)));
      assertThrows(BackendUnavailableException.class, () -> unreachable.authenticate(creds("hub-4", WRONG)));
    } finally {
      server.stop();
      timer.shutdownNow();
    }
    // close() wrote every open window
    assertTrue(logger.lines.size() >= 4, logger.lines.toString());
    assertTrue(logger.lines.stream().anyMatch(l -> l.contains("cause: ")), "causes are logged: " + logger.lines);
    assertTrue(logger.lines.stream().anyMatch(l -> l.contains("'device-auth'") && l.contains("FALLBACK")),
        logger.lines.toString());
    for (String line : logger.lines) {
      assertFalse(line.contains(RIGHT) || line.contains(WRONG), line);
    }
  }
}
