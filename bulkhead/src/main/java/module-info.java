/**
 * Concurrency bulkheads: {@code Bulkhead} with a fixed limit and {@code AdaptiveBulkhead} whose limit
 * follows the upstream's latency. See {@link dev.shepherd.bulkhead}.
 */
module dev.shepherd.bulkhead {
  requires transitive dev.shepherd.core;

  exports dev.shepherd.bulkhead;
}
