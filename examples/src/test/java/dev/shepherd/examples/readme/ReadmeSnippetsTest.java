package dev.shepherd.examples.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.shepherd.circuitbreaker.AdaptiveThrottle;
import dev.shepherd.circuitbreaker.CircuitBreaker;
import dev.shepherd.examples.checks.Repository;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The README's Java cannot drift: every {@code ```java} block of README.md is, verbatim and in
 * order, a region of {@link ReadmeSnippets}, which the build compiles against the artifacts each
 * snippet names; and every region is in the README. The snippets that need no network also run.
 */
class ReadmeSnippetsTest {

  /** The bodies of the README's {@code ```java} blocks, in order. */
  static List<String> readmeBlocks(List<String> lines) {
    List<String> blocks = new ArrayList<>();
    StringBuilder block = null;
    for (String line : lines) {
      if (block == null && line.strip().equals("```java")) {
        block = new StringBuilder();
      } else if (block != null && line.strip().equals("```")) {
        blocks.add(block.toString());
        block = null;
      } else if (block != null) {
        block.append(line).append('\n');
      }
    }
    assertTrue(block == null, "an unterminated ```java block in README.md");
    return blocks;
  }

  /** The regions of the snippet source, each without its common indentation, in order. */
  static List<String> snippetRegions(List<String> lines) {
    List<String> regions = new ArrayList<>();
    List<String> region = null;
    for (String line : lines) {
      if (line.strip().equals("// README:begin")) {
        region = new ArrayList<>();
      } else if (line.strip().equals("// README:end")) {
        int indent = region.stream().filter(l -> !l.isBlank())
            .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        StringBuilder text = new StringBuilder();
        for (String l : region) {
          text.append(l.isBlank() ? "" : l.substring(indent)).append('\n');
        }
        regions.add(text.toString());
        region = null;
      } else if (region != null) {
        region.add(line);
      }
    }
    return regions;
  }

  @Test
  void everyJavaBlockOfTheReadmeIsACompiledSnippetVerbatimAndInOrder() throws IOException {
    Path root = Repository.root();
    List<String> readme = readmeBlocks(Files.readAllLines(root.resolve("README.md"), StandardCharsets.UTF_8));
    Path source = root.resolve("examples/src/test/java/dev/shepherd/examples/readme/ReadmeSnippets.java");
    List<String> snippets = snippetRegions(Files.readAllLines(source, StandardCharsets.UTF_8));
    assertTrue(readme.size() >= 10, "README.md has " + readme.size() + " java blocks");
    for (int i = 0; i < Math.min(readme.size(), snippets.size()); i++) {
      assertEquals(snippets.get(i), readme.get(i), "README java block " + (i + 1)
          + " differs from region " + (i + 1) + " of " + source.getFileName());
    }
    assertEquals(snippets.size(), readme.size(), "java blocks in README.md vs regions in " + source.getFileName());
  }

  @Test
  void theSnippetsThatNeedNoNetworkDoWhatTheReadmeSays() throws Exception {
    ReadmeSnippets.manualClock();
    ReadmeSnippets.manualScheduler(new ReadmeSnippets.Api());
    Duration first = ReadmeSnippets.backoff();
    assertTrue(first.compareTo(Duration.ZERO) >= 0 && first.compareTo(Duration.ofSeconds(1)) <= 0, first.toString());
    assertEquals(200, ReadmeSnippets.tokenBucket(row -> 1, "row").status(), "a fresh bucket grants");
    assertEquals(new ReadmeSnippets.Verdict(true), ReadmeSnippets.deadlineGuard(name -> "2000",
        (device, secret) -> new ReadmeSnippets.Verdict(device.equals("hub-42")), "hub-42", new byte[0]));
    assertEquals(200, ReadmeSnippets.slotAdmission(new byte[16], 42L, name -> null, new ReadmeSnippets.ServerResponse())
        .status, "a fresh admission admits");
    ExecutorService calls = Executors.newFixedThreadPool(2);
    try {
      ReadmeSnippets.CloudApi api = new ReadmeSnippets.CloudApi();
      ReadmeSnippets.Hub hub = new ReadmeSnippets.Hub();
      assertEquals("hub", ReadmeSnippets.cloudOrHub(calls, hub, api, "home-1").source(), "the cloud is down");
      assertEquals("hub", ReadmeSnippets.cloudOrHubAsync(hub, api, "home-1").toCompletableFuture()
          .get(30, TimeUnit.SECONDS).source());
      assertEquals(1, ReadmeSnippets.permission(CircuitBreaker.of("cloud")), "one call judged");
      AdaptiveThrottle throttle = ReadmeSnippets.throttle(api, "home-1");
      assertEquals(1, throttle.requests());
      assertEquals(0, throttle.accepts(), "the cloud refused");
    } finally {
      calls.shutdownNow();
    }
  }
}
