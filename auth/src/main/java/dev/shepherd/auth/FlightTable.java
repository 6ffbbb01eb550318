package dev.shepherd.auth;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/*
 * The flights in progress, per device id: a small immutable list of flights, one per distinct
 * secret digest, replaced atomically by ConcurrentHashMap.compute. Why it is correct:
 *
 * - Single flight: joinOrCreate runs under the map's lock for that id, so two requests with the
 *   same (id, digest) always see the same flight; only the one that wins Flight.claimStart() calls
 *   the backend, and only after re-reading the cache (a flight that just finished has put its
 *   answer there before leaving this table; see CachingAuthenticator.pending).
 * - Revocation: revoke marks every flight of the id *inside* the same lock that removes them, so a
 *   request can never join a flight after it was revoked, and the flight's completion (which
 *   checks the mark inside the cache's lock for the id, before inserting) cannot re-insert an
 *   answer once invalidate has returned: invalidate marks first and removes the cache entry
 *   second, so either the completion's insert happens before that removal (and is removed) or it
 *   sees the mark.
 * - Bounded: at most maxPerDevice distinct digests are in flight per device, so a flood of wrong
 *   secrets for one device costs bounded work; a list entry is removed when its flight completes.
 *
 * Digests are compared with MessageDigest.isEqual (constant time); the map is keyed by the device
 * id only, which is not secret.
 */
final class FlightTable<P> {

  private final ConcurrentHashMap<String, List<Flight<P>>> map = new ConcurrentHashMap<>();
  private final int maxPerDevice;

  FlightTable(int maxPerDevice) {
    this.maxPerDevice = maxPerDevice;
  }

  /** The flight for (id, digest), or null. */
  Flight<P> find(String id, byte[] digest) {
    List<Flight<P>> flights = map.get(id);
    return flights == null ? null : match(flights, digest);
  }

  /** The flight for (id, digest), created if absent; null when the device has too many flights. */
  Flight<P> joinOrCreate(String id, byte[] digest) {
    Flight<P> candidate = new Flight<>(id, digest);
    List<Flight<P>> after = map.compute(id, (k, current) -> {
      if (current == null) {
        return List.of(candidate);
      }
      if (match(current, digest) != null || current.size() >= maxPerDevice) {
        return current;
      }
      List<Flight<P>> next = new ArrayList<>(current.size() + 1);
      next.addAll(current);
      next.add(candidate);
      return List.copyOf(next);
    });
    return match(after, digest);
  }

  /** Forgets a completed flight (no-op if it was revoked and removed already). */
  void remove(Flight<P> flight) {
    map.computeIfPresent(flight.deviceId, (k, current) -> {
      if (!current.contains(flight)) {
        return current;
      }
      if (current.size() == 1) {
        return null;
      }
      List<Flight<P>> next = new ArrayList<>(current);
      next.remove(flight);
      return List.copyOf(next);
    });
  }

  /** Marks every flight of the device revoked and forgets them, atomically. */
  void revoke(String id) {
    map.computeIfPresent(id, (k, current) -> {
      for (Flight<P> flight : current) {
        flight.revoked = true;
      }
      return null;
    });
  }

  /** Revokes every device's flights. */
  void revokeAll() {
    for (String id : map.keySet()) {
      revoke(id);
    }
  }

  /** How many devices have a flight in progress. */
  int devicesInFlight() {
    return map.size();
  }

  private static <P> Flight<P> match(List<Flight<P>> flights, byte[] digest) {
    for (Flight<P> flight : flights) {
      if (MessageDigest.isEqual(flight.digest, digest)) {
        return flight;
      }
    }
    return null;
  }
}
