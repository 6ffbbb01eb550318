package dev.shepherd.examples;

import java.io.IOException;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * A {@link HttpClient} whose requests go to a simulated {@link ThirdPartyApi} instead of the
 * network, so that the library's HTTP code ({@code HttpRetry}, its {@code Retry-After} handling)
 * runs unchanged on a manual clock.
 *
 * <p>It keeps the contract the replay relies on: {@link #sendAsync} returns at once; a request with
 * a {@linkplain HttpRequest#timeout() timeout} fails with an {@link HttpTimeoutException} when no
 * answer came within it, after which the API sees the connection closed, as with the JDK's client;
 * a request without one waits as long as the API takes. Responses carry the status and the
 * {@code Retry-After} header; their body is always null. Only {@link #sendAsync(HttpRequest,
 * HttpResponse.BodyHandler)} is supported.
 *
 * <p>It counts the requests it has open (sent, neither answered nor timed out nor cancelled) and
 * the most ever open. Not thread-safe: it belongs to the simulation thread.
 */
final class SimulatedHttpClient extends HttpClient {

  private final ThirdPartyApi api;
  private final ScheduledExecutorService scheduler;
  private int open;
  private int maxOpen;
  private int windowMax;
  private long sent;

  SimulatedHttpClient(ThirdPartyApi api, ScheduledExecutorService scheduler) {
    this.api = api;
    this.scheduler = scheduler;
  }

  /** Requests sent and not yet answered, timed out or cancelled. */
  int open() {
    return open;
  }

  /** The most requests ever open at once. */
  int maxOpen() {
    return maxOpen;
  }

  /** The most requests open at once since the last call; starts the next window at the open count. */
  int takeWindowMax() {
    int max = windowMax;
    windowMax = open;
    return max;
  }

  /** Every request sent. */
  long sent() {
    return sent;
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    CompletableFuture<HttpResponse<T>> reply = new CompletableFuture<>();
    sent++;
    open++;
    maxOpen = Math.max(maxOpen, open);
    windowMax = Math.max(windowMax, open);
    reply.whenComplete((response, failure) -> open--);
    Optional<Duration> timeout = request.timeout();
    if (timeout.isPresent()) {
      // Never cancelled (a cancel would search the scheduler's queue): it does nothing if the
      // answer came first.
      scheduler.schedule(() -> reply.completeExceptionally(new HttpTimeoutException("request timed out")),
          timeout.get().toNanos(), TimeUnit.NANOSECONDS);
    }
    api.receive(new ThirdPartyApi.Exchange() {
      @Override
      public boolean isOpen() {
        return !reply.isDone();
      }

      @Override
      public void answer(int status, String retryAfter) {
        reply.complete(new Response<>(request, status, retryAfter));
      }
    });
    return reply;
  }

  @Override
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request,
      HttpResponse.BodyHandler<T> handler, HttpResponse.PushPromiseHandler<T> pushPromiseHandler) {
    return sendAsync(request, handler);
  }

  /** Not supported: a blocking call cannot wait on a clock that only its own thread moves. */
  @Override
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException {
    throw new UnsupportedOperationException("the simulated client only sends asynchronously");
  }

  @Override
  public Optional<CookieHandler> cookieHandler() {
    return Optional.empty();
  }

  @Override
  public Optional<Duration> connectTimeout() {
    return Optional.empty();
  }

  @Override
  public Redirect followRedirects() {
    return Redirect.NEVER;
  }

  @Override
  public Optional<ProxySelector> proxy() {
    return Optional.empty();
  }

  @Override
  public SSLContext sslContext() {
    throw new UnsupportedOperationException("the simulated client has no TLS");
  }

  @Override
  public SSLParameters sslParameters() {
    return new SSLParameters();
  }

  @Override
  public Optional<Authenticator> authenticator() {
    return Optional.empty();
  }

  @Override
  public Version version() {
    return Version.HTTP_1_1;
  }

  @Override
  public Optional<Executor> executor() {
    return Optional.empty();
  }

  /** A response without a body: a status and, for a 429, a {@code Retry-After} header. */
  private static final class Response<T> implements HttpResponse<T> {

    private final HttpRequest request;
    private final int status;
    private final HttpHeaders headers;

    Response(HttpRequest request, int status, String retryAfter) {
      this.request = request;
      this.status = status;
      this.headers = HttpHeaders.of(
          retryAfter == null ? Map.of() : Map.of("Retry-After", List.of(retryAfter)), (name, value) -> true);
    }

    @Override
    public int statusCode() {
      return status;
    }

    @Override
    public HttpRequest request() {
      return request;
    }

    @Override
    public Optional<HttpResponse<T>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public HttpHeaders headers() {
      return headers;
    }

    @Override
    public T body() {
      return null;
    }

    @Override
    public Optional<SSLSession> sslSession() {
      return Optional.empty();
    }

    @Override
    public URI uri() {
      return request.uri();
    }

    @Override
    public Version version() {
      return Version.HTTP_1_1;
    }
  }
}
