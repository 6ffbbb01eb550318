package dev.shepherd.micrometer;

import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * An {@link EventListener} that turns every primitive's events into meters: a counter per source
 * and kind, and the distribution of the retry-after hints handed to refused callers.
 *
 * <ul>
 *   <li>{@code shepherd.events} (counter; tags {@code name}, {@code kind}): every event, for
 *       example {@code kind=RETRY} of a {@code Retry}, {@code kind=FAILED} of a {@code Reconnector}.
 *   <li>{@code shepherd.retry.after} (timer, seconds; tag {@code name}): each
 *       {@link Event.Kind#REJECTED} event's {@link Event#delay() retry-after}, when it has one,
 *       with histogram buckets at 10 ms, 100 ms, 500 ms, 1, 2, 5, 10, 30, 60 and 300 s.
 * </ul>
 *
 * <p>Primitives take their listener when they are built, so pass this one to their builders,
 * beside the logging one: {@code .listener(EventListener.logging().andThen(metrics))}. Events
 * arrive only on slow paths (a refusal, a retry, a change), never on a grant; after a source's
 * first event of a kind, recording one allocates nothing. The gauges and counters the primitives
 * keep themselves are bound by the {@code *Metrics} binders of this package.
 *
 * <p>Thread-safe.
 */
public final class MetricsListener implements EventListener {

  /** The buckets of {@code shepherd.retry.after}. */
  private static final Duration[] RETRY_AFTER_BUCKETS = {
      Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
      Duration.ofMinutes(1), Duration.ofMinutes(5)};

  private static final Event.Kind[] KINDS = Event.Kind.values();

  private final MeterRegistry registry;
  private final Tags tags;
  private final ConcurrentHashMap<String, SourceMeters> sources = new ConcurrentHashMap<>();

  /**
   * Creates a listener that records into {@code registry}.
   *
   * @param registry where the meters are registered
   * @param extraTags tags added to every meter, besides {@code name} (and {@code kind})
   * @throws NullPointerException if an argument is null
   */
  public MetricsListener(MeterRegistry registry, Tag... extraTags) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.tags = Tags.of(Objects.requireNonNull(extraTags, "extraTags"));
  }

  @Override
  public void onEvent(Event event) {
    SourceMeters meters = sources.get(event.source());
    if (meters == null) {
      meters = sources.computeIfAbsent(event.source(), SourceMeters::new);
    }
    meters.count(event.kind()).increment();
    if (event.kind() == Event.Kind.REJECTED && !event.delay().isZero()) {
      meters.retryAfter().record(event.delay());
    }
  }

  @Override
  public String toString() {
    return "MetricsListener{" + registry.getClass().getSimpleName() + "}";
  }

  /** One source's meters, registered on first use. The races here are benign: registration is idempotent. */
  private final class SourceMeters {
    private final String source;
    private final AtomicReferenceArray<Counter> counters = new AtomicReferenceArray<>(KINDS.length);
    private volatile Timer retryAfter;

    SourceMeters(String source) {
      this.source = source;
    }

    Counter count(Event.Kind kind) {
      Counter c = counters.get(kind.ordinal());
      if (c == null) {
        c = Counter.builder("shepherd.events")
            .description("Events reported by a Shepherd primitive, by kind")
            .tags(tags).tag("name", source).tag("kind", kind.name())
            .register(registry);
        counters.set(kind.ordinal(), c);
      }
      return c;
    }

    Timer retryAfter() {
      Timer t = retryAfter;
      if (t == null) {
        t = Timer.builder("shepherd.retry.after")
            .description("Retry-after hints handed to refused callers")
            .tags(tags).tag("name", source)
            .serviceLevelObjectives(RETRY_AFTER_BUCKETS)
            .register(registry);
        retryAfter = t;
      }
      return t;
    }
  }
}
