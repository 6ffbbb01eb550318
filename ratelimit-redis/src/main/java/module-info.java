/**
 * One fleet-wide rate limit on Redis through Lettuce, with a local fallback when Redis is slow or
 * down. See {@link dev.shepherd.ratelimit.redis}.
 */
// Lettuce is not a named module: its jar is an automatic module, named lettuce.core by the
// Automatic-Module-Name in Lettuce's own manifest. We require it, transitively, because the builders
// take a Lettuce StatefulRedisConnection, so a user's module must read lettuce.core too.
// javac warns about any requires of an automatic module because a name derived from a jar's file
// name may change; this one is declared by Lettuce and stable, so both warnings are suppressed here,
// and only here. On the module path, an application puts Lettuce and its dependencies (Netty,
// Reactor, Reactive Streams: automatic modules too) beside this jar; on the class path nothing
// changes.
@SuppressWarnings({"requires-automatic", "requires-transitive-automatic"})
module dev.shepherd.ratelimit.redis {
  requires transitive dev.shepherd.ratelimit;
  requires transitive lettuce.core;

  exports dev.shepherd.ratelimit.redis;
}
