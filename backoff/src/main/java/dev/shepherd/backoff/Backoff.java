package dev.shepherd.backoff;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.random.RandomGenerator;

/**
 * A backoff policy: how long to wait before each retry of one retry loop.
 *
 * <p>A {@code Backoff} is immutable and thread-safe; it holds configuration only. Each retry loop
 * (one call's retries, one connection's reconnects) calls {@link #start(RandomGenerator)} for a fresh
 * {@link Schedule}, whose {@link Schedule#nextDelayNanos()} gives the wait before retry 1, 2, 3, ...
 *
 * <h2>The policies</h2>
 *
 * <p>n is the retry number (1 for the wait before the first retry), U a uniform draw. Every delay
 * is a whole number of nanoseconds; each factory states the exact interval its delays lie in, for
 * every n up to and beyond {@link Integer#MAX_VALUE}:
 *
 * <table class="striped">
 *   <caption>Delay before retry n</caption>
 *   <thead><tr><th>factory</th><th>delay</th><th>once capped</th></tr></thead>
 *   <tbody>
 *     <tr><td>{@link #constant constant(d)}</td><td>d</td><td>(no cap)</td></tr>
 *     <tr><td>{@link #linear linear(base, step, cap)}</td><td>min(cap, base + (n−1)·step)</td><td>cap</td></tr>
 *     <tr><td>{@link #exponential exponential(base, k, cap)}</td><td>min(cap, base·k^(n−1))</td><td>cap</td></tr>
 *     <tr><td>{@link #fullJitter fullJitter(base, cap)}</td><td>U[0, m], m = min(cap, base·2^(n−1))</td>
 *         <td>U[0, cap]</td></tr>
 *     <tr><td>{@link #equalJitter equalJitter(base, cap)}</td><td>m/2 + U[0, m/2]</td><td>U[cap/2, cap]</td></tr>
 *     <tr><td>{@link #decorrelatedJitter decorrelatedJitter(base, cap)}</td><td>U[base, min(cap, 3·previous)]</td>
 *         <td>U[base, cap]</td></tr>
 *     <tr><td>{@link #decorrelatedJitterV2 decorrelatedJitterV2(median, cap)}</td>
 *         <td>Polly's v2 formula, in [0, min(cap, median·2^n/1.4)]</td><td>U[cap/2, cap]</td></tr>
 *     <tr><td>{@link #grpc() grpc()}</td><td>c·U[1−j, 1+j], c = min(max, initial·k^(n−1))</td>
 *         <td>U[max·(1−j), max·(1+j)]</td></tr>
 *     <tr><td>{@link #withJitter p.withJitter(f)}</td><td>U[d·(1−f), min(cap, d·(1+f))], d from p</td>
 *         <td>U[cap·(1−f), cap]</td></tr>
 *   </tbody>
 * </table>
 *
 * <h2>Guarantees</h2>
 *
 * <ul>
 *   <li><b>No overflow.</b> Any retry number up to {@link Integer#MAX_VALUE}, a schedule advanced
 *       any number of times, caps up to {@code Long.MAX_VALUE} nanoseconds (durations beyond about
 *       292 years saturate there): every delay stays inside its interval and is never negative.
 *       Growth stops at the cap instead of multiplying on, counters saturate, and each delay costs
 *       O(1) work, whatever n.
 *   <li><b>Jitter survives the cap.</b> No jittered policy clamps a draw to the cap (which would make
 *       every capped client wait exactly {@code cap} and re-synchronise the fleet). The cap bounds
 *       the interval the draw is taken from (full, equal and decorrelated jitter,
 *       {@link #withJitter}), or is the centre the jitter is applied around ({@link #grpc()}), or a
 *       formula value above it is replaced by a draw from {@code [cap/2, cap]}
 *       ({@link #decorrelatedJitterV2}): capped delays stay spread as the table shows.
 *   <li><b>Reproducible.</b> A schedule started with a seeded generator gives the same delays for
 *       the same seed. The unjittered policies draw nothing.
 *   <li><b>Cheap.</b> {@link Schedule#nextDelayNanos()} allocates nothing and costs a few
 *       nanoseconds: one or two random draws and no integer division on the common path
 *       ({@link #decorrelatedJitterV2} also evaluates two exponentials until it reaches its cap).
 *   <li><b>Bad configuration fails at build time</b>, in the factory, with an
 *       {@link IllegalArgumentException} naming the parameter and its value ({@code "cap must be
 *       positive: PT0S"}).
 * </ul>
 *
 * <p>Which one to use: {@link #fullJitter} spreads a fleet best and is the default choice for
 * clients that all fail together; {@link #grpc()} matches gRPC clients; the unjittered policies
 * suit a single client or tests, and {@link #withJitter} adds spread to any of them.
 */
