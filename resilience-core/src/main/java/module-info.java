/**
 * Shepherd's core: injected time ({@link dev.shepherd.core.Ticker}, {@link dev.shepherd.core.Sleeper}),
 * the {@link dev.shepherd.core.Policy} contract and its composition,
 * {@link dev.shepherd.core.RejectedException} with its retry-after hint, and typed events with their
 * listeners. It reads the SLF4J API and nothing else.
 *
 * <p>{@code dev.shepherd.core.internal} holds plumbing that Shepherd's own modules share (argument
 * checks, duration arithmetic). It is exported only to them, so it never becomes a promise to users.
 */
// Why "module" is suppressed, and nothing else: the qualified export below names every Shepherd module
// that may use the internal package, and javac warns "module not found" for each one that is not
// compiled yet. Core compiles first, and some of these modules (circuitbreaker, micrometer, storm)
// are still being added, so the warning is certain and harmless; with -Werror it would fail the build.
@SuppressWarnings("module")
module dev.shepherd.core {
  requires transitive org.slf4j;

  exports dev.shepherd.core;

  exports dev.shepherd.core.internal to
      dev.shepherd.testing,
      dev.shepherd.backoff,
      dev.shepherd.ratelimit,
      dev.shepherd.ratelimit.redis,
      dev.shepherd.bulkhead,
      dev.shepherd.circuitbreaker,
      dev.shepherd.auth,
      dev.shepherd.micrometer,
      dev.shepherd.storm;
}
