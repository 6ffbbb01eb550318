/**
 * Exact, lock-free rate limiters with a retry-after on every refusal: token buckets, leaky buckets
 * and per-key limiters in bounded memory. See {@link dev.shepherd.ratelimit}.
 */
// "module" is suppressed because the qualified export below names dev.shepherd.ratelimit.redis,
// which compiles after this module: javac's "module not found" warning is certain and harmless.
@SuppressWarnings("module")
module dev.shepherd.ratelimit {
  requires transitive dev.shepherd.core;

  exports dev.shepherd.ratelimit;
  // Ticket minting for the Redis slot admission; not API.
  exports dev.shepherd.ratelimit.internal to
      dev.shepherd.ratelimit.redis;
}
