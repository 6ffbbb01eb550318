package dev.shepherd.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scrapes the live fleet's Prometheus endpoint while the demo runs, as Prometheus would, and finds
 * the storm in the numbers: the condition of the {@code ShepherdStormDetected} rule holds after the
 * drop, and the counters add up to what the run did. Assertions are about counts, never timing.
 */
@Tag("concurrency")
class MetricsScrapeTest {

  private static final Pattern URL = Pattern.compile("metrics: (http://127\\.0\\.0\\.1:\\d+/metrics)");

  @TempDir Path folder;

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

  @Test
  @Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void theScrapeEndpointShowsTheReconnectStormWhileTheFleetRuns() throws Exception {
    int hubs = 200;
    LiveFleet.Settings settings = new LiveFleet.Settings(hubs, 200, 200, Duration.ofSeconds(1),
        Duration.ofSeconds(2), Duration.ofSeconds(30), Duration.ofSeconds(3), 7L, null, null, null, false, folder);
    CompletableFuture<LiveFleet.Summary> run = CompletableFuture.supplyAsync(() -> {
      try {
        return LiveFleet.run(settings, out);
      } catch (Exception e) {
        throw new CompletionException(e);
      }
    });

    URI uri = awaitUri(run);
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    List<Map<String, Double>> scrapes = new ArrayList<>();
    while (!run.isDone()) {
      try {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        scrapes.add(parse(response.body()));
      } catch (IOException closedAtTheEnd) {
        break; // the demo closes its endpoint as it returns
      }
      TimeUnit.MILLISECONDS.sleep(100);
    }
    LiveFleet.Summary summary = run.join();
    assertEquals(hubs, summary.dropped(), bytes.toString(StandardCharsets.UTF_8));

    // Before the drop the whole fleet is connected; after it, most hubs are down at once: the
    // alert's condition (more than 20% of the group waiting or connecting) holds.
    int full = -1;
    for (int i = 0; i < scrapes.size() && full < 0; i++) {
      if (sum(scrapes.get(i), "shepherd_reconnector_state", "name=\"hubs\"", "state=\"CONNECTED\"") == hubs) {
        full = i;
      }
    }
    assertTrue(full >= 0, "no scrape saw the whole fleet connected, in " + scrapes.size() + " scrapes");
    double worst = 0;
    for (Map<String, Double> scrape : scrapes.subList(full, scrapes.size())) {
      double down = sum(scrape, "shepherd_reconnector_state", "name=\"hubs\"", "state=\"WAITING\"")
          + sum(scrape, "shepherd_reconnector_state", "name=\"hubs\"", "state=\"CONNECTING\"");
      double live = sum(scrape, "shepherd_reconnector_state", "name=\"hubs\"")
          - sum(scrape, "shepherd_reconnector_state", "name=\"hubs\"", "state=\"CLOSED\"");
      if (live > 0) { // NaN once the demo has let go of its fleet, just before the endpoint closes
        worst = Math.max(worst, down / live);
      }
    }
    assertTrue(worst > 0.2, "the storm never showed: at most " + worst + " of the hubs were down");

    // The counters add up: every hub connected before the drop and again after it, each hello
    // went through admission, and the cache answered for the database after the drop.
    Map<String, Double> last = scrapes.get(full);
    for (Map<String, Double> scrape : scrapes) {
      if (sum(scrape, "shepherd_reconnector_attempts_total", "name=\"hubs\"") > 0) {
        last = scrape; // the last scrape while the fleet was still measured
      }
    }
    assertTrue(sum(last, "shepherd_reconnector_attempts_total", "name=\"hubs\"") >= 2 * hubs, last.toString());
    double admitted = sum(last, "shepherd_ratelimit_granted_total", "name=\"connect-admission\"");
    double refused = sum(last, "shepherd_ratelimit_rejected_total", "name=\"connect-admission\"");
    assertTrue(admitted >= 2 * hubs, "admitted " + admitted);
    assertTrue(admitted + refused <= sum(last, "shepherd_reconnector_attempts_total", "name=\"hubs\""),
        "every hello is a hub's attempt");
    assertTrue(sum(last, "shepherd_auth_cache_hits_total", "name=\"device-auth\"") > 0, last.toString());
    assertTrue(last.keySet().stream().anyMatch(k -> k.startsWith("shepherd_bulkhead_limit{")), last.keySet().toString());
  }

  private URI awaitUri(CompletableFuture<?> run) throws InterruptedException {
    for (int i = 0; i < 600; i++) {
      Matcher m = URL.matcher(bytes.toString(StandardCharsets.UTF_8));
      if (m.find()) {
        return URI.create(m.group(1));
      }
      if (run.isDone()) {
        run.join(); // shows why it ended
        break;
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
    throw new AssertionError("the demo printed no metrics address: " + bytes.toString(StandardCharsets.UTF_8));
  }

  /** The Prometheus text format, one sample per line: {@code name{labels} value}. */
  static Map<String, Double> parse(String text) {
    Map<String, Double> samples = new HashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int space = line.lastIndexOf(' ');
      samples.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
    }
    return samples;
  }

  /** The sum of the samples of {@code metric} whose labels include every one of {@code labels}. */
  static double sum(Map<String, Double> scrape, String metric, String... labels) {
    double total = 0;
    for (Map.Entry<String, Double> sample : scrape.entrySet()) {
      String series = sample.getKey();
      if (!series.startsWith(metric + "{") && !series.equals(metric)) {
        continue;
      }
      boolean all = true;
      for (String label : labels) {
        all &= series.contains(label);
      }
      if (all) {
        total += sample.getValue();
      }
    }
    return total;
  }
}
