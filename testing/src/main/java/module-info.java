/**
 * What the tests of code that uses Shepherd need: {@link dev.shepherd.testing.ManualClock}, a
 * {@link dev.shepherd.core.Ticker} and {@link dev.shepherd.core.Sleeper} whose time moves only when
 * told to, a {@link dev.shepherd.testing.ManualScheduler} on it, a
 * {@link dev.shepherd.testing.RecordingListener}, and the loopback {@link dev.shepherd.testing.RedisServer}.
 * Depend on it in test scope.
 */
module dev.shepherd.testing {
  requires transitive dev.shepherd.core;
  // RedisServer skips a test by throwing opentest4j's TestAbortedException (unchecked: callers
  // never need to name it, so the requires is not transitive).
  requires org.opentest4j;

  exports dev.shepherd.testing;
}
