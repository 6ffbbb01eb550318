package dev.shepherd.examples;

import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.HttpRejectedException;
import dev.shepherd.backoff.HttpRetry;
import dev.shepherd.backoff.Retry;
import dev.shepherd.backoff.RetryBudget;
import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Ticker;
import dev.shepherd.micrometer.BackoffMetrics;
import dev.shepherd.micrometer.BulkheadMetrics;
import dev.shepherd.micrometer.MetricsListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.random.RandomGenerator;

/**
 * The three callers of the runaway-upstream replay: the service's code that calls the third-party
 * API, as each instance of the caller tier runs it. Every one is a configuration of the library's
 * own classes ({@link Retry}, {@link HttpRetry}, {@link RetryBudget}, {@link AdaptiveBulkhead}) on
 * the simulation's clock and scheduler; nothing here re-implements their rules.
 */
final class RunawayCallers {

  /** Where the API lives. Never resolved: the simulated client answers every request itself. */
  static final URI API = URI.create("http://partner-api.invalid/v1/lookup");

  /** HTTP-dates never occur in the replay (its {@code Retry-After}s are seconds); fixed for determinism. */
  private static final Clock NO_DATES = Clock.fixed(Instant.EPOCH, ZoneOffset.UTC);

  /**
   * What a caller's code gets from the simulation. Micrometer holds a meter's object weakly, so a
   * caller hands every object its meters read to {@code meterOwners}, which the run keeps reachable
   * for as long as its meters are registered (an instance the tier removed still counts).
   */
  record Wiring(Ticker clock, ScheduledExecutorService scheduler, HttpClient client,
      RandomGenerator random, MeterRegistry registry, Consumer<Object> meterOwners) {}

  /** One way of calling the API. */
  interface Caller {
    /** The name in the table. */
    String name();

    /** Makes the code each instance runs; called once per run, its result once per instance. */
    IntFunction<ServerlessTier.Handler> code(Wiring wiring);
  }

  private RunawayCallers() {}

  /** The three callers, in the table's order. */
  static List<Caller> all() {
    return List.of(unprotected(), timeoutOnly(), shepherd());
  }

  /**
   * The outage's code: no timeout, so a call waits as long as the API takes; a failed call (a 429,
   * say) is retried twice, one second apart, without reading {@code Retry-After}.
   */
  static Caller unprotected() {
    return caller("no protection", null);
  }

  /** The same code with a 10-second timeout on each request (the user has gone by then anyway). */
  static Caller timeoutOnly() {
    return caller("timeout only (10 s)", Duration.ofSeconds(10));
  }

  private static Caller caller(String name, Duration timeout) {
    return new Caller() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public IntFunction<ServerlessTier.Handler> code(Wiring w) {
        // The common SDK retry: every failure, a fixed second apart, the server's hint unread.
        Retry retry = Retry.builder().name("partner-api")
            .backoff(Backoff.constant(Duration.ofSeconds(1))).maxAttempts(3)
            .hintExtractor(failure -> Optional.empty())
            .ticker(w.clock()).scheduler(w.scheduler()).random(w.random())
            .listener(EventListener.noop()).build();
        HttpRetry http = HttpRetry.builder(retry).clock(NO_DATES).build();
        HttpRequest.Builder request = HttpRequest.newBuilder(API).GET();
        if (timeout != null) {
          request.timeout(timeout);
        }
        HttpRequest call = request.build();
        return instance -> user -> http.sendAsync(w.client(), call, HttpResponse.BodyHandlers.discarding());
      }
    };
  }

  /**
   * Shepherd's caller, on every instance: an {@link AdaptiveBulkhead} (2 to 40 calls in flight,
   * refusing at once above its limit, lowering it on timeouts and 429s) around an {@link HttpRetry}
   * (3 attempts within 8 s, full-jitter backoff, the 429's {@code Retry-After} honoured, retries
   * drawn from a {@link RetryBudget}), each attempt with a 2-second timeout.
   *
   * <p>The bulkhead's maximum, 40, stays below the 48 requests per instance at which the platform
   * adds instances (60 % of 80): a bulkhead that let more calls hang than that would still scale
   * the tier out, 40 hanging calls at a time per new instance.
   */
  static Caller shepherd() {
    return new Caller() {
      @Override
      public String name() {
        return "Shepherd";
      }

      @Override
      public IntFunction<ServerlessTier.Handler> code(Wiring w) {
        EventListener listener = w.registry() == null ? EventListener.noop() : new MetricsListener(w.registry());
        return instance -> {
          AdaptiveBulkhead bulkhead = AdaptiveBulkhead.builder().name("partner-api")
              .minLimit(2).maxLimit(40).initialLimit(40)
              .latencyTarget(Duration.ofMillis(500)).callTimeout(Duration.ofSeconds(2))
              .dropWhen(failure -> failure instanceof HttpTimeoutException
                  || failure instanceof HttpRejectedException)
              .ticker(w.clock()).listener(listener).build();
          RetryBudget budget = RetryBudget.builder().name("partner-api").ticker(w.clock()).build();
          Retry retry = Retry.builder().name("partner-api")
              .maxAttempts(3).maxElapsed(Duration.ofSeconds(8))
              .backoff(Backoff.fullJitter(Duration.ofMillis(200), Duration.ofSeconds(2)))
              .retryOn(HttpRetry.retryableFailure()).budget(budget)
              .ticker(w.clock()).scheduler(w.scheduler()).random(w.random()).listener(listener).build();
          HttpRetry http = HttpRetry.builder(retry).clock(NO_DATES).build();
          HttpRequest call = HttpRequest.newBuilder(API).timeout(Duration.ofSeconds(2)).GET().build();
          if (w.registry() != null) {
            Tag tag = Tag.of("instance", Integer.toString(instance));
            BulkheadMetrics.of(bulkhead, tag).bindTo(w.registry());
            BackoffMetrics.of(budget, tag).bindTo(w.registry());
            w.meterOwners().accept(bulkhead);
            w.meterOwners().accept(budget);
          }
          return user -> bulkhead.callAsync(
              () -> http.sendAsync(w.client(), call, HttpResponse.BodyHandlers.discarding())
                  .thenApply(RunawayCallers::requireSuccess));
        };
      }
    };
  }

  /** A response that is not a 2xx (the last 429 when retrying stopped) fails the call. */
  private static <T> HttpResponse<T> requireSuccess(HttpResponse<T> response) {
    if (response.statusCode() / 100 != 2) {
      throw new HttpRejectedException(response, HttpRetry.retryAfter(response, NO_DATES).orElse(null));
    }
    return response;
  }
}
