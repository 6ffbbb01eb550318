package dev.shepherd.backoff;

import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * {@link Backoff#grpc(GrpcConfig)}: gRPC's connection backoff. The centre
 * {@code c_n = min(max, initial * multiplier^(n - 1))} grows and is capped first; the jitter is
 * applied around the capped centre, as grpc-java's {@code ExponentialBackoffPolicy} does, so capped
 * delays spread over {@code [max * (1 - jitter), max * (1 + jitter)]}.
 */
record GrpcBackoff(GrpcConfig config) implements BuiltInBackoff {

  @Override
  public long capNanos() {
    return Jitter.upper(config.maxBackoffNanos(), config.jitter());
  }

  @Override
  public Schedule start(RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    return new GrpcSchedule(config, config.initialBackoffNanos(), random);
  }

  @Override
  public Schedule startAt(int attempt, RandomGenerator random) {
    Objects.requireNonNull(random, "random");
    double ceiling = config.initialBackoffNanos() * Math.pow(config.multiplier(), attempt - 1.0);
    return new GrpcSchedule(config, ceiling, random);
  }

  @Override
  public String toString() {
    return "Backoff.grpc(" + config + ")";
  }

  private static final class GrpcSchedule implements Schedule {
    private final ExponentialBackoff.Growth centre;
    private final double jitter;
    private final RandomGenerator random;

    GrpcSchedule(GrpcConfig config, double term, RandomGenerator random) {
      this.centre = new ExponentialBackoff.Growth(
          config.initialBackoffNanos(), config.multiplier(), config.maxBackoffNanos(), term);
      this.jitter = config.jitter();
      this.random = random;
    }

    @Override
    public long nextDelayNanos() {
      long c = centre.next();
      return Randoms.uniform(random, Jitter.lower(c, jitter), Jitter.upper(c, jitter));
    }
  }
}
