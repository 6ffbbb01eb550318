package dev.shepherd.examples;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The address every live demo binds and connects to: 127.0.0.1, always. Not
 * {@link InetAddress#getLoopbackAddress()}, which is {@code ::1} when the JVM prefers IPv6
 * ({@code -Djava.net.preferIPv6Addresses=true}): the demos promise 127.0.0.1, and a client that
 * dials 127.0.0.1 must find the server there.
 */
final class Loopback {

  /** 127.0.0.1. */
  static final InetAddress ADDRESS = ipv4();

  private Loopback() {}

  private static InetAddress ipv4() {
    try {
      return InetAddress.getByAddress("127.0.0.1", new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new ExceptionInInitializerError(e); // four bytes are always a valid address
    }
  }
}
