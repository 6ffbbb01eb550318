package dev.shepherd.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A minimal RESP2 client on one loopback socket, for the launchers' own administration (cluster
 * creation, Sentinel queries, {@code INFO}): the testing module must not depend on Lettuce.
 *
 * <p>Replies map to Java as: simple string and bulk string to {@link String} (a null bulk to
 * {@code null}), integer to {@link Long}, array to {@code List<Object>} (a null array to
 * {@code null}); an error reply is thrown as {@link RespError}. Not thread-safe: one caller at a time.
 */
final class Resp implements AutoCloseable {

  /** An error reply ({@code -ERR ...}, {@code -MOVED ...}); the message is the reply's text. */
  static final class RespError extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    RespError(String message) {
      super(message);
    }
  }

  private final Socket socket;
  private final OutputStream out;
  private final InputStream in;

  Resp(int port) {
    Socket s = new Socket();
    try {
      s.connect(new InetSocketAddress(InetAddress.getByName(RedisServer.HOST), port), 2_000);
      s.setSoTimeout(10_000);
      s.setTcpNoDelay(true);
      this.socket = s;
      this.out = s.getOutputStream();
      this.in = new BufferedInputStream(s.getInputStream());
    } catch (IOException e) {
      try {
        s.close();
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new UncheckedIOException("cannot connect to 127.0.0.1:" + port, e);
    }
  }

  /** Sends one command on a fresh connection and returns its reply. */
  static Object once(int port, String... command) {
    try (Resp resp = new Resp(port)) {
      return resp.call(command);
    }
  }

  /** Sends one command and returns its reply; throws {@link RespError} for an error reply. */
  Object call(String... command) {
    return call(Arrays.asList(command));
  }

  /** Sends one command and returns its reply; throws {@link RespError} for an error reply. */
  Object call(List<String> command) {
    try {
      ByteArrayOutputStream buf = new ByteArrayOutputStream();
      buf.write(('*' + Integer.toString(command.size()) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      for (String arg : command) {
        byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
        buf.write(('$' + Integer.toString(bytes.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        buf.write(bytes);
        buf.write('\r');
        buf.write('\n');
      }
      buf.writeTo(out);
      out.flush();
      return read();
    } catch (IOException e) {
      throw new UncheckedIOException("Redis on port " + socket.getPort() + " did not answer " + command.get(0), e);
    }
  }

  private Object read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed");
    }
    String line = line();
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new RespError(line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        byte[] bytes = in.readNBytes(n);
        if (bytes.length != n || in.read() != '\r' || in.read() != '\n') {
          throw new EOFException("truncated bulk string");
        }
        return new String(bytes, StandardCharsets.UTF_8);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        List<Object> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          try {
            list.add(read());
          } catch (RespError e) {
            list.add(e); // an error inside an array (EXEC, SENTINEL) is data, not a failed call
          }
        }
        return list;
      }
      default:
        throw new IOException("not a RESP2 reply type: " + (char) type);
    }
  }

  private String line() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (;;) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed mid-reply");
      }
      if (c == '\r') {
        if (in.read() != '\n') {
          throw new IOException("malformed RESP line");
        }
        return sb.toString();
      }
      sb.append((char) c);
    }
  }

  /** Parses the {@code field:value} lines of an {@code INFO} or {@code CLUSTER INFO} reply. */
  static Map<String, String> fields(Object reply) {
    Map<String, String> map = new LinkedHashMap<>();
    for (String line : String.valueOf(reply).split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("#")) {
        map.put(line.substring(0, colon), line.substring(colon + 1).strip());
      }
    }
    return map;
  }

  /** Parses a flat {@code [k1, v1, k2, v2...]} reply (as {@code SENTINEL MASTER} gives) into a map. */
  static Map<String, String> pairs(Object reply) {
    Map<String, String> map = new LinkedHashMap<>();
    if (reply instanceof List<?> list) {
      for (int i = 0; i + 1 < list.size(); i += 2) {
        map.put(String.valueOf(list.get(i)), String.valueOf(list.get(i + 1)));
      }
    }
    return map;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // Closing a loopback socket: nothing to recover.
    }
  }
}
