/**
 * The discrete-event reconnect-storm simulator: a fleet of hubs and their connect servers running
 * Shepherd's own classes on a simulated clock. See {@link dev.shepherd.storm}.
 */
module dev.shepherd.storm {
  requires transitive dev.shepherd.core;
  // A Strategy runs on the simulation's ManualClock and may take any Backoff: both in its API.
  requires transitive dev.shepherd.testing;
  requires transitive dev.shepherd.backoff;
  requires dev.shepherd.ratelimit;
  requires dev.shepherd.bulkhead;
  requires dev.shepherd.auth;

  exports dev.shepherd.storm;
}
