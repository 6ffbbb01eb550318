package dev.shepherd.auth;

import dev.shepherd.core.internal.Checks;
import java.text.Normalizer;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;

/**
 * What a device presents to connect: a device id and a secret held as bytes.
 *
 * <h2>Device ids</h2>
 * An id is normalised once, when the credentials are created, by {@link #normalizeDeviceId(String)},
 * so every cache lookup, backend request and {@link CachingAuthenticator#invalidate(String)}
 * agrees on one spelling. The rule:
 * <ol>
 *   <li>leading and trailing white space is removed ({@link String#strip()});
 *   <li>the result is put in Unicode normalisation form C (NFC), so a composed and a decomposed
 *       "é" are the same device;
 *   <li>it must then be 1 to {@value #MAX_DEVICE_ID_LENGTH} UTF-16 characters long;
 *   <li>it must contain no control, format (for example bidi overrides or zero-width joiners),
 *       line or paragraph separator, private-use, unassigned or unpaired surrogate character. This
 *       keeps ids safe to log and makes the NFC step stable across Java versions.
 * </ol>
 * Ids are case-sensitive: {@code "Hub-1"} and {@code "hub-1"} are different devices, since a
 * backend may treat them so.
 *
 * <h2>Secrets</h2>
 * The secret is 1 to {@value #MAX_SECRET_LENGTH} bytes. It is copied in and copied out
 * ({@link #secret()}), never shown by {@link #toString()}, and can be overwritten with zeros by
 * {@link #wipe()} once the credentials are no longer needed. Equality is identity: two credentials
 * objects are never "equal", which keeps secrets out of hash-based collections and comparisons.
 *
 * <p>Thread-safety: the id is immutable; {@link #secret()} and the authenticators may be used from
 * any thread. Do not {@link #wipe()} credentials while an authentication using them is still
 * running: the result would be a refusal. The authenticators in this package take their own copy
 * for any backend call that outlives the caller's request (a background refresh), and wipe it after.
 */
public final class DeviceCredentials {

  /** The longest device id, in UTF-16 characters after normalisation: {@value}. */
  public static final int MAX_DEVICE_ID_LENGTH = 128;
  /** The longest secret, in bytes: {@value}. */
  public static final int MAX_SECRET_LENGTH = 4096;

  /** Longer raw ids are refused before normalisation, which bounds its cost. */
  private static final int MAX_RAW_LENGTH = 4 * MAX_DEVICE_ID_LENGTH;
  private static final int PREVIEW_LENGTH = 40;

  private final String deviceId;
  private final byte[] secret;
  private volatile boolean wiped;

  private DeviceCredentials(String deviceId, byte[] secret) {
    this.deviceId = deviceId;
    this.secret = secret;
  }

  /**
   * Creates credentials, normalising the id and copying the secret.
   *
   * @param deviceId the device id, normalised by {@link #normalizeDeviceId(String)}
   * @param secret the secret, 1 to {@value #MAX_SECRET_LENGTH} bytes; copied, so the caller may
   *     wipe its array afterwards
   * @return the credentials
   * @throws NullPointerException if {@code deviceId} or {@code secret} is null
   * @throws IllegalArgumentException if the id breaks the normalisation rule or the secret is
   *     empty or too long; the message names the parameter, never the secret's content
   */
  public static DeviceCredentials of(String deviceId, byte[] secret) {
    String id = normalizeDeviceId(deviceId);
    Objects.requireNonNull(secret, "secret");
    Checks.check(secret.length > 0, "secret", "non-empty", "0 bytes");
    Checks.check(secret.length <= MAX_SECRET_LENGTH, "secret",
        "at most " + MAX_SECRET_LENGTH + " bytes", secret.length + " bytes");
    return new DeviceCredentials(id, secret.clone());
  }

