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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The authenticator's proofs, against a model backend in which each verdict is decided when the
 * call arrives and delivered later (or never, or as a failure), while devices rotate their secrets
 * and are revoked in between. Every answer is checked against the backend's own history:
 *
 * <ul>
 *   <li>an acceptance of secret x needs a "valid" decision about exactly x, at most ttl old
 *       (ttl + maxStale if the backend failed or timed out since), after the device's last
 *       invalidation; an acceptance straight from the cache also needs that no later decision
 *       about the device (x refused, or another secret accepted) had been delivered;
 *   <li>a 401 for secret x needs an "invalid" decision about exactly x, less than negativeTtl old:
 *       so no right secret is refused while the backend accepts it, except on the backend's own
 *       recent word about that very secret;
 *   <li>at most one call is in flight per (device, secret) until it times out.
 * </ul>
 * A second property checks the other side of the allowance: with the backend up, a device that
 * meets at most one stray wrong secret and rotates at most once per interval is never refused.
 *
 * <p>Everything runs on the test thread (the authenticator's executor runs tasks inline, and no
 * thread watches a ManualClock: deadlines are enforced by {@code Tick}, which does what the timer
 * does with the system ticker, and by later events), so each run is deterministic and shrinks.
 */
class CachingAuthenticatorProperties {

  private static final int DEVICES = 2;
  private static final Duration TTL = Duration.ofSeconds(60);
  private static final Duration MAX_STALE = Duration.ofSeconds(60);
  private static final Duration NEGATIVE_TTL = Duration.ofSeconds(5);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final Duration INTERVAL = Duration.ofSeconds(30);

  enum Mode {
    UP,
    LATE,
    DOWN
  }

  /** One step of a script. */
  interface Action {}

  /** A request: secret 0 is the device's current one, 1 its previous one, 2 and 3 wrong ones. */
  record Auth(int device, int secret) implements Action {}

  /** The device rotates its secret at the backend (and a revoked device is reinstated). */
  record Rotate(int device) implements Action {}

  /** The device is revoked at the backend, then invalidated in the cache. */
  record Revoke(int device) implements Action {}

  /** The backend answers at once, late (decided now, delivered by Deliver), or fails at once. */
  record SetMode(Mode mode) implements Action {}

  /** Time passes. */
  record Advance(long millis) implements Action {}

  /** One late call is delivered: its decided verdict, or a failure. */
  record Deliver(int index, boolean asFailure) implements Action {}

  /** The authenticator's timer fires: calls past their deadline are timed out. */
  record Tick() implements Action {}

  /**
   * The race that matters most, as one step: a request for the current secret whose verdict is
   * decided now and delivered later, then a rotation, with the backend answering at once after.
   */
  record RotateDuringCall(int device) implements Action {}

