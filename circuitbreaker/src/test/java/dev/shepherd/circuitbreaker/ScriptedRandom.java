package dev.shepherd.circuitbreaker;

import java.util.random.RandomGenerator;

/** A generator whose next {@code nextDouble()} is set by the test, and which counts its draws. */
final class ScriptedRandom implements RandomGenerator {
  double next;
  int draws;

  @Override
  public long nextLong() {
    throw new UnsupportedOperationException("only nextDouble() is scripted");
  }

  @Override
  public double nextDouble() {
    draws++;
    return next;
  }
}