  /**
   * Normalises a device id by the rule in the class documentation.
   *
   * <p>Idempotent: normalising a normalised id returns an equal string.
   *
   * @param deviceId the raw id
   * @return the normalised id
   * @throws NullPointerException if {@code deviceId} is null
   * @throws IllegalArgumentException if the id is blank, too long or holds a forbidden character;
   *     the message names {@code deviceId} and shows a printable preview of the value
   */
  public static String normalizeDeviceId(String deviceId) {
    Objects.requireNonNull(deviceId, "deviceId");
    String id = deviceId.strip();
    if (id.length() > MAX_RAW_LENGTH) {
      throw tooLong(deviceId);
    }
    if (!Normalizer.isNormalized(id, Normalizer.Form.NFC)) {
      id = Normalizer.normalize(id, Normalizer.Form.NFC);
    }
    if (id.isEmpty()) {
      throw Checks.invalid("deviceId", "non-blank", preview(deviceId));
    }
    if (id.length() > MAX_DEVICE_ID_LENGTH) {
      throw tooLong(deviceId);
    }
    for (int i = 0; i < id.length(); ) {
      int cp = id.codePointAt(i);
      if (forbidden(cp)) {
        throw Checks.invalid("deviceId", String.format(Locale.ROOT,
            "free of control, format, separator, private-use and unassigned characters (U+%04X at %d)",
            cp, i), preview(deviceId));
      }
      i += Character.charCount(cp);
    }
    return id;
  }

  private static IllegalArgumentException tooLong(String raw) {
    return Checks.invalid("deviceId",
        "at most " + MAX_DEVICE_ID_LENGTH + " characters after normalisation", preview(raw));
  }

  private static boolean forbidden(int cp) {
    switch (Character.getType(cp)) {
      case Character.CONTROL:
      case Character.FORMAT:
      case Character.SURROGATE:
      case Character.PRIVATE_USE:
      case Character.UNASSIGNED:
      case Character.LINE_SEPARATOR:
      case Character.PARAGRAPH_SEPARATOR:
        return true;
      default:
        return false;
    }
  }

  /** A quoted, printable, bounded rendering of a raw id for exception messages. */
  static String preview(String raw) {
    StringBuilder out = new StringBuilder(PREVIEW_LENGTH + 24).append('"');
    int shown = Math.min(raw.length(), PREVIEW_LENGTH);
    for (int i = 0; i < shown; i++) {
      char c = raw.charAt(i);
      if (c >= 0x20 && c < 0x7f) {
        out.append(c);
      } else {
        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
      }
    }
    out.append('"');
    if (raw.length() > shown) {
      out.append("... (").append(raw.length()).append(" chars)");
    }
    return out.toString();
  }

  /**
   * Returns the normalised device id.
   *
   * @return the id, as {@link #normalizeDeviceId(String)} returned it
   */
  public String deviceId() {
    return deviceId;
  }

  /**
   * Returns a copy of the secret; the caller should wipe the copy when done with it.
   *
   * @return a fresh array holding the secret
   * @throws IllegalStateException if the credentials were {@linkplain #wipe() wiped}
   */
  public byte[] secret() {
    return secretRef().clone();
  }

  /** The secret array itself, for digesting and copying inside the package; never handed out. */
  byte[] secretRef() {
    if (wiped) {
      throw new IllegalStateException("credentials of device '" + deviceId + "' were wiped");
    }
    return secret;
  }

  /** An independent copy the package's background work owns and wipes. */
  DeviceCredentials copy() {
    return new DeviceCredentials(deviceId, secret());
  }

  /**
   * Overwrites the secret with zeros; the credentials can no longer be used. Idempotent.
   */
  public void wipe() {
    wiped = true;
    Arrays.fill(secret, (byte) 0);
  }

  /**
   * Returns whether {@link #wipe()} was called.
   *
   * @return {@code true} once the secret has been wiped
   */
  public boolean isWiped() {
    return wiped;
  }

  /**
   * Returns the device id and a redaction marker; never the secret, nor its length.
   *
   * @return for example {@code DeviceCredentials{deviceId=hub-1, secret=<redacted>}}
   */
  @Override
  public String toString() {
    return "DeviceCredentials{deviceId=" + deviceId + ", secret=<" + (wiped ? "wiped" : "redacted") + ">}";
  }
}
