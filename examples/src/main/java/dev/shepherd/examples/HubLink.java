package dev.shepherd.examples;

import dev.shepherd.backoff.Reconnector;
import dev.shepherd.core.RejectedException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One hub's live connection to the {@link ConnectServer}: opened with the line protocol's
 * {@code HELLO}, then held open, silent, until the server drops it. A {@link LossWatcher} notices
 * the drop and completes {@link #closed()}.
 *
 * <p>{@link #open} turns the server's refusals into exceptions a reconnect loop understands: a
 * {@code RETRY <seconds>} becomes a {@link RejectedException} carrying that retry-after, which
 * {@code Reconnector} honours with jitter above it. Thread-safe.
 */
final class HubLink implements Reconnector.Connection {

  private final SocketChannel channel;
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final AtomicBoolean ended = new AtomicBoolean();
  private final Runnable onLoss;

  private HubLink(SocketChannel channel, Runnable onLoss) {
    this.channel = channel;
    this.onLoss = onLoss;
  }

  /**
   * Connects and says hello, blocking until the server answers or {@code timeout} passes.
   *
   * @param server the server's address
   * @param deviceId the hub's device id
   * @param secret the hub's secret
   * @param timeout how long to wait for the TCP connection, and then for the answer
   * @param watcher the fleet's watcher, told about the connection once accepted
   * @param onAccept run once when the server accepts, before the connection is watched
   * @param onLoss run once when the accepted connection ends
   * @return the accepted connection
   * @throws RejectedException if the server answered {@code RETRY}, with its hint
   * @throws SocketTimeoutException if the server did not answer in time
   * @throws IOException if the connection failed or the server refused the credentials
   */
  static HubLink open(InetSocketAddress server, String deviceId, String secret, Duration timeout,
      LossWatcher watcher, Runnable onAccept, Runnable onLoss) throws IOException {
    int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
    SocketChannel channel = SocketChannel.open();
    // A hub closes with a reset, not a FIN: a fleet retrying on loopback must not exhaust the
    // ephemeral ports with connections lingering in TIME_WAIT.
    channel.setOption(StandardSocketOptions.SO_LINGER, 0);
    boolean accepted = false;
    try {
      channel.socket().connect(server, millis);
      channel.socket().setSoTimeout(millis);
      channel.socket().setTcpNoDelay(true);
      ByteBuffer hello = ByteBuffer.wrap(
          ("HELLO " + deviceId + " " + secret + "\n").getBytes(StandardCharsets.UTF_8));
      while (hello.hasRemaining()) {
        channel.write(hello);
      }
      String reply = readLine(channel.socket().getInputStream());
      if (reply.equals("OK")) {
        channel.configureBlocking(false);
        HubLink link = new HubLink(channel, onLoss);
        accepted = true;
        onAccept.run();
        watcher.watch(link);
        return link;
      }
      if (reply.startsWith("RETRY ")) {
        long nanos = parseSeconds(reply.substring("RETRY ".length()));
        throw new RejectedException(
            "connect-server", "the server asked to retry after " + reply.substring(6) + " s", nanos);
      }
      if (reply.equals("DENIED")) {
        throw new IOException("the server refused the credentials of " + deviceId);
      }
      throw new IOException("unexpected answer from the server: " + reply);
    } finally {
      if (!accepted) {
        channel.close();
      }
    }
  }

  /** Parses a decimal number of seconds into nanoseconds, zero or more. */
  static long parseSeconds(String text) throws IOException {
    try {
      double seconds = Double.parseDouble(text);
      if (!(seconds >= 0) || seconds > 86_400) {
        throw new IOException("bad retry-after: " + text);
      }
      return Math.round(seconds * 1e9);
    } catch (NumberFormatException e) {
      throw new IOException("bad retry-after: " + text, e);
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    while (line.length() < 128) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("the server closed the connection without an answer");
      }
      if (b == '\n') {
        return line.toString();
      }
      line.append((char) b);
    }
    throw new IOException("the server's answer is too long");
  }

  SocketChannel channel() {
    return channel;
  }

  /** Returns a stage completing when the connection is gone, by the server's hand or ours. */
  @Override
  public CompletionStage<Void> closed() {
    return closed;
  }

  /** Marks the connection lost: closes it and completes {@link #closed()}; idempotent. */
  void lost() {
    if (ended.compareAndSet(false, true)) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // closing is best effort
      }
      onLoss.run();
      closed.complete(null);
    }
  }

  /** Closes the connection from the hub's side; idempotent. */
  @Override
  public void close() {
    lost();
  }
}
