package dev.shepherd.backoff;

import dev.shepherd.core.internal.Causes;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.RetryAfter;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * Retries {@link HttpClient} requests on 429/503 responses and connection failures, honouring the
 * server's {@code Retry-After}.
 *
 * <pre>{@code
 * Retry retry = Retry.builder().maxAttempts(4).maxElapsed(Duration.ofSeconds(20))
 *     .retryOn(HttpRetry.retryableFailure()).build();
 * HttpResponse<String> response =
 *     HttpRetry.of(retry).send(client, request, HttpResponse.BodyHandlers.ofString());
 * }</pre>
 *
 * <p>Each attempt sends the request once. A response whose status is retryable (429 and 503 by
 * default) becomes an {@link HttpRejectedException} carrying the parsed {@code Retry-After}
 * (delta-seconds or an HTTP-date, read with {@link RetryAfter#parse(String, Clock, Duration)} and
 * the configured clock), so the {@link Retry}'s default hint extractor makes the next wait at least
 * that long, plus jitter. Connection failures, resets and timeouts surface as {@link IOException}s
 * (an {@link java.net.http.HttpTimeoutException} for a response slower than the request's timeout).
 * Which of these are retried is the {@code Retry}'s {@code retryOn} predicate's decision: its
 * default (every exception) retries all of them; {@link #retryableFailure()} is the precise choice.
 *
 * <p><b>Hidden retries.</b> {@code java.net.http} itself re-sends a GET or HEAD once, on its own,
 * when a connection dies before the first response byte (observed on JDK 17 with a reset
 * connection: three requests reached the server for two attempts). Those re-sends are invisible to
 * the {@link Retry}, its events and its {@link RetryBudget}; count them in when sizing retries.
 *
 * <p>When retrying stops on a retryable status (attempts, deadline or budget spent), the last
 * response is <em>returned</em>, not thrown, so the caller can read it. Only retry requests that are
 * safe to repeat (GET, PUT, DELETE, or a POST with an idempotency key): a timed-out request may have
 * reached the server.
 *
 * <p>Immutable and thread-safe.
 */
public final class HttpRetry {

  /**
   * The response header of a refusal that reserved a personal slot for this caller: the wait in
   * whole milliseconds, then optionally its ticket, as in {@code Shepherd-Slot: 41250; ticket=T}
   * (what {@code dev.shepherd.ratelimit.SlotAdmission} sends). A refusal carrying it is a personal
   * slot: the retry comes back at it with a small fixed jitter and presents the ticket.
   */
  public static final String SLOT_HEADER = "Shepherd-Slot";
  /** The request header in which a retry presents its slot's ticket. */
  public static final String TICKET_HEADER = "Shepherd-Slot-Ticket";

  private static final int[] DEFAULT_STATUSES = {429, 503};

  private final Retry retry;
  private final int[] statuses;
  private final Clock clock;

  private HttpRetry(Builder b) {
    this.retry = b.retry;
    this.statuses = b.statuses.clone();
    this.clock = b.clock;
  }

  /**
   * Returns an HTTP retry on statuses 429 and 503, reading HTTP-dates against the system UTC clock.
   *
   * @param retry the policy deciding how often and how long to wait
   * @return the HTTP retry
   * @throws NullPointerException if {@code retry} is null
   */
  public static HttpRetry of(Retry retry) {
    return builder(retry).build();
  }

  /**
   * Returns a builder around {@code retry}.
   *
   * @param retry the policy deciding how often and how long to wait
   * @return a new builder
   * @throws NullPointerException if {@code retry} is null
   */
  public static Builder builder(Retry retry) {
    return new Builder(Objects.requireNonNull(retry, "retry"));
  }

  /**
   * Returns the failures worth retrying for an HTTP client: an {@link HttpRejectedException} or an
   * {@link IOException} (refused or reset connections, timeouts), found as the failure or its cause.
   * Plug it into {@link Retry.Builder#retryOn}.
   *
   * @return the predicate
   */
  public static Predicate<Throwable> retryableFailure() {
    return t -> t instanceof HttpRejectedException || t instanceof IOException
        || (t != null && (t.getCause() instanceof HttpRejectedException || t.getCause() instanceof IOException));
  }

  /**
   * Reads a response's {@code Retry-After} header, clamped to {@link RetryAfter#DEFAULT_MAX}.
   *
   * @param response the response
   * @param clock the wall clock an HTTP-date is measured against
   * @return the wait, or empty when the header is absent or malformed
   * @throws NullPointerException if an argument is null
   */
  public static Optional<Duration> retryAfter(HttpResponse<?> response, Clock clock) {
    Objects.requireNonNull(response, "response");
    return RetryAfter.parse(response.headers().firstValue("Retry-After").orElse(null), clock);
  }

  /**
   * Sends {@code request} with {@code retry} on statuses 429 and 503: shorthand for
   * {@code HttpRetry.of(retry).send(client, request, handler)}.
   *
   * @param client the client
   * @param request the request; sent once per attempt
   * @param handler the body handler; applied to every response
   * @param retry the policy deciding how often and how long to wait
   * @param <T> the body type
   * @return the first response with a non-retryable status, or the last one when retrying stopped
   * @throws IOException the last I/O failure, with earlier failures attached as suppressed
   * @throws InterruptedException if interrupted while sending or waiting; the flag is kept set
   * @throws NullPointerException if an argument is null
   * @see #send(HttpClient, HttpRequest, HttpResponse.BodyHandler)
   */
  public static <T> HttpResponse<T> send(
      HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> handler, Retry retry)
      throws IOException, InterruptedException {
    return of(retry).send(client, request, handler);
  }

  /**
   * Sends {@code request} until it succeeds or the retry gives up, blocking the calling thread
   * (waits go through the retry's {@link dev.shepherd.core.Sleeper}).
   *
   * @param client the client
   * @param request the request; sent once per attempt
   * @param handler the body handler; applied to every response
   * @param <T> the body type
   * @return the first response with a non-retryable status, or the last one when attempts ran out
   * @throws IOException the last I/O failure (a timeout, a reset, a refused connection), with
   *     earlier failures attached as suppressed
   * @throws InterruptedException if interrupted while sending or waiting; the flag is kept set
   * @throws NullPointerException if an argument is null
   */
  public <T> HttpResponse<T> send(
      HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(handler, "handler");
    AtomicReference<HttpResponse<T>> last = new AtomicReference<>();
    try {
      AtomicReference<String> ticket = new AtomicReference<>();
      return retry.call(() -> {
        HttpResponse<T> response = client.send(withTicket(request, ticket.get()), handler);
        last.set(response);
        try {
          return checked(response);
        } catch (HttpRejectedException e) {
          ticket.set(e.slotTicket().orElse(null));
          throw e;
        }
      });
    } catch (HttpRejectedException e) {
      if (e.response() != null && e.response() == last.get()) {
        return last.get();
      }
      throw e;
    } catch (IOException | InterruptedException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IOException(e);
    }
  }

  /**
   * Sends {@code request} asynchronously until it succeeds or the retry gives up; no thread blocks
   * between attempts (see {@link Retry#callAsync(java.util.function.Supplier)}).
   *
   * @param client the client
   * @param request the request; sent once per attempt
   * @param handler the body handler; applied to every response
   * @param <T> the body type
   * @return a future of the first response with a non-retryable status, or of the last one when
   *     attempts ran out; failing with the last failure otherwise
   * @throws NullPointerException if an argument is null
   */
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpClient client, HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    Objects.requireNonNull(client, "client");
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(handler, "handler");
    AtomicReference<HttpResponse<T>> last = new AtomicReference<>();
    AtomicReference<String> ticket = new AtomicReference<>();
    CompletableFuture<HttpResponse<T>> attempts = retry.callAsync(
        () -> client.sendAsync(withTicket(request, ticket.get()), handler).thenApply(response -> {
          last.set(response);
          return checked(response);
        }).whenComplete((response, failure) -> {
          if (failure != null) {
            ticket.set(ticketOf(failure));
          }
        }));
    CompletableFuture<HttpResponse<T>> result = attempts.handle((response, failure) -> {
      if (failure == null) {
        return CompletableFuture.completedFuture(response);
      }
      Throwable cause = Causes.unwrap(failure);
      if (cause instanceof HttpRejectedException
          && ((HttpRejectedException) cause).response() == last.get() && last.get() != null) {
        return CompletableFuture.completedFuture(last.get());
      }
      return CompletableFuture.<HttpResponse<T>>failedFuture(cause);
    }).thenCompose(f -> f);
    // Cancelling what the caller holds cancels the attempts too.
    result.whenComplete((r, t) -> {
      if (result.isCancelled()) {
        attempts.cancel(true);
      }
    });
    return result;
  }

  private <T> HttpResponse<T> checked(HttpResponse<T> response) {
    int status = response.statusCode();
    for (int s : statuses) {
      if (s == status) {
        HttpRejectedException slot = slot(response);
        throw slot != null ? slot : new HttpRejectedException(response, retryAfter(response, clock).orElse(null));
      }
    }
    return response;
  }

  /**
   * Reads a personal slot from the {@value #SLOT_HEADER} header ({@code <ms>} or
   * {@code <ms>; ticket=<ticket>}), or returns null when there is none or it is malformed (the
   * {@code Retry-After} hint then applies as usual).
   */
  static HttpRejectedException slot(HttpResponse<?> response) {
    String value = response.headers().firstValue(SLOT_HEADER).orElse(null);
    if (value == null) {
      return null;
    }
    String[] parts = value.split(";", 2);
    String millis = parts[0].strip();
    if (millis.isEmpty() || millis.length() > 12 || !millis.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return null;
    }
    long ms = Math.min(Long.parseLong(millis), RetryAfter.DEFAULT_MAX.toMillis());
    String ticket = null;
    if (parts.length == 2) {
      String param = parts[1].strip();
      if (!param.startsWith("ticket=") || param.length() == "ticket=".length()) {
        return null;
      }
      ticket = param.substring("ticket=".length());
    }
    return new HttpRejectedException(response, Duration.ofMillis(ms), ticket);
  }

  /** The request to send next: the original, carrying the last refusal's slot ticket, if any. */
  private static HttpRequest withTicket(HttpRequest request, String ticket) {
    return ticket == null ? request
        : HttpRequest.newBuilder(request, (name, value) -> true).setHeader(TICKET_HEADER, ticket).build();
  }

  private static String ticketOf(Throwable failure) {
    Throwable cause = Causes.unwrap(failure);
    return cause instanceof HttpRejectedException ? ((HttpRejectedException) cause).slotTicket().orElse(null) : null;
  }

  @Override
  public String toString() {
    return "HttpRetry{retry=" + retry.name() + ", statuses=" + Arrays.toString(statuses) + "}";
  }

  /** Configures an {@link HttpRetry}; validates each value as it is set. Not thread-safe. */
  public static final class Builder {

    private final Retry retry;
    private int[] statuses = DEFAULT_STATUSES;
    private Clock clock = Clock.systemUTC();

    private Builder(Retry retry) {
      this.retry = retry;
    }

    /**
     * Sets the statuses that are retried, replacing the default 429 and 503 (502 and 504 are
     * common additions).
     *
     * @param statuses one or more HTTP statuses in {@code [100, 599]}
     * @return this builder
     * @throws NullPointerException if {@code statuses} is null
     * @throws IllegalArgumentException if none is given or one is out of range
     */
    public Builder statuses(int... statuses) {
      Objects.requireNonNull(statuses, "statuses");
      Checks.check(statuses.length > 0, "statuses", "non-empty", Arrays.toString(statuses));
      for (int s : statuses) {
        Checks.check(s >= 100 && s <= 599, "statuses", "HTTP statuses in [100, 599]", s);
      }
      this.statuses = statuses.clone();
      return this;
    }

    /**
     * Sets the wall clock an HTTP-date {@code Retry-After} is measured against.
     *
     * @param clock the clock; default {@link Clock#systemUTC()}
     * @return this builder
     * @throws NullPointerException if {@code clock} is null
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Builds the HTTP retry.
     *
     * @return an immutable, thread-safe HTTP retry
     */
    public HttpRetry build() {
      return new HttpRetry(this);
    }
  }
}
