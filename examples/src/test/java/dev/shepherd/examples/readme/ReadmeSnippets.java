package dev.shepherd.examples.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.auth.CachingAuthenticator;
import dev.shepherd.auth.DeviceCredentials;
import dev.shepherd.auth.HttpAuthenticator;
import dev.shepherd.backoff.Backoff;
import dev.shepherd.backoff.HttpRejectedException;
import dev.shepherd.backoff.HttpRetry;
import dev.shepherd.backoff.Reconnector;
import dev.shepherd.backoff.Retry;
import dev.shepherd.backoff.RetryBudget;
import dev.shepherd.bulkhead.AdaptiveBulkhead;
import dev.shepherd.bulkhead.Bulkhead;
import dev.shepherd.bulkhead.DeadlineGuard;
import dev.shepherd.core.Deadline;
import dev.shepherd.circuitbreaker.AdaptiveThrottle;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.circuitbreaker.Fallback;
import dev.shepherd.circuitbreaker.ThrottledException;
import dev.shepherd.circuitbreaker.Timeout;
import dev.shepherd.core.Event;
import dev.shepherd.core.EventListener;
import dev.shepherd.core.Policy;
import dev.shepherd.core.RejectedException;
import dev.shepherd.core.RetryAfter;
import dev.shepherd.core.Sleeper;
import dev.shepherd.core.Ticker;
import dev.shepherd.ratelimit.Admission;
import dev.shepherd.ratelimit.KeyedRateLimiter;
import dev.shepherd.ratelimit.KeyedTokenBucket;
import dev.shepherd.ratelimit.LeakyBucketShaper;
import dev.shepherd.ratelimit.LearnedRate;
import dev.shepherd.ratelimit.SlotAdmission;
import dev.shepherd.ratelimit.SlotRefusedException;
import dev.shepherd.ratelimit.SlotTicket;
import dev.shepherd.ratelimit.TokenBucket;
import dev.shepherd.ratelimit.redis.RedisKeyedRateLimiter;
import dev.shepherd.ratelimit.redis.RedisRateLimiter;
import dev.shepherd.ratelimit.redis.RedisSlotAdmission;
import dev.shepherd.testing.ManualClock;
import dev.shepherd.testing.ManualScheduler;
import dev.shepherd.testing.RecordingListener;
import dev.shepherd.micrometer.AuthMetrics;
import dev.shepherd.micrometer.BackoffMetrics;
import dev.shepherd.micrometer.BulkheadMetrics;
import dev.shepherd.micrometer.CircuitBreakerMetrics;
import dev.shepherd.micrometer.MetricsListener;
import dev.shepherd.micrometer.RateLimiterMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.masterreplica.MasterReplica;
import dev.shepherd.storm.Fleet;
import dev.shepherd.storm.Outcome;
import dev.shepherd.storm.Scenario;
import dev.shepherd.storm.ServerTier;
import dev.shepherd.storm.Trigger;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;

/**
 * Every Java snippet of the top-level README.md, compiled: each region between
 * {@code // README:begin} and {@code // README:end} is one README block, verbatim (once its common
 * indentation is removed), in README order; {@link ReadmeSnippetsTest} checks that the two agree.
 * The code around the regions only declares what a snippet uses and does not define (the user's
 * own upstreams, requests and responses). Snippets that need no network are also run, by the test.
 */
final class ReadmeSnippets {

  // ---- What the snippets take as given: the user's own types and objects. -----------------------

  interface Upstream {
    String fetch();
  }

  record Stock(int units) { }

  interface Inventory {
    Stock fetch(String sku) throws IOException;
  }

  record Quote(long cents) { }

  interface Partner {
    Quote quote(String order) throws IOException;
  }

  record Response(int status, String retryAfter) { }

  interface Request {
    String header(String name);
  }

  record Verdict(boolean accepted) { }

  interface Database {
    Verdict check(String device, byte[] secret) throws IOException;
  }

  static Response tooManyRequests(String retryAfter) {
    return new Response(429, retryAfter);
  }

  /** A server's view of a request, in the slot admission snippet. */
  interface ServerRequest {
    String header(String name);
  }

  /** The response a server builds, in the slot admission snippet; records what it was given. */
  static final class ServerResponse {
    int status = 200;
    final java.util.Map<String, String> headers = new java.util.LinkedHashMap<>();

    ServerResponse status(int code) {
      status = code;
      return this;
    }

    ServerResponse header(String name, String value) {
      headers.put(name, value);
      return this;
    }
  }

  /** The code under test in the ManualClock snippet: a client that sleeps 1 s, then 2 s. */
  static final class Client {
    private final Sleeper sleeper;

