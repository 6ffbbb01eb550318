/**
 * Requires every Shepherd library module, as a user's module would; compiling it proves that each
 * module's exports and transitive requires are enough to use it, and {@code JpmsCheck} proves the
 * rest when it runs on the module path.
 */
module dev.shepherd.jpmscheck {
  requires dev.shepherd.core;
  requires dev.shepherd.testing;
  requires dev.shepherd.backoff;
  requires dev.shepherd.ratelimit;
  requires dev.shepherd.ratelimit.redis;
  requires dev.shepherd.bulkhead;
  requires dev.shepherd.circuitbreaker;
  requires dev.shepherd.auth;
  requires dev.shepherd.micrometer;
  requires dev.shepherd.storm;
}
