/**
 * Micrometer meters for every Shepherd primitive. See {@link dev.shepherd.micrometer}.
 */
// Micrometer's core is not a named module: its jar is the automatic module micrometer.core, a name
// declared by Micrometer's own manifest (Automatic-Module-Name), so it is stable; the binders take a
// MeterRegistry and return MeterBinders, so the requires is transitive. javac warns about requiring
// any automatic module; both warnings are suppressed here, and only here.
// The library modules are optional (requires static), as in the POM: each binder class names only its
// own module's types, and a user's module reads the ones it uses.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.shepherd.micrometer {
  requires transitive dev.shepherd.core;
  requires transitive micrometer.core;
  requires static transitive dev.shepherd.auth;
  requires static transitive dev.shepherd.backoff;
  requires static transitive dev.shepherd.bulkhead;
  requires static transitive dev.shepherd.circuitbreaker;
  requires static transitive dev.shepherd.ratelimit;
  requires static transitive dev.shepherd.ratelimit.redis;

  exports dev.shepherd.micrometer;
}
