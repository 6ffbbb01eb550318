/**
 * What the tests of code that uses Shepherd need, starting with {@link dev.shepherd.testing.ManualClock},
 * a {@link dev.shepherd.core.Ticker} and {@link dev.shepherd.core.Sleeper} whose time moves only when
 * told to. Depend on it in test scope.
 */
module dev.shepherd.testing {
  requires transitive dev.shepherd.core;

  exports dev.shepherd.testing;
}
