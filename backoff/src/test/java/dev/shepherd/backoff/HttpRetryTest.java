package dev.shepherd.backoff;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.getRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.matching;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.stubbing.Scenario;
import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link HttpRetry} against a real HTTP server (WireMock on a dynamic loopback port). Waits go
 * through an instant {@link ManualClock}, so they are recorded and take no time; every test checks
 * that the requests WireMock received equal the attempts the retry made.
 */
@Timeout(30)
class HttpRetryTest {

  private static final String PATH = "/status";
  private static final Duration SECOND = Duration.ofSeconds(1);

  private WireMockServer server;
  private HttpClient client;
  private final ManualClock clock = ManualClock.instant();
  private final List<Event> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void startServer() {
    server = new WireMockServer(options().dynamicPort().bindAddress("127.0.0.1"));
    server.start();
    client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
  }

  @AfterEach
  void stopServer() {
    server.stop();
  }

  private Retry.Builder retry() {
    return Retry.builder().name("http").maxAttempts(5).backoff(TestBackoffs.constant(SECOND))
        .retryOn(HttpRetry.retryableFailure()).ticker(clock).sleeper(clock)
        .random(new SplittableRandom(11)).listener(events::add);
  }

  private HttpRequest request() {
    return HttpRequest.newBuilder(URI.create(server.baseUrl() + PATH)).timeout(Duration.ofSeconds(5)).GET().build();
  }

  /** Stubs the responses in order, the last one for every later request. */
  private void respondInOrder(ResponseDefinitionBuilder... responses) {
    for (int i = 0; i < responses.length; i++) {
      String state = i == 0 ? Scenario.STARTED : "after " + i;
      var stub = any(urlEqualTo(PATH)).inScenario("sequence").whenScenarioStateIs(state).willReturn(responses[i]);
      if (i < responses.length - 1) {
        stub = stub.willSetStateTo("after " + (i + 1));
      }
      server.stubFor(stub);
    }
  }

  private int requestsReceived() {
    return server.countRequestsMatching(anyRequestedFor(urlEqualTo(PATH)).build()).getCount();
  }

  private int attemptsMade() {
    return 1 + (int) events.stream().filter(e -> e.kind() == Event.Kind.RETRY).count();
  }

  private static ResponseDefinitionBuilder status(int status) {
    return aResponse().withStatus(status);
  }