public interface Backoff {

  /**
   * Starts a schedule whose random draws come from {@code random}; a seeded generator makes the
   * schedule reproducible.
   *
   * @param random the source of jitter; used only by the returned schedule's thread(s)
   * @return a fresh schedule, positioned before retry 1
   * @throws NullPointerException if {@code random} is null
   */
  Schedule start(RandomGenerator random);

  /**
   * Starts a schedule that draws each random value from {@link ThreadLocalRandom#current()} at the
   * moment of the draw. Nothing is captured at start, so the schedule may move between threads (an
   * asynchronous retry whose continuation runs elsewhere) without two threads ever sharing a
   * generator. The schedule itself is still for one loop at a time.
   *
   * @return a fresh schedule, positioned before retry 1
   */
  default Schedule start() {
    return start(Randoms.CurrentThread.INSTANCE);
  }

  /**
   * Returns this policy with proportional jitter: each delay d becomes uniform on the nanoseconds of
   * {@code [d·(1 − f), min(cap, d·(1 + f))]} (lower end rounded up, upper end rounded down), where
   * {@code cap} is the cap given to this policy's factory; for {@link #constant} and for policies
   * not built by this interface, there is no cap and the interval is {@code [d·(1 − f), d·(1 + f)]}.
   * For {@link #grpc()}, the cap is its largest delay, {@code maxBackoff·(1 + jitter)}.
   *
   * <p>At the cap: jitter never pushes a delay above the cap, and the cap bounds the interval
   * instead of clamping the draw, so every capped delay is uniform on {@code [cap·(1 − f), cap]}:
   * capped clients stay spread instead of all waiting exactly {@code cap}. Example:
   * {@code exponential(1 s, 2, 30 s).withJitter(0.2)} waits U[0.8 s, 1.2 s], U[1.6 s, 2.4 s], ...,
   * U[12.8 s, 19.2 s], then U[24 s, 30 s] for ever.
   *
   * @param factor f, in {@code [0, 1)}; 0 leaves the delays unchanged
   * @return a new policy; this one is unchanged
   * @throws IllegalArgumentException if {@code factor} is NaN or outside {@code [0, 1)}
   */
  default Backoff withJitter(double factor) {
    return new Jitter(this, Args.jitter(factor, "factor"));
  }

  /**
   * The same delay before every retry: {@code d}.
   *
   * @param delay d, positive
   * @return a policy whose every delay is exactly {@code delay}
   * @throws NullPointerException if {@code delay} is null
   * @throws IllegalArgumentException if {@code delay} is zero or negative
   */
  static Backoff constant(Duration delay) {
    return new ConstantBackoff(Args.positiveNanos(delay, "delay"));
  }

  /**
   * A delay growing by {@code step} each retry up to {@code cap}: retry n waits exactly
   * {@code min(cap, base + (n − 1)·step)}, computed in exact nanoseconds. Every delay lies in
   * {@code [base, cap]}; the sequence never decreases.
   *
   * @param base the first delay, positive, at most {@code cap}
   * @param step the growth per retry, positive
   * @param cap the largest delay, positive
   * @return an unjittered linear policy
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a duration is zero or negative, or {@code base > cap}
   */
  static Backoff linear(Duration base, Duration step, Duration cap) {
    long baseNanos = Args.positiveNanos(base, "base");
    long stepNanos = Args.positiveNanos(step, "step");
    long capNanos = Args.positiveNanos(cap, "cap");
    Args.atMostCap(base, "base", cap, "cap");
    return new LinearBackoff(baseNanos, stepNanos, capNanos);
  }

