package dev.shepherd.auth;

import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.core.Event;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.core.RejectedException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class CachingAuthenticatorTest {

  private static final Duration TTL = Duration.ofSeconds(60);
  private static final Duration MAX_STALE = Duration.ofSeconds(120);

  private final ManualClock clock = new ManualClock();
  private final FakeBackend backend = new FakeBackend().enroll("hub-1", "right").enroll("hub-2", "right2");
  private final RecordingListener events = new RecordingListener();

  private CachingAuthenticator.Builder<String> builder() {
    return CachingAuthenticator.builder(backend)
        .ticker(clock)
        .executor(Runnable::run)
        .random(new SplittableRandom(42))
        .listener(events)
        .ttl(TTL)
        .refreshAhead(0.2)
        .negativeTtl(Duration.ofSeconds(5))
        .maxStale(MAX_STALE)
        .rotationCheckInterval(Duration.ofSeconds(30))
        .failureCooldown(Duration.ofSeconds(10))
        .maximumSize(1_000);
  }

  private static DeviceCredentials creds(String id, String secret) {
    return DeviceCredentials.of(id, bytes(secret));
  }

  private static long secondsToNanos(double seconds) {
    return (long) (seconds * 1e9);
  }

  // --- hits, misses, single answers ---------------------------------------------------------------

  @Test
  void theFirstRequestAsksTheBackendAndTheNextOnesAreServedFromTheCache() {
    CachingAuthenticator<String> auth = builder().build();
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals("principal-hub-1", auth.authenticateAsync(creds(" hub-1 ", "right")).toCompletableFuture().join());
    assertEquals(1, backend.calls.get());
    assertEquals(new CachingAuthenticator.Stats(2, 1, 1, 0, 0, 0), auth.stats());
    assertEquals(1, events.count(Event.Kind.SUCCEEDED));
  }

  @Test
  void invalidCredentialsAreRefusedAsInvalid() {
    CachingAuthenticator<String> auth = builder().build();
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "wrong")));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("stranger", "x")));
    CompletionException async = assertThrows(CompletionException.class,
        () -> auth.authenticateAsync(creds("hub-2", "wrong")).toCompletableFuture().join());
    assertInstanceOf(AuthenticationException.class, async.getCause());
    assertEquals(3, auth.stats().refusals());
    assertEquals(3, events.count(Event.Kind.REJECTED));
  }

  // --- secrets never stored, wrong secrets, rotation ----------------------------------------------

  @Test
  void aWrongSecretForACachedDeviceIsRefusedAndNeitherPoisonsNorEvictsTheGoodEntry() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    Entry.Accepted<String> good = auth.accepted("hub-1");
    int invalid = 0;
    int deferred = 0;
    for (int i = 0; i < 20; i++) {
      try {
        auth.authenticate(creds("hub-1", "wrong-" + i));
      } catch (AuthenticationException e) {
        invalid++;
      } catch (BackendUnavailableException e) {
        deferred++;
        assertEquals(Duration.ofSeconds(30), e.retryAfter().orElseThrow(), "the next refill");
      }
    }
    assertTrue(auth.accepted("hub-1") == good, "the good answer is untouched");
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    // One fill, then the allowance (3): the backend refused those three; 17 were deferred, not refused.
    assertEquals(1 + 3, backend.calls.get());
    assertEquals(3, invalid);
    assertEquals(17, deferred);
  }

  /**
   * The allowance for unverified secrets, exactly: a + floor(t / I) calls in any window of length
   * t (a = 3, I = 30 s), each further distinct secret deferred with the time to the next refill.
   */
  @Test
  void unverifiedSecretsCostAtMostTheAllowancePlusOneCallPerInterval() {
    CachingAuthenticator<String> auth = builder().ttl(Duration.ofHours(1)).refreshAhead(0).build();
    auth.authenticate(creds("hub-1", "right"));
    int[] next = {0};
    Runnable guess = () -> {
      try {
        auth.authenticate(creds("hub-1", "guess-" + next[0]++));
      } catch (AuthenticationException | BackendUnavailableException expected) {
        // counted through the backend's calls
      }
    };
    for (int i = 0; i < 10; i++) {
      guess.run();
    }
    assertEquals(1 + 3, backend.calls.get(), "the burst");
    for (int interval = 1; interval <= 5; interval++) {
      clock.advanceNanos(Duration.ofSeconds(30).toNanos() - 1);
      BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
          () -> auth.authenticate(creds("hub-1", "guess-x")));
      assertEquals(Duration.ofNanos(1), e.retryAfter().orElseThrow(), "refill in one nanosecond");
      clock.advanceNanos(1);
      for (int i = 0; i < 10; i++) {
        guess.run();
      }
      assertEquals(1 + 3 + interval, backend.calls.get(), "one more call per interval, interval " + interval);
    }
  }

  /** The bound with acceptances given back: a + 1 + 2 * floor(t / I) calls in any window from 0. */
  @Test
  void aDeviceFlappingBetweenTwoValidSecretsCostsAtMostTheAllowancePlusOnePlusTwoCallsPerInterval() {
    java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
    Authenticator<DeviceCredentials, Verified<String>> twoValid = c -> {
      calls.incrementAndGet();
      String secret = new String(c.secretRef(), java.nio.charset.StandardCharsets.UTF_8);
      if (!secret.equals("a") && !secret.equals("b")) {
        throw new AuthenticationException("refused");
      }
      return Verified.of("p");
    };
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(twoValid).ticker(clock)
        .executor(Runnable::run).listener(events).ttl(Duration.ofHours(1)).build();
    long interval = Duration.ofSeconds(30).toNanos();
    int deferred = 0;
    for (int second = 0; second <= 300; second++) {
      for (String secret : new String[] {"a", "b", "a", "b"}) {
        try {
          auth.authenticate(creds("hub-1", secret));
        } catch (BackendUnavailableException e) {
          deferred++;
          assertTrue(e.retryAfter().orElseThrow().compareTo(Duration.ofSeconds(30)) <= 0);
        }
      }
      long t = clock.read();
      assertTrue(calls.get() <= 3 + 1 + 2 * (t / interval), calls.get() + " calls by " + t + " ns");
      clock.advance(Duration.ofSeconds(1));
    }
    assertTrue(deferred > 0, "the bound was reached");
  }

  @Test
  void aLateAcceptanceForADeviceWhoseEntryIsGoneLeavesItsAllowanceFull() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    backend.mode = FakeBackend.Mode.LATE;
    CompletableFuture<String> waiting = auth.authenticateAsync(creds("hub-1", "right")).toCompletableFuture();
    clock.advance(Duration.ofSeconds(45)); // timed out, cooled down, allowance refilled: the entry is gone
    auth.expireOverdue();
    assertInstanceOf(BackendUnavailableException.class, assertThrows(CompletionException.class, waiting::join).getCause());
    assertNull(auth.entry("hub-1"));
    backend.deliverAll(false); // the late "valid" is still recorded, into a fresh entry
    assertEquals("principal-hub-1", auth.accepted("hub-1").principal);
    backend.mode = FakeBackend.Mode.UP;
    backend.enroll("hub-1", "rotated");
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "rotated")), "the allowance is full");
  }

  @Test
  void atMostTheAllowanceOfRefusalsIsRememberedPerDevice() {
    CachingAuthenticator<String> auth = builder().negativeTtl(Duration.ofMinutes(10)).build();
    for (int i = 0; i < 40; i++) {
      try {
        auth.authenticate(creds("hub-1", "guess-" + i));
      } catch (AuthenticationException | BackendUnavailableException expected) {
        // refused or deferred
      }
      assertTrue(auth.entry("hub-1").refused.length <= 3);
      clock.advance(Duration.ofSeconds(10));
    }
    assertEquals(3, auth.entry("hub-1").refused.length);
  }

  /**
   * A device under a sustained flood: its verified secret is served and revalidated as usual;
   * its new secret is deferred (503, retry-after at most one interval), never refused, while the
   * flood lasts; and verified at the first retry after the flood stops.
   */
  @Test
  void underASustainedFloodTheVerifiedSecretIsUntouchedAndANewOneIsDeferredNeverRefused() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    auth.authenticate(creds("hub-1", "right"));
    int flood = 0;
    for (int second = 0; second < 150; second++) { // past the 60 s ttl: a revalidation happens
      for (int i = 0; i < 5; i++) {
        try {
          auth.authenticate(creds("hub-1", "flood-" + flood++));
        } catch (AuthenticationException | BackendUnavailableException expected) {
          // the attacker's problem
        }
      }
      assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")), "second " + second);
      clock.advance(Duration.ofSeconds(1));
    }
    backend.enroll("hub-1", "rotated");
    Duration retryAfter = Duration.ZERO;
    for (int second = 0; second < 120; second++) {
      for (int i = 0; i < 5; i++) {
        try {
          auth.authenticate(creds("hub-1", "flood-" + flood++));
        } catch (AuthenticationException | BackendUnavailableException expected) {
          // the attacker's problem
        }
      }
      BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
          () -> auth.authenticate(creds("hub-1", "rotated")), "deferred, not refused");
      retryAfter = e.retryAfter().orElseThrow();
      assertTrue(retryAfter.compareTo(Duration.ofSeconds(30)) <= 0, "retry-after " + retryAfter);
      clock.advance(Duration.ofSeconds(1));
    }
    // The flood stops; the device comes back when told.
    clock.advance(Duration.ofSeconds(30));
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "rotated")));
  }

  @Test
  void theSameWrongSecretIsRefusedFromTheNegativeCacheWithoutSpendingTheAllowance() {
    CachingAuthenticator<String> auth = builder().ttl(Duration.ofHours(1)).build();
    auth.authenticate(creds("hub-1", "right"));
    for (int i = 0; i < 100; i++) {
      assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "wrong")));
    }
    assertEquals(2, backend.calls.get());
    backend.enroll("hub-1", "rotated");
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "rotated")));
  }

  @Test
  void aRotatedSecretIsAcceptedOnceTheBackendAgreesAndReplacesTheOldOne() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    backend.enroll("hub-1", "rotated");
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "rotated")));
    assertEquals(2, backend.calls.get());
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "rotated")));
    assertEquals(2, backend.calls.get(), "the rotated secret is now the cached one");
    // The old secret is no longer the verified one: the backend is asked, and refuses it.
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "right")));
    assertEquals(3, backend.calls.get());
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "right")));
    assertEquals(3, backend.calls.get(), "then from the negative cache");
  }

  @Test
  void theCacheHoldsADigestNeverTheSecret() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    Entry.Accepted<String> entry = auth.accepted("hub-1");
    assertEquals(32, entry.digest.length);
    assertFalse(java.util.Arrays.equals(bytes("right"), java.util.Arrays.copyOf(entry.digest, 5)));
    // Another instance uses another key: the same secret gives another digest.
    CachingAuthenticator<String> other = builder().build();
    other.authenticate(creds("hub-1", "right"));
    assertFalse(java.util.Arrays.equals(entry.digest, other.accepted("hub-1").digest));
  }

  // --- freshness --------------------------------------------------------------------------------

  @Test
  void anAnswerIsNeverServedBeyondTheTtl() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    auth.authenticate(creds("hub-1", "right"));
    clock.advanceNanos(TTL.toNanos() - 1);
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(1, backend.calls.get());
    clock.advanceNanos(1);
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(2, backend.calls.get());
  }

  @Test
  void anAnswerIsNeverServedBeyondTheExpiryTheBackendStates() {
    backend.validFor = Duration.ofSeconds(10);
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    Entry.Accepted<String> entry = auth.accepted("hub-1");
    assertTrue(entry.expireAt - entry.written <= Duration.ofSeconds(10).toNanos());
    clock.advance(Duration.ofSeconds(10));
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(2, backend.calls.get());
  }

  @Test
  void aBackendThatSaysDoNotCacheIsAskedEveryTime() {
    backend.validFor = Duration.ZERO;
    CachingAuthenticator<String> auth = builder().build();
    for (int i = 0; i < 10; i++) {
      assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    }
    assertEquals(10, backend.calls.get(), "asked every time, and never deferred: the secret is verified");
    backend.mode = FakeBackend.Mode.DOWN;
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "right")),
        "a do-not-cache answer is never served stale");
  }

  @Test
  void refreshAheadServesAHotDeviceFromTheCacheAndRefreshesInTheBackground() {
    ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    Executor queued = tasks::add;
    CachingAuthenticator<String> auth = builder().executor(queued).build();
    auth.authenticate(creds("hub-1", "right"));
    runAll(tasks); // Caffeine's maintenance
    Entry.Accepted<String> first = auth.accepted("hub-1");
    clock.advanceNanos(first.refreshAt);

    long missesBefore = auth.stats().misses();
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals(missesBefore, auth.stats().misses(), "the hot device did not wait");
    assertEquals(1, backend.calls.get(), "the refresh has not run yet: it is queued");

    runAll(tasks);
    assertEquals(2, backend.calls.get(), "exactly one refresh for both requests");
    Entry.Accepted<String> refreshed = auth.accepted("hub-1");
    assertTrue(refreshed != first);
    assertEquals(clock.read(), refreshed.written);
  }

  @Test
  void aFailedRefreshKeepsTheFreshEntryAndBacksOff() {
    CachingAuthenticator<String> auth = builder().ttl(Duration.ofSeconds(600)).build();
    auth.authenticate(creds("hub-1", "right"));
    Entry.Accepted<String> first = auth.accepted("hub-1");
    clock.advanceNanos(first.refreshAt); // in [480 s, 540 s); the expiry is beyond 540 s
    backend.mode = FakeBackend.Mode.DOWN;
    for (int i = 0; i < 5; i++) {
      assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    }
    assertEquals(2, backend.calls.get(), "one failed refresh, then a cooldown");
    assertTrue(auth.accepted("hub-1") == first);
    clock.advanceNanos(Duration.ofSeconds(10).toNanos() - 1);
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(2, backend.calls.get(), "still cooling down");
    clock.advanceNanos(1);
    backend.mode = FakeBackend.Mode.UP;
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(3, backend.calls.get(), "refreshed after the cooldown");
    assertEquals(clock.read(), auth.accepted("hub-1").written);
  }

  /**
   * Entries written in one instant refresh spread uniformly over [L(1-f), L(1-f/2)) and expire
   * spread over (L(1-f/2), L], instead of all at once.
   *
   * <p>With N = 10,000 entries and 10 equal buckets per window, each bucket's count is
   * Binomial(N, 0.1), mean mu = 1000 (the draws are independent uniforms). We require every count
   * in [750, 1250], i.e. within delta = 0.25 of mu. Chernoff: P(X >= (1+d)mu) <= exp(-d^2 mu / (2+d))
   * = exp(-27.8) < 9e-13 and P(X <= (1-d)mu) <= exp(-d^2 mu / 2) = exp(-31.25) < 3e-14. A union
   * bound over 2 windows x 10 buckets x 2 tails gives a false-failure probability below 2e-11 for
   * a correct implementation, whatever the seed; the seed is fixed for reproducibility.
   */
  @Test
  void refreshAndExpiryTimesOfEntriesWrittenInOneInstantAreSpreadOverTheirWindows() {
    int n = 10_000;
    Duration ttl = Duration.ofSeconds(100);
    CachingAuthenticator<String> auth = builder().ttl(ttl).refreshAhead(0.2).maximumSize(2 * n).build();
    List<DeviceCredentials> fleet = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      backend.enroll("dev-" + i, "s-" + i);
      fleet.add(creds("dev-" + i, "s-" + i));
    }
    fleet.forEach(auth::authenticate); // all written at t = 0
    assertEquals(n, backend.calls.get());

    // Expiry spread, read from the entries: (90 s, 100 s] in ten 1-second buckets.
    int[] expiryBuckets = new int[10];
    for (int i = 0; i < n; i++) {
      long expire = auth.accepted("dev-" + i).expireAt;
      assertTrue(expire > secondsToNanos(90) && expire <= secondsToNanos(100), "expiry in window");
      expiryBuckets[(int) Math.min(9, (expire - secondsToNanos(90)) / secondsToNanos(1))]++;
    }
    assertBucketsWithin(expiryBuckets, 750, 1250, "expiry");

    // Refresh spread, observed: walk the clock through [80 s, 90 s) and count refresh calls.
    advanceTo(secondsToNanos(80) - 1);
    fleet.forEach(auth::authenticate);
    assertEquals(n, backend.calls.get(), "no refresh before the window opens");
    // Steps at 80 s, 81 s, ..., 89 s and 90 s - 1 ns. Step k > 0 triggers exactly the entries whose
    // refresh instant lies in (step k-1, step k]; step 0 those at exactly 80 s.
    int[] steps = new int[11];
    for (int k = 0; k <= 10; k++) {
      advanceTo(k < 10 ? secondsToNanos(80 + k) : secondsToNanos(90) - 1);
      int before = backend.calls.get();
      fleet.forEach(auth::authenticate);
      steps[k] = backend.calls.get() - before;
    }
    assertEquals(2 * n, backend.calls.get(), "every entry refreshed exactly once inside the window");
    assertEquals(n, auth.stats().misses(), "no request waited for a refresh");
    int[] refreshBuckets = new int[10];
    for (int j = 0; j < 10; j++) {
      refreshBuckets[j] = steps[j + 1];
    }
    refreshBuckets[0] += steps[0];
    assertBucketsWithin(refreshBuckets, 750, 1250, "refresh");
  }

  private void advanceTo(long nanos) {
    clock.advanceNanos(nanos - clock.read());
  }

  private static void assertBucketsWithin(int[] buckets, int low, int high, String what) {
    for (int k = 0; k < buckets.length; k++) {
      assertTrue(buckets[k] >= low && buckets[k] <= high,
          what + " bucket " + k + " holds " + buckets[k] + ": " + java.util.Arrays.toString(buckets));
    }
  }

  @Test
  void anyTickerOriginAndHugeDurationsWorkWithoutOverflow() {
    ManualClock nearOverflow = ManualClock.startingAt(Long.MAX_VALUE - Duration.ofMinutes(1).toNanos(), false);
    Duration forever = Duration.ofSeconds(Long.MAX_VALUE);
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(backend).ticker(nearOverflow)
        .executor(Runnable::run).listener(events).ttl(forever).maxStale(forever).build();
    auth.authenticate(creds("hub-1", "right"));
    nearOverflow.advance(Duration.ofMinutes(30)); // the ticker wraps past Long.MAX_VALUE
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals(1, backend.calls.get(), "still fresh after the ticker wrapped");

    ManualClock negative = ManualClock.startingAt(Long.MIN_VALUE + 5, false);
    CachingAuthenticator<String> short1 = CachingAuthenticator.builder(backend).ticker(negative)
        .executor(Runnable::run).listener(events).ttl(TTL).refreshAhead(0).build();
    short1.authenticate(creds("hub-2", "right2"));
    negative.advance(TTL);
    short1.authenticate(creds("hub-2", "right2"));
    assertEquals(3, backend.calls.get(), "expired exactly at the ttl");
  }

  /**
   * Caffeine reads the same ticker: to Caffeine itself, an entry ends exactly when the ManualClock
   * passes the end of the last thing it remembers (a refusal at negativeTtl, the allowance once it
   * has refilled, a positive answer at its expiry plus maxStale), not a nanosecond before; and it is
   * then evicted, freeing its memory, once Caffeine's timer wheel (buckets of about 1.07 s) passes it.
   */
  @Test
  void caffeineExpiresAndEvictsOnTheInjectedClock() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    auth.authenticate(creds("hub-1", "right"));
    auth.authenticate(creds("hub-2", "right2"));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("stranger", "x")));
    auth.cleanUp();
    assertEquals(3, auth.estimatedSize());

    clock.advanceNanos(Duration.ofSeconds(5).toNanos() - 1);
    assertEquals(1, auth.entry("stranger").refused.length, "a refusal lives until the negative ttl");
    clock.advanceNanos(1);
    // The refusal has ended; the entry remembers the spent allowance until it has refilled (30 s).
    clock.advanceNanos(Duration.ofSeconds(25).toNanos() - 1);
    assertNotNull(auth.entry("stranger"), "the allowance is not full yet");
    clock.advanceNanos(1);
    assertNull(auth.entry("stranger"), "and ends exactly when it is");
    clock.advance(Duration.ofSeconds(3));
    auth.cleanUp();
    assertEquals(2, auth.estimatedSize(), "then it is evicted");

    advanceToNanos(TTL.plus(MAX_STALE).toNanos() - 1);
    assertNotNull(auth.entry("hub-1"), "a positive answer is kept for stale use until maxStale ends");
    clock.advanceNanos(1);
    assertNull(auth.entry("hub-1"));
    assertNull(auth.entry("hub-2"));
    clock.advance(Duration.ofSeconds(3));
    auth.cleanUp();
    assertEquals(0, auth.estimatedSize());
  }

  private void advanceToNanos(long nanos) {
    clock.advanceNanos(nanos - clock.read());
  }

  // --- negative caching, failures ---------------------------------------------------------------

  @Test
  void invalidIsCachedBrieflyPerSecretAndAskedAgainAfterTheNegativeTtl() {
    CachingAuthenticator<String> auth = builder().build();
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "wrong")));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "wrong")));
    assertEquals(1, backend.calls.get(), "the second refusal came from the cache");
    // The right secret is not blocked by another secret's refusal.
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals(2, backend.calls.get());

    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("stranger", "x")));
    clock.advanceNanos(Duration.ofSeconds(5).toNanos() - 1);
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("stranger", "x")));
    assertEquals(3, backend.calls.get());
    clock.advanceNanos(1);
    backend.enroll("stranger", "x"); // enrolled meanwhile
    assertEquals("principal-stranger", auth.authenticate(creds("stranger", "x")));
    assertEquals(4, backend.calls.get());
  }

  @Test
  void aBackendFailureIsNeverCachedOrReportedAsInvalid() {
    CachingAuthenticator<String> auth = builder().build();
    backend.mode = FakeBackend.Mode.DOWN;
    backend.retryAfter = Duration.ofSeconds(7);
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
        () -> auth.authenticate(creds("hub-1", "right")));
    assertEquals(Duration.ofSeconds(10), e.retryAfter().orElseThrow(), "the cool-down, longer than the hint");
    assertInstanceOf(RejectedException.class, e);
    assertNotNull(e.getCause());
    assertNull(auth.accepted("hub-1"), "nothing cached but the cool-down");
    assertEquals(0, auth.entry("hub-1").refused.length);
    backend.retryAfter = Duration.ofSeconds(70);
    clock.advance(Duration.ofSeconds(10));
    e = assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "right")));
    assertEquals(Duration.ofSeconds(70), e.retryAfter().orElseThrow(), "the backend's hint, longer than the cool-down");
    clock.advance(Duration.ofSeconds(70));
    backend.mode = FakeBackend.Mode.UP;
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
  }

  @Test
  void aBackendThatThrowsOrReturnsNullIsAFailureNeverInvalid() {
    Authenticator<DeviceCredentials, Verified<String>> throwing = c -> {
      throw new IllegalStateException("boom");
    };
    Authenticator<DeviceCredentials, Verified<String>> nulls = c -> null;
    for (Authenticator<DeviceCredentials, Verified<String>> broken : List.of(throwing, nulls)) {
      CachingAuthenticator<String> auth = CachingAuthenticator.builder(broken).ticker(clock)
          .executor(Runnable::run).listener(events).build();
      assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "right")));
      assertNull(auth.accepted("hub-1"));
      assertEquals(0, auth.entry("hub-1").refused.length);
    }
  }

  @Test
  void whileTheBackendFailsTheLastGoodAnswerIsServedForAtMostMaxStaleBeyondItsExpiry() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    auth.authenticate(creds("hub-1", "right"));
    backend.mode = FakeBackend.Mode.DOWN;
    clock.advance(TTL);
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals(1, auth.stats().staleServed());
    assertEquals(1, events.count(Event.Kind.FALLBACK));
    // A wrong secret is still refused while stale answers are served.
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "wrong")));

    clock.advanceNanos(MAX_STALE.toNanos() - 1); // the last nanosecond of maxStale
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    clock.advanceNanos(1);
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "right")));
  }

  @Test
  void withMaxStaleZeroAnExpiredAnswerIsNeverServed() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).maxStale(Duration.ZERO).build();
    auth.authenticate(creds("hub-1", "right"));
    backend.mode = FakeBackend.Mode.DOWN;
    clock.advance(TTL);
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-1", "right")));
  }

  @Test
  void aDeviceNeverSeenIsRefusedWhileTheBackendIsDown() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    backend.mode = FakeBackend.Mode.DOWN;
    assertThrows(BackendUnavailableException.class, () -> auth.authenticate(creds("hub-2", "right2")));
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
  }

  @Test
  void afterAFailureTheDeviceIsNotAskedAboutAgainBeforeTheCooldownOrRetryAfter() {
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    auth.authenticate(creds("hub-1", "right"));
    clock.advance(TTL);
    backend.mode = FakeBackend.Mode.DOWN;
    for (int i = 0; i < 50; i++) {
      auth.authenticate(creds("hub-1", "right"));
    }
    assertEquals(2, backend.calls.get(), "one failed revalidation, then stale answers");
    clock.advance(Duration.ofSeconds(10));
    backend.retryAfter = Duration.ofSeconds(40);
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(3, backend.calls.get(), "asked again after the cooldown");
    clock.advance(Duration.ofSeconds(39));
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(3, backend.calls.get(), "the backend's retry-after is honoured");
    clock.advance(Duration.ofSeconds(1));
    backend.mode = FakeBackend.Mode.UP;
    auth.authenticate(creds("hub-1", "right"));
    assertEquals(4, backend.calls.get());
    assertEquals(clock.read(), auth.accepted("hub-1").written, "revalidated");
  }

  // --- revocation -------------------------------------------------------------------------------

  @Test
  void invalidateDropsTheDeviceAtOnce() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    backend.revoked.add("hub-1");
    auth.invalidate("  hub-1 "); // normalised like the credentials
    assertNull(auth.entry("hub-1"));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "right")));
    assertEquals(1, events.count(Event.Kind.STATE_CHANGED));
  }

  @Test
  void invalidateDiscardsAnInFlightRefreshSoItCannotReinsertTheDevice() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    clock.advanceNanos(auth.accepted("hub-1").refreshAt);
    backend.mode = FakeBackend.Mode.PENDING;
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertEquals(1, backend.pending().size(), "a refresh is in flight");

    auth.invalidate("hub-1");
    backend.deliverAll(false); // the backend still says "valid": the answer predates the revocation
    assertNull(auth.entry("hub-1"), "the refresh did not re-insert the device");
    backend.revoked.add("hub-1");
    backend.mode = FakeBackend.Mode.UP;
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "right")));
  }

  @Test
  void invalidateRefusesRequestsWaitingForAnInFlightCallAsUnavailable() {
    CachingAuthenticator<String> auth = builder().build();
    backend.mode = FakeBackend.Mode.PENDING;
    CompletableFuture<String> waiting = auth.authenticateAsync(creds("hub-1", "right")).toCompletableFuture();
    auth.invalidate("hub-1");
    backend.deliverAll(false);
    CompletionException e = assertThrows(CompletionException.class, waiting::join);
    assertInstanceOf(BackendUnavailableException.class, e.getCause());
    assertNull(auth.entry("hub-1"));
  }

  @Test
  void invalidateAllDropsEveryDevice() {
    CachingAuthenticator<String> auth = builder().build();
    auth.authenticate(creds("hub-1", "right"));
    auth.authenticate(creds("hub-2", "right2"));
    auth.invalidateAll();
    assertNull(auth.entry("hub-1"));
    assertNull(auth.entry("hub-2"));
  }

  // --- single flight, bounded memory, guard -----------------------------------------------------

  @Test
  void concurrentRequestsForOneDeviceShareOneBackendCall() {
    CachingAuthenticator<String> auth = builder().build();
    backend.mode = FakeBackend.Mode.PENDING;
    List<CompletableFuture<String>> waiting = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      waiting.add(auth.authenticateAsync(creds("hub-1", "right")).toCompletableFuture());
    }
    assertEquals(1, backend.calls.get());
    backend.deliverAll(false);
    waiting.forEach(f -> assertEquals("principal-hub-1", f.join()));
    assertEquals(100, auth.stats().misses());
  }

  @Test
  void aWrongSecretInFlightDoesNotDecideForTheRightOne() {
    CachingAuthenticator<String> auth = builder().build();
    backend.mode = FakeBackend.Mode.PENDING;
    CompletableFuture<String> wrong = auth.authenticateAsync(creds("hub-1", "wrong")).toCompletableFuture();
    CompletableFuture<String> right = auth.authenticateAsync(creds("hub-1", "right")).toCompletableFuture();
    assertEquals(2, backend.calls.get(), "each secret needs its own verdict");
    backend.deliverAll(false);
    assertInstanceOf(AuthenticationException.class, assertThrows(CompletionException.class, wrong::join).getCause());
    assertEquals("principal-hub-1", right.join());
  }

  @Test
  void distinctSecretsInFlightForOneDeviceAreBoundedByTheAllowanceAndTheRestDeferredWithARetryAfter() {
    CachingAuthenticator<String> auth = builder().build();
    backend.mode = FakeBackend.Mode.PENDING;
    List<CompletableFuture<String>> guesses = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      guesses.add(auth.authenticateAsync(creds("hub-1", "guess-" + i)).toCompletableFuture());
    }
    assertEquals(3, backend.calls.get(), "the allowance");
    CompletableFuture<String> right = auth.authenticateAsync(creds("hub-1", "right")).toCompletableFuture();
    BackendUnavailableException deferred = assertInstanceOf(BackendUnavailableException.class,
        assertThrows(CompletionException.class, right::join).getCause());
    assertEquals(Duration.ofSeconds(30), deferred.retryAfter().orElseThrow());
    backend.mode = FakeBackend.Mode.UP;
    backend.deliverAll(false);
    for (int i = 0; i < 3; i++) {
      assertInstanceOf(AuthenticationException.class, assertThrows(CompletionException.class, guesses.get(i)::join).getCause());
    }
    for (int i = 3; i < 8; i++) {
      assertInstanceOf(BackendUnavailableException.class, assertThrows(CompletionException.class, guesses.get(i)::join).getCause());
    }
    clock.advance(deferred.retryAfter().orElseThrow()); // the device comes back when told
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
  }

  /**
   * The database's worst case under a flood of N unknown device ids: N * a calls at once, then N
   * per interval (a = 3), and every id beyond that deferred, never called.
   */
  @Test
  void aFloodOfWrongSecretsForNDevicesCostsAtMostNTimesTheAllowanceThenNPerInterval() {
    int n = 100;
    CachingAuthenticator<String> auth = builder().maximumSize(10 * n).build();
    Runnable flood = () -> {
      for (int round = 0; round < 10; round++) {
        for (int d = 0; d < n; d++) {
          try {
            auth.authenticate(creds("dev-" + d, "guess-" + round));
          } catch (AuthenticationException | BackendUnavailableException expected) {
            // the backend's verdict, or deferred
          }
        }
      }
    };
    flood.run();
    assertEquals(3 * n, backend.calls.get());
    for (int interval = 1; interval <= 3; interval++) {
      clock.advance(Duration.ofSeconds(30));
      flood.run();
      assertEquals(3 * n + interval * n, backend.calls.get(), "interval " + interval);
    }
  }

  @Test
  void aFloodOfRandomIdsNeitherGrowsTheCacheBeyondItsBoundNorEvictsAHotDevice() {
    TestPolicies.Budget budget = new TestPolicies.Budget("flood-guard", 500);
    CachingAuthenticator<String> auth = builder().maximumSize(100).guard(budget).build();
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 20; i++) {
      auth.authenticate(creds("hub-1", "right"));
    }
    int refusedUnavailable = 0;
    for (int i = 0; i < 5_000; i++) {
      try {
        auth.authenticate(creds("rnd-" + Long.toHexString(random.nextLong()), "x"));
      } catch (AuthenticationException expected) {
        // unknown device
      } catch (BackendUnavailableException guarded) {
        refusedUnavailable++;
      }
      if (i % 10 == 0) {
        auth.authenticate(creds("hub-1", "right"));
      }
      if (i % 100 == 0) {
        auth.cleanUp();
        assertTrue(auth.estimatedSize() <= 100, "size " + auth.estimatedSize());
      }
    }
    auth.cleanUp();
    assertTrue(auth.estimatedSize() <= 100);
    assertEquals(1, backend.callsFor("hub-1"), "the hot device was never evicted");
    assertEquals(500, backend.calls.get(), "the guard bounded backend calls");
    assertEquals(5_000 - 499, refusedUnavailable, "ids beyond the guard's budget were refused as unavailable");
  }

  @Test
  void aGuardRejectionIsABackendFailureServedStaleOrRefusedAsUnavailable() {
    TestPolicies.Budget budget = new TestPolicies.Budget("guard", 1);
    CachingAuthenticator<String> auth = builder().refreshAhead(0).guard(budget).build();
    auth.authenticate(creds("hub-1", "right"));
    clock.advance(TTL);
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")), "stale while guarded");
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
        () -> auth.authenticate(creds("hub-2", "right2")));
    assertEquals(Duration.ofSeconds(30), e.retryAfter().orElseThrow(), "the guard's retry-after travels");
    assertInstanceOf(RejectedException.class, e.getCause());
    assertEquals(1, backend.calls.get());
    assertEquals(2, auth.stats().backendFailures());
    assertEquals(1, auth.stats().backendCalls(), "guard refusals are not backend calls");
  }

  @Test
  void aGuardSheddingLoadStartsNoCooldownTheDeviceComesBackAtTheGuardsHint() {
    TestPolicies.Budget budget = new TestPolicies.Budget("guard", 1, Duration.ofMillis(200));
    CachingAuthenticator<String> auth = builder().failureCooldown(Duration.ofSeconds(10)).guard(budget).build();
    auth.authenticate(creds("hub-1", "right"));
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
        () -> auth.authenticate(creds("hub-2", "right2")));
    assertEquals(Duration.ofMillis(200), e.retryAfter().orElseThrow(), "the guard hint, not the cool-down: " + e);
    clock.advance(Duration.ofMillis(200));
    budget.refill(1);
    assertEquals("principal-hub-2", auth.authenticate(creds("hub-2", "right2")), "no cool-down held it back");
    assertEquals(2, backend.calls.get());
  }

  @Test
  void aGuardSheddingLoadWithoutAHintStartsNoCooldownEither() {
    // A full bulkhead cannot know when a call will end, so its refusal carries no retry-after: it is
    // still shedding, not a failure of the backend, and must not hold the device back for 10 s.
    TestPolicies.Budget budget = new TestPolicies.Budget("guard", 1, null);
    CachingAuthenticator<String> auth = builder().failureCooldown(Duration.ofSeconds(10)).guard(budget).build();
    auth.authenticate(creds("hub-1", "right"));
    BackendUnavailableException e = assertThrows(BackendUnavailableException.class,
        () -> auth.authenticate(creds("hub-2", "right2")));
    assertEquals(Duration.ZERO, e.retryAfter().orElse(Duration.ZERO), "no cool-down: " + e);
    budget.refill(1);
    assertEquals("principal-hub-2", auth.authenticate(creds("hub-2", "right2")), "asked again at once");
    assertEquals(2, backend.calls.get());
  }

  // --- counters, events, secrets in output ------------------------------------------------------

  @Test
  void noSecretAppearsInMessagesEventsOrToString() {
    String secret = "TOP-SECRET-hunter2";
    backend.enroll("hub-9", secret);
    CachingAuthenticator<String> auth = builder().refreshAhead(0).build();
    List<String> texts = new ArrayList<>();
    Consumer<Throwable> collect = t -> {
      for (Throwable c = t; c != null; c = c.getCause()) {
        texts.add(String.valueOf(c.getMessage()));
        texts.add(c.toString());
      }
    };
    DeviceCredentials good = creds("hub-9", secret);
    auth.authenticate(good);
    texts.add(auth.toString());
    texts.add(good.toString());
    texts.add(auth.entry("hub-9").toString());
    try {
      auth.authenticate(creds("hub-1", secret));
    } catch (RuntimeException e) {
      collect.accept(e);
    }
    backend.mode = FakeBackend.Mode.DOWN;
    clock.advance(TTL.plus(MAX_STALE));
    try {
      auth.authenticate(good);
    } catch (RuntimeException e) {
      collect.accept(e);
    }
    events.events.forEach(ev -> {
      texts.add(ev.toString());
      if (ev.cause() != null) {
        collect.accept(ev.cause());
      }
    });
    assertTrue(texts.size() > 8);
    for (String text : texts) {
      assertFalse(text.contains(secret), text);
      assertFalse(text.contains(java.util.Base64.getEncoder().encodeToString(bytes(secret))), text);
    }
  }

  @Test
  void eventsAreGuardedSoABrokenListenerCannotBreakAuthentication() {
    CachingAuthenticator<String> auth = builder().listener(e -> {
      throw new IllegalStateException("listener bug");
    }).build();
    assertEquals("principal-hub-1", auth.authenticate(creds("hub-1", "right")));
    assertThrows(AuthenticationException.class, () -> auth.authenticate(creds("hub-1", "wrong")));
  }

  // --- bad input --------------------------------------------------------------------------------

  @Test
  void badConfigurationFailsAtBuildTimeNamingTheParameter() {
    assertMessage("ttl must be positive: PT0S", () -> builder().ttl(Duration.ZERO));
    assertMessage("ttl must be positive: PT-1S", () -> builder().ttl(Duration.ofSeconds(-1)));
    assertMessage("negativeTtl must be positive: PT0S", () -> builder().negativeTtl(Duration.ZERO));
    assertMessage("maxStale must be zero or positive: PT-0.001S", () -> builder().maxStale(Duration.ofMillis(-1)));
    assertMessage("maximumSize must be positive: 0", () -> builder().maximumSize(0));
    assertMessage("rotationCheckInterval must be positive: PT0S", () -> builder().rotationCheckInterval(Duration.ZERO));
    assertMessage("failureCooldown must be positive: PT0S", () -> builder().failureCooldown(Duration.ZERO));
    assertMessage("refreshAhead must be in [0.0, 1.0]: 1.5", () -> builder().refreshAhead(1.5));
    assertMessage("refreshAhead must be in [0.0, 1.0]: NaN", () -> builder().refreshAhead(Double.NaN));
    assertMessage("name must be non-blank: \" \"", () -> builder().name(" "));
    assertThrows(NullPointerException.class, () -> CachingAuthenticator.builder(null));
    assertThrows(NullPointerException.class, () -> builder().ttl(null));
    assertThrows(NullPointerException.class, () -> builder().ticker(null));
  }

  private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable action) {
    assertEquals(expected, assertThrows(IllegalArgumentException.class, action).getMessage());
  }

  @Test
  void badInputAtRunTimeIsRefusedClearlyAndNothingIsCached() {
    CachingAuthenticator<String> auth = builder().build();
    assertThrows(NullPointerException.class, () -> auth.authenticate(null));
    CompletionException async = assertThrows(CompletionException.class,
        () -> auth.authenticateAsync(null).toCompletableFuture().join());
    assertInstanceOf(NullPointerException.class, async.getCause());
    DeviceCredentials wiped = creds("hub-1", "right");
    wiped.wipe();
    assertThrows(IllegalStateException.class, () -> auth.authenticate(wiped));
    assertThrows(NullPointerException.class, () -> auth.invalidate(null));
    IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
        () -> auth.invalidate("x".repeat(129)));
    assertTrue(tooLong.getMessage().startsWith("deviceId must be at most 128"));
    assertEquals(0, backend.calls.get());
    assertEquals(0, auth.estimatedSize());
  }

  @Test
  void mapAdaptsAPlainBackend() {
    Authenticator<DeviceCredentials, String> plain = c -> "p-" + c.deviceId();
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(plain.map(Verified::of))
        .ticker(clock).executor(Runnable::run).listener(events).build();
    assertEquals("p-hub-1", auth.authenticate(creds("hub-1", "any")));
    assertEquals("p-hub-1", auth.authenticateAsync(creds("hub-1", "any")).toCompletableFuture().join());
    assertEquals(new CachingAuthenticator.Stats(1, 1, 1, 0, 0, 0), auth.stats());
  }

  private static void runAll(ArrayDeque<Runnable> tasks) {
    for (Runnable task; (task = tasks.poll()) != null; ) {
      task.run();
    }
  }
}
