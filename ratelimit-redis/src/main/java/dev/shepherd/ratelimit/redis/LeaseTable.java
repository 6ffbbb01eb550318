package dev.shepherd.ratelimit.redis;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/*
 * The keyed limiter's leases: one Lease per key, for at most maxKeys keys at once.
 *
 * The bound per key. For each key, everything this limiter holds is in the one lease the table
 * maps the key to: a lease enters the table only where the key has none (putIfAbsent), and leaves
 * it only once retired (Lease.retire), after which it holds 0 for good, even if a caller still has
 * it in hand. So the limiter holds at most size permits per key at every instant (Lease's (I)),
 * and N limiters grant at most burst + rate * d + N * size for one key in any window of length d,
 * by Lease's argument applied to that key's bucket. LeaseProperties checks it on random schedules
 * with eviction.
 *
 * Memory. count is the table's entries plus the insertions under way, and an insertion that takes
 * count above maxKeys first evicts an entry (retiring it) or, when every entry has a refill in
 * flight, gives up: that check goes to Redis directly, exactly. So the table never holds more than
 * maxKeys leases. Eviction drops the evicted key's unspent permits (fewer grants, never more); it
 * takes the first retirable entry in the map's order, preferring an empty one among the first few,
 * so a key with permits in hand is dropped only when no nearby one is empty.
 *
 * Cost. A key that has a lease: one map lookup, no allocation. A new key: one lease and one map
 * entry, on the path that goes to Redis anyway.
 */
/** The keyed limiter's leases, one per key, at most {@code maxKeys}. Thread-safe, lock-free. */
final class LeaseTable {

  /** Entries inspected for an empty lease before settling for any retirable one. */
  private static final int SCAN = 8;

  private final int size;
  private final int maxKeys;
  private final ConcurrentHashMap<String, Lease> leases = new ConcurrentHashMap<>();
  private final AtomicInteger count = new AtomicInteger();

  LeaseTable(int size, int maxKeys) {
    this.size = size;
    this.maxKeys = maxKeys;
  }

  /** The lease for {@code key}, created if needed; null if the table is full of refilling leases. */
  Lease get(String key) {
    Lease lease = leases.get(key);
    return lease != null ? lease : create(key);
  }

  private Lease create(String key) {
    if (count.incrementAndGet() > maxKeys && !evictOne()) {
      count.decrementAndGet();
      return null;
    }
    Lease fresh = new Lease(size);
    Lease prior = leases.putIfAbsent(key, fresh);
    if (prior != null) {
      count.decrementAndGet();
      return prior;
    }
    return fresh;
  }

  /** Retires and removes one lease, an empty one if one of the first few is; false if none can be. */
  private boolean evictOne() {
    int seen = 0;
    for (Map.Entry<String, Lease> e : leases.entrySet()) {
      if (seen++ >= SCAN) {
        break;
      }
      if (e.getValue().outstanding() == 0 && remove(e)) {
        return true;
      }
    }
    for (Map.Entry<String, Lease> e : leases.entrySet()) {
      if (remove(e)) {
        return true;
      }
    }
    return false;
  }

  private boolean remove(Map.Entry<String, Lease> e) {
    Lease lease = e.getValue();
    if (lease.retire() && leases.remove(e.getKey(), lease)) {
      count.decrementAndGet();
      return true;
    }
    return false;
  }

  /** Permits held over all keys (a racy snapshot, for metrics). */
  long outstanding() {
    long sum = 0;
    for (Lease lease : leases.values()) {
      sum += lease.outstanding();
    }
    return sum;
  }

  /** Keys holding a lease now. */
  int keys() {
    return leases.size();
  }

  int size() {
    return size;
  }
}
