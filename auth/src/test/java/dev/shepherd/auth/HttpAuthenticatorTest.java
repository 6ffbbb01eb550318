package dev.shepherd.auth;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.absent;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.binaryEqualTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.put;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class HttpAuthenticatorTest {

  private static final String SECRET = "TOP-SECRET-s3cr3t";
  /**
   * The request timeout of the tests whose backend answers: generous, because the first requests of
   * a JVM (WireMock's and java.net.http's classes loading, Jetty warming up) on a loaded CI machine
   * can take longer than half a second. Only {@link #aSlowBackendTimesOutAsUnavailable} uses a short one.
   */
  private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(10);
  private static WireMockServer server;
  private HttpAuthenticator http;

  @BeforeAll
  static void start() {
    server = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
  }

  @AfterAll
  static void stop() {
    server.stop();
  }

  @BeforeEach
  void reset() {
    server.resetAll();
    http = HttpAuthenticator.builder(URI.create(server.baseUrl())).name("db").timeout(ANSWER_TIMEOUT).build();
  }

  private static DeviceCredentials creds(String id) {
    return DeviceCredentials.of(id, bytes(SECRET));
  }

  private static void assertNoSecret(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      assertFalse(String.valueOf(c.getMessage()).contains(SECRET), c.toString());
    }
  }

  @Test
  void successPostsTheSecretAsTheBodyAndReadsThePrincipalAndItsValidity() {
    server.stubFor(post("/devices/hub-1/verify")
        .withRequestBody(binaryEqualTo(bytes(SECRET)))
        .withHeader("Content-Type", equalTo("application/octet-stream"))
        .willReturn(aResponse().withStatus(200).withHeader("X-Principal", "alice")
            .withHeader("Cache-Control", "private, max-age=90")));
    assertEquals(Verified.of("alice", Duration.ofSeconds(90)), http.authenticate(creds("hub-1")));
    assertEquals(Verified.of("alice", Duration.ofSeconds(90)),
        http.authenticateAsync(creds("hub-1")).toCompletableFuture().join());
    server.verify(2, postRequestedFor(urlEqualTo("/devices/hub-1/verify")));
  }

  @Test
  void thePrincipalFallsBackToTheBodyThenToTheDeviceId() {
    server.stubFor(post("/devices/a/verify").willReturn(aResponse().withStatus(200).withBody("  bob \nignored")));
    server.stubFor(post("/devices/b/verify").willReturn(aResponse().withStatus(204)));
    assertEquals(Verified.of("bob"), http.authenticate(creds("a")));
    assertEquals(Verified.of("b"), http.authenticate(creds("b")));
  }

  @Test
  void theDeviceIdIsPercentEncodedAsOnePathSegment() {
    server.stubFor(post("/devices/hub%201%2F%C3%A9%3F/verify").willReturn(aResponse().withStatus(204)));
    assertEquals("hub 1/\u00e9?", http.authenticate(creds("hub 1/e\u0301?")).principal());
    assertEquals("a%2Fb%20c", HttpAuthenticator.encodePathSegment("a/b c"));
    assertEquals("A-z.0_9~", HttpAuthenticator.encodePathSegment("A-z.0_9~"));
  }

  @Test
  void unauthorizedAndForbiddenMeanInvalidCredentials() {
    server.stubFor(post("/devices/a/verify").willReturn(aResponse().withStatus(401)));
    server.stubFor(post("/devices/b/verify").willReturn(aResponse().withStatus(403)));
    AuthenticationException e = assertThrows(AuthenticationException.class, () -> http.authenticate(creds("a")));
    assertEquals("'db' refused device 'a' (HTTP 401)", e.getMessage());
    CompletionException async = assertThrows(CompletionException.class,
        () -> http.authenticateAsync(creds("b")).toCompletableFuture().join());
    assertInstanceOf(AuthenticationException.class, async.getCause());
  }

  @Test
  void serviceUnavailableWithRetryAfterMeansUnavailableWithTheHint() {
    server.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(503).withHeader("Retry-After", "30")));
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> http.authenticate(creds("a")));
    assertEquals(Optional.of(Duration.ofSeconds(30)), e.retryAfter());
    assertEquals("db", e.policyName());
    assertEquals("'db' got HTTP 503 verifying device 'a'", e.getMessage());
    CompletionException async = assertThrows(CompletionException.class,
        () -> http.authenticateAsync(creds("a")).toCompletableFuture().join());
    assertEquals(Optional.of(Duration.ofSeconds(30)), ((BackendUnavailableException) async.getCause()).retryAfter());
  }

  @Test
  void tooManyRequestsWithAnHttpDateIsMeasuredAgainstTheInjectedClock() {
    Clock clock = Clock.fixed(Instant.parse("2015-10-21T07:28:00Z"), ZoneOffset.UTC);
    HttpAuthenticator dated = HttpAuthenticator.builder(URI.create(server.baseUrl())).clock(clock).timeout(ANSWER_TIMEOUT).build();
    server.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(429)
        .withHeader("Retry-After", "Wed, 21 Oct 2015 07:29:00 GMT")));
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> dated.authenticate(creds("a")));
    assertEquals(Optional.of(Duration.ofMinutes(1)), e.retryAfter());
  }

  @Test
  void otherStatusesAreUnavailableNeverInvalid() {
    for (int status : new int[] {404, 400, 500, 302}) {
      server.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(status)));
      BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
          () -> http.authenticate(creds("a")), "HTTP " + status);
      assertTrue(e.retryAfter().isEmpty());
    }
  }

  @Test
  void aConnectionResetIsUnavailableWithTheIoErrorAsCause() {
    server.stubFor(post(anyUrl()).willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> http.authenticate(creds("a")));
    assertInstanceOf(IOException.class, e.getCause());
    assertNoSecret(e);
    CompletionException async = assertThrows(CompletionException.class,
        () -> http.authenticateAsync(creds("a")).toCompletableFuture().join());
    assertInstanceOf(BackendUnavailableException.class, async.getCause());
    assertInstanceOf(IOException.class, async.getCause().getCause());
  }

  @Test
  void aSlowBackendTimesOutAsUnavailable() {
    // Half a second against an answer that takes three: the timeout fires whatever the machine's load.
    HttpAuthenticator impatient = HttpAuthenticator.builder(URI.create(server.baseUrl())).name("db")
        .timeout(Duration.ofMillis(500)).build();
    server.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200).withFixedDelay(3_000)));
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> impatient.authenticate(creds("a")));
    assertInstanceOf(HttpTimeoutException.class, e.getCause());
    assertEquals("'db' timed out verifying device 'a'", e.getMessage());
    CompletionException async = assertThrows(CompletionException.class,
        () -> impatient.authenticateAsync(creds("a")).toCompletableFuture().join());
    assertInstanceOf(HttpTimeoutException.class, async.getCause().getCause());
  }

  /**
   * java.net.http's request timeout stops at the response headers; a service that sends them and
   * then stalls the body must still time out. The stub below answers the headers and 3 of 10 body
   * bytes at once, then holds the rest for up to 10 s: without a deadline over the whole exchange
   * the call would wait those 10 s and then succeed, failing this test.
   */
  @Test
  void aBodyThatStallsAfterTheHeadersTimesOutAsUnavailable() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger exchanges = new AtomicInteger();
    try (ServerSocket stalling = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread serverThread = new Thread(() -> {
        while (!stalling.isClosed()) {
          Socket accepted;
          try {
            accepted = stalling.accept();
          } catch (IOException closed) {
            return;
          }
          exchanges.incrementAndGet();
          Thread handler = new Thread(() -> {
            try (Socket s = accepted) {
              s.getInputStream().read(new byte[8192]);
              OutputStream out = s.getOutputStream();
              out.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Principal: p\r\n\r\nabc"
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
              out.flush();
              release.await(10, TimeUnit.SECONDS);
              out.write("defghij".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
              out.flush();
            } catch (IOException | InterruptedException e) {
              // the client gave up (as it should) or the test is over
            }
          });
          handler.setDaemon(true);
          handler.start();
        }
      });
      serverThread.setDaemon(true);
      serverThread.start();
      HttpAuthenticator impatient = HttpAuthenticator.builder(URI.create("http://127.0.0.1:" + stalling.getLocalPort()))
          .name("db").timeout(Duration.ofMillis(500)).build();
      try {
        BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
            () -> impatient.authenticate(creds("a")));
        assertInstanceOf(HttpTimeoutException.class, e.getCause());
        assertEquals("'db' timed out verifying device 'a'", e.getMessage());
        CompletionException async = assertThrows(CompletionException.class,
            () -> impatient.authenticateAsync(creds("a")).toCompletableFuture().join());
        assertInstanceOf(BackendUnavailableException.class, async.getCause());
        assertInstanceOf(HttpTimeoutException.class, async.getCause().getCause());
        assertEquals(2, exchanges.get(), "each call reached the stub and got its headers");
      } finally {
        release.countDown();
      }
    }
  }

  @Test
  void anInterruptedCallerIsRefusedAsUnavailableAndKeepsItsInterruptStatus() {
    server.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200).withFixedDelay(2_000)));
    Thread.currentThread().interrupt();
    BackendUnavailableException e;
    try {
      e = assertThrows(BackendUnavailableException.class, () -> http.authenticate(creds("a")));
    } finally {
      assertTrue(Thread.interrupted(), "the interrupt status is kept");
    }
    assertInstanceOf(InterruptedException.class, e.getCause());
    assertEquals("'db' was interrupted verifying device 'a'", e.getMessage());
  }

  @Test
  void aConnectionRefusedIsUnavailable() {
    HttpAuthenticator nowhere = HttpAuthenticator.builder(URI.create("http://127.0.0.1:1")).build();
    assertThrows(BackendUnavailableException.class, () -> nowhere.authenticate(creds("a")));
  }

  @Test
  void cacheControlStatesTheValidity() {
    server.stubFor(post("/devices/a/verify").willReturn(aResponse().withStatus(204).withHeader("Cache-Control", "no-store")));
    server.stubFor(post("/devices/b/verify").willReturn(aResponse().withStatus(204).withHeader("Cache-Control", "max-age=abc")));
    server.stubFor(post("/devices/c/verify").willReturn(aResponse().withStatus(204)
        .withHeader("Cache-Control", "max-age=60, s-maxage=5", "max-age=\"30\"")));
    assertEquals(Optional.of(Duration.ZERO), http.authenticate(creds("a")).validFor());
    assertEquals(Optional.of(Duration.ZERO), http.authenticate(creds("b")).validFor(), "malformed: do not cache");
    assertEquals(Optional.of(Duration.ofSeconds(30)), http.authenticate(creds("c")).validFor(), "the shortest wins");
  }

  @Test
  void aMalformedPrincipalIsUnavailable() {
    server.stubFor(post(anyUrl()).willReturn(aResponse().withStatus(200).withBody("x".repeat(2000))));
    assertThrows(BackendUnavailableException.class, () -> http.authenticate(creds("a")));
  }

  @Test
  void theRequestIsConfigurable() {
    HttpAuthenticator custom = HttpAuthenticator.builder(URI.create(server.baseUrl() + "/api/"))
        .method("PUT").path("/v2/{id}/check").secretHeader("X-Device-Secret").header("X-Api-Key", "k1")
        .timeout(ANSWER_TIMEOUT).build();
    server.stubFor(put("/api/v2/hub-1/check")
        .withHeader("X-Device-Secret", equalTo(java.util.Base64.getEncoder().encodeToString(bytes(SECRET))))
        .withHeader("X-Api-Key", equalTo("k1"))
        .withHeader("Content-Type", absent())
        .willReturn(aResponse().withStatus(200).withHeader("X-Principal", "p")));
    assertEquals("p", custom.authenticate(creds("hub-1")).principal());
    assertFalse(custom.toString().contains("k1"));
  }

  @Test
  void behindACachingAuthenticatorTheStatusesKeepTheirMeaning() {
    server.stubFor(post("/devices/good/verify").willReturn(aResponse().withStatus(200).withHeader("X-Principal", "g")));
    server.stubFor(post("/devices/bad/verify").willReturn(aResponse().withStatus(401)));
    server.stubFor(post("/devices/down/verify").willReturn(aResponse().withStatus(503)));
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(http).executor(Runnable::run)
        .listener(e -> { }).build();
    assertEquals("g", auth.authenticate(creds("good")));
    assertEquals("g", auth.authenticate(creds("good")));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("bad")));
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("down")));
    server.verify(1, postRequestedFor(urlEqualTo("/devices/good/verify")));
  }

  @Test
  void badConfigurationIsRefusedNamingTheParameter() {
    assertEquals("baseUri must be an absolute http(s) URI without query or fragment: relative/path",
        assertThrows(IllegalArgumentException.class, () -> HttpAuthenticator.builder(URI.create("relative/path")))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> HttpAuthenticator.builder(URI.create("ftp://h/")));
    assertThrows(IllegalArgumentException.class, () -> HttpAuthenticator.builder(URI.create("http://h/?q=1")));
    HttpAuthenticator.Builder b = HttpAuthenticator.builder(URI.create("http://h"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.path("/devices/verify")).getMessage()
        .startsWith("path must be a path starting with / and containing {id}"));
    assertThrows(IllegalArgumentException.class, () -> b.path("/a b/{id}"));
    assertEquals("timeout must be positive: PT0S",
        assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ZERO)).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.method("post"));
    assertThrows(IllegalArgumentException.class, () -> b.secretHeader("bad header"));
    assertThrows(IllegalArgumentException.class, () -> b.header("X-K", "a\nb"));
    assertThrows(NullPointerException.class, () -> HttpAuthenticator.builder(null));
    assertThrows(NullPointerException.class, () -> http.authenticate(null));
    assertInstanceOf(NullPointerException.class,
        assertThrows(CompletionException.class, () -> http.authenticateAsync(null).toCompletableFuture().join())
            .getCause());
    server.verify(0, postRequestedFor(anyUrl()));
    server.verify(0, com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor(anyUrl()));
  }
}