  /**
   * A delay multiplied by {@code multiplier} each retry up to {@code cap}: retry n waits
   * {@code min(cap, base·multiplier^(n − 1))}, computed in double precision and truncated to
   * nanoseconds. Every delay lies in {@code [base, cap]}; the sequence never decreases. There is no
   * jitter: combine with {@link #withJitter} or prefer {@link #fullJitter} for a fleet.
   *
   * @param base the first delay, positive, at most {@code cap}
   * @param multiplier the growth factor, finite and at least 1 (1 makes a constant policy)
   * @param cap the largest delay, positive
   * @return an unjittered exponential policy
   * @throws NullPointerException if a duration is null
   * @throws IllegalArgumentException if a duration is zero or negative, {@code base > cap}, or
   *     {@code multiplier} is below 1, NaN or infinite
   */
  static Backoff exponential(Duration base, double multiplier, Duration cap) {
    long baseNanos = Args.positiveNanos(base, "base");
    long capNanos = Args.positiveNanos(cap, "cap");
    Args.atMostCap(base, "base", cap, "cap");
    return new ExponentialBackoff(baseNanos, Args.multiplier(multiplier, "multiplier"), capNanos);
  }

  /**
   * AWS's "full jitter": retry n waits a uniform draw from {@code [0, m]} nanoseconds, where
   * {@code m = min(cap, base·2^(n − 1))} (exact integer arithmetic). Every delay lies in
   * {@code [0, min(cap, base·2^(n − 1))]}; once {@code m} reaches the cap, delays are uniform on
   * {@code [0, cap]}. The best spread for a fleet that fails at one instant: the first retries of N
   * clients are uniform over {@code [0, base]}.
   *
   * @param base the ceiling of the first delay, positive, at most {@code cap}
   * @param cap the largest ceiling, positive
   * @return a full-jitter policy
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a duration is zero or negative, or {@code base > cap}
   */
  static Backoff fullJitter(Duration base, Duration cap) {
    long baseNanos = Args.positiveNanos(base, "base");
    long capNanos = Args.positiveNanos(cap, "cap");
    Args.atMostCap(base, "base", cap, "cap");
    return new FullJitterBackoff(baseNanos, capNanos);
  }

  /**
   * AWS's "equal jitter": retry n waits {@code m/2 + U[0, m/2]} with
   * {@code m = min(cap, base·2^(n − 1))}; in nanoseconds the delay is uniform on
   * {@code [ceil(m/2), m]}, which is the exact interval. Once capped, delays are uniform on
   * {@code [ceil(cap/2), cap]}. Never shorter than half the ceiling, at the price of less spread
   * than {@link #fullJitter}.
   *
   * @param base the ceiling of the first delay, positive, at most {@code cap}
   * @param cap the largest ceiling, positive
   * @return an equal-jitter policy
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a duration is zero or negative, or {@code base > cap}
   */
  static Backoff equalJitter(Duration base, Duration cap) {
    long baseNanos = Args.positiveNanos(base, "base");
    long capNanos = Args.positiveNanos(cap, "cap");
    Args.atMostCap(base, "base", cap, "cap");
    return new EqualJitterBackoff(baseNanos, capNanos);
  }

  /**
   * AWS's "decorrelated jitter", made cap-safe: each delay is uniform on the nanoseconds of
   * {@code [base, min(cap, 3·previous)]}, where {@code previous} is the delay before it (base before
   * the first retry). AWS's original takes {@code min(cap, U[base, 3·previous])}, which puts every
   * draw above the cap exactly on the cap; drawing from the capped interval instead keeps capped
   * delays uniform on {@code [base, cap]}. Retry n waits within {@code [base, min(cap, base·3^n)]}.
   * With {@code base == cap} every delay is {@code base}.
   *
   * @param base the smallest delay, positive, at most {@code cap}
   * @param cap the largest delay, positive
   * @return a decorrelated-jitter policy
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a duration is zero or negative, or {@code base > cap}
   */
  static Backoff decorrelatedJitter(Duration base, Duration cap) {
    long baseNanos = Args.positiveNanos(base, "base");
    long capNanos = Args.positiveNanos(cap, "cap");
    Args.atMostCap(base, "base", cap, "cap");
    return new DecorrelatedJitterBackoff(baseNanos, capNanos);
  }

