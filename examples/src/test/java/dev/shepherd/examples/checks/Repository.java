package dev.shepherd.examples.checks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** Where the repository's root is, for the checks that read files outside this module. */
public final class Repository {

  private Repository() {}

  /** The nearest directory above the working directory whose POM lists the examples module. */
  public static Path root() {
    Path dir = Paths.get("").toAbsolutePath();
    while (dir != null) {
      Path pom = dir.resolve("pom.xml");
      try {
        if (Files.isRegularFile(pom) && Files.readString(pom).contains("<module>examples</module>")) {
          return dir;
        }
      } catch (IOException e) {
        throw new AssertionError(e);
      }
      dir = dir.getParent();
    }
    throw new AssertionError("no repository root above " + Paths.get("").toAbsolutePath());
  }
}
