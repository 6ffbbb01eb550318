package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's snippets for this module, compiled and run: each region between {@code // README}
 * markers is copied into the README verbatim, so the README cannot show code that does not build.
 */
class ReadmeExamplesTest {

  record HomeState(String source) {}

  /** The cloud API, down for this test. */
  static final class CloudApi {
    HomeState homeState(String homeId) throws IOException {
      throw new IOException("cloud API unreachable");
    }

    CompletionStage<HomeState> homeStateAsync(String homeId) {
      return CompletableFuture.failedFuture(new IOException("cloud API unreachable"));
    }
  }

  /** The hub on the local network. */
  static final class Hub {
    HomeState homeState() {
      return new HomeState("hub");
    }
  }

  private final CloudApi api = new CloudApi();
  private final Hub hub = new Hub();
  private final String homeId = "home-1";

  @Test
  void theAppTalksToTheHubLocallyWhenTheCloudIsDown() throws Exception {
    ExecutorService calls = Executors.newFixedThreadPool(4);
    try {
      // README: cloud-or-hub
      CircuitBreaker breaker = CircuitBreaker.builder().name("cloud").build();
      Timeout timeout = Timeout.builder().name("cloud").timeout(Duration.ofSeconds(2)).executor(calls).build();
      Fallback<HomeState> viaHub = Fallback.<HomeState>builder((result, failure) -> hub.homeState())
          .name("hub-local").handle(IOException.class).handle(RejectedException.class).build();

      Policy cloud = Policy.compose(breaker, timeout);   // the breaker counts each timeout as a failure
      HomeState state = viaHub.get(() -> cloud.call(() -> api.homeState(homeId)));
      // README: end
      assertEquals("hub", state.source());
      for (int i = 0; i < 30; i++) {
        viaHub.get(() -> cloud.call(() -> api.homeState(homeId)));
      }
      assertEquals(CircuitBreaker.State.OPEN, breaker.state(), "after 20 failures of 20 the breaker opened");
      assertEquals("hub", viaHub.get(() -> cloud.call(() -> api.homeState(homeId))).source());
    } finally {
      calls.shutdownNow();
      calls.awaitTermination(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void asyncCallsComposeTheSameWay() throws Exception {
    // README: async
    CircuitBreaker breaker = CircuitBreaker.of("cloud");
    Timeout timeout = Timeout.builder().name("cloud").timeout(Duration.ofSeconds(2)).build(); // shared timer
    Fallback<HomeState> viaHub = Fallback.of("hub-local", hub::homeState);

    CompletionStage<HomeState> state =
        viaHub.getAsync(() -> Policy.compose(breaker, timeout).callAsync(() -> api.homeStateAsync(homeId)));
    // README: end
    assertEquals("hub", state.toCompletableFuture().get(10, TimeUnit.SECONDS).source());
  }

  @Test
  void thePermissionFormAllocatesNothing() {
    CircuitBreaker breaker = CircuitBreaker.of("cloud");
    // README: permission
    long permission = breaker.tryAcquirePermission();
    if (permission != CircuitBreaker.NOT_PERMITTED) {
      long start = System.nanoTime();
      try {
        send();
        breaker.onSuccess(permission, System.nanoTime() - start);
      } catch (IOException e) {
        breaker.onError(permission, System.nanoTime() - start, e);
      }
    }
    // README: end
    assertEquals(1, breaker.windowCalls());
  }

  private void send() throws IOException {
    // the request goes out here
  }

  @Test
  void aThrottleKeepsAFleetOffABackendThatRefuses() throws Exception {
    // README: throttle
    AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("cloud").build();   // K = 2, 2 min window
    try {
      HomeState state = throttle.call(() -> api.homeState(homeId)); // ThrottledException: rejected locally
    } catch (ThrottledException | IOException e) {
      // back off and retry later, or answer from the hub
    }
    // README: end
    assertEquals(1, throttle.requests());
    assertEquals(0, throttle.accepts());
  }
}
