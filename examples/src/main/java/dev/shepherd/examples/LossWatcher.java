package dev.shepherd.examples;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Watches every live hub connection of a fleet on one thread and tells each {@link HubLink} when
 * its server closes it, so that a fleet of thousands needs no reader thread per connection.
 *
 * <p>The protocol has the server silent after {@code OK}, so anything readable is either data to
 * discard or the end of the stream, which means the connection is gone. Thread-safe;
 * {@link #close()} stops the thread and marks every watched link lost.
 */
final class LossWatcher implements AutoCloseable {

  private final Selector selector;
  private final Queue<HubLink> incoming = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  private volatile boolean closed;

  LossWatcher() throws IOException {
    this.selector = Selector.open();
    this.thread = new Thread(this::loop, "hub-loss-watcher");
    this.thread.setDaemon(true);
    this.thread.start();
  }

  /** Starts watching {@code link}, whose channel is connected and non-blocking. */
  void watch(HubLink link) {
    incoming.add(link);
    selector.wakeup();
    if (closed) {
      link.lost();
    }
  }

  private void loop() {
    ByteBuffer sink = ByteBuffer.allocate(256);
    try {
      while (!closed) {
        selector.select(1_000);
        HubLink link;
        while ((link = incoming.poll()) != null) {
          try {
            link.channel().register(selector, SelectionKey.OP_READ, link);
          } catch (IOException | RuntimeException e) {
            link.lost(); // closed before it could be watched
          }
        }
        Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
        while (keys.hasNext()) {
          SelectionKey key = keys.next();
          keys.remove();
          HubLink watched = (HubLink) key.attachment();
          int read;
          try {
            sink.clear();
            read = watched.channel().read(sink);
          } catch (IOException | RuntimeException e) {
            read = -1;
          }
          if (read < 0) {
            key.cancel();
            watched.lost();
          }
        }
      }
    } catch (IOException | ClosedSelectorException e) {
      // the watcher is closing
    } finally {
      for (SelectionKey key : selector.keys()) {
        ((HubLink) key.attachment()).lost();
      }
      HubLink link;
      while ((link = incoming.poll()) != null) {
        link.lost();
      }
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    selector.wakeup();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    selector.close();
  }
}
