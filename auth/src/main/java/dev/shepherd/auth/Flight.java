package dev.shepherd.auth;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One backend call for one (device, secret digest), shared by every request that needs the same
 * answer: the unit of single flight. Completed exactly once, with the {@link Resolution} all its
 * waiters receive.
 */
final class Flight<P> {

  final String deviceId;
  final byte[] digest;
  final CompletableFuture<Resolution<P>> future = new CompletableFuture<>();
  /** Set by {@link CachingAuthenticator#invalidate(String)}: the answer must not enter the cache. */
  volatile boolean revoked;

  private final AtomicBoolean started = new AtomicBoolean();

  Flight(String deviceId, byte[] digest) {
    this.deviceId = deviceId;
    this.digest = digest;
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
