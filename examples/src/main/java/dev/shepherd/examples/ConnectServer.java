package dev.shepherd.examples;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live fleet's connect server: persistent TCP connections on 127.0.0.1 speaking a plain line
 * protocol, each authenticated before it is accepted.
 *
 * <h2>Protocol</h2>
 * UTF-8 text, one message per line ending in {@code \n}:
 * <ul>
 *   <li>hub → server, once, first: {@code HELLO <deviceId> <secret>};
 *   <li>server → hub: {@code OK} — the connection is accepted and stays open, silent, until
 *       either side closes it; or {@code RETRY <seconds>} — refused for now, come back after at
 *       least that many seconds (a decimal, like HTTP's Retry-After but finer), then the server
 *       closes; or {@code DENIED} — wrong credentials, then the server closes; or {@code ERROR
 *       <text>} for a malformed hello.
 * </ul>
 * A hub that hears nothing within its own timeout gives up and closes. The server does not
 * notice: whatever work it started for that hub (a database query) still runs to the end.
 *
 * <p>Handshakes run on a fixed pool of worker threads, queueing (up to a few thousand, then
 * refused by closing the connection) when all are busy, as in a real server; accepted connections
 * hold no thread. {@link #dropAll()} closes every accepted connection
 * at once: the load balancer's failure that started the outage. Thread-safe; {@link #close()}
 * stops everything and is idempotent.
 */
final class ConnectServer implements AutoCloseable {

  /** What the server does with one authenticated hello. */
  interface Gate {
    /**
     * Decides on one hello; may block (a database query).
     *
     * @param deviceId the device's id
     * @param secret the secret it presented
     * @return the reply line, without the newline: {@code OK}, {@code DENIED} or
     *     {@code RETRY <seconds>}
     * @throws InterruptedException if the worker is interrupted (the server is closing)
     */
    String decide(String deviceId, byte[] secret) throws InterruptedException;
  }

  private static final int WORKERS = 32;
  /** Handshakes waiting for a worker beyond this are refused by closing the connection. */
  private static final int MAX_QUEUED = 4_096;
  private static final int HELLO_TIMEOUT_MILLIS = 2_000;

  private final ServerSocket listener;
  private final Gate gate;
  private final ExecutorService workers;
  private final Thread acceptor;
  private final Set<Socket> live = ConcurrentHashMap.newKeySet();
  private final AtomicLong hellos = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicInteger queued = new AtomicInteger();
  private volatile boolean closed;

  private ConnectServer(ServerSocket listener, Gate gate) {
    this.listener = listener;
    this.gate = gate;
    AtomicInteger ids = new AtomicInteger();
    this.workers = new ThreadPoolExecutor(WORKERS, WORKERS, 0L, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(MAX_QUEUED), runnable -> {
          Thread thread = new Thread(runnable, "connect-worker-" + ids.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        });
    this.acceptor = new Thread(this::acceptLoop, "connect-acceptor");
    this.acceptor.setDaemon(true);
  }

  /**
   * Starts a server on 127.0.0.1 and an ephemeral port.
   *
   * @param gate decides on each hello
   * @return the running server
   * @throws IOException if the port cannot be bound
   */
  static ConnectServer start(Gate gate) throws IOException {
    ServerSocket listener = new ServerSocket(0, 4_096, Loopback.ADDRESS);
    ConnectServer server = new ConnectServer(listener, gate);
    server.acceptor.start();
    return server;
  }

  /** Returns the port the server listens on. */
  int port() {
    return listener.getLocalPort();
  }

  /** Returns the address the server listens on: always 127.0.0.1. */
  java.net.InetAddress address() {
    return listener.getInetAddress();
  }

  /** Returns how many hellos have been received. */
  long hellos() {
    return hellos.get();
  }

  /** Returns how many hellos were answered {@code RETRY}. */
  long refused() {
    return refused.get();
  }

  /** Returns how many connections have been accepted so far. */
  long accepted() {
    return accepted.get();
  }

  /** Returns how many accepted connections are open now. */
  int liveConnections() {
    return live.size();
  }

  /** Returns how many handshakes wait for a worker. */
  int queuedHandshakes() {
    return queued.get();
  }

  /**
   * Closes every accepted connection at once, as the failed load balancer did.
   *
   * @return how many connections were dropped
   */
  int dropAll() {
    int dropped = 0;
    for (Socket socket : live) {
      if (live.remove(socket)) {
        closeQuietly(socket);
        dropped++;
      }
    }
    return dropped;
  }

  private void acceptLoop() {
    while (!closed) {
      Socket socket;
      String hello;
      try {
        socket = listener.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      try {
        // The request is read as it arrives and queued with its connection: once queued, it is
        // served even if the hub gives up meanwhile, as a real server would.
        socket.setSoTimeout(HELLO_TIMEOUT_MILLIS);
        socket.setTcpNoDelay(true);
        hello = readLine(socket.getInputStream());
      } catch (IOException e) {
        closeQuietly(socket);
        continue;
      }
      queued.incrementAndGet();
      try {
        workers.execute(() -> {
          queued.decrementAndGet();
          handshake(socket, hello);
        });
      } catch (RejectedExecutionException full) {
        queued.decrementAndGet();
        closeQuietly(socket);
      }
    }
  }

  private static String readLine(InputStream in) throws IOException {
    StringBuilder line = new StringBuilder();
    while (line.length() < 512) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed before a full line");
      }
      if (b == '\n') {
        return line.toString();
      }
      line.append((char) b);
    }
    throw new IOException("line too long");
  }

  private void handshake(Socket socket, String line) {
    try {
      String[] parts = line.split(" ", -1);
      if (parts.length != 3 || !parts[0].equals("HELLO") || parts[1].isEmpty() || parts[2].isEmpty()) {
        reply(socket, "ERROR expected HELLO <deviceId> <secret>");
        closeQuietly(socket);
        return;
      }
      hellos.incrementAndGet();
      String answer = gate.decide(parts[1], parts[2].getBytes(StandardCharsets.UTF_8));
      if (answer.equals("OK")) {
        socket.setSoTimeout(0);
        live.add(socket);
        accepted.incrementAndGet();
        reply(socket, "OK");
        if (closed) {
          live.remove(socket);
          closeQuietly(socket);
        }
      } else {
        if (answer.startsWith("RETRY")) {
          refused.incrementAndGet();
        }
        reply(socket, answer);
        closeQuietly(socket);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closeQuietly(socket);
    } catch (IOException | RuntimeException e) {
      // The hub went away (timed out, dropped): nothing to answer.
      live.remove(socket);
      closeQuietly(socket);
    }
  }

  /** Formats a {@code RETRY} reply for a hint in nanoseconds, to the millisecond, rounded up. */
  static String retryLine(long retryAfterNanos) {
    long millis = Math.max(1L, (retryAfterNanos + 999_999L) / 1_000_000L);
    return String.format(Locale.ROOT, "RETRY %d.%03d", millis / 1000, millis % 1000);
  }

  private static void reply(Socket socket, String line) throws IOException {
    OutputStream out = socket.getOutputStream();
    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static void closeQuietly(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closing is best effort
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      listener.close();
    } catch (IOException ignored) {
      // best effort
    }
    dropAll();
    workers.shutdownNow();
    try {
      acceptor.join(5_000);
      workers.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
