package dev.shepherd.core;

import dev.shepherd.core.internal.Durations;

import dev.shepherd.core.internal.Checks;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** The real clock: {@link System#nanoTime()} and {@link TimeUnit#sleep(long)}. */
enum SystemTime implements Ticker, Sleeper {
  INSTANCE;

  @Override
  public long read() {
    return System.nanoTime();
  }

  @Override
  public void sleep(Duration duration) throws InterruptedException {
    Checks.nonNegative(duration, "duration");
    if (Thread.interrupted()) {
      throw new InterruptedException("interrupted before sleeping");
    }
    TimeUnit.NANOSECONDS.sleep(Durations.toNanosSaturated(duration));
  }

  @Override
  public String toString() {
    return "SystemTime";
  }
}
