package dev.shepherd.auth;

import dev.shepherd.core.internal.Causes;
import dev.shepherd.core.internal.Checks;
import dev.shepherd.core.internal.Durations;
import dev.shepherd.core.RetryAfter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * A backend that verifies {@link DeviceCredentials} with an HTTP service, over
 * {@link java.net.http.HttpClient}; put a {@link CachingAuthenticator} in front of it.
 *
 * <h2>Request</h2>
 * By default {@code POST {baseUri}/devices/{id}/verify}, where {@code {id}} is the normalised
 * device id percent-encoded as one path segment (UTF-8; everything but {@code A-Z a-z 0-9 - . _ ~}
 * is encoded, so {@code "a/b c"} becomes {@code a%2Fb%20c}). The secret travels as the raw request
 * body ({@code Content-Type: application/octet-stream}), where proxies and access logs do not
 * record it; {@link Builder#secretHeader(String)} moves it to a header, Base64-encoded, for
 * services that want it there. The method, path template and extra static headers (for example
 * the service's own API key) are configurable. Every exchange has a timeout that covers the whole
 * answer, body included (java.net.http's own request timeout stops at the response headers, so a
 * service that stalls mid-body would otherwise hold the call indefinitely).
 *
 * <h2>Response</h2>
 * <ul>
 *   <li><b>2xx</b>: valid. The principal is the {@value #PRINCIPAL_HEADER} header, else the body
 *       as UTF-8 text (first line, stripped), else the device id itself (so {@code 204 No Content}
 *       means "valid, the device is its own principal"). A principal longer than
 *       {@value #MAX_PRINCIPAL_LENGTH} characters or holding control characters is a malformed
 *       answer (unavailable). {@code Cache-Control: max-age=N} states how long the answer is valid
 *       ({@link Verified#validFor()}); {@code no-store}, {@code no-cache} or a malformed
 *       {@code max-age} mean "do not cache".
 *   <li><b>401, 403</b>: invalid credentials, {@link AuthenticationException}.
 *   <li><b>Anything else</b> (429, 5xx, 404, 3xx, ...), I/O errors, connection resets and
 *       timeouts: {@link BackendUnavailableException}, with the {@code Retry-After} header parsed
 *       by {@link RetryAfter} when present. Only 401 and 403 ever mean "invalid": a misconfigured
 *       path that answers 404 must not turn a fleet's valid devices into cached refusals.
 * </ul>
 * The secret never appears in an exception message, event or {@code toString()}; the body copy
 * sent is wiped when the exchange completes.
 *
 * <p>Immutable and thread-safe. Response bodies are read whole, so point it only at a service you
 * trust to answer with a short body.
 */
public final class HttpAuthenticator implements Authenticator<DeviceCredentials, Verified<String>> {

  /** The response header that names the principal: {@value}. */
  public static final String PRINCIPAL_HEADER = "X-Principal";
  /** The longest principal accepted from a response, in characters: {@value}. */
  public static final int MAX_PRINCIPAL_LENGTH = 1024;
  /** The default path template: {@value}. */
  public static final String DEFAULT_PATH = "/devices/{id}/verify";

  private static final String ID_PLACEHOLDER = "{id}";
  private static final char[] HEX = "0123456789ABCDEF".toCharArray();

  private final String name;
  private final String base;
  private final String path;
  private final String method;
  private final Duration timeout;
  private final HttpClient client;
  private final Clock clock;
  private final String secretHeader;
  private final List<String[]> headers;

  private HttpAuthenticator(Builder b) {
    this.name = b.name;
    String s = b.baseUri.toString();
    this.base = s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    this.path = b.path;
    this.method = b.method;
    this.timeout = b.timeout;
    this.client = b.client != null ? b.client : HttpClient.newBuilder().connectTimeout(b.timeout).build();
    this.clock = b.clock;
    this.secretHeader = b.secretHeader;
    this.headers = List.copyOf(b.headers);
  }

  /**
   * Returns an authenticator with the default request format against {@code baseUri}.
   *
   * @param baseUri the service's base URI, for example {@code http://auth.internal:8080}
   * @return the authenticator
   * @throws NullPointerException if {@code baseUri} is null
   * @throws IllegalArgumentException if {@code baseUri} is not an absolute http or https URI
   */
  public static HttpAuthenticator of(URI baseUri) {
    return builder(baseUri).build();
  }

  /**
   * Returns a builder for an authenticator against {@code baseUri}.
   *
   * @param baseUri the service's base URI; the path template is appended to it
   * @return a new builder with the defaults listed on {@link Builder}
   * @throws NullPointerException if {@code baseUri} is null
   * @throws IllegalArgumentException if {@code baseUri} is not an absolute http or https URI, or
   *     has a query or fragment
   */
  public static Builder builder(URI baseUri) {
    Objects.requireNonNull(baseUri, "baseUri");
    String scheme = baseUri.getScheme() == null ? "" : baseUri.getScheme().toLowerCase(Locale.ROOT);
    Checks.check(baseUri.isAbsolute() && (scheme.equals("http") || scheme.equals("https"))
        && baseUri.getRawQuery() == null && baseUri.getRawFragment() == null,
        "baseUri", "an absolute http(s) URI without query or fragment", baseUri);
    return new Builder(baseUri);
  }

  /**
   * Returns this instance's name, used in exception messages.
   *
   * @return the name
   */
  public String name() {
    return name;
  }

  /**
   * Asks the service, blocking until it answers or the timeout passes.
   *
   * @param credentials the device's credentials
   * @return the principal and the validity the service stated
   * @throws AuthenticationException on 401 or 403
   * @throws BackendUnavailableException on any other status, an I/O error, a timeout or an
   *     interrupt (the interrupt status is kept)
   * @throws NullPointerException if {@code credentials} is null
   * @throws IllegalStateException if the credentials were wiped
   */
  @Override
  public Verified<String> authenticate(DeviceCredentials credentials) {
    Objects.requireNonNull(credentials, "credentials");
    CompletableFuture<Verified<String>> answer = exchange(credentials);
    try {
      return answer.get();
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw unavailable(credentials.deviceId(), cause);
    } catch (InterruptedException e) {
      answer.cancel(true); // aborts the exchange and wipes the secret's copy
      Thread.currentThread().interrupt();
      throw unavailable(credentials.deviceId(), e);
    }
  }

  /**
   * Asks the service without blocking; the stage fails as {@link #authenticate} would throw.
   *
   * @param credentials the device's credentials
   * @return a stage completing with the principal or the failure; this method never throws
   */
  @Override
  public CompletionStage<Verified<String>> authenticateAsync(DeviceCredentials credentials) {
    try {
      Objects.requireNonNull(credentials, "credentials");
      return exchange(credentials);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /*
   * One exchange under one deadline. java.net.http's request timeout stops counting once the
   * response headers have arrived, so a service that sends its headers and then trickles (or
   * stalls) the body would hold the call, and every request waiting on it, far beyond the timeout.
   * The deadline below covers the whole exchange, body included: when it passes first, the answer
   * fails as a timeout and the exchange is cancelled (which aborts it on Java 16+); whichever way
   * the answer completes, an exchange still running is cancelled. The copy of the secret is wiped
   * when the exchange ends, however it ends.
   */
  private CompletableFuture<Verified<String>> exchange(DeviceCredentials credentials) {
    String id = credentials.deviceId();
    byte[] secret = credentials.secret();
    CompletableFuture<HttpResponse<byte[]>> sent;
    try {
      sent = client.sendAsync(request(id, secret), HttpResponse.BodyHandlers.ofByteArray());
    } catch (RuntimeException e) {
      Arrays.fill(secret, (byte) 0);
      throw e;
    }
    CompletableFuture<Verified<String>> answer = new CompletableFuture<>();
    sent.whenComplete((response, failure) -> {
      Arrays.fill(secret, (byte) 0);
      try {
        if (failure != null) {
          Throwable cause = Causes.unwrap(failure);
          throw unavailable(id, cause);
        }
        answer.complete(interpret(id, response));
      } catch (RuntimeException e) {
        answer.completeExceptionally(e);
      }
    });
    // completeOnTimeout's scheduled task is dropped as soon as the answer completes otherwise.
    CompletableFuture<Verified<String>> deadline = new CompletableFuture<>();
    deadline.completeOnTimeout(null, Durations.toNanosSaturated(timeout), TimeUnit.NANOSECONDS).thenRun(() ->
        answer.completeExceptionally(unavailable(id,
            new HttpTimeoutException("no complete response within " + timeout))));
    answer.whenComplete((verified, failure) -> {
      deadline.cancel(false);
      if (!sent.isDone()) {
        sent.cancel(true);
      }
    });
    return answer;
  }

  private HttpRequest request(String deviceId, byte[] secret) {
    URI uri = URI.create(base + path.replace(ID_PLACEHOLDER, encodePathSegment(deviceId)));
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).header("Accept", "text/plain");
    for (String[] header : headers) {
      b.header(header[0], header[1]);
    }
    if (secretHeader != null) {
      b.header(secretHeader, Base64.getEncoder().encodeToString(secret));
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/octet-stream");
      b.method(method, HttpRequest.BodyPublishers.ofByteArray(secret));
    }
    return b.build();
  }

  private Verified<String> interpret(String deviceId, HttpResponse<byte[]> response) {
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      String principal = principal(deviceId, response);
      Optional<Duration> validFor = validFor(response.headers());
      return validFor.isPresent() ? Verified.of(principal, validFor.get()) : Verified.of(principal);
    }
    if (status == 401 || status == 403) {
      throw new AuthenticationException("'" + name + "' refused device '" + deviceId + "' (HTTP " + status + ")");
    }
    Duration retryAfter = RetryAfter.parse(response.headers().firstValue("Retry-After").orElse(null), clock)
        .orElse(null);
    throw new BackendUnavailableException(name,
        "'" + name + "' got HTTP " + status + " verifying device '" + deviceId + "'", retryAfter, null);
  }

  private String principal(String deviceId, HttpResponse<byte[]> response) {
    String principal = response.headers().firstValue(PRINCIPAL_HEADER).map(String::strip).orElse("");
    if (principal.isEmpty() && response.body() != null && response.body().length > 0) {
      String body = new String(response.body(), StandardCharsets.UTF_8);
      int eol = body.indexOf('\n');
      principal = (eol < 0 ? body : body.substring(0, eol)).strip();
    }
    if (principal.isEmpty()) {
      return deviceId;
    }
    boolean wellFormed = principal.length() <= MAX_PRINCIPAL_LENGTH
        && principal.chars().noneMatch(Character::isISOControl);
    if (!wellFormed) {
      throw new BackendUnavailableException(name,
          "'" + name + "' got a malformed principal verifying device '" + deviceId + "'");
    }
    return principal;
  }

  /** The validity stated by Cache-Control, or empty; malformed or no-store/no-cache means zero. */
  static Optional<Duration> validFor(HttpHeaders headers) {
    Duration result = null;
    for (String value : headers.allValues("Cache-Control")) {
      for (String directive : value.split(",")) {
        String d = directive.strip().toLowerCase(Locale.ROOT);
        Duration stated;
        if (d.equals("no-store") || d.equals("no-cache")) {
          stated = Duration.ZERO;
        } else if (d.startsWith("max-age=")) {
          stated = maxAge(d.substring("max-age=".length()));
        } else {
          continue;
        }
        result = result == null || stated.compareTo(result) < 0 ? stated : result;
      }
    }
    return Optional.ofNullable(result);
  }

  private static Duration maxAge(String value) {
    String v = value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")
        ? value.substring(1, value.length() - 1) : value;
    if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return Duration.ZERO; // malformed: do not cache rather than guess
    }
    return Duration.ofSeconds(Long.parseLong(v));
  }

  /** Percent-encodes a string as one URI path segment (RFC 3986 unreserved characters kept). */
  static String encodePathSegment(String segment) {
    byte[] bytes = segment.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length * 3);
    for (byte b : bytes) {
      int c = b & 0xff;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~') {
        out.append((char) c);
      } else {
        out.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
      }
    }
    return out.toString();
  }

  private BackendUnavailableException unavailable(String deviceId, Throwable cause) {
    String what = cause instanceof HttpTimeoutException ? "timed out"
        : cause instanceof InterruptedException ? "was interrupted"
        : "failed (" + cause.getClass().getSimpleName() + ")";
    return new BackendUnavailableException(name,
        "'" + name + "' " + what + " verifying device '" + deviceId + "'", null, cause);
  }

  @Override
  public String toString() {
    return "HttpAuthenticator{name=" + name + ", " + method + " " + base + path + ", timeout=" + timeout + "}";
  }

  /**
   * Builds an {@link HttpAuthenticator}. Not thread-safe; setters validate at once.
   *
   * <p>Defaults: name {@code "http-auth"}, method {@code POST}, path {@value #DEFAULT_PATH},
   * timeout 2 seconds (also the connect timeout of the default client), secret in the body, a new
   * {@link HttpClient}, and {@link Clock#systemUTC()} for {@code Retry-After} dates.
   */
  public static final class Builder {
    private final URI baseUri;
    private String name = "http-auth";
    private String path = DEFAULT_PATH;
    private String method = "POST";
    private Duration timeout = Duration.ofSeconds(2);
    private HttpClient client;
    private Clock clock = Clock.systemUTC();
    private String secretHeader;
    private final List<String[]> headers = new ArrayList<>();

    private Builder(URI baseUri) {
      this.baseUri = baseUri;
    }

    /**
     * Sets the instance's name, used in messages.
     *
     * @param name a non-blank name
     * @return this builder
     * @throws NullPointerException if {@code name} is null
     * @throws IllegalArgumentException if {@code name} is blank
     */
    public Builder name(String name) {
      this.name = Checks.notBlank(name, "name");
      return this;
    }

    /**
     * Sets the path template appended to the base URI; {@code {id}} is replaced by the encoded id.
     *
     * @param template a path starting with {@code /} and containing {@code {id}}
     * @return this builder
     * @throws NullPointerException if {@code template} is null
     * @throws IllegalArgumentException if the template does not start with {@code /}, lacks
     *     {@code {id}}, or holds characters not allowed in a URI path
     */
    public Builder path(String template) {
      Objects.requireNonNull(template, "path");
      Checks.check(template.startsWith("/") && template.contains(ID_PLACEHOLDER), "path",
          "a path starting with / and containing " + ID_PLACEHOLDER, template);
      try {
        URI.create("http://h" + template.replace(ID_PLACEHOLDER, "x"));
      } catch (IllegalArgumentException e) {
        throw Checks.invalid("path", "a valid URI path", template);
      }
      this.path = template;
      return this;
    }

    /**
     * Sets the HTTP method.
     *
     * @param method an upper-case token such as {@code POST} or {@code PUT}
     * @return this builder
     * @throws NullPointerException if {@code method} is null
     * @throws IllegalArgumentException if {@code method} is not an upper-case token
     */
    public Builder method(String method) {
      Objects.requireNonNull(method, "method");
      Checks.check(method.matches("[A-Z]{1,16}"), "method", "an upper-case token", method);
      this.method = method;
      return this;
    }

    /**
     * Sets the timeout of each exchange, from sending the request to the last byte of the answer
     * (and the connect timeout of the default client). When it passes, the exchange is cancelled
     * and the call fails with {@link BackendUnavailableException}.
     *
     * @param timeout a positive duration
     * @return this builder
     * @throws NullPointerException if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is zero or negative
     */
    public Builder timeout(Duration timeout) {
      this.timeout = Checks.positive(timeout, "timeout");
      return this;
    }

    /**
     * Sets the client to send with, for example one with TLS settings or an executor.
     *
     * @param client the client
     * @return this builder
     * @throws NullPointerException if {@code client} is null
     */
    public Builder httpClient(HttpClient client) {
      this.client = Objects.requireNonNull(client, "client");
      return this;
    }

    /**
     * Sets the wall clock that {@code Retry-After} HTTP-dates are measured against.
     *
     * @param clock the clock
     * @return this builder
     * @throws NullPointerException if {@code clock} is null
     */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Sends the secret Base64-encoded in this header instead of the body. The header value is a
     * {@code String} that cannot be wiped, which is why the body is the default.
     *
     * @param headerName the header's name, for example {@code X-Device-Secret}
     * @return this builder
     * @throws NullPointerException if {@code headerName} is null
     * @throws IllegalArgumentException if {@code headerName} is not an HTTP token
     */
    public Builder secretHeader(String headerName) {
      this.secretHeader = token(headerName, "secretHeader");
      return this;
    }

    /**
     * Adds a header sent with every request, for example the service's API key.
     *
     * @param headerName the header's name
     * @param value the value
     * @return this builder
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if {@code headerName} is not an HTTP token or {@code value}
     *     holds control characters
     */
    public Builder header(String headerName, String value) {
      token(headerName, "headerName");
      Objects.requireNonNull(value, "value");
      Checks.check(value.chars().noneMatch(c -> c < 0x20 && c != '\t' || c == 0x7f), "value",
          "free of control characters", "<" + value.length() + " chars>");
      headers.add(new String[] {headerName, value});
      return this;
    }

    private static String token(String headerName, String parameter) {
      Objects.requireNonNull(headerName, parameter);
      Checks.check(headerName.matches("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}"), parameter, "an HTTP token",
          headerName);
      return headerName;
    }

    /**
     * Builds the authenticator.
     *
     * @return the authenticator
     */
    public HttpAuthenticator build() {
      return new HttpAuthenticator(this);
    }
  }
}
