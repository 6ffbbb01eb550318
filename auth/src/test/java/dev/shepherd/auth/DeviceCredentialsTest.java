package dev.shepherd.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DeviceCredentialsTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void idsAreStrippedAndPutInNfcSoEverySpellingOfADeviceAgrees() {
    assertEquals("hub-1", DeviceCredentials.normalizeDeviceId("  hub-1\t"));
    String composed = "caf\u00e9";
    String decomposed = "cafe\u0301";
    assertEquals(composed, DeviceCredentials.normalizeDeviceId(decomposed));
    assertEquals(DeviceCredentials.of(composed, bytes("s")).deviceId(),
        DeviceCredentials.of(" " + decomposed, bytes("s")).deviceId());
  }

  @Test
  void normalisationIsIdempotentAndCaseSensitive() {
    String once = DeviceCredentials.normalizeDeviceId(" Hub-\u00c5 ");
    assertEquals(once, DeviceCredentials.normalizeDeviceId(once));
    assertNotEquals(DeviceCredentials.normalizeDeviceId("Hub-1"), DeviceCredentials.normalizeDeviceId("hub-1"));
  }

  @Test
  void idsUpToTheLimitAreAcceptedAndLongerOnesRefusedNamingTheParameter() {
    String max = "a".repeat(DeviceCredentials.MAX_DEVICE_ID_LENGTH);
    assertEquals(max, DeviceCredentials.normalizeDeviceId(max));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> DeviceCredentials.normalizeDeviceId(max + "a"));
    assertTrue(e.getMessage().startsWith("deviceId must be at most 128 characters"), e.getMessage());
    // The message shows a bounded preview, not the whole value.
    assertTrue(e.getMessage().length() < 200, e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> DeviceCredentials.normalizeDeviceId("a".repeat(100_000)));
  }

  @Test
  void decomposedIdsAreMeasuredAfterNormalisation() {
    // 128 composed characters written decomposed are 256 chars long before NFC, 128 after.
    String decomposed = "e\u0301".repeat(DeviceCredentials.MAX_DEVICE_ID_LENGTH);
    assertEquals(DeviceCredentials.MAX_DEVICE_ID_LENGTH, DeviceCredentials.normalizeDeviceId(decomposed).length());
  }

  @Test
  void blankIdsAndForbiddenCharactersAreRefused() {
    assertThrows(NullPointerException.class, () -> DeviceCredentials.normalizeDeviceId(null));
    for (String bad : new String[] {"", "   ", "a\nb", "a\u0000b", "a\u202eb", "a\u200db", "a\u2028b",
        "a\ue000b", "a\ud800b"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> DeviceCredentials.normalizeDeviceId(bad), bad);
      assertTrue(e.getMessage().startsWith("deviceId must be "), e.getMessage());
      assertFalse(e.getMessage().chars().anyMatch(Character::isISOControl), "message is printable");
    }
  }

  @Test
  void secretsAreCopiedInAndOut() {
    byte[] secret = bytes("s3cret");
    DeviceCredentials c = DeviceCredentials.of("hub-1", secret);
    secret[0] = 'X';
    assertArrayEquals(bytes("s3cret"), c.secret());
    byte[] out = c.secret();
    out[0] = 'Y';
    assertArrayEquals(bytes("s3cret"), c.secret());
    assertNotSame(c.secret(), c.secret());
  }

  @Test
  void emptyNullAndOversizedSecretsAreRefusedWithoutShowingThem() {
    assertThrows(NullPointerException.class, () -> DeviceCredentials.of("hub-1", null));
    IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
        () -> DeviceCredentials.of("hub-1", new byte[0]));
    assertEquals("secret must be non-empty: 0 bytes", empty.getMessage());
    IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
        () -> DeviceCredentials.of("hub-1", new byte[DeviceCredentials.MAX_SECRET_LENGTH + 1]));
    assertEquals("secret must be at most 4096 bytes: 4097 bytes", big.getMessage());
    assertThrows(NullPointerException.class, () -> DeviceCredentials.of(null, bytes("s")));
  }

  @Test
  void toStringNeverShowsTheSecret() {
    DeviceCredentials c = DeviceCredentials.of("hub-1", bytes("TOP-SECRET-42"));
    assertEquals("DeviceCredentials{deviceId=hub-1, secret=<redacted>}", c.toString());
    assertFalse(c.toString().contains("TOP-SECRET"));
  }

  @Test
  void wipingZeroesTheSecretAndMakesTheCredentialsUnusable() {
    DeviceCredentials c = DeviceCredentials.of("hub-1", bytes("s3cret"));
    byte[] internal = c.secretRef();
    c.wipe();
    c.wipe(); // idempotent
    assertTrue(c.isWiped());
    assertArrayEquals(new byte[6], internal);
    assertThrows(IllegalStateException.class, c::secret);
    assertEquals("DeviceCredentials{deviceId=hub-1, secret=<wiped>}", c.toString());
  }

  @Test
  void credentialsAreNeverEqualByValue() {
    DeviceCredentials a = DeviceCredentials.of("hub-1", bytes("s"));
    DeviceCredentials b = DeviceCredentials.of("hub-1", bytes("s"));
    assertNotEquals(a, b);
  }
}
