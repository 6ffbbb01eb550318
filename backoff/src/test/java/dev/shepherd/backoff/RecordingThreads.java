package dev.shepherd.backoff;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;

/** A thread factory for reconnectors under test: keeps its daemon threads, to check none outlives its test. */
final class RecordingThreads implements ThreadFactory {

  private final List<Thread> threads = new CopyOnWriteArrayList<>();

  @Override
  public Thread newThread(Runnable task) {
    Thread t = new Thread(task, "test-reconnector");
    t.setDaemon(true);
    threads.add(t);
    return t;
  }

  /** The threads made so far, in order. */
  List<Thread> threads() {
    return threads;
  }

  /** Waits (bounded) for every thread made to end, and fails if one does not. */
  void assertAllEnd(Duration patience) throws InterruptedException {
    for (Thread t : threads) {
      t.join(patience.toMillis());
      assertFalse(t.isAlive(), "the loop's thread must end after close()");
    }
  }
}