  @Provide
  Arbitrary<List<Action>> scripts() {
    Arbitrary<Action> auth = Combinators.combine(Arbitraries.integers().between(0, DEVICES - 1),
        Arbitraries.integers().between(0, 3)).as(Auth::new);
    Arbitrary<Action> rotate = Arbitraries.integers().between(0, DEVICES - 1).map(Rotate::new);
    Arbitrary<Action> revoke = Arbitraries.integers().between(0, DEVICES - 1).map(Revoke::new);
    Arbitrary<Action> mode = Arbitraries.of(Mode.class).map(SetMode::new);
    Arbitrary<Action> advance = Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.longs().between(0, 6_000)),
        Tuple.of(1, Arbitraries.longs().between(0, 150_000))).map(Advance::new);
    Arbitrary<Action> deliver = Combinators.combine(Arbitraries.integers().between(0, 7),
        Arbitraries.of(true, false)).as(Deliver::new);
    Arbitrary<Action> tick = Arbitraries.just(new Tick());
    Arbitrary<Action> race = Arbitraries.integers().between(0, DEVICES - 1).map(RotateDuringCall::new);
    return Arbitraries.frequencyOf(Tuple.of(12, auth), Tuple.of(3, rotate), Tuple.of(1, revoke),
        Tuple.of(4, mode), Tuple.of(3, advance), Tuple.of(4, deliver), Tuple.of(1, tick), Tuple.of(2, race))
        .list().ofMinSize(1).ofMaxSize(100);
  }

  @Property(tries = 1000)
  void everyAnswerIsJustifiedByTheBackendsOwnRecentVerdictOnThatExactSecret(
      @ForAll("scripts") List<Action> script) {
    World world = new World();
    for (Action action : script) {
      world.run(action);
    }
    world.mode = Mode.UP;
    world.deliverAll();
    assertTrue(world.violations.isEmpty(), world.violations + " in " + script);
    assertTrue(world.answered > 0 || script.stream().noneMatch(a -> a instanceof Auth), "requests were answered");
  }

  /** Issue 14 case 1 as a script of the model: the generator's kind of run, pinned. */
  @net.jqwik.api.Example
  void aLateValidForTheOldSecretIsCaughtByTheModel() {
    World world = new World();
    List<Action> script = List.of(new Auth(0, 0), new SetMode(Mode.LATE), new Advance(54_000), new Auth(0, 0),
        new Rotate(0), new SetMode(Mode.UP), new Auth(0, 0), new Deliver(0, false), new Auth(0, 1), new Auth(0, 0));
    for (Action action : script) {
      world.run(action);
    }
    assertTrue(world.violations.isEmpty(), world.violations.toString());
    assertTrue(world.answered == 5, "every request was answered: " + world.answered);
  }

  /**
   * Found by the property above: a call times out (5 s), the device is revoked and invalidated,
   * then the timed-out call's late "valid" lands. It must not enter the cache: the call started
   * before the invalidation.
   */
  @net.jqwik.api.Example
  void aLateValidFromACallThatTimedOutBeforeAnInvalidationIsDiscarded() {
    World world = new World();
    List<Action> script = List.of(new SetMode(Mode.LATE), new Auth(1, 0), new Advance(5_000), new Auth(1, 0),
        new Revoke(1), new Deliver(0, false), new Auth(1, 0));
    for (Action action : script) {
      world.run(action);
    }
    world.mode = Mode.UP;
    world.deliverAll();
    assertTrue(world.violations.isEmpty(), world.violations.toString());
  }

  /** A decision of the backend: about which exact secret, valid or not, when, in which order. */
  static final class Decision {
    final int device;
    final String secret;
    final boolean valid;
    final long at;
    final long order;
    long deliveredAt = -1;

    Decision(int device, String secret, boolean valid, long at, long order) {
      this.device = device;
      this.secret = secret;
      this.valid = valid;
      this.at = at;
      this.order = order;
    }
  }

  /** A late call: its decision and the stage the authenticator waits on. */
  static final class Call {
    final Decision decision;
    final CompletableFuture<Verified<String>> future = new CompletableFuture<>();
    boolean overdueNoted;

    Call(Decision decision) {
      this.decision = decision;
    }
  }

  /** The model backend, the authenticator in front of it, and the checks. */
  static final class World implements Authenticator<DeviceCredentials, Verified<String>> {
    final ManualClock clock = new ManualClock();
    final int[] generation = new int[DEVICES];
    final boolean[] revoked = new boolean[DEVICES];
    final long[] lastInvalidation = new long[DEVICES];
    final long[] lastTrouble = new long[DEVICES];
    final List<Decision> decisions = new ArrayList<>();
    final List<Call> pending = new ArrayList<>();
    final List<String> violations = new ArrayList<>();
    final CachingAuthenticator<String> auth;
    Mode mode = Mode.UP;
    long order;
    int answered;

    World() {
      Arrays.fill(lastTrouble, Long.MIN_VALUE);
      auth = CachingAuthenticator.builder(this).ticker(clock).executor(Runnable::run)
          .random(new SplittableRandom(5)).listener(e -> { })
          .ttl(TTL).refreshAhead(0.2).negativeTtl(NEGATIVE_TTL).maxStale(MAX_STALE)
          .backendTimeout(TIMEOUT).rotationCheckInterval(INTERVAL).failureCooldown(Duration.ofSeconds(10))
          .maximumSize(100).build();
    }

    static String id(int d) {
      return "dev-" + d;
    }

    String secret(int d, int which) {
      switch (which) {
        case 0:
          return "s" + generation[d] + "-" + d;
        case 1:
          return "s" + Math.max(0, generation[d] - 1) + "-" + d;
        default:
          return "wrong" + which + "-" + d;
      }
    }

    @Override
    public Verified<String> authenticate(DeviceCredentials credentials) {
      throw new UnsupportedOperationException("the authenticator calls authenticateAsync");
    }

    @Override
    public CompletionStage<Verified<String>> authenticateAsync(DeviceCredentials credentials) {
      int d = Integer.parseInt(credentials.deviceId().substring(4));
      String presented = new String(credentials.secretRef(), java.nio.charset.StandardCharsets.UTF_8);
      long now = clock.read();
      if (mode == Mode.DOWN) {
        lastTrouble[d] = now;
        return CompletableFuture.failedFuture(new BackendUnavailableException("model", "down"));
      }
      boolean valid = !revoked[d] && presented.equals(secret(d, 0));
      Decision decision = new Decision(d, presented, valid, now, ++order);
      decisions.add(decision);
      Call call = new Call(decision);
      if (mode == Mode.UP) {
        complete(call);
      } else {
        pending.add(call);
      }
      return call.future;
    }

    private void complete(Call call) {
      call.decision.deliveredAt = clock.read();
      if (call.decision.valid) {
        call.future.complete(Verified.of("principal-" + call.decision.device));
      } else {
        call.future.completeExceptionally(new AuthenticationException("model refused"));
      }
    }

    void deliverAll() {
      while (!pending.isEmpty()) {
        complete(pending.remove(0));
      }
    }

    void run(Action action) {
      if (action instanceof Auth) {
        Auth a = (Auth) action;
        request(a.device(), a.secret());
      } else if (action instanceof Rotate) {
        int d = ((Rotate) action).device();
        generation[d]++;
        revoked[d] = false;
      } else if (action instanceof Revoke) {
        int d = ((Revoke) action).device();
        revoked[d] = true;
        lastInvalidation[d] = ++order;
        auth.invalidate(id(d));
      } else if (action instanceof SetMode) {
        mode = ((SetMode) action).mode();
      } else if (action instanceof Advance) {
        clock.advance(Duration.ofMillis(((Advance) action).millis()));
      } else if (action instanceof Deliver) {
        Deliver deliver = (Deliver) action;
        noteOverdue();
        if (!pending.isEmpty()) {
          Call call = pending.remove(deliver.index() % pending.size());
          if (deliver.asFailure()) {
            lastTrouble[call.decision.device] = clock.read();
            call.future.completeExceptionally(new BackendUnavailableException("model", "failed late"));
          } else {
            complete(call);
          }
        }
      } else if (action instanceof Tick) {
        noteOverdue();
        auth.expireOverdue();
      } else if (action instanceof RotateDuringCall) {
        int d = ((RotateDuringCall) action).device();
        mode = Mode.LATE;
        request(d, 0);
        generation[d]++;
        revoked[d] = false;
        mode = Mode.UP;
      }
      noteOverdue();
      checkSingleFlight();
    }

    /** A call not answered by its deadline is trouble for its device from the deadline on. */
    void noteOverdue() {
      long now = clock.read();
      for (Call call : pending) {
        long deadline = call.decision.at + TIMEOUT.toNanos();
        if (!call.overdueNoted && now >= deadline) {
          call.overdueNoted = true;
          lastTrouble[call.decision.device] = Math.max(lastTrouble[call.decision.device], deadline);
        }
      }
    }

    void request(int d, int which) {
      noteOverdue();
      String presented = secret(d, which);
      long requestOrder = order;
      CompletableFuture<String> answer = auth.authenticateAsync(DeviceCredentials.of(id(d), bytes(presented)))
          .toCompletableFuture();
      boolean immediate = answer.isDone() && order == requestOrder; // answered without a backend call
      answer.whenComplete((principal, failure) -> check(d, presented, immediate, principal, failure));
    }

    void check(int d, String x, boolean immediate, String principal, Throwable failure) {
      answered++;
      long now = clock.read();
      String what = "secret " + x + " of " + id(d) + " at " + Duration.ofNanos(now);
      Throwable cause = failure instanceof CompletionException ? failure.getCause() : failure;
      if (cause == null) {
        Decision best = null;
        for (Decision v : decisions) {
          if (v.device == d && v.secret.equals(x) && v.valid && v.deliveredAt >= 0 && v.order > lastInvalidation[d]
              && (best == null || v.order > best.order)) {
            best = v;
          }
        }
        if (best == null) {
          violations.add("accepted " + what + " without a valid decision since its last invalidation");
          return;
        }
        long age = now - best.at;
        boolean trouble = lastTrouble[d] >= best.at;
        if (age >= TTL.toNanos() && !(trouble && age <= TTL.plus(MAX_STALE).toNanos())) {
          violations.add("accepted " + what + ": its last valid decision is " + Duration.ofNanos(age)
              + " old" + (trouble ? "" : " and the backend had no trouble since"));
        }
        if (immediate) {
          for (Decision later : decisions) {
            if (later.device == d && later.order > best.order && later.deliveredAt >= 0
                && later.order > lastInvalidation[d]
                && (later.secret.equals(x) ? !later.valid : later.valid)) {
              violations.add("accepted " + what + " from the cache after a later decision ("
                  + later.secret + (later.valid ? " valid" : " invalid") + ") was delivered");
              break;
            }
          }
        }
      } else if (cause instanceof AuthenticationException) {
        boolean justified = false;
        for (Decision v : decisions) {
          if (v.device == d && v.secret.equals(x) && !v.valid && v.deliveredAt >= 0
              && now - v.at < NEGATIVE_TTL.toNanos()) {
            justified = true;
            break;
          }
        }
        if (!justified) {
          violations.add("refused " + what + " as invalid without the backend refusing it within negativeTtl"
              + (x.equals(secret(d, 0)) && !revoked[d] ? " (it is the right secret)" : ""));
        }
      } else if (!(cause instanceof BackendUnavailableException)) {
        violations.add("unexpected failure for " + what + ": " + cause);
      }
    }

    /** One call at most in flight per (device, secret) until its deadline; revoked calls do not count. */
    void checkSingleFlight() {
      long now = clock.read();
      Set<String> seen = new HashSet<>();
      for (Call call : pending) {
        Decision c = call.decision;
        boolean live = now < c.at + TIMEOUT.toNanos() && c.order > lastInvalidation[c.device];
        if (live && !seen.add(c.device + "/" + c.secret)) {
          violations.add("two live backend calls for one secret of " + id(c.device));
        }
      }
    }
  }

  // --- the other side: the allowance never refuses a device that behaves ---------------------

  /** A step for one device: a request with its right secret, a stray wrong secret, a rotation, or time. */
  record Step(int device, int kind, long millis) {}

  @Provide
  Arbitrary<List<Step>> lives() {
    return Combinators.combine(Arbitraries.integers().between(0, DEVICES - 1),
        Arbitraries.frequency(Tuple.of(6, 0), Tuple.of(2, 1), Tuple.of(2, 2), Tuple.of(3, 3)),
        Arbitraries.longs().between(0, 45_000)).as(Step::new).list().ofMinSize(1).ofMaxSize(150);
  }

  /**
   * With the backend up, a device that meets at most one stray wrong secret per interval and
   * rotates at most once per interval has its right secret accepted every time: the allowance
   * (3, refilling one per interval, a call the backend accepts given back once per interval)
   * never defers it.
   */
  @Property(tries = 1000)
  void aDeviceWithAtMostOneStrayWrongSecretAndOneRotationPerIntervalIsNeverRefused(
      @ForAll("lives") List<Step> steps) {
    ManualClock clock = new ManualClock();
    FakeBackend backend = new FakeBackend();
    int[] generation = new int[DEVICES];
    long[] lastStray = new long[DEVICES];
    long[] lastRotation = new long[DEVICES];
    Arrays.fill(lastStray, Long.MIN_VALUE / 2);
    Arrays.fill(lastRotation, Long.MIN_VALUE / 2);
    for (int d = 0; d < DEVICES; d++) {
      backend.enroll(World.id(d), "s0");
    }
    CachingAuthenticator<String> auth = CachingAuthenticator.builder(backend).ticker(clock)
        .executor(Runnable::run).random(new SplittableRandom(9)).listener(e -> { })
        .ttl(TTL).negativeTtl(NEGATIVE_TTL).maxStale(MAX_STALE).rotationCheckInterval(INTERVAL).build();
    List<String> violations = new ArrayList<>();
    int strays = 0;
    for (Step step : steps) {
      int d = step.device();
      long now = clock.read();
      switch (step.kind()) {
        case 0:
          try {
            auth.authenticate(DeviceCredentials.of(World.id(d), bytes("s" + generation[d])));
          } catch (RuntimeException e) {
            violations.add("refused the right secret of dev-" + d + " at " + Duration.ofNanos(now) + ": " + e);
          }
          break;
        case 1:
          if (now - lastStray[d] >= INTERVAL.toNanos()) {
            lastStray[d] = now;
            try {
              auth.authenticate(DeviceCredentials.of(World.id(d), bytes("stray-" + strays++)));
              violations.add("accepted a stray wrong secret");
            } catch (AuthenticationException expected) {
              // the backend's verdict
            } catch (BackendUnavailableException e) {
              violations.add("deferred a single stray wrong secret of dev-" + d + ": " + e.getMessage());
            }
          }
          break;
        case 2:
          if (now - lastRotation[d] >= INTERVAL.toNanos()) {
            lastRotation[d] = now;
            backend.enroll(World.id(d), "s" + ++generation[d]);
          }
          break;
        default:
          clock.advance(Duration.ofMillis(step.millis()));
      }
    }
    assertTrue(violations.isEmpty(), violations + " in " + steps);
  }
}
