package dev.shepherd.auth;

import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 14, auth half: each numbered case as it was reported, failing before the fix.
 *
 * <p>Cases 2 (concurrent requests with a rotated secret) lives in
 * {@link CachingAuthenticatorConcurrencyTest}; the property model that would have caught all of
 * them is {@link CachingAuthenticatorProperties}.
 */
@Timeout(60)
class Issue14RegressionTest {

  private final ManualClock clock = new ManualClock();
  private final FakeBackend backend = new FakeBackend().enroll("hub-1", "s1");
  private final RecordingListener events = new RecordingListener();

  private CachingAuthenticator.Builder<String> builder() {
    return CachingAuthenticator.builder(backend)
        .ticker(clock)
        .executor(Runnable::run)
        .random(new SplittableRandom(14))
        .listener(events)
        .ttl(Duration.ofMinutes(5))
        .refreshAhead(0.2)
        .rotationCheckInterval(Duration.ofSeconds(30));
  }

  private static DeviceCredentials creds(String id, String secret) {
    return DeviceCredentials.of(id, bytes(secret));
  }

  private static Throwable failureOf(CompletableFuture<?> future) throws InterruptedException {
    try {
      future.get(10, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (TimeoutException e) {
      return e;
    }
  }

  // --- case 1 -----------------------------------------------------------------------------------

  @Test
  void case1ALateAnswerForTheOldSecretNeverOverwritesTheNewerVerdict() {
    CachingAuthenticator<String> auth = builder().build();
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "s1")));
    clock.advance(Duration.ofSeconds(270)); // past the refresh instant, before the expiry
    backend.mode = FakeBackend.Mode.LATE;
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "s1")));
    assertEquals(1, backend.pending().size(), "a background refresh of s1 is in flight, decided valid");

    backend.enroll("hub-1", "s2"); // the device rotates at the backend
    backend.mode = FakeBackend.Mode.UP;
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "s2")));
    backend.deliverAll(false); // the old answer lands: "s1 valid"

    int calls = backend.calls.get();
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "s2")), "s2 is still accepted");
    assertEquals(calls, backend.calls.get(), "from the cache: the newer verdict stayed");
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "s1")),
        "the rotated-out s1 is not accepted on the strength of the late answer");
  }

  // --- case 3 -----------------------------------------------------------------------------------

  @Test
  void case3AStrayWrongSecretDoesNotDelayTheRotatedRightSecretAtAll() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "s1"));
    for (int interval = 0; interval < 5; interval++) {
      String next = "s" + (interval + 2);
      assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "attacker-" + next)));
      backend.enroll("hub-1", next);
      assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", next)),
          "the rotated secret is accepted at once, interval " + interval);
      clock.advance(Duration.ofSeconds(30));
    }
  }

  @Test
  void case3ARefusalOfOneSecretIsNeverAnsweredToAnother() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "s1"));
    for (int i = 0; i < 50; i++) {
      String guess = "guess-" + i;
      try {
        auth.authenticate(creds("hub-1", guess));
      } catch (AuthenticationException | BackendUnavailableException expected) {
        // either a verdict on that guess, or "come back later"
      }
    }
    backend.enroll("hub-1", "s2");
    // The flood may defer the new secret (503), but never call it wrong (401).
    RuntimeException deferred = assertThrows(BackendUnavailableException.class,
        () -> auth.authenticate(creds("hub-1", "s2")));
    assertFalse(deferred instanceof AuthenticationException);
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "s1")),
        "the device's verified secret is untouched by the flood");
  }

  // --- case 4 -----------------------------------------------------------------------------------

  @Test
  void case4AThousandWrongSecretsForADeviceNeverSeenMakeAFewBackendCallsNotAThousand() {
    CachingAuthenticator<String> auth = builder().build();
    int unavailable = 0;
    for (int i = 0; i < 1_000; i++) {
      try {
        auth.authenticate(creds("hub-1", "wrong-" + i));
      } catch (BackendUnavailableException e) {
        unavailable++;
      } catch (AuthenticationException expected) {
        // the backend's own verdict
      }
    }
    assertTrue(backend.calls.get() <= 3, backend.calls.get() + " backend calls");
    assertEquals(1_000 - backend.calls.get(), unavailable);
  }

  @Test
  void case4TheSameWrongSecretRepeatedIsAnsweredFromTheNegativeCache() {
    CachingAuthenticator<String> auth = builder().build();
    for (int i = 0; i < 1_000; i++) {
      assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "wrong")));
    }
    assertEquals(1, backend.calls.get());
  }

  // --- case 5 -----------------------------------------------------------------------------------

  /** A backend whose stages never complete. */
  private static final class Hanging implements Authenticator<DeviceCredentials, Verified<String>> {
    volatile boolean hang;
    final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public Verified<String> authenticate(DeviceCredentials credentials) {
      throw new UnsupportedOperationException();
    }

    @Override
    public java.util.concurrent.CompletionStage<Verified<String>> authenticateAsync(DeviceCredentials c) {
      calls.incrementAndGet();
      return hang ? new CompletableFuture<>() : CompletableFuture.completedFuture(Verified.of("p-" + c.deviceId()));
    }
  }

  @Test
  void case5AHangingBackendServesTheStaleAnswerAfterTheTimeoutInsteadOfWaitingForEver() throws Exception {
    Hanging hanging = new Hanging();
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(hanging).ticker(clock)
        .executor(Runnable::run).listener(events).ttl(Duration.ofSeconds(60)).refreshAhead(0)
        .maxStale(Duration.ofMinutes(30)).build();
    auth.authenticate(creds("hub-1", "s1"));
    clock.advance(Duration.ofSeconds(60)); // expired, within maxStale
    hanging.hang = true;
    CompletableFuture<String> sync = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        sync.complete(auth.authenticate(creds("hub-1", "s1")));
      } catch (RuntimeException e) {
        sync.completeExceptionally(e);
      }
    });
    waiter.setDaemon(true);
    waiter.start();
    CompletableFuture<String> async = auth.authenticateAsync(creds("hub-1", "s1")).toCompletableFuture();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (hanging.calls.get() < 2 && System.nanoTime() < deadline) {
        Thread.yield();
      }
      assertEquals(2, hanging.calls.get(), "the revalidation is in flight");
      assertFalse(async.isDone());
      clock.advance(Duration.ofSeconds(5)); // the default timeout
      assertEquals("p-hub-1", sync.get(10, TimeUnit.SECONDS));
      assertEquals("p-hub-1", async.get(10, TimeUnit.SECONDS));
    } finally {
      waiter.interrupt();
    }
  }

  @Test
  void case5WithoutAStaleAnswerAHangingBackendIsRefusedAsUnavailableWithARetryAfter() throws Exception {
    Hanging hanging = new Hanging();
    hanging.hang = true;
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(hanging).ticker(clock)
        .executor(Runnable::run).listener(events).build();
    CompletableFuture<String> async = auth.authenticateAsync(creds("hub-1", "s1")).toCompletableFuture();
    CompletableFuture<String> sync = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        sync.complete(auth.authenticate(creds("hub-1", "s1")));
      } catch (RuntimeException e) {
        sync.completeExceptionally(e);
      }
    });
    waiter.setDaemon(true);
    waiter.start();
    try {
      clock.advance(Duration.ofSeconds(5)); // the default timeout
      Throwable failure = failureOf(sync);
      assertInstanceOf(BackendUnavailableException.class, failure);
      assertEquals(Duration.ofSeconds(10), ((BackendUnavailableException) failure).retryAfter().orElseThrow(),
          "come back after the cool-down");
      assertInstanceOf(BackendUnavailableException.class, failureOf(async), "the async waiter too");
      assertEquals(1, hanging.calls.get());
    } finally {
      waiter.interrupt();
    }
  }

  @Test
  void case5OnATestClockAnAsynchronousWaiterIsAnsweredByTheNextEventAfterTheDeadline() throws Exception {
    Hanging hanging = new Hanging();
    hanging.hang = true;
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(hanging).ticker(clock)
        .executor(Runnable::run).listener(events).build();
    CompletableFuture<String> async = auth.authenticateAsync(creds("hub-1", "s1")).toCompletableFuture();
    clock.advanceNanos(Duration.ofSeconds(5).toNanos() - 1);
    auth.authenticateAsync(creds("hub-1", "other")); // an event for the device, before the deadline
    assertFalse(async.isDone(), "not before the deadline");
    clock.advanceNanos(1);
    auth.authenticateAsync(creds("hub-1", "other")); // and one at the deadline
    assertInstanceOf(BackendUnavailableException.class, failureOf(async));
  }

  @Test
  void case5InvalidateReleasesTheWaitersAtOnceAsItsJavadocSays() throws Exception {
    Hanging hanging = new Hanging();
    hanging.hang = true;
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(hanging).ticker(clock)
        .executor(Runnable::run).listener(events).build();
    CompletableFuture<String> async = auth.authenticateAsync(creds("hub-1", "s1")).toCompletableFuture();
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread waiter = new Thread(() -> {
      try {
        auth.authenticate(creds("hub-1", "s1"));
      } catch (RuntimeException e) {
        thrown.set(e);
      }
    });
    waiter.setDaemon(true);
    waiter.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (waiter.getState() != Thread.State.WAITING && waiter.getState() != Thread.State.TIMED_WAITING
          && System.nanoTime() < deadline) {
        Thread.yield();
      }
      auth.invalidate("hub-1"); // the clock does not move: only invalidate can release them
      assertInstanceOf(BackendUnavailableException.class, failureOf(async));
      waiter.join(10_000);
      assertFalse(waiter.isAlive(), "the blocked waiter was released");
      assertInstanceOf(BackendUnavailableException.class, thrown.get());
    } finally {
      waiter.interrupt();
    }
  }

  // --- case 6 -----------------------------------------------------------------------------------

  @Test
  void case6WhileTheBackendIsDownADeviceWithoutAnEntryCoolsDownInsteadOfHammeringIt() {
    CachingAuthenticator<String> auth = builder().ttl(Duration.ofSeconds(60)).refreshAhead(0)
        .maxStale(Duration.ofSeconds(60)).failureCooldown(Duration.ofSeconds(10)).build();
    auth.authenticate(creds("hub-1", "s1"));
    clock.advance(Duration.ofSeconds(120)); // past ttl + maxStale: the entry is gone
    backend.mode = FakeBackend.Mode.DOWN;
    int before = backend.calls.get();
    for (int i = 0; i < 100; i++) {
      assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "s1")));
    }
    assertEquals(before + 1, backend.calls.get(), "one call, then a cool-down");
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
        () -> auth.authenticate(creds("hub-1", "s1")));
    assertEquals(Duration.ofSeconds(10), e.retryAfter().orElseThrow(), "come back when the cool-down ends");
    clock.advance(Duration.ofSeconds(10));
    backend.mode = FakeBackend.Mode.UP;
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "s1")));
    assertEquals(before + 2, backend.calls.get());
  }
}