  /**
   * Polly's "decorrelated jitter v2" (George Polevoy's formula, as scaled in Polly), which keeps
   * the exponential growth of the median without AWS decorrelated jitter's clusters. With
   * {@code g(t) = 2^t·tanh(√(4t))}, {@code t_n = n − 1 + U_n} ({@code U_n} uniform on [0, 1)) and
   * {@code g(t_0) = 0}, the formula for retry n is
   *
   * <pre>  raw_n = (g(t_n) − g(t_(n−1))) · medianFirstDelay / 1.4</pre>
   *
   * <p>and the delay is {@code floor(raw_n)} when {@code raw_n < cap}. When {@code raw_n >= cap}
   * (Polly would return exactly {@code cap}), the delay is instead uniform on the nanoseconds of
   * {@code [ceil(cap/2), cap]}, so capped clients stay spread. Every delay lies in
   * {@code [0, min(cap, medianFirstDelay·2^n/1.4)]}. Before the cap, the median of delay n is
   * close to {@code medianFirstDelay·2^(n−2)} from the third retry on (0.90× and 1.14×
   * {@code medianFirstDelay} for the first two), so the median of the total time waited after n
   * retries is near {@code medianFirstDelay·2^(n−1)}. The formula is evaluated
   * with the common power of two factored out, so it neither overflows nor produces NaN for any n
   * (a literal {@code 2^t} is infinite from t = 1024 on).
   *
   * @param medianFirstDelay the scale: roughly the median of the first delay, positive, at most
   *     {@code cap}
   * @param cap the largest delay, positive
   * @return a decorrelated-jitter-v2 policy
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if a duration is zero or negative, or
   *     {@code medianFirstDelay > cap}
   */
  static Backoff decorrelatedJitterV2(Duration medianFirstDelay, Duration cap) {
    long medianNanos = Args.positiveNanos(medianFirstDelay, "medianFirstDelay");
    long capNanos = Args.positiveNanos(cap, "cap");
    Args.atMostCap(medianFirstDelay, "medianFirstDelay", cap, "cap");
    return new DecorrelatedJitterV2Backoff(medianNanos, capNanos);
  }

  /**
   * gRPC's connection backoff with its published defaults ({@link GrpcConfig#defaults()}): initial
   * backoff 1 s, multiplier 1.6, jitter ±20 %, maximum backoff 120 s. Same as
   * {@code grpc(GrpcConfig.defaults())}; see {@link #grpc(GrpcConfig)} for the formula. With the
   * defaults, retry 1 waits within [0.8 s, 1.2 s] and every capped retry within [96 s, 144 s].
   *
   * @return the gRPC policy with default parameters
   */
  static Backoff grpc() {
    return grpc(GrpcConfig.defaults());
  }

  /**
   * gRPC's connection backoff: the centre {@code c_n = min(maxBackoff, initialBackoff·multiplier^(n −
   * 1))} (double precision, truncated to nanoseconds) grows and is capped first; then, as grpc-java
   * does, jitter is applied around the capped centre: retry n waits a uniform draw from the
   * nanoseconds of {@code [c_n·(1 − jitter), c_n·(1 + jitter)]} (lower end rounded up, upper end
   * rounded down). The maximum is therefore the centre of capped delays, not a ceiling: capped
   * delays are uniform on {@code [maxBackoff·(1 − jitter), maxBackoff·(1 + jitter)]}, so a fleet at
   * the cap stays spread. Every delay lies in
   * {@code [initialBackoff·(1 − jitter), maxBackoff·(1 + jitter)]}.
   *
   * @param config the parameters
   * @return the gRPC policy
   * @throws NullPointerException if {@code config} is null
   */
  static Backoff grpc(GrpcConfig config) {
    return new GrpcBackoff(Objects.requireNonNull(config, "config"));
  }

  /**
   * The waits of one retry loop. Not thread-safe: one schedule belongs to one loop.
   */
  interface Schedule {

    /**
     * Returns the wait before the next retry and moves to the one after; never negative.
     *
     * @return the wait in nanoseconds
     */
    long nextDelayNanos();

    /**
     * Returns the wait before the next retry as a {@link Duration}; allocates, unlike
     * {@link #nextDelayNanos()}.
     *
     * @return the wait
     */
    default Duration nextDelay() {
      return Duration.ofNanos(nextDelayNanos());
    }
  }
}
