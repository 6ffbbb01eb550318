package dev.shepherd.auth;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 under a key that lives only in this object: how the cache remembers which secret the
 * backend accepted without remembering the secret.
 *
 * <p>A digest under a random per-instance key is useless to anyone who dumps the heap or the cache
 * without also taking the key, cannot be precomputed across instances, and (being a PRF output)
 * tells nothing about the secret.
 */
final class Hmac {

  /*
   * Mac is not thread-safe, and building one (provider lookup, key schedule) costs microseconds.
   * A ThreadLocal<Mac> is free on a pooled platform thread but builds a new Mac for every virtual
   * thread, i.e. for every request of a thread-per-request server. So the instances live in a small
   * lock-free pool instead, shared by all threads:
   *
   * - Borrow: from a start slot derived from the thread id, look at a few slots; take the first
   *   non-null one by CAS(slot, mac, null). Only the CAS winner holds that Mac, so no Mac is ever
   *   used by two threads at once.
   * - Miss (all looked-at slots empty, i.e. more digests in progress near this start than slots):
   *   clone the prepared prototype (keyed once, never used to digest; cloning only reads it, which
   *   is safe from any number of threads), which skips the provider lookup and the key schedule.
   * - Return: put the Mac in the first looked-at empty slot with a release store; doFinal has reset
   *   it, and the borrower's CAS (a volatile read) sees that state. If two returns race for one
   *   slot, the later store overwrites the earlier Mac, which is simply garbage-collected: benign,
   *   since a Mac in the pool is held by nobody. If no slot is free the Mac is dropped.
   * - A digest that throws (it cannot for HmacSHA256 on a byte array, but an Error could) does not
   *   return its Mac, whose state is then unknown.
   *
   * Virtual threads run a digest without blocking, so at most about one digest per carrier thread
   * is in progress at once: a pool of four slots per processor rarely misses. No lock, no
   * synchronized (which would pin a virtual thread on JDK 21 to 23).
   */

  static final String ALGORITHM = "HmacSHA256";
  static final int KEY_BYTES = 32;
  private static final int PROBES = 4;

  private final SecretKeySpec key;
  private final Mac prototype;
  private final AtomicReferenceArray<Mac> pool;
  private final int mask;
  /** Instances built on a pool miss; for tests (written on the miss path only). */
  private final java.util.concurrent.atomic.LongAdder built = new java.util.concurrent.atomic.LongAdder();

  private Hmac(byte[] key) {
    this.key = new SecretKeySpec(key, ALGORITHM);
    this.prototype = newMac(this.key);
    int slots = Integer.highestOneBit(Math.max(8, Math.min(256, 4 * Runtime.getRuntime().availableProcessors())));
    this.pool = new AtomicReferenceArray<>(slots);
    this.mask = slots - 1;
  }

  /** An HMAC under 256 fresh bits from {@link SecureRandom}. */
  static Hmac withRandomKey() {
    byte[] key = new byte[KEY_BYTES];
    new SecureRandom().nextBytes(key);
    Hmac hmac = new Hmac(key);
    Arrays.fill(key, (byte) 0); // SecretKeySpec copied it
    return hmac;
  }

  /** The 32-byte HMAC of {@code message}. */
  byte[] digest(byte[] message) {
    int start = start();
    Mac mac = null;
    for (int i = 0; i < PROBES && mac == null; i++) {
      int slot = (start + i) & mask;
      Mac candidate = pool.get(slot);
      if (candidate != null && pool.compareAndSet(slot, candidate, null)) {
        mac = candidate;
      }
    }
    if (mac == null) {
      mac = copyOfPrototype();
    }
    byte[] digest = mac.doFinal(message);
    for (int i = 0; i < PROBES; i++) {
      int slot = (start + i) & mask;
      if (pool.get(slot) == null) {
        pool.setRelease(slot, mac);
        break;
      }
    }
    return digest;
  }

  /** How many pooled instances are ready now; for tests. */
  int pooled() {
    int n = 0;
    for (int i = 0; i < pool.length(); i++) {
      n += pool.get(i) != null ? 1 : 0;
    }
    return n;
  }

  private int start() {
    // Thread ids are distinct and (for virtual threads) consecutive: Fibonacci hashing spreads them.
    long id = Thread.currentThread().getId();
    return (int) ((id * 0x9E3779B97F4A7C15L) >>> 40);
  }

  /** The pool's capacity; for tests. */
  int slots() {
    return pool.length();
  }

  /** How many instances were built on pool misses so far; for tests. */
  long built() {
    return built.sum();
  }

  private Mac copyOfPrototype() {
    built.increment();
    try {
      return (Mac) prototype.clone();
    } catch (CloneNotSupportedException e) {
      return newMac(key); // a provider whose Mac cannot be cloned: build one afresh
    }
  }

  private static Mac newMac(SecretKeySpec key) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      // Every Java platform must provide HmacSHA256 (java.security standard names).
      throw new IllegalStateException(ALGORITHM + " is unavailable", e);
    }
  }

  @Override
  public String toString() {
    return "Hmac{" + ALGORITHM + ", key=<redacted>}";
  }
}
