package dev.shepherd.virtualthreads;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * Runs a workload under a JFR recording of {@code jdk.VirtualThreadPinned} at a 0 ms threshold
 * (every pinned park, however short) and returns the pinned events, printing their count and the
 * first stack traces so a failure says where the pinning happened.
 */
final class PinnedEvents {

  static final int THREADS = 10_000;

  /** A workload that may throw. */
  @FunctionalInterface
  interface Workload {
    void run() throws Exception;
  }

  /** One task per virtual thread. */
  @FunctionalInterface
  interface Task {
    void run(int index) throws Exception;
  }

  private PinnedEvents() {}

  static List<RecordedEvent> during(String what, Workload workload) throws Exception {
    Path file = Files.createTempFile("shepherd-virtual-threads-", ".jfr");
    try {
      try (Recording recording = new Recording()) {
        recording.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
        recording.start();
        workload.run();
        recording.stop();
        recording.dump(file);
      }
      List<RecordedEvent> pinned = RecordingFile.readAllEvents(file).stream()
          .filter(e -> e.getEventType().getName().equals("jdk.VirtualThreadPinned"))
          .toList();
      System.out.println("[virtual-threads] " + what + ": " + pinned.size()
          + " jdk.VirtualThreadPinned events (threshold 0 ms), JDK " + Runtime.version());
      pinned.stream().limit(3).forEach(e -> System.out.println("[virtual-threads] pinned: " + e));
      return pinned;
    } finally {
      Files.deleteIfExists(file);
    }
  }

  /**
   * Runs {@code task} on {@link #THREADS} virtual threads and waits (bounded) until every one has
   * finished; rethrows the first failure.
   */
  static void onVirtualThreads(Task task) throws Exception {
    ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    try {
      Future<?>[] futures = new Future<?>[THREADS];
      for (int i = 0; i < THREADS; i++) {
        int index = i;
        futures[i] = executor.submit(() -> {
          task.run(index);
          return null;
        });
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      for (Future<?> f : futures) {
        f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    } finally {
      executor.shutdownNow();
    }
  }
}
