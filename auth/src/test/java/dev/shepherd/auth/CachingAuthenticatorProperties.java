package dev.shepherd.auth;

import static dev.shepherd.auth.FakeBackend.bytes;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The authenticator's safety proofs, over generated interleavings of requests (right or wrong
 * secret), backend behaviour (up, down, or slow: calls stay in flight until the script delivers
 * them, as an answer or as a timeout), time advances and invalidations.
 */
class CachingAuthenticatorProperties {

  private static final int DEVICES = 3;
  private static final Duration TTL = Duration.ofSeconds(60);
  private static final Duration MAX_STALE = Duration.ofSeconds(60);

  /** One step of a script. */
  interface Action {}

  /** A request for {@code device}; secret 0 is the right one, 1 and 2 are wrong ones. */
  record Auth(int device, int secret) implements Action {}

  /** The backend becomes up, down, or slow (PENDING). */
  record SetMode(FakeBackend.Mode mode) implements Action {}

  /** Time passes. */
  record Advance(long millis) implements Action {}

  /** The device is revoked at the backend, then invalidated in the cache. */
  record Invalidate(int device) implements Action {}

  /** One slow call completes: with the backend's verdict of the moment, or as a timeout. */
  record Deliver(int index, boolean asTimeout) implements Action {}

  @Provide
  Arbitrary<List<Action>> scripts() {
    Arbitrary<Action> auth = Combinators.combine(Arbitraries.integers().between(0, DEVICES - 1),
        Arbitraries.integers().between(0, 2)).as((d, s) -> new Auth(d, s));
    Arbitrary<Action> mode = Arbitraries.of(FakeBackend.Mode.class).map(SetMode::new);
    Arbitrary<Action> advance = Arbitraries.longs().between(0, 150_000).map(Advance::new);
    Arbitrary<Action> invalidate = Arbitraries.integers().between(0, DEVICES - 1).map(Invalidate::new);
    Arbitrary<Action> deliver = Combinators.combine(Arbitraries.integers().between(0, 7),
        Arbitraries.of(true, false)).as((i, t) -> new Deliver(i, t));
    return Arbitraries.frequencyOf(Tuple.of(10, auth), Tuple.of(2, mode), Tuple.of(3, advance),
        Tuple.of(1, invalidate), Tuple.of(4, deliver)).list().ofMinSize(1).ofMaxSize(80);
  }

  @Property(tries = 500)
  void neverAcceptsAWrongSecretOrARevokedDeviceNorRefusesARightSecretAsInvalidBecauseOfAFailure(
      @ForAll("scripts") List<Action> script) {
    World world = new World();
    for (Action action : script) {
      world.run(action);
    }
    world.backend.mode = FakeBackend.Mode.UP;
    world.backend.deliverAll(false);
    world.checkSingleFlight();
    assertTrue(world.violations.isEmpty(), world.violations + " in " + script);
  }

  /** The system under test, its backend, and what the script has done so far. */
  private static final class World {
    final ManualClock clock = new ManualClock();
    final FakeBackend backend = new FakeBackend();
    final boolean[] revoked = new boolean[DEVICES];
    final long[] lastVouched = new long[DEVICES];
    final boolean[] everVouched = new boolean[DEVICES];
    final List<String> violations = new ArrayList<>();
    /** Calls in flight when their device was invalidated: their answers are discarded. */
    final Set<FakeBackend.Call> discarded = new HashSet<>();
    final CachingAuthenticator<String> auth;

    World() {
      for (int d = 0; d < DEVICES; d++) {
        backend.enroll(id(d), right(d));
      }
      backend.onVerdict = (id, valid) -> {
        if (valid) {
          int d = Integer.parseInt(id.substring(4));
          lastVouched[d] = clock.read();
          everVouched[d] = true;
        }
      };
      auth = CachingAuthenticator.builder(backend).ticker(clock).executor(Runnable::run)
          .random(new SplittableRandom(5)).listener(e -> { })
          .ttl(TTL).refreshAhead(0.2).negativeTtl(Duration.ofSeconds(5)).maxStale(MAX_STALE)
          .rotationCheckInterval(Duration.ofSeconds(30)).failureCooldown(Duration.ofSeconds(10))
          .maximumSize(100).build();
    }

    static String id(int d) {
      return "dev-" + d;
    }

    static String right(int d) {
      return "right-" + d;
    }

    void run(Action action) {
      if (action instanceof Auth) {
        Auth a = (Auth) action;
        request(a.device(), a.secret());
      } else if (action instanceof SetMode) {
        backend.mode = ((SetMode) action).mode();
      } else if (action instanceof Advance) {
        clock.advance(Duration.ofMillis(((Advance) action).millis()));
      } else if (action instanceof Invalidate) {
        int d = ((Invalidate) action).device();
        revoked[d] = true;
        backend.pending().stream().filter(c -> c.deviceId.equals(id(d))).forEach(discarded::add);
        backend.revoked.add(id(d));
        auth.invalidate(id(d));
      } else if (action instanceof Deliver) {
        Deliver deliver = (Deliver) action;
        List<FakeBackend.Call> pending = backend.pending();
        if (!pending.isEmpty()) {
          backend.deliver(pending.get(deliver.index() % pending.size()), deliver.asTimeout());
        }
      }
      checkSingleFlight();
    }

    void request(int d, int secret) {
      boolean right = secret == 0;
      String presented = right ? right(d) : "wrong-" + secret + "-" + d;
      String what = (right ? "right" : "wrong") + " secret of " + id(d);
      auth.authenticateAsync(DeviceCredentials.of(id(d), bytes(presented))).whenComplete((principal, failure) -> {
        long now = clock.read();
        Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
        if (cause == null) {
          if (!right) {
            violations.add("accepted the " + what);
          }
          if (revoked[d]) {
            violations.add("accepted the " + what + " after its invalidation");
          }
          if (!everVouched[d] || now - lastVouched[d] > TTL.plus(MAX_STALE).toNanos()) {
            violations.add("accepted the " + what + " beyond ttl + maxStale of the backend's last word");
          }
        } else if (cause instanceof AuthenticationException) {
          if (right && !revoked[d]) {
            violations.add("refused the " + what + " as invalid");
          }
        } else if (!(cause instanceof BackendUnavailableException)) {
          violations.add("unexpected failure for the " + what + ": " + cause);
        }
      });
    }

    /**
     * One backend call at most in flight per (device, secret), whatever the interleaving; a call
     * discarded by an invalidation no longer counts, since its answer will not be used.
     */
    void checkSingleFlight() {
      Set<String> seen = new HashSet<>();
      for (FakeBackend.Call call : backend.pending()) {
        if (!discarded.contains(call) && !seen.add(call.deviceId + "/" + Arrays.toString(call.secret))) {
          violations.add("two backend calls in flight for one secret of " + call.deviceId);
        }
      }
    }
  }
}
