/**
 * Concurrency bulkheads: a hard cap on calls in flight, so that a stalled upstream makes callers
 * fail fast instead of piling up, scaling out and taking everything else down with it.
 *
 * <ul>
 *   <li>{@link dev.shepherd.bulkhead.Bulkhead}: a fixed limit, changeable at run time, with optional
 *       bounded waiting and FIFO fairness.
 *   <li>{@link dev.shepherd.bulkhead.AdaptiveBulkhead}: a limit between a minimum and a maximum that
 *       follows the upstream: additive growth while calls come back within the latency target,
 *       multiplicative decrease on timeouts, drops and latency far above the observed minimum.
 *   <li>{@link dev.shepherd.bulkhead.DeadlineGuard}: a limit with a bounded queue (newest first by
 *       default) that never starts work for a caller who has left: each call brings its
 *       {@link dev.shepherd.core.Deadline}, and queued work whose deadline has passed (optionally,
 *       work that could not finish in time) is dropped before it starts.
 *   <li>{@link dev.shepherd.bulkhead.Permit}: the handle both bulkheads hand out; it releases exactly once,
 *       however often it is closed, and carries the call's outcome to an adaptive limit.
 *   <li>{@link dev.shepherd.bulkhead.BulkheadFullException}: the rejection, a
 *       {@link dev.shepherd.core.RejectedException} naming the bulkhead and its limit.
 * </ul>
 *
 * <p>Both bulkheads are {@link dev.shepherd.core.Policy policies}, so they compose with retries and
 * rate limiters ({@code Policy.compose(retry, bulkhead)}: the retry sees each rejection), and both
 * keep the project's promises: the path that grants and releases a permit takes no lock, allocates
 * nothing (beyond the permit handle when one is asked for) and logs nothing; no permit is ever lost
 * to a timeout, an interrupt, an exception or a cancellation, nor created by a double release;
 * waiting uses {@code java.util.concurrent} primitives, never {@code synchronized}, so virtual
 * threads do not pin; time is read from an injected {@link dev.shepherd.core.Ticker}, so tests run
 * on a {@code ManualClock}.
 */
package dev.shepherd.bulkhead;