    Client(Ticker ticker, Sleeper sleeper) {
      this.sleeper = sleeper;
    }

    void connect() throws InterruptedException {
      sleeper.sleep(Duration.ofSeconds(1));
      sleeper.sleep(Duration.ofSeconds(2));
    }
  }

  static Client myClient(Ticker ticker, Sleeper sleeper) {
    return new Client(ticker, sleeper);
  }

  static void startWorkerThatSleeps(ManualClock clock) {
    Thread worker = new Thread(() -> {
      try {
        clock.sleep(Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "readme-worker");
    worker.setDaemon(true);
    worker.start();
  }

  /** The API of the ManualScheduler snippet: fails its first call, then answers. */
  static final class Api {
    private int calls;

    CompletionStage<String> fetchAsync() {
      return ++calls == 1
          ? CompletableFuture.failedFuture(new IOException("down"))
          : CompletableFuture.completedFuture("up");
    }
  }

  /** The home's state, as the circuitbreaker snippets read it from the cloud or from the hub. */
  record HomeState(String source) { }

  /** The cloud API of the circuitbreaker snippets: down. */
  static final class CloudApi {
    HomeState homeState(String homeId) throws IOException {
      throw new IOException("cloud API unreachable");
    }

    CompletionStage<HomeState> homeStateAsync(String homeId) {
      return CompletableFuture.failedFuture(new IOException("cloud API unreachable"));
    }
  }

  /** The hub on the local network. */
  static final class Hub {
    HomeState homeState() {
      return new HomeState("hub");
    }
  }

  static void send() throws IOException {
    // the request goes out here
  }

  // ---- The README's snippets, in README order. -------------------------------------------------

  static Outcome provingGround(Reconnector<?> reconnector) {
    // README:begin
    Scenario storm = new Scenario("hub firmware 4.2", Fleet.reconnector(60_000, reconnector.plan()),
        ServerTier.shepherd(2_000), Trigger.fleetDrop(), Duration.ofMinutes(10), 42L);
    Outcome outcome = storm.run();                             // seconds, on a simulated clock
    assertTrue(outcome.recovers(), outcome.toString());        // within 3 × N / C, goodput ≥ 90 %
    assertEquals(0, outcome.wasted());
    // README:end
    return outcome;
  }

  static CompletionStage<HttpResponse<String>> secondOutage(HttpClient client, URI partner) {
    // README:begin
    // Per instance: at most 40 calls wait on the partner (2 when it stops answering); the rest are
    // refused at once. 3 attempts within 8 s; a 429 is retried no sooner than its Retry-After.
    AdaptiveBulkhead bulkhead = AdaptiveBulkhead.builder().name("partner-api").minLimit(2).maxLimit(40)
        .initialLimit(40).latencyTarget(Duration.ofMillis(500)).callTimeout(Duration.ofSeconds(2))
        .dropWhen(e -> e instanceof HttpTimeoutException || e instanceof HttpRejectedException).build();
    Retry retry = Retry.builder().name("partner-api").maxAttempts(3).maxElapsed(Duration.ofSeconds(8))
        .backoff(Backoff.fullJitter(Duration.ofMillis(200), Duration.ofSeconds(2)))
        .retryOn(HttpRetry.retryableFailure()).budget(RetryBudget.builder().build()).build();
    HttpRequest request = HttpRequest.newBuilder(partner).timeout(Duration.ofSeconds(2)).build();
    CompletionStage<HttpResponse<String>> answer = bulkhead.callAsync(
        () -> HttpRetry.of(retry).sendAsync(client, request, BodyHandlers.ofString()));
    // README:end
    return answer;
  }

  static String core(Retry retry, TokenBucket limiter, Bulkhead bulkhead, Upstream upstream) {
    // README:begin
    Policy guarded = Policy.compose(retry, limiter, bulkhead); // retry sees the limiter's rejections
    String answer = guarded.get(() -> upstream.fetch());       // call(...) if fetch throws checked exceptions
    // README:end
    return answer;
  }

  static Duration backoff() {
    // README:begin
    Backoff backoff = Backoff.fullJitter(Duration.ofSeconds(1), Duration.ofMinutes(5));
    Backoff.Schedule schedule = backoff.start();   // or start(new SplittableRandom(seed)) in tests
    Duration wait = schedule.nextDelay();          // uniform in [0, 1 s], then [0, 2 s], ... [0, 5 min]
    // README:end
    return wait;
  }

  static HttpResponse<String> retry(HttpClient client, HttpRequest request) throws Exception {
    // README:begin
    RetryBudget budget = RetryBudget.builder().ratio(0.2).minRetriesPerSecond(10).build();
    Retry retry = Retry.builder().maxAttempts(4).maxElapsed(Duration.ofSeconds(20)).budget(budget).build();
    HttpResponse<String> response = HttpRetry.send(client, request, BodyHandlers.ofString(), retry);
    // README:end
    return response;
  }

  static void reconnector() {
    // README:begin
    // A connection as the Reconnector sees it: a socket, and a stage that completes when it is lost.
    final class HubConnection implements Reconnector.Connection {
      private final Socket socket = new Socket();
      private final CompletableFuture<Void> lost = new CompletableFuture<>();

      HubConnection(InetSocketAddress server) throws IOException {
        socket.connect(server, 5_000);
        new Thread(this::read, "hub-reader").start();
      }

      private void read() {
        try (InputStream in = socket.getInputStream()) {
          while (in.read() >= 0) {
            // handle the server's messages
          }
          lost.complete(null);              // the server closed the connection
        } catch (IOException e) {
          lost.completeExceptionally(e);    // reset, or closed by close()
        }
      }

      @Override
      public CompletionStage<?> closed() {
        return lost;
      }

      @Override
      public void close() throws IOException {
        socket.close();
      }
    }

    InetSocketAddress server = new InetSocketAddress("127.0.0.1", 7000);
    Reconnector<HubConnection> link = Reconnector.builder(() -> new HubConnection(server))
        .initialSpread(Duration.ofSeconds(30)).stableAfter(Duration.ofMinutes(1)).build();
    link.start();   // ... link.close();
    // README:end
    link.close();
  }

  /** The database the shaper feeds, as the README's snippet calls it. */
  interface Db {
    int write(String row) throws Exception;
  }

  static Response tokenBucket(Db db, String row) throws Exception {
    // README:begin
    TokenBucket connect = TokenBucket.builder().name("connect").rate(100, Duration.ofSeconds(1)).burst(200).build();
    long wait = connect.acquireOrRetryAfterNanos(1);          // 0 = granted, else nanoseconds until yes
    if (wait > 0) return tooManyRequests(RetryAfter.formatNanos(wait)); // 429 + Retry-After

    KeyedRateLimiter<String> perDevice = KeyedTokenBucket.builder().rate(6, Duration.ofMinutes(1)).burst(3).build();
    LeakyBucketShaper toDb = LeakyBucketShaper.builder().rate(200, Duration.ofSeconds(1))
        .maxQueueDelay(Duration.ofMillis(500)).build();
    toDb.call(() -> db.write(row));                           // waits for its turn, or refused at once
    // README:end
    perDevice.tryAcquire("hub-1");
    return new Response(200, "");
  }

  static ServerResponse slotAdmission(byte[] sharedKey, long deviceKey, ServerRequest request,
      ServerResponse response) {
    // README:begin
    SlotAdmission admission = SlotAdmission.builder().name("connect").permitsPerSecond(250)
        .ticketKey(sharedKey).build();                          // 16 bytes every connect server knows
    try {
      admission.acquire(deviceKey, SlotTicket.parse(request.header(SlotAdmission.TICKET_HEADER)));
    } catch (SlotRefusedException refused) {                   // a personal slot, with its ticket
      response.status(429).header("Retry-After", refused.retryAfterHeader());
      refused.slotHeader().ifPresent(slot -> response.header(SlotAdmission.SLOT_HEADER, slot));
    }
    // README:end
    return response;
  }

  static SlotAdmission learnedCapacity(byte[] sharedKey, long queueDelayNanos) {
    // README:begin
    LearnedRate capacity = LearnedRate.builder().name("auth-db").initialPermitsPerSecond(500).build();
    SlotAdmission learned = SlotAdmission.builder().name("connect").learnedRate(capacity, 1.0)
        .ticketKey(sharedKey).build();                          // 1.0 / servers when each holds a share
    capacity.completed(queueDelayNanos);                      // after each database call
    // README:end
    return learned;
  }

  static Quote bulkhead(Inventory inventory, String sku, Partner client, String order) throws Exception {
    // README:begin
    Bulkhead bulkhead = Bulkhead.of("inventory", 10);
    Stock stock = bulkhead.call(() -> inventory.fetch(sku));   // BulkheadFullException when 10 are in flight

    AdaptiveBulkhead partner = AdaptiveBulkhead.builder().name("partner").minLimit(2).maxLimit(100)
        .latencyTarget(Duration.ofMillis(250)).callTimeout(Duration.ofSeconds(2)).build();
    Quote quote = partner.call(() -> client.quote(order));      // timeouts lower the limit
    // README:end
    return stock.units() > 0 ? quote : null;
  }

  static Verdict deadlineGuard(Request request, Database database, String device, byte[] secret) throws Exception {
    // README:begin
    DeadlineGuard db = DeadlineGuard.builder().name("auth-db").maxConcurrent(16).maxQueue(256).build();
    Deadline deadline = Deadline.fromHeaderValue(request.header(Deadline.HEADER), Ticker.system());
    Verdict v = db.call(deadline, () -> database.check(device, secret)); // DeadlineExceededException: caller left
    // README:end
    return v;
  }

  static HomeState cloudOrHub(ExecutorService calls, Hub hub, CloudApi api, String homeId) throws Exception {
    // README:begin
    CircuitBreaker breaker = CircuitBreaker.builder().name("cloud").build();
    Timeout timeout = Timeout.builder().name("cloud").timeout(Duration.ofSeconds(2)).executor(calls).build();
    Fallback<HomeState> viaHub = Fallback.<HomeState>builder((result, failure) -> hub.homeState())
        .name("hub-local").handle(IOException.class).handle(RejectedException.class).build();

    Policy cloud = Policy.compose(breaker, timeout);   // the breaker counts each timeout as a failure
    HomeState state = viaHub.answer(() -> cloud.call(() -> api.homeState(homeId)));
    // README:end
    for (int i = 0; i < 30; i++) {
      viaHub.answer(() -> cloud.call(() -> api.homeState(homeId)));
    }
    assertEquals(CircuitBreaker.State.OPEN, breaker.state(), "20 failures of 20 open the breaker");
    return state;
  }

  static CompletionStage<HomeState> cloudOrHubAsync(Hub hub, CloudApi api, String homeId) {
    // README:begin
    CircuitBreaker breaker = CircuitBreaker.of("cloud");
    Timeout timeout = Timeout.builder().name("cloud").timeout(Duration.ofSeconds(2)).build(); // shared timer
    Fallback<HomeState> viaHub = Fallback.of("hub-local", hub::homeState);

    CompletionStage<HomeState> state =
        viaHub.answerAsync(() -> Policy.compose(breaker, timeout).callAsync(() -> api.homeStateAsync(homeId)));
    // README:end
    return state;
  }

  static long permission(CircuitBreaker breaker) {
    // README:begin
    long permission = breaker.tryAcquirePermission();
    if (permission != CircuitBreaker.NOT_PERMITTED) {
      long start = System.nanoTime();
      try {
        send();
        breaker.onSuccess(permission, System.nanoTime() - start);
      } catch (IOException e) {
        breaker.onError(permission, System.nanoTime() - start, e);
      }
    }
    // README:end
    return breaker.windowCalls();
  }

  static AdaptiveThrottle throttle(CloudApi api, String homeId) throws Exception {
    // README:begin
    AdaptiveThrottle throttle = AdaptiveThrottle.builder().name("cloud").build();   // K = 2, 2 min window
    try {
      HomeState state = throttle.call(() -> api.homeState(homeId));
    } catch (ThrottledException e) {
      // rejected locally, the request never left: back off, or answer from the hub
    } catch (IOException e) {
      // the backend refused: counted, so the throttle rejects more of what follows
    }
    // README:end
    return throttle;
  }

  static String auth(byte[] secretBytes) {
    // README:begin
    // shepherd-auth; the guard below is a Bulkhead, so this also needs shepherd-bulkhead (any Policy will do)
    CachingAuthenticator<String> auth = CachingAuthenticator
        .builder(HttpAuthenticator.of(URI.create("http://auth.internal:8080")))
        .maxStale(Duration.ofMinutes(30))
        .guard(Bulkhead.of("auth-db", 16))
        .build();
    String principal = auth.authenticate(DeviceCredentials.of("hub-42", secretBytes));
    // AuthenticationException: wrong secret (401). BackendUnavailableException: 503 + Retry-After.
    // README:end
    return principal;
  }

  static void redis() {
    // README:begin
    StatefulRedisConnection<String, String> redis = RedisClient.create("redis://cache:6379").connect();
    RedisRateLimiter connect = RedisRateLimiter.builder()
        .name("connect").connection(redis)
        .rate(500, Duration.ofSeconds(1)).burst(1000)   // for the whole fleet
        .expectedServers(10)                            // if Redis is down: 50/s, burst 100 here
        .build();
    if (!connect.tryAcquire()) { /* 429 */ }
    // README:end
  }

  /** What the platform's autoscaler reports. */
  interface Autoscaler {
    int desiredCapacity();
  }

  static void redisFleet(Autoscaler autoscaler, String tenantId) {
    // README:begin
    // Redis Cluster: each key's check runs on that key's master (MOVED/ASK followed within the timeout).
    StatefulRedisClusterConnection<String, String> cluster =
        RedisClusterClient.create("redis://cache-0:6379").connect();
    RedisRateLimiter connect = RedisRateLimiter.builder()
        .name("connect").clusterConnection(cluster)
        .rate(500, Duration.ofSeconds(1)).burst(1000)
        .heartbeat(Duration.ofSeconds(5))            // if Redis is down: 500/s ÷ live servers each
        .fleetSize(autoscaler::desiredCapacity)      // servers started during an outage count too
        .lease(100)                                  // hot key: one round trip per 100 permits
        .build();

    // Sentinel: checks follow the master the Sentinels name.
    StatefulRedisConnection<String, String> sentinel = MasterReplica.connect(RedisClient.create(),
        StringCodec.UTF8, RedisURI.create("redis-sentinel://sentinel-0:26379,sentinel-1:26379#cache"));
    RedisKeyedRateLimiter perTenant = RedisKeyedRateLimiter.builder()
        .name("tenant-api").connection(sentinel)
        .rate(2000, Duration.ofSeconds(1))           // per tenant, for the whole fleet
        .heartbeat(Duration.ofSeconds(5))
        .lease(50)                                   // per tenant key, for the few hot tenants
        .build();
    if (!perTenant.tryAcquire(tenantId)) { /* 429 */ }
    // README:end
  }

  static Admission redisSlots(StatefulRedisClusterConnection<String, String> cluster, byte[] sharedKey) {
    // README:begin
    Admission admission = RedisSlotAdmission.builder()
        .name("connect").clusterConnection(cluster)   // or a standalone or Sentinel connection
        .permitsPerSecond(2000).ticketKey(sharedKey)  // the fleet's rate; 16 bytes every server knows
        .heartbeat(Duration.ofSeconds(5))             // if Redis is down: 2000/s ÷ live servers each
        .build();
    // README:end
    return admission;
  }

  static void manualClock() throws InterruptedException {
    // README:begin
    ManualClock clock = new ManualClock();           // instant mode: sleep() advances the clock
    myClient(clock /* as Ticker */, clock /* as Sleeper */).connect();
    assertEquals(List.of(Duration.ofSeconds(1), Duration.ofSeconds(2)), clock.sleeps());

    ManualClock blocking = ManualClock.blocking();   // sleepers block until another thread advances
    startWorkerThatSleeps(blocking);
    blocking.awaitSleepers(1, Duration.ofSeconds(5)); // wait (in real time) until it is parked
    blocking.advance(Duration.ofSeconds(30));         // wakes it exactly at its deadline, never before
    // README:end
  }

  static void manualScheduler(Api api) {
    // README:begin
    ManualClock clock = new ManualClock();
    ManualScheduler scheduler = new ManualScheduler(clock);   // its tasks run as the clock passes them
    RecordingListener events = new RecordingListener();
    Retry retry = Retry.builder().backoff(Backoff.constant(Duration.ofSeconds(1)))
        .ticker(clock).scheduler(scheduler).listener(events).build();
    CompletableFuture<String> reply = retry.callAsync(() -> api.fetchAsync());   // fails at once
    clock.advance(Duration.ofSeconds(1));              // runs the second attempt, at exactly 1 s
    assertEquals("up", reply.join());
    assertEquals(List.of(Event.Kind.RETRY, Event.Kind.SUCCEEDED), events.kinds());
    // README:end
  }

  static void operating(MeterRegistry registry, Bulkhead dbBulkhead, CachingAuthenticator<?> authenticator,
      List<Reconnector<?>> fleet, CircuitBreaker cloudBreaker) {
    // README:begin
    MetricsListener events = new MetricsListener(registry);          // shepherd.events, shepherd.retry.after
    TokenBucket connect = TokenBucket.builder().name("connect").permitsPerSecond(500)
        .listener(EventListener.logging().andThen(events)).build();
    RateLimiterMetrics.of(connect).bindTo(registry);
    BulkheadMetrics.of(dbBulkhead).bindTo(registry);
    AuthMetrics.of(authenticator).bindTo(registry);
    BackoffMetrics.reconnectors("hubs", fleet).bindTo(registry);     // a fleet in one process: one group
    CircuitBreakerMetrics.of(cloudBreaker).bindTo(registry);         // and of(timeout), of(fallback), of(throttle)
    // README:end
  }
}
