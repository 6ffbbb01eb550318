package dev.shepherd.circuitbreaker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.circuitbreaker.CircuitBreaker.State;
import dev.shepherd.core.EventListener;
import dev.shepherd.testing.ManualClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The breaker's state machine against a plain, sequential reference model: for generated
 * configurations and generated sequences of permission requests, outcomes (success, failure,
 * an exception that is not a failure, an ignored exception, a released permission; fast or slow),
 * operator actions and clock moves on a {@link ManualClock}, after every step the breaker and the
 * model agree on the state, on every permission (granted or not, and the epoch it names), on the
 * retry-after of every refusal (to the nanosecond), on the window's contents (calls, failures, slow
 * calls), on the number of probes in flight, which never exceeds {@code k}, and on the counters. The
 * state is compared as a permission request would find it (an open breaker whose time is over reads
 * as half-open), and half-open periods end at their timeout with every unreported probe counted as
 * failed.
 *
 * <p>The model keeps the window as a plain list (the last {@code n} outcomes, or every outcome with
 * its bucket), and draws the open-time jitter from its own copy of the seeded generator, one {@code
 * nextLong(jitter)} per opening, as the breaker's contract says.
 */
class CircuitBreakerModelProperties {

  /** Marks an exception that {@code failureIf} does not count as a failure. */
  static final class NotAFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NotAFailure() {
      super("answered, not failed", null, false, false);
    }
  }

  /** Marks an exception that {@code ignoreIf} ignores. */
  static final class Ignored extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Ignored() {
      super("ignored", null, false, false);
    }
  }

  static final class Boom extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Boom() {
      super("boom", null, false, false);
    }
  }

  enum Kind { ACQUIRE, ACQUIRE_THROWING, SUCCESS, FAILURE, NOT_A_FAILURE, IGNORED, RELEASE, ADVANCE, FORCE_OPEN,
    DISABLE, RESET }

  /** One step: what to do, which held permission it concerns, how long the call took or how far to move. */
  record Step(Kind kind, int pick, long nanos) {}

  record Config(int windowSize, int buckets, long bucketNanos, int minimumCalls, double failureRate,
      long slowNanos, double slowRate, long openNanos, long jitterNanos, int probes, long seed, long halfOpenNanos) {

    CircuitBreaker build(ManualClock clock) {
      CircuitBreaker.Builder b = CircuitBreaker.builder().name("model").minimumCalls(minimumCalls)
          .failureRateThreshold(failureRate).openDuration(Duration.ofNanos(openNanos))
          .openJitter(Duration.ofNanos(jitterNanos)).halfOpenProbes(probes)
          .halfOpenTimeout(Duration.ofNanos(halfOpenNanos)).ticker(clock)
          .random(new SplittableRandom(seed)).listener(EventListener.noop())
          .failureIf(t -> !(t instanceof NotAFailure)).ignoreIf(t -> t instanceof Ignored);
      if (windowSize > 0) {
        b.countWindow(windowSize);
      } else {
        b.timeWindow(Duration.ofNanos(bucketNanos * buckets), buckets);
      }
      if (slowNanos > 0) {
        b.slowCallDuration(Duration.ofNanos(slowNanos)).slowCallRateThreshold(slowRate);
      }
      return b.build();
    }
  }

  @Provide
  Arbitrary<Config> configs() {
    Arbitrary<Integer> window = Arbitraries.integers().between(0, 8); // 0: a time window
    Arbitrary<Integer> buckets = Arbitraries.integers().between(1, 4);
    Arbitrary<Long> bucketNanos = Arbitraries.longs().between(1, 50);
    Arbitrary<Integer> minimum = Arbitraries.integers().between(1, 8);
    Arbitrary<Double> rate = Arbitraries.of(0.2, 0.5, 0.75, 1.0);
    Arbitrary<Long> slow = Arbitraries.of(0L, 10L, 30L); // 0: slow calls not judged
    Arbitrary<Long> open = Arbitraries.longs().between(1, 100);
    Arbitrary<Long> jitter = Arbitraries.of(0L, 1L, 37L, 100L);
    Arbitrary<Integer> probes = Arbitraries.integers().between(1, 4);
    Arbitrary<Long> seed = Arbitraries.longs();
    Arbitrary<Long> halfOpen = Arbitraries.of(1L, 20L, 75L, 300L, Long.MAX_VALUE);
    return Combinators.combine(window, buckets, bucketNanos, minimum, rate, slow, rate, open)
        .as((w, b, bn, m, fr, s, sr, o) -> new Object[] {w, b, bn, m, fr, s, sr, o})
        .flatMap(a -> Combinators.combine(jitter, probes, seed, halfOpen).as((j, k, sd, h) -> {
          int w = (Integer) a[0];
          int m = Math.min((Integer) a[3], w > 0 ? w : 8);
          return new Config(w, (Integer) a[1], (Long) a[2], m, (Double) a[4], (Long) a[5], (Double) a[6],
              (Long) a[7], j, k, sd, h);
        }));
  }

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<Kind> kind = Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(20, Arbitraries.just(Kind.ACQUIRE)),
        net.jqwik.api.Tuple.of(5, Arbitraries.just(Kind.ACQUIRE_THROWING)),
        net.jqwik.api.Tuple.of(12, Arbitraries.just(Kind.SUCCESS)),
        net.jqwik.api.Tuple.of(12, Arbitraries.just(Kind.FAILURE)),
        net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.NOT_A_FAILURE)),
        net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.IGNORED)),
        net.jqwik.api.Tuple.of(3, Arbitraries.just(Kind.RELEASE)),
        net.jqwik.api.Tuple.of(12, Arbitraries.just(Kind.ADVANCE)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.FORCE_OPEN)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.DISABLE)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just(Kind.RESET)));
    Arbitrary<Integer> pick = Arbitraries.integers().between(0, 1000);
    Arbitrary<Long> nanos = Arbitraries.oneOf(Arbitraries.of(0L, 9L, 10L, 11L, 30L, 31L),
        Arbitraries.longs().between(0, 150));
    return Combinators.combine(kind, pick, nanos).as(Step::new).list().ofMinSize(1).ofMaxSize(200);
  }

  @Property(tries = 400)
  void theBreakerAgreesWithTheModelAfterEveryStep(@ForAll("configs") Config config,
      @ForAll("steps") List<Step> steps) {
    ManualClock clock = ManualClock.startingAt(1_000_000L * config.seed() % 1_000_000_007L, false);
    CircuitBreaker breaker = config.build(clock);
    Model model = new Model(config, clock.read());
    List<Long> held = new ArrayList<>();
    for (Step step : steps) {
      long now = clock.read();
      switch (step.kind()) {
        case ACQUIRE: {
          long got = breaker.tryAcquirePermission();
          long expected = model.acquire(now);
          assertEquals(expected, got, () -> "permission at step " + step + " " + model);
          if (got >= 0) {
            held.add(got);
          }
          break;
        }
        case ACQUIRE_THROWING: {
          long expected = model.acquire(now);
          if (expected >= 0) {
            assertEquals(expected, breaker.acquirePermission());
            held.add(expected);
          } else {
            CircuitBreakerOpenException e = assertThrows(CircuitBreakerOpenException.class, breaker::acquirePermission);
            assertEquals(model.lastRetryAfter, e.retryAfterNanos(), () -> "retry-after " + model);
            assertEquals(model.state, e.state());
          }
          break;
        }
        case SUCCESS:
        case FAILURE:
        case NOT_A_FAILURE:
        case IGNORED:
        case RELEASE: {
          if (held.isEmpty()) {
            break;
          }
          long permission = held.remove(step.pick() % held.size());
          if (step.kind() == Kind.SUCCESS) {
            breaker.onSuccess(permission, step.nanos());
          } else if (step.kind() == Kind.FAILURE) {
            breaker.onError(permission, step.nanos(), new Boom());
          } else if (step.kind() == Kind.NOT_A_FAILURE) {
            breaker.onError(permission, step.nanos(), new NotAFailure());
          } else if (step.kind() == Kind.IGNORED) {
            breaker.onError(permission, step.nanos(), new Ignored());
          } else {
            breaker.releasePermission(permission);
          }
          model.complete(permission, step.kind(), step.nanos(), now);
          break;
        }
        case ADVANCE:
          clock.advanceNanos(step.nanos());
          break;
        case FORCE_OPEN:
          breaker.forceOpen();
          model.manual(State.FORCED_OPEN, now);
          break;
        case DISABLE:
          breaker.disable();
          model.manual(State.DISABLED, now);
          break;
        case RESET:
          breaker.reset();
          model.reset(now);
          break;
        default:
          throw new AssertionError(step);
      }
      long at = clock.read();
      model.expire(at);
      assertEquals(model.observedState(at), breaker.state(), () -> "state after " + step + " " + model);
      long[] counts = model.counts(at);
      assertEquals(counts[0], breaker.windowCalls(), () -> "window calls after " + step + " " + model);
      assertEquals(counts[1], breaker.windowFailures(), () -> "window failures after " + step + " " + model);
      assertEquals(counts[2], breaker.windowSlowCalls(), () -> "window slow calls after " + step + " " + model);
      assertEquals(model.probesInFlight(), breaker.probesInFlight(), () -> "probes after " + step + " " + model);
      assertTrue(breaker.probesInFlight() <= config.probes(), "at most k probes in flight");
      assertEquals(model.refused, breaker.notPermittedCalls());
      assertEquals(model.epoch, model.transitions);
      assertEquals(model.transitions, breaker.transitions());
    }
  }

  /** The reference: every rule of the class comment, written as plainly as possible. */
  static final class Model {
    final Config c;
    final SplittableRandom random;
    State state = State.CLOSED;
    long epoch;
    long transitions;
    long refused;
    long lastRetryAfter;
    // CLOSED
    final Deque<Integer> lastCalls = new ArrayDeque<>();
    final List<long[]> timedCalls = new ArrayList<>(); // {bucket, code}
    long windowOrigin;
    // OPEN
    long openUntil;
    long[] trippedBy;
    // HALF_OPEN
    long halfOpenUntil;
    int probesOut;
    long judged;
    long judgedFailures;
    long judgedSlow;

    Model(Config c, long now) {
      this.c = c;
      this.random = new SplittableRandom(c.seed());
      this.windowOrigin = now;
    }

    long acquire(long now) {
      lastRetryAfter = -1;
      expire(now);
      if (state == State.OPEN && now >= openUntil) {
        enter(State.HALF_OPEN, now);
        halfOpenUntil = now + c.halfOpenNanos() < now ? Long.MAX_VALUE : now + c.halfOpenNanos();
      }
      switch (state) {
        case CLOSED:
        case DISABLED:
          return epoch;
        case HALF_OPEN:
          if (probesOut + judged < c.probes()) {
            probesOut++;
            return epoch;
          }
          break;
        case OPEN:
          lastRetryAfter = openUntil - now;
          break;
        default:
          break;
      }
      refused++;
      return -1;
    }

    void complete(long permission, Kind kind, long nanos, long now) {
      expire(now);
      if (permission != epoch) {
        return;
      }
      if (kind == Kind.RELEASE || kind == Kind.IGNORED) {
        if (state == State.HALF_OPEN) {
          probesOut--;
        }
        return;
      }
      boolean failure = kind == Kind.FAILURE;
      boolean slow = c.slowNanos() > 0 && nanos > c.slowNanos();
      if (state == State.CLOSED) {
        if (c.windowSize() > 0) {
          lastCalls.addLast(Counts.code(failure, slow));
          if (lastCalls.size() > c.windowSize()) {
            lastCalls.removeFirst();
          }
        } else {
          timedCalls.add(new long[] {bucket(now), Counts.code(failure, slow)});
        }
        long[] w = counts(now);
        if (w[0] >= c.minimumCalls() && breaks(w[0], w[1], w[2])) {
          open(now, w);
        }
      } else if (state == State.HALF_OPEN) {
        probesOut--;
        judged++;
        judgedFailures += failure ? 1 : 0;
        judgedSlow += slow ? 1 : 0;
        if (judged == c.probes()) {
          if (breaks(c.probes(), judgedFailures, judgedSlow)) {
            open(now, new long[] {c.probes(), judgedFailures, judgedSlow});
          } else {
            enter(State.CLOSED, now);
          }
        }
      }
    }

    /**
     * A half-open period whose time is over ends at its end: the unreported probes count as failed,
     * and a period with nothing judged and nothing out opens again.
     */
    void expire(long now) {
      if (state == State.HALF_OPEN && now >= halfOpenUntil) {
        long at = halfOpenUntil;
        long[] verdict = {judged + probesOut, judgedFailures + probesOut, judgedSlow};
        if (verdict[0] == 0 || breaks(verdict[0], verdict[1], verdict[2])) {
          open(at, verdict);
        } else {
          enter(State.CLOSED, at);
        }
      }
    }

    /** What a permission request would find: an open breaker whose time is over reads as half-open. */
    State observedState(long now) {
      return state == State.OPEN && now >= openUntil ? State.HALF_OPEN : state;
    }

    boolean breaks(long calls, long failures, long slow) {
      return failures >= c.failureRate() * calls || (c.slowNanos() > 0 && slow >= c.slowRate() * calls);
    }

    void open(long now, long[] counts) {
      long jitter = c.jitterNanos() == 0 ? 0 : random.nextLong(c.jitterNanos());
      enter(State.OPEN, now);
      openUntil = now + c.openNanos() + jitter;
      trippedBy = counts;
    }

    void manual(State target, long now) {
      if (state != target) {
        enter(target, now);
      }
    }

    void reset(long now) {
      enter(State.CLOSED, now);
    }

    void enter(State next, long now) {
      state = next;
      epoch++;
      transitions++;
      lastCalls.clear();
      timedCalls.clear();
      windowOrigin = now;
      probesOut = 0;
      judged = 0;
      judgedFailures = 0;
      judgedSlow = 0;
    }

    long bucket(long now) {
      return (now - windowOrigin) / c.bucketNanos();
    }

    long[] counts(long now) {
      long[] w = new long[3];
      if (state == State.CLOSED) {
        if (c.windowSize() > 0) {
          for (int code : lastCalls) {
            add(w, code);
          }
        } else {
          long first = bucket(now) - c.buckets() + 1;
          for (long[] call : timedCalls) {
            if (call[0] >= first) {
              add(w, (int) call[1]);
            }
          }
        }
      } else if (state == State.OPEN && now < openUntil) {
        w = trippedBy.clone();
      } else if (state == State.HALF_OPEN) {
        w = new long[] {judged, judgedFailures, judgedSlow};
      }
      return w;
    }

    private static void add(long[] w, int code) {
      w[0]++;
      w[1] += Counts.isFailure(code) ? 1 : 0;
      w[2] += Counts.isSlow(code) ? 1 : 0;
    }

    int probesInFlight() {
      return state == State.HALF_OPEN ? probesOut : 0;
    }

    @Override
    public String toString() {
      return "Model{" + state + " epoch " + epoch + ", " + c + "}";
    }
  }
}
