package dev.shepherd.examples.checks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A build check, run by {@code mvn verify} on every JDK: the {@code synchronized} keyword does not
 * appear in the code of any library module's main sources.
 *
 * <p>Why the whole keyword and not only "{@code synchronized} around a wait": on Java 21 to 23 a
 * virtual thread that parks inside a monitor pins its carrier, and whether a {@code synchronized}
 * block can park depends on everything it calls, transitively (a logger, a listener, a
 * {@code CompletableFuture} callback), which a source check cannot see. A monitor that guards no
 * wait today guards one after the next refactoring. Shepherd's locks are therefore
 * {@code java.util.concurrent} locks and atomics, which never pin; this check keeps it so.
 * Comments, string and character literals are ignored, so prose may name the keyword.
 *
 * <p>Library modules are the directories beside this one that have {@code src/main/java}, except
 * the ones that are not published: {@code examples}, {@code benchmarks} and {@code virtual-threads}.
 */
class NoSynchronizedTest {

  private static final Set<String> NOT_LIBRARIES = Set.of("examples", "benchmarks", "virtual-threads");
  private static final Pattern KEYWORD = Pattern.compile("\\bsynchronized\\b");

  /**
   * Returns {@code source} with every comment, string literal (text blocks included) and character
   * literal replaced by spaces, newlines kept, so offsets and line numbers stay as they were.
   */
  static String codeOnly(String source) {
    StringBuilder out = new StringBuilder(source.length());
    int i = 0;
    int n = source.length();
    while (i < n) {
      char c = source.charAt(i);
      if (c == '/' && i + 1 < n && source.charAt(i + 1) == '/') {
        while (i < n && source.charAt(i) != '\n') {
          out.append(' ');
          i++;
        }
      } else if (c == '/' && i + 1 < n && source.charAt(i + 1) == '*') {
        int end = source.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        blank(source, i, end, out);
        i = end;
      } else if (source.startsWith("\"\"\"", i)) {
        int end = source.indexOf("\"\"\"", i + 3);
        while (end > 0 && source.charAt(end - 1) == '\\') {
          end = source.indexOf("\"\"\"", end + 1);
        }
        end = end < 0 ? n : end + 3;
        blank(source, i, end, out);
        i = end;
      } else if (c == '"' || c == '\'') {
        int end = i + 1;
        while (end < n && source.charAt(end) != c && source.charAt(end) != '\n') {
          end += source.charAt(end) == '\\' ? 2 : 1;
        }
        end = Math.min(n, end + 1);
        blank(source, i, end, out);
        i = end;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  private static void blank(String source, int from, int to, StringBuilder out) {
    for (int k = from; k < to; k++) {
      out.append(source.charAt(k) == '\n' ? '\n' : ' ');
    }
  }

  /** Where the keyword appears in the code of {@code source}, as "line N". */
  static List<Integer> keywordLines(String source) {
    String code = codeOnly(source);
    List<Integer> lines = new ArrayList<>();
    Matcher m = KEYWORD.matcher(code);
    while (m.find()) {
      lines.add((int) code.substring(0, m.start()).chars().filter(ch -> ch == '\n').count() + 1);
    }
    return lines;
  }

  @Test
  void theCheckSeesTheKeywordInCodeAndOnlyThere() {
    String source = String.join("\n",
        "/** Never {@code synchronized}. */",
        "class A {",
        "  // synchronized in a comment",
        "  String s = \"synchronized \\\" in a string\";",
        "  char c = 's';",
        "  String t = \"\"\"",
        "      synchronized in a text block",
        "      \"\"\";",
        "  synchronized void m() {}",
        "  void n() { synchronized (this) { } }",
        "  int unsynchronized;",
        "}");
    assertEquals(List.of(9, 10), keywordLines(source));
  }

  @Test
  void noLibraryMainSourceUsesSynchronized() throws IOException {
    Path root = Repository.root();
    List<Path> mains;
    try (Stream<Path> modules = Files.list(root)) {
      mains = modules.filter(d -> !NOT_LIBRARIES.contains(d.getFileName().toString()))
          .map(d -> d.resolve("src/main/java")).filter(Files::isDirectory).sorted().collect(Collectors.toList());
    }
    assertTrue(mains.size() >= 7, "library source roots found: " + mains);
    List<String> offences = new ArrayList<>();
    int files = 0;
    for (Path main : mains) {
      List<Path> sources;
      try (Stream<Path> walk = Files.walk(main)) {
        sources = walk.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList());
      }
      for (Path file : sources) {
        files++;
        for (int line : keywordLines(Files.readString(file, StandardCharsets.UTF_8))) {
          offences.add(root.relativize(file) + ":" + line);
        }
      }
    }
    assertTrue(files > 50, "library sources checked: " + files);
    assertEquals(List.of(), offences, "`synchronized` in library code (use java.util.concurrent locks: "
        + "a monitor pins a waiting virtual thread on Java 21-23)");
  }
}
