package dev.shepherd.ratelimit.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP relay on 127.0.0.1 between a replica and its master, whose master-to-replica direction
 * can be held: the replica then falls behind by exactly what is held, while its link stays up
 * (what a slow network does to asynchronous replication). Closing drops what is held.
 */
final class HeldLink implements AutoCloseable {

  private final ServerSocket server;
  private final int masterPort;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final List<Thread> threads = new CopyOnWriteArrayList<>();
  private volatile CountDownLatch gate = new CountDownLatch(0);
  private volatile boolean closed;

  /** A relay to the master on {@code masterPort}, listening on a free loopback port. */
  HeldLink(int masterPort) throws IOException {
    this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    this.masterPort = masterPort;
    start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /** From now on, what the master sends is held (the replica's acknowledgements still pass). */
  void hold() {
    gate = new CountDownLatch(1);
  }

  private void accept() {
    while (!closed) {
      Socket replica;
      try {
        replica = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Socket master;
      try {
        master = new Socket("127.0.0.1", masterPort);
      } catch (IOException e) {
        closeQuietly(replica);
        continue;
      }
      sockets.add(replica);
      sockets.add(master);
      start(() -> pump(replica, master, false));
      start(() -> pump(master, replica, true));
    }
  }

  private void pump(Socket from, Socket to, boolean holdable) {
    byte[] buffer = new byte[8192];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      for (int n = in.read(buffer); n >= 0 && !closed; n = in.read(buffer)) {
        if (holdable) {
          gate.await(); // close() opens it, and then nothing more is written
        }
        if (closed) {
          return;
        }
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // the link is closing
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void start(Runnable body) {
    Thread t = new Thread(body, "held-link");
    t.setDaemon(true);
    threads.add(t);
    t.start();
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // closing anyway
    }
  }

  /** Drops what is held, closes every connection and waits (bounded) for the relay's threads. */
  @Override
  public void close() {
    closed = true;
    gate.countDown();
    closeQuietly(server);
    sockets.forEach(HeldLink::closeQuietly);
    boolean interrupted = false;
    for (Thread t : threads) {
      try {
        t.join(5_000);
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
