/**
 * Exact, lock-free rate limiters with a retry-after on every refusal: token buckets, leaky buckets
 * and per-key limiters in bounded memory. See {@link dev.shepherd.ratelimit}.
 */
module dev.shepherd.ratelimit {
  requires transitive dev.shepherd.core;

  exports dev.shepherd.ratelimit;
}
