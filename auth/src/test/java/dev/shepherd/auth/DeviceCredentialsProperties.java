package dev.shepherd.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.StringLength;

/** Normalisation and encoding invariants over arbitrary strings. */
class DeviceCredentialsProperties {

  @Property(tries = 2_000)
  void normalisationIsIdempotentOrRefusesWithANamedMessage(@ForAll @StringLength(max = 200) String raw) {
    String once;
    try {
      once = DeviceCredentials.normalizeDeviceId(raw);
    } catch (IllegalArgumentException refused) {
      assertTrue(refused.getMessage().startsWith("deviceId must be "), refused.getMessage());
      assertTrue(refused.getMessage().chars().noneMatch(Character::isISOControl), "printable message");
      return;
    }
    assertEquals(once, DeviceCredentials.normalizeDeviceId(once));
    assertTrue(!once.isEmpty() && once.length() <= DeviceCredentials.MAX_DEVICE_ID_LENGTH);
    assertEquals(once, once.strip());
  }

  @Property(tries = 2_000)
  void anEncodedIdIsOnePathSegmentThatDecodesBackToTheId(@ForAll @StringLength(min = 1, max = 60) String raw) {
    String id;
    try {
      id = DeviceCredentials.normalizeDeviceId(raw);
    } catch (IllegalArgumentException refused) {
      return;
    }
    String encoded = HttpAuthenticator.encodePathSegment(id);
    assertTrue(encoded.matches("([A-Za-z0-9._~-]|%[0-9A-F]{2})+"), encoded);
    URI uri = URI.create("http://h/devices/" + encoded + "/verify");
    assertEquals("/devices/" + encoded + "/verify", uri.getRawPath());
    assertEquals(id, URLDecoder.decode(encoded.replace("+", "%2B"), StandardCharsets.UTF_8));
  }
}
