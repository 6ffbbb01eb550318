package dev.shepherd.backoff;

import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import java.time.Duration;
import java.util.Objects;

/**
 * The parameters of gRPC's connection backoff, for {@link Backoff#grpc(GrpcConfig)}.
 *
 * <p>The defaults are those published in gRPC's
 * <a href="https://github.com/grpc/grpc/blob/master/doc/connection-backoff.md">connection backoff
 * protocol</a>: initial backoff 1 s, multiplier 1.6, jitter 0.2 (±20 %), maximum backoff 120 s.
 * Change any of them with {@link #builder()}:
 *
 * <pre>{@code
 * Backoff backoff = Backoff.grpc(GrpcConfig.builder().maxBackoff(Duration.ofSeconds(30)).build());
 * }</pre>
 *
 * <p>Immutable and thread-safe. {@link Builder#build()} validates every value.
 */
public final class GrpcConfig {

  private static final GrpcConfig DEFAULTS = builder().build();

  private final Duration initialBackoff;
  private final double multiplier;
  private final double jitter;
  private final Duration maxBackoff;
  private final long initialBackoffNanos;
  private final long maxBackoffNanos;

  private GrpcConfig(Builder builder) {
    this.initialBackoff = Checks.positive(builder.initialBackoff, "initialBackoff");
    this.maxBackoff = Checks.positive(builder.maxBackoff, "maxBackoff");
    this.initialBackoffNanos = Durations.toNanosSaturated(initialBackoff);
    this.maxBackoffNanos = Durations.toNanosSaturated(maxBackoff);
    Checks.check(initialBackoff.compareTo(maxBackoff) <= 0,
        "initialBackoff", "at most maxBackoff (" + maxBackoff + ")", initialBackoff);
    this.multiplier = Args.multiplier(builder.multiplier, "multiplier");
    this.jitter = Args.jitter(builder.jitter, "jitter");
  }

  /**
   * Returns the published gRPC defaults: 1 s, ×1.6, ±20 %, 120 s.
   *
   * @return the default configuration
   */
  public static GrpcConfig defaults() {
    return DEFAULTS;
  }

  /**
   * Returns a builder holding the published defaults.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The wait before the first retry, before jitter.
   *
   * @return INITIAL_BACKOFF
   */
  public Duration initialBackoff() {
    return initialBackoff;
  }

  /**
   * The factor applied to the backoff after each retry.
   *
   * @return MULTIPLIER, finite and at least 1
   */
  public double multiplier() {
    return multiplier;
  }

  /**
   * The proportional jitter: each delay is drawn around its centre c from
   * {@code [c * (1 - jitter), c * (1 + jitter)]}.
   *
   * @return JITTER, in {@code [0, 1)}
   */
  public double jitter() {
    return jitter;
  }

  /**
   * The cap on the centre of the delay; jitter is applied around it, so a capped delay lies in
   * {@code [maxBackoff * (1 - jitter), maxBackoff * (1 + jitter)]}.
   *
   * @return MAX_BACKOFF
   */
  public Duration maxBackoff() {
    return maxBackoff;
  }

  long initialBackoffNanos() {
    return initialBackoffNanos;
  }

  long maxBackoffNanos() {
    return maxBackoffNanos;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof GrpcConfig that
        && initialBackoff.equals(that.initialBackoff)
        && Double.compare(multiplier, that.multiplier) == 0
        && Double.compare(jitter, that.jitter) == 0
        && maxBackoff.equals(that.maxBackoff);
  }

  @Override
  public int hashCode() {
    return Objects.hash(initialBackoff, multiplier, jitter, maxBackoff);
  }

  @Override
  public String toString() {
    return "initialBackoff=" + initialBackoff + ", multiplier=" + multiplier + ", jitter=" + jitter
        + ", maxBackoff=" + maxBackoff;
  }

  /**
   * Builds a {@link GrpcConfig}; starts from the published defaults. Not thread-safe.
   */
  public static final class Builder {

    private Duration initialBackoff = Duration.ofSeconds(1);
    private double multiplier = 1.6;
    private double jitter = 0.2;
    private Duration maxBackoff = Duration.ofSeconds(120);

    private Builder() {}

    /**
     * Sets the wait before the first retry (before jitter).
     *
     * @param initialBackoff positive, at most {@code maxBackoff}; checked by {@link #build()}
     * @return this builder
     * @throws NullPointerException if {@code initialBackoff} is null
     */
    public Builder initialBackoff(Duration initialBackoff) {
      this.initialBackoff = Objects.requireNonNull(initialBackoff, "initialBackoff");
      return this;
    }

    /**
     * Sets the factor applied to the backoff after each retry.
     *
     * @param multiplier finite, at least 1; checked by {@link #build()}
     * @return this builder
     */
    public Builder multiplier(double multiplier) {
      this.multiplier = multiplier;
      return this;
    }

    /**
     * Sets the proportional jitter around each delay.
     *
     * @param jitter in {@code [0, 1)}; 0 disables jitter; checked by {@link #build()}
     * @return this builder
     */
    public Builder jitter(double jitter) {
      this.jitter = jitter;
      return this;
    }

    /**
     * Sets the cap on the centre of the delay.
     *
     * @param maxBackoff positive, at least {@code initialBackoff}; checked by {@link #build()}
     * @return this builder
     * @throws NullPointerException if {@code maxBackoff} is null
     */
    public Builder maxBackoff(Duration maxBackoff) {
      this.maxBackoff = Objects.requireNonNull(maxBackoff, "maxBackoff");
      return this;
    }

    /**
     * Validates the values and builds the configuration.
     *
     * @return an immutable configuration
     * @throws IllegalArgumentException naming the parameter and its value, if a duration is zero or
     *     negative, {@code initialBackoff > maxBackoff}, {@code multiplier} is below 1, NaN or
     *     infinite, or {@code jitter} is outside {@code [0, 1)}
     */
    public GrpcConfig build() {
      return new GrpcConfig(this);
    }
  }
}
