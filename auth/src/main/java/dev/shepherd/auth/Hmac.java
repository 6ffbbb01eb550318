package dev.shepherd.auth;

import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 under a key that lives only in this object: how the cache remembers which secret the
 * backend accepted without remembering the secret.
 *
 * <p>A digest under a random per-instance key is useless to anyone who dumps the heap or the cache
 * without also taking the key, cannot be precomputed across instances, and (being a PRF output)
 * tells nothing about the secret. {@link Mac} is not thread-safe, so each thread keeps its own
 * instance; {@link Mac#doFinal(byte[])} resets it for the next use.
 */
final class Hmac {

  static final String ALGORITHM = "HmacSHA256";
  static final int KEY_BYTES = 32;

  private final SecretKeySpec key;
  private final ThreadLocal<Mac> macs = ThreadLocal.withInitial(this::newMac);

  private Hmac(byte[] key) {
    this.key = new SecretKeySpec(key, ALGORITHM);
  }

  /** An HMAC under 256 fresh bits from {@link SecureRandom}. */
  static Hmac withRandomKey() {
    byte[] key = new byte[KEY_BYTES];
    new SecureRandom().nextBytes(key);
    Hmac hmac = new Hmac(key);
    java.util.Arrays.fill(key, (byte) 0); // SecretKeySpec copied it
    return hmac;
  }

  /** The 32-byte HMAC of {@code message}. */
  byte[] digest(byte[] message) {
    return macs.get().doFinal(message);
  }

  private Mac newMac() {
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
