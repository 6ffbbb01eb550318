package dev.shepherd.auth;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/*
 * The backend calls in progress, per device id: a small immutable list of flights, one per distinct
 * secret digest. Every change for a device happens under that device's lock in
 * CachingAuthenticator, together with the change of its cache entry; the map is concurrent only
 * because different devices change in parallel. Hence:
 *
 * - Single flight: a request looks for the flight of its (id, digest) and creates it under the
 *   same lock, so two requests with the same (id, digest) always share one flight.
 * - A completed answer is never asked for twice: a flight leaves this table under the same lock
 *   in which its answer enters the cache, so a request sees the flight or the answer, never
 *   neither.
 * - Revocation: revoke marks and removes a device's flights under the lock in which invalidate
 *   removes its entry; a completion checks the mark under the same lock before recording.
 * - Bounded: a device has at most one flight for the secret the backend last vouched for, and one
 *   per unverified secret, each paid for by the device's allowance; a flight is removed when it
 *   completes, times out or is revoked.
 *
 * Digests are compared with MessageDigest.isEqual (constant time); the map is keyed by the device
 * id only, which is not secret.
 */
final class FlightTable<P> {

  private final ConcurrentHashMap<String, List<Flight<P>>> map = new ConcurrentHashMap<>();

  /** The flight for (id, digest), or null. */
  Flight<P> find(String id, byte[] digest) {
    List<Flight<P>> flights = map.get(id);
    if (flights != null) {
      for (Flight<P> flight : flights) {
        if (MessageDigest.isEqual(flight.digest, digest)) {
          return flight;
        }
      }
    }
    return null;
  }

  /** The device's flights (an immutable snapshot, possibly empty). */
  List<Flight<P>> of(String id) {
    List<Flight<P>> flights = map.get(id);
    return flights == null ? List.of() : flights;
  }

  /** Adds a flight; the caller holds the device's lock and has checked there is none for its digest. */
  void add(Flight<P> flight) {
    map.compute(flight.deviceId, (k, current) -> {
      if (current == null) {
        return List.of(flight);
      }
      List<Flight<P>> next = new ArrayList<>(current.size() + 1);
      next.addAll(current);
      next.add(flight);
      return List.copyOf(next);
    });
  }

  /** Forgets a flight (no-op if it is gone already). */
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

  /** Marks every flight of the device revoked and forgets them; returns them. */
  List<Flight<P>> revoke(String id) {
    List<Flight<P>> flights = map.remove(id);
    if (flights == null) {
      return List.of();
    }
    for (Flight<P> flight : flights) {
      flight.revoked = true;
    }
    return flights;
  }

  /** The ids of the devices with a flight in progress (a snapshot). */
  List<String> devices() {
    return new ArrayList<>(map.keySet());
  }

  /** How many devices have a flight in progress. */
  int devicesInFlight() {
    return map.size();
  }
}