  @Test
  void a503WithRetryAfterSecondsIsRetriedNoSoonerThanAsked() throws Exception {
    respondInOrder(status(503).withHeader("Retry-After", "7"), ok("fine"));
    HttpResponse<String> response = HttpRetry.of(retry().build()).send(client, request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertEquals("fine", response.body());
    Duration wait = clock.sleeps().get(0);
    // at least the 7 s asked, at most 7 s + max(7 s × 0.2, 100 ms)
    assertTrue(wait.compareTo(Duration.ofSeconds(7)) >= 0 && wait.compareTo(Duration.ofMillis(8400)) <= 0,
        wait::toString);
    assertEquals(2, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
  }

  @Test
  void a429WithAPersonalSlotIsKeptWithASmallFixedJitterAndTheTicketIsPresented() throws Exception {
    // A shared 40 s hint would be spread by up to 20 % (8 s); a personal slot keeps its time.
    respondInOrder(status(429).withHeader("Retry-After", "40").withHeader(HttpRetry.SLOT_HEADER,
        "39250; ticket=1723456789012.9f3a0c1d2e3f4a5b"), ok("fine"));
    HttpResponse<String> response = HttpRetry.of(retry().build()).send(client, request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    Duration wait = clock.sleeps().get(0);
    assertTrue(wait.compareTo(Duration.ofMillis(39_250)) >= 0 && wait.compareTo(Duration.ofMillis(39_350)) <= 0,
        wait::toString);
    server.verify(1, getRequestedFor(urlEqualTo(PATH)).withHeader(HttpRetry.TICKET_HEADER,
        equalTo("1723456789012.9f3a0c1d2e3f4a5b")));
    server.verify(1, getRequestedFor(urlEqualTo(PATH)).withoutHeader(HttpRetry.TICKET_HEADER));
    assertEquals(attemptsMade(), requestsReceived());
  }

  @Test
  void theAsyncFormPresentsTheSlotTicketToo() {
    respondInOrder(status(429).withHeader(HttpRetry.SLOT_HEADER, "1500; ticket=T-1"), ok("fine"));
    HttpResponse<String> response = HttpRetry.of(retry().build())
        .sendAsync(client, request(), HttpResponse.BodyHandlers.ofString()).join();
    assertEquals(200, response.statusCode());
    server.verify(1, getRequestedFor(urlEqualTo(PATH)).withHeader(HttpRetry.TICKET_HEADER, equalTo("T-1")));
  }

  @Test
  void aMalformedSlotHeaderFallsBackToRetryAfter() throws Exception {
    respondInOrder(status(429).withHeader("Retry-After", "3").withHeader(HttpRetry.SLOT_HEADER, "soon; ticket="),
        ok("fine"));
    HttpResponse<String> response = HttpRetry.of(retry().build()).send(client, request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    Duration wait = clock.sleeps().get(0);
    assertTrue(wait.compareTo(Duration.ofSeconds(3)) >= 0 && wait.compareTo(Duration.ofMillis(3600)) <= 0,
        wait::toString);
    server.verify(0, getRequestedFor(urlEqualTo(PATH)).withHeader(HttpRetry.TICKET_HEADER, matching(".*")));
  }

  @Test
  void a503WithAnHttpDateIsRetriedNoSoonerThanThatDate() throws Exception {
    Instant now = Instant.parse("2026-11-21T10:00:00Z");
    String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.ofInstant(now.plusSeconds(12), ZoneOffset.UTC));
    respondInOrder(status(503).withHeader("Retry-After", date), ok("fine"));
    HttpRetry http = HttpRetry.builder(retry().build()).clock(Clock.fixed(now, ZoneOffset.UTC)).build();
    HttpResponse<String> response = http.send(client, request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    Duration wait = clock.sleeps().get(0);
    assertTrue(wait.compareTo(Duration.ofSeconds(12)) >= 0 && wait.compareTo(Duration.ofMillis(14400)) <= 0,
        wait::toString);
    assertEquals(2, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
  }

  @Test
  void aResetConnectionIsRetried() throws Exception {
    respondInOrder(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER),
        aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER), ok("fine"));
    // A PUT: java.net.http itself silently re-sends a GET or HEAD once when the connection dies
    // before any response byte, which would make WireMock see more requests than the retry made
    // (3 requests for 2 attempts with a GET here; see HttpRetry's javadoc). It does not re-send a PUT.
    HttpRequest put = HttpRequest.newBuilder(URI.create(server.baseUrl() + PATH)).timeout(Duration.ofSeconds(5))
        .header("Idempotency-Key", "reset-test").PUT(HttpRequest.BodyPublishers.ofString("state")).build();
    HttpResponse<String> response = HttpRetry.of(retry().build()).send(client, put, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertEquals(List.of(SECOND, SECOND), clock.sleeps(), "no hint: the backoff's delays");
    assertEquals(3, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
    Event first = events.get(0);
    assertInstanceOf(IOException.class, first.cause());
  }

  @Test
  void aResponseSlowerThanTheRequestTimeoutIsRetried() throws Exception {
    // The request's timeout applies to every attempt, so it must be generous enough for the second,
    // prompt answer on a loaded CI machine (300 ms was not), and far below the first one's delay.
    respondInOrder(ok("late").withFixedDelay(10_000), ok("fine"));
    HttpRequest quick = HttpRequest.newBuilder(URI.create(server.baseUrl() + PATH))
        .timeout(Duration.ofSeconds(2)).GET().build();
    HttpResponse<String> response = HttpRetry.of(retry().build()).send(client, quick, HttpResponse.BodyHandlers.ofString());
    assertEquals("fine", response.body());
    assertInstanceOf(HttpTimeoutException.class, events.get(0).cause());
    assertEquals(2, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
  }

  @Test
  void successAfterKFailuresMakesKPlusOneRequests() throws Exception {
    int k = 3;
    respondInOrder(status(503), status(429), status(503), ok("fine"));
    HttpResponse<String> response =
        HttpRetry.send(client, request(), HttpResponse.BodyHandlers.ofString(), retry().build());
    assertEquals(200, response.statusCode());
    assertEquals(k + 1, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
    assertEquals(List.of(SECOND, SECOND, SECOND), clock.sleeps());
  }

  @Test
  void whenAttemptsRunOutTheLast503IsReturnedNotThrown() throws Exception {
    respondInOrder(status(503).withHeader("Retry-After", "2").withBody("busy"));
    HttpResponse<String> response = HttpRetry.of(retry().maxAttempts(3).build())
        .send(client, request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(503, response.statusCode());
    assertEquals("busy", response.body());
    assertEquals(3, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
    assertTrue(clock.sleeps().stream().allMatch(w -> w.compareTo(Duration.ofSeconds(2)) >= 0), clock.sleeps()::toString);
    assertEquals(Event.Kind.GAVE_UP, events.get(events.size() - 1).kind());
  }

  @Test
  void otherStatusesAreReturnedAtOnce() throws Exception {
    respondInOrder(status(500).withBody("bug"));
    HttpResponse<String> response = HttpRetry.of(retry().build()).send(client, request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(500, response.statusCode());
    assertEquals(1, requestsReceived());
    assertEquals(List.of(), clock.sleeps());
  }

  @Test
  void configuredStatusesReplaceTheDefaults() throws Exception {
    respondInOrder(status(502), ok("fine"));
    HttpRetry http = HttpRetry.builder(retry().build()).statuses(502, 503, 504).build();
    assertEquals(200, http.send(client, request(), HttpResponse.BodyHandlers.ofString()).statusCode());
    assertEquals(2, requestsReceived());
  }

  @Test
  void aRefusedConnectionIsThrownAfterTheAttemptsWithEarlierOnesSuppressed() throws Exception {
    String closedPortUrl = server.baseUrl() + PATH;
    server.stop(); // nothing listens on the port any more
    HttpRequest request = HttpRequest.newBuilder(URI.create(closedPortUrl)).timeout(Duration.ofSeconds(5)).build();
    IOException thrown = assertThrows(IOException.class,
        () -> HttpRetry.of(retry().maxAttempts(3).build()).send(client, request, HttpResponse.BodyHandlers.ofString()));
    assertEquals(2, thrown.getSuppressed().length);
    assertEquals(List.of(SECOND, SECOND), clock.sleeps());
    server.start(); // for stopServer()
  }

  @Test
  void sendAsyncRetriesWithoutBlockingAndHonoursTheHint() throws Exception {
    respondInOrder(status(503).withHeader("Retry-After", "0"), status(503).withHeader("Retry-After", "0"), ok("fine"));
    Retry retry = retry().backoff(TestBackoffs.constant(Duration.ZERO)).retryAfterMinJitter(Duration.ZERO).build();
    HttpResponse<String> response = HttpRetry.of(retry)
        .sendAsync(client, request(), HttpResponse.BodyHandlers.ofString()).get(20, TimeUnit.SECONDS);
    assertEquals("fine", response.body());
    assertEquals(3, requestsReceived());
    assertEquals(attemptsMade(), requestsReceived());
    assertTrue(clock.sleeps().isEmpty(), "the asynchronous path schedules, it does not sleep");
  }

  @Test
  void sendAsyncReturnsTheLast503WhenAttemptsRunOut() throws Exception {
    respondInOrder(status(503).withHeader("Retry-After", "0"));
    Retry retry = retry().maxAttempts(2).backoff(TestBackoffs.constant(Duration.ZERO))
        .retryAfterMinJitter(Duration.ZERO).build();
    HttpResponse<String> response = HttpRetry.of(retry)
        .sendAsync(client, request(), HttpResponse.BodyHandlers.ofString()).get(20, TimeUnit.SECONDS);
    assertEquals(503, response.statusCode());
    assertEquals(2, requestsReceived());
  }

  @Test
  void theRetryablePredicateAndHeaderParsingAreUsableAlone() {
    assertTrue(HttpRetry.retryableFailure().test(new IOException("reset")));
    assertTrue(HttpRetry.retryableFailure().test(new RuntimeException(new IOException("wrapped"))));
    assertFalse(HttpRetry.retryableFailure().test(new IllegalStateException("bug")));
    assertFalse(HttpRetry.retryableFailure().test(null));
    assertThrows(IllegalArgumentException.class, () -> HttpRetry.builder(retry().build()).statuses());
    assertThrows(IllegalArgumentException.class, () -> HttpRetry.builder(retry().build()).statuses(42));
    assertThrows(NullPointerException.class, () -> HttpRetry.of(null));
  }
}
