package dev.shepherd.micrometer;

import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import java.util.Objects;

/** What every binder shares: the {@code name} tag and the caller's extra tags. */
final class Binders {

  private Binders() {}

  /** {@code name=<instance name>}, {@code type=<primitive type>}, and the extra tags. */
  static Tags tags(String name, String type, Tag... extraTags) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(extraTags, "extraTags");
    return Tags.of(extraTags).and("name", name).and("type", type);
  }
}
