package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Lease mode's proof: N limiters, each spending its {@link Lease} and refilling it from one shared
 * bucket (the exact model of the Redis script), never grant more than
 * {@code burst + rate × d + N × size} in any window of length {@code d}, and no lease ever holds
 * more than its size. Refills race with spends and with other refills (a second caller arriving
 * while a refill is in flight), serialised deterministically inside the refill.
 */
class LeaseProperties {

  /** The Redis bucket: an ideal token bucket, with the lease script's "up to want, at least need". */
  static final class Model {
    final IdealBucket bucket;

    Model(long permits, long periodNanos, int burst) {
      this.bucket = new IdealBucket(permits, periodNanos, burst);
    }

    /** The script: m = min(want, whole tokens) if m >= need, else refused (minus the wait, in ns). */
    long take(int need, int want) {
      if (bucket.waitFor(need) > 0) {
        return -Math.max(1, bucket.waitFor(need));
      }
      int m = 0;
      while (m < want && bucket.tryTake(1)) {
        m++;
      }
      return m;
    }
  }

  record Step(long advanceNanos, int server, int permits, boolean racing) {}

  record Scenario(long permits, long periodNanos, int burst, int servers, int size, List<Step> steps) {}

  @Provide
  Arbitrary<Scenario> scenarios() {
    Arbitrary<long[]> rates = Combinators.combine(
            Arbitraries.longs().between(1, 1000), Arbitraries.longs().between(1_000, 1_000_000_000L))
        .as((p, t) -> new long[] {p, t});
    return Combinators.combine(rates, Arbitraries.integers().between(1, 60), Arbitraries.integers().between(1, 6))
        .flatAs((rate, burst, servers) -> Arbitraries.integers().between(1, burst).flatMap(size -> {
          long interval = Math.max(1, rate[1] / rate[0]);
          Arbitrary<Step> step = Combinators.combine(
                  Arbitraries.frequencyOf(
                      net.jqwik.api.Tuple.of(4, Arbitraries.just(0L)),
                      net.jqwik.api.Tuple.of(4, Arbitraries.longs().between(0, interval)),
                      net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(0, interval * (burst + 2L)))),
                  Arbitraries.integers().between(0, servers - 1),
                  Arbitraries.integers().between(1, Math.min(burst, size + 2)),
                  Arbitraries.of(false, false, false, true))
              .as(Step::new);
          return step.list().ofMinSize(1).ofMaxSize(150)
              .map(steps -> new Scenario(rate[0], rate[1], burst, servers, size, steps));
        }));
  }

  /** One limiter's decision, as the Redis limiter makes it in lease mode. */
  static boolean decide(Lease lease, Model model, int permits, Lease racer, int racerPermits,
      List<long[]> grants, long now) {
    if (permits > lease.size) {
      return model.take(permits, permits) > 0; // more than a lease: a direct, exact check
    }
    if (lease.tryTake(permits)) {
      return true;
    }
    long r = lease.refillAndTake(permits, (need, want) -> {
      if (racer != null) {
        // Another caller of the same limiter arrives while this refill is in flight.
        assertFalse(racer.tryTake(racerPermits), "while a refill runs, the leftover is the refiller's");
        long busy = racer.refillAndTake(racerPermits, (n, w) -> {
          throw new AssertionError("a second refill while one is in flight");
        });
        assertEquals(Lease.BUSY, busy);
        if (model.take(racerPermits, racerPermits) > 0) { // BUSY: the racer asks Redis directly
          grants.add(new long[] {now, racerPermits});
        }
      }
      return model.take(need, want);
    });
    if (r == Lease.BUSY) {
      return model.take(permits, permits) > 0;
    }
    return r == 0;
  }

  @Property(tries = 600)
  void theFleetNeverGrantsMoreThanBurstPlusRateTimesDPlusServersTimesLeaseInAnyWindow(
      @ForAll("scenarios") Scenario s) {
    Model model = new Model(s.permits(), s.periodNanos(), s.burst());
    List<Lease> leases = new ArrayList<>();
    for (int i = 0; i < s.servers(); i++) {
      leases.add(new Lease(s.size()));
    }
    List<long[]> grants = new ArrayList<>(); // {time, permits}
    long now = 0;
    for (Step step : s.steps()) {
      now += step.advanceNanos();
      model.bucket.advance(step.advanceNanos());
      Lease lease = leases.get(step.server());
      Lease racer = step.racing() ? lease : null;
      if (decide(lease, model, step.permits(), racer, 1, grants, now)) {
        grants.add(new long[] {now, step.permits()});
      }
      for (Lease l : leases) {
        assertTrue(l.outstanding() >= 0 && l.outstanding() <= s.size(), "held " + l.outstanding());
      }
    }
    // Every window [t_i, t_j] between grant instants: (granted - burst - N*size) * T <= P * (t_j - t_i).
    grants.sort((a, b) -> Long.compare(a[0], b[0]));
    BigInteger p = BigInteger.valueOf(s.permits());
    BigInteger t = BigInteger.valueOf(s.periodNanos());
    long allowance = s.burst() + (long) s.servers() * s.size();
    for (int i = 0; i < grants.size(); i++) {
      long sum = 0;
      for (int j = i; j < grants.size(); j++) {
        sum += grants.get(j)[1];
        if (sum > allowance) {
          BigInteger over = BigInteger.valueOf(sum - allowance).multiply(t);
          BigInteger refill = p.multiply(BigInteger.valueOf(grants.get(j)[0] - grants.get(i)[0]));
          assertTrue(over.compareTo(refill) <= 0, "granted " + sum + " in [" + grants.get(i)[0] + ", "
              + grants.get(j)[0] + "] ns: more than burst + rate × d + servers × lease");
        }
      }
    }
  }

  @Example
  void theBoundIsReachedWithinOnePermitPerServer() {
    // 4 servers, leases of 10, burst 40, 1 permit per second. Each leases at 0 (spending 1), the
    // bucket refills for 40 s, then within one instant every server spends its 9 leftover and the
    // fleet takes the fresh 40: 76 permits in a window of length 0, against a bound of 40 + 0 + 40.
    Model model = new Model(1, 1_000_000_000L, 40);
    List<Lease> leases = List.of(new Lease(10), new Lease(10), new Lease(10), new Lease(10));
    List<long[]> grants = new ArrayList<>();
    for (Lease lease : leases) {
      assertTrue(decide(lease, model, 1, null, 0, grants, 0));
    }
    model.bucket.advance(40_000_000_000L);
    int window = 0;
    for (int round = 0; round < 30; round++) {
      for (Lease lease : leases) {
        if (decide(lease, model, 1, null, 0, grants, 0)) {
          window++;
        }
      }
    }
    assertEquals(76, window);
    assertTrue(window <= 40 + 4 * 10);
  }
}
