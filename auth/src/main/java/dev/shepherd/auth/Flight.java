package dev.shepherd.auth;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One backend call for one (device, secret digest), shared by every request that needs the same
 * answer: the unit of single flight. Its future completes once, with the {@link Resolution} all
 * its waiters receive: the backend's answer, the authenticator's timeout, or a revocation, whichever
 * comes first. The backend's answer is recorded in the cache even when it comes after the timeout.
 */
final class Flight<P> {

  final String deviceId;
  final byte[] digest;
  /** Whether the call was paid from the device's allowance (an unverified secret). */
  final boolean paid;
  final CompletableFuture<Resolution<P>> future = new CompletableFuture<>();
  /** Set under the device's lock by {@link CachingAuthenticator#invalidate(String)}: the answer is discarded. */
  volatile boolean revoked;
  /** Set when the call starts: its place in the order of all calls, its start and its deadline. */
  volatile long seq;
  volatile long startedAt;
  volatile long deadline = Long.MAX_VALUE;
  /**
   * Set when the guard lets the call through to the backend. A rejection while it is false came
   * from the guard (local shedding), not from the backend: it carries no cool-down.
   */
  volatile boolean reachedBackend;
  /** The timer that enforces the deadline; cancelled when the future completes. */
  volatile Future<?> timer;

  private final AtomicBoolean started = new AtomicBoolean();

  Flight(String deviceId, byte[] digest, boolean paid) {
    this.deviceId = deviceId;
    this.digest = digest;
    this.paid = paid;
  }

  /** True for exactly one caller: the one that must make the backend call. */
  boolean claimStart() {
    return started.compareAndSet(false, true);
  }

  @Override
  public String toString() {
    return "Flight{deviceId=" + deviceId + (revoked ? ", revoked" : "") + "}";
  }
}
