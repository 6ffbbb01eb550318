package dev.shepherd.ratelimit.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Lease mode on the keyed limiter: N limiters, each with its {@link LeaseTable} of at most
 * {@code maxKeys} leases, on several keys (each key its own bucket, the exact model of the Redis
 * script), never grant one key more than {@code burst + rate × d + N × size} in any window of
 * length {@code d}, whatever the evictions, even when a caller spends from a lease it looked up
 * before that lease was evicted. No table ever holds more than {@code maxKeys} leases, nor a lease
 * more than its size.
 */
class KeyedLeaseProperties {

  record Step(long advanceNanos, int server, int key, int permits, boolean racing, boolean stale) {}

  record Scenario(long permits, long periodNanos, int burst, int servers, int size, int maxKeys, int keys,
      List<Step> steps) {}

  @Provide
  Arbitrary<Scenario> scenarios() {
    Arbitrary<long[]> rates = Combinators.combine(
            Arbitraries.longs().between(1, 1000), Arbitraries.longs().between(1_000, 1_000_000_000L))
        .as((p, t) -> new long[] {p, t});
    return Combinators.combine(rates, Arbitraries.integers().between(1, 40), Arbitraries.integers().between(1, 4),
            Arbitraries.integers().between(1, 3), Arbitraries.integers().between(1, 4))
        .flatAs((rate, burst, servers, maxKeys, keys) -> Arbitraries.integers().between(1, burst).flatMap(size -> {
          long interval = Math.max(1, rate[1] / rate[0]);
          Arbitrary<Step> step = Combinators.combine(
                  Arbitraries.frequencyOf(
                      Tuple.of(4, Arbitraries.just(0L)),
                      Tuple.of(4, Arbitraries.longs().between(0, interval)),
                      Tuple.of(1, Arbitraries.longs().between(0, interval * (burst + 2L)))),
                  Arbitraries.integers().between(0, servers - 1),
                  Arbitraries.integers().between(0, keys - 1),
                  Arbitraries.integers().between(1, Math.min(burst, size + 2)),
                  Arbitraries.of(false, false, false, true),
                  Arbitraries.of(false, false, true))
              .as(Step::new);
          return step.list().ofMinSize(1).ofMaxSize(150)
              .map(steps -> new Scenario(rate[0], rate[1], burst, servers, size, maxKeys, keys, steps));
        }));
  }

  @Property(tries = 600)
  void noKeyIsEverGrantedMoreThanBurstPlusRateTimesDPlusServersTimesLeaseInAnyWindow(
      @ForAll("scenarios") Scenario s) {
    List<LeaseProperties.Model> buckets = new ArrayList<>();
    List<List<long[]>> grants = new ArrayList<>(); // per key: {time, permits}
    for (int k = 0; k < s.keys(); k++) {
      buckets.add(new LeaseProperties.Model(s.permits(), s.periodNanos(), s.burst()));
      grants.add(new ArrayList<>());
    }
    List<LeaseTable> tables = new ArrayList<>();
    for (int i = 0; i < s.servers(); i++) {
      tables.add(new LeaseTable(s.size(), s.maxKeys()));
    }
    Map<Long, Lease> lookedUp = new HashMap<>(); // (server, key) -> a lease looked up earlier
    long now = 0;
    for (Step step : s.steps()) {
      now += step.advanceNanos();
      for (LeaseProperties.Model bucket : buckets) {
        bucket.bucket.advance(step.advanceNanos());
      }
      LeaseTable table = tables.get(step.server());
      String key = "k" + step.key();
      long id = (long) step.server() * 16 + step.key();
      Lease lease = step.stale() && lookedUp.containsKey(id) ? lookedUp.get(id) : table.get(key);
      lookedUp.put(id, lease);
      LeaseProperties.Model bucket = buckets.get(step.key());
      List<long[]> keyGrants = grants.get(step.key());
      boolean granted = lease == null
          ? bucket.take(step.permits(), step.permits()) > 0 // no room for a lease: a direct, exact check
          : LeaseProperties.decide(lease, bucket, step.permits(), step.racing() ? lease : null, 1, keyGrants, now);
      if (granted) {
        keyGrants.add(new long[] {now, step.permits()});
      }
      for (LeaseTable t : tables) {
        assertTrue(t.keys() <= s.maxKeys(), "leases held: " + t.keys());
        for (int k = 0; k < s.keys(); k++) {
          Lease l = t.get("k" + k);
          assertTrue(l == null || l.outstanding() <= s.size(), "a lease holds more than its size");
        }
        assertTrue(t.keys() <= s.maxKeys(), "leases held: " + t.keys());
      }
      for (Lease l : lookedUp.values()) {
        assertTrue(l == null || (l.outstanding() >= 0 && l.outstanding() <= s.size()));
      }
    }
    BigInteger p = BigInteger.valueOf(s.permits());
    BigInteger t = BigInteger.valueOf(s.periodNanos());
    long allowance = s.burst() + (long) s.servers() * s.size();
    for (List<long[]> keyGrants : grants) {
      keyGrants.sort((a, b) -> Long.compare(a[0], b[0]));
      for (int i = 0; i < keyGrants.size(); i++) {
        long sum = 0;
        for (int j = i; j < keyGrants.size(); j++) {
          sum += keyGrants.get(j)[1];
          if (sum > allowance) {
            BigInteger over = BigInteger.valueOf(sum - allowance).multiply(t);
            BigInteger refill = p.multiply(BigInteger.valueOf(keyGrants.get(j)[0] - keyGrants.get(i)[0]));
            assertTrue(over.compareTo(refill) <= 0, "granted " + sum + " in [" + keyGrants.get(i)[0] + ", "
                + keyGrants.get(j)[0] + "] ns on one key: more than burst + rate × d + servers × lease");
          }
        }
      }
    }
  }

  @Example
  void anEvictedLeaseHoldsNothingAndCannotBeRefilled() {
    LeaseProperties.Model bucket = new LeaseProperties.Model(1, 1_000_000_000L, 10);
    LeaseTable table = new LeaseTable(5, 1);
    Lease first = table.get("a");
    assertTrue(LeaseProperties.decide(first, bucket, 1, null, 0, new ArrayList<>(), 0));
    assertEquals(4, first.outstanding());
    Lease other = table.get("b"); // evicts a's lease, dropping its 4 permits
    assertTrue(other != null && other != first);
    assertEquals(0, first.outstanding());
    assertEquals(Lease.BUSY, first.refillAndTake(1, (need, want) -> {
      throw new AssertionError("a retired lease refilled");
    }));
    assertEquals(1, table.keys());
    assertTrue(table.get("a") != first, "a new lease for a");
  }

  @Example
  void aTableWhoseLeasesAreAllRefillingHasNoRoomAndSendsTheCheckToRedis() {
    LeaseTable table = new LeaseTable(5, 1);
    Lease a = table.get("a");
    long r = a.refillAndTake(1, (need, want) -> {
      assertEquals(null, table.get("b"), "a's refill is in flight: nothing to evict");
      return want;
    });
    assertEquals(0, r);
    assertTrue(table.get("b") != null, "after the refill a's lease can be evicted");
  }
}
