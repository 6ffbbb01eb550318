package dev.shepherd.auth;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tomakehurst.wiremock.WireMockServer;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.Policy;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The outage, replayed on loopback: a thousand hubs of fifty devices reconnect at once, first with
 * the backend up, then with it down after the cache was warm.
 */
@Tag("concurrency")
@Timeout(60)
class StormTest {

  private static final int DEVICES = 50;
  private static final int REQUESTS = 1_000;
  private static final Duration TTL = Duration.ofMinutes(5);

  private WireMockServer server;
  private final ManualClock clock = new ManualClock();

  @BeforeEach
  void start() {
    server = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1").containerThreads(128));
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop();
  }

  private CachingAuthenticator<String> authenticator(Policy guard) {
    HttpAuthenticator http = HttpAuthenticator.builder(URI.create(server.baseUrl()))
        .timeout(Duration.ofSeconds(10)).build();
    CachingAuthenticator.Builder<String> b = CachingAuthenticator.builder(http)
        .ticker(clock).random(new SplittableRandom(1)).ttl(TTL).listener(e -> { });
    return (guard == null ? b : b.guard(guard)).build();
  }

  private static DeviceCredentials creds(String id) {
    return DeviceCredentials.of(id, bytes("secret-of-" + id));
  }

  /** Runs {@code REQUESTS} authentications on as many threads released at once; returns outcomes. */
  private static List<String> storm(CachingAuthenticator<String> auth, List<String> deviceIds) throws InterruptedException {
    CountDownLatch ready = new CountDownLatch(REQUESTS);
    CountDownLatch go = new CountDownLatch(1);
    List<String> outcomes = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      String id = deviceIds.get(i % deviceIds.size());
      Thread t = new Thread(() -> {
        ready.countDown();
        try {
          go.await();
          outcomes.add("ok:" + id + ":" + auth.authenticate(creds(id)));
        } catch (AuthenticationException e) {
          outcomes.add("invalid:" + id);
        } catch (BackendUnavailableException e) {
          outcomes.add("unavailable:" + id);
        } catch (InterruptedException e) {
          outcomes.add("interrupted:" + id);
        }
      });
      t.setDaemon(true);
      t.start();
      threads.add(t);
    }
    try {
      assertTrue(ready.await(30, TimeUnit.SECONDS));
    } finally {
      go.countDown();
      CachingAuthenticatorConcurrencyTest.joinAll(threads);
    }
    return outcomes;
  }

  private static List<String> fleet() {
    List<String> ids = new ArrayList<>();
    for (int d = 0; d < DEVICES; d++) {
      ids.add("hub-" + d);
    }
    return ids;
  }

  private int backendRequests() {
    return server.countRequestsMatching(postRequestedFor(urlPathMatching("/devices/.*/verify")).build()).getCount();
  }

  @Test
  void aThousandConcurrentReconnectsOfFiftyDevicesReachTheBackendFiftyTimes() throws InterruptedException {
    server.stubFor(post(urlPathMatching("/devices/.*/verify"))
        .willReturn(aResponse().withStatus(200).withHeader("X-Principal", "ok").withFixedDelay(100)));
    CachingAuthenticator<String> auth = authenticator(null);

    List<String> outcomes = storm(auth, fleet());

    assertEquals(REQUESTS, outcomes.size());
    assertTrue(outcomes.stream().allMatch(o -> o.startsWith("ok:") && o.endsWith(":ok")), outcomes.toString());
    assertEquals(DEVICES, backendRequests(), "exactly one backend request per device");
    assertEquals(DEVICES, auth.stats().backendCalls());
  }

  @Test
  void withTheBackendDownAWarmCacheAcceptsItsDevicesRefusesStrangersAndStaysWithinTheGuard()
      throws InterruptedException {
    server.stubFor(post(urlPathMatching("/devices/.*/verify"))
        .willReturn(aResponse().withStatus(200).withHeader("X-Principal", "ok")));
    int outageBudget = 20;
    TestPolicies.ConcurrencyCap cap = new TestPolicies.ConcurrencyCap("db-bulkhead", 4);
    TestPolicies.Budget budget = new TestPolicies.Budget("db-limiter", DEVICES + outageBudget);
    CachingAuthenticator<String> auth = authenticator(Policy.compose(cap, budget));
    for (String id : fleet()) {
      auth.authenticate(creds(id)); // warm: one request per device
    }
    assertEquals(DEVICES, backendRequests());

    // The answers expire, then the backend goes down.
    clock.advance(TTL.plusSeconds(1));
    server.resetAll();
    server.stubFor(post(urlPathMatching("/devices/.*/verify"))
        .willReturn(aResponse().withStatus(503).withHeader("Retry-After", "30").withFixedDelay(50)));
    List<String> ids = new ArrayList<>(fleet());
    ids.add("intruder"); // never seen: one request in 51 comes from it

    List<String> outcomes = storm(auth, ids);

    ConcurrentHashMap<String, AtomicInteger> byKind = new ConcurrentHashMap<>();
    outcomes.forEach(o -> byKind.computeIfAbsent(o.substring(0, o.indexOf(':')) + (o.contains("intruder") ? "-intruder" : ""),
        k -> new AtomicInteger()).incrementAndGet());
    int intruderRequests = (int) java.util.stream.IntStream.range(0, REQUESTS).filter(i -> i % ids.size() == DEVICES).count();
    assertEquals(REQUESTS - intruderRequests, byKind.get("ok").get(), "every known device accepted (stale): " + byKind);
    assertEquals(intruderRequests, byKind.get("unavailable-intruder").get(), "the stranger refused, fail closed: " + byKind);
    assertEquals(2, byKind.size(), byKind.toString());
    assertTrue(backendRequests() <= outageBudget, "no request beyond the guard's limit: " + backendRequests());
    assertTrue(cap.maxInFlight.get() <= 4, "the bulkhead held: " + cap.maxInFlight.get());
    assertEquals(REQUESTS - intruderRequests, auth.stats().staleServed());
  }
}
