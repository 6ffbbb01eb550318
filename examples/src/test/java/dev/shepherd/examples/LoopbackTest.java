package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/**
 * The live demos bind 127.0.0.1 itself, not whatever {@link InetAddress#getLoopbackAddress()}
 * answers (::1 on a JVM that prefers IPv6), and their clients dial the same address.
 */
class LoopbackTest {

  private static final byte[] IPV4_LOOPBACK = {127, 0, 0, 1};

  @Test
  void theConnectServerListensOn127001() throws Exception {
    try (ConnectServer server = ConnectServer.start((deviceId, secret) -> "OK")) {
      assertArrayEquals(IPV4_LOOPBACK, server.address().getAddress());
    }
  }

  @Test
  void theMetricsEndpointListensOn127001() throws Exception {
    try (MetricsEndpoint metrics = MetricsEndpoint.start()) {
      assertArrayEquals(IPV4_LOOPBACK, metrics.address().getAddress().getAddress());
      assertEquals("127.0.0.1", metrics.uri().getHost());
      assertEquals(metrics.address().getPort(), metrics.uri().getPort());
    }
  }

  @Test
  void theAddressIsIpv4LoopbackWhateverTheJvmPrefers() {
    assertArrayEquals(IPV4_LOOPBACK, Loopback.ADDRESS.getAddress());
    assertEquals("127.0.0.1", Loopback.ADDRESS.getHostAddress());
  }
}
