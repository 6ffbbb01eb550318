package dev.shepherd.examples;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A small parser for the examples' {@code --name value} / {@code --name=value} options; no
 * dependency, strict: an unknown option, a missing value or a malformed number is a {@link
 * UsageException} whose message names the option and what it got.
 */
final class CommandLine {

  private final Map<String, String> values = new LinkedHashMap<>();
  private final Set<String> flagsGiven = new HashSet<>();

  private CommandLine() {}

  /**
   * Parses {@code args}.
   *
   * @param args the command line
   * @param valued options that take a value, without the leading dashes
   * @param flags options that take none, without the leading dashes
   * @return the parsed options
   * @throws UsageException on anything else
   */
  static CommandLine parse(String[] args, Set<String> valued, Set<String> flags)
      throws UsageException {
    CommandLine line = new CommandLine();
    List<String> list = List.of(args);
    for (int i = 0; i < list.size(); i++) {
      String arg = list.get(i);
      if (!arg.startsWith("--") || arg.length() == 2) {
        throw new UsageException("unexpected argument: '" + arg + "'");
      }
      String name = arg.substring(2);
      String value = null;
      int equals = name.indexOf('=');
      if (equals >= 0) {
        value = name.substring(equals + 1);
        name = name.substring(0, equals);
      }
      if (flags.contains(name)) {
        if (value != null) {
          throw new UsageException("--" + name + " takes no value: '" + arg + "'");
        }
        line.flagsGiven.add(name);
      } else if (valued.contains(name)) {
        if (value == null) {
          if (i + 1 >= list.size() || list.get(i + 1).startsWith("--")) {
            throw new UsageException("--" + name + " needs a value");
          }
          value = list.get(++i);
        }
        if (line.values.put(name, value) != null) {
          throw new UsageException("--" + name + " given twice");
        }
      } else {
        throw new UsageException("unknown option: --" + name);
      }
    }
    return line;
  }

  boolean has(String flag) {
    return flagsGiven.contains(flag);
  }

  String string(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  /** A whole number in {@code [min, max]}; digits may be grouped with '_' or ','. */
  long whole(String name, long fallback, long min, long max) throws UsageException {
    String raw = values.get(name);
    if (raw == null) {
      return fallback;
    }
    long value;
    try {
      value = Long.parseLong(raw.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be a whole number: '" + raw + "'");
    }
    if (value < min || value > max) {
      throw new UsageException(String.format(
          Locale.ROOT, "--%s must be between %,d and %,d: %s", name, min, max, raw));
    }
    return value;
  }

  /** A decimal number in {@code [min, max]}. */
  double decimal(String name, double fallback, double min, double max) throws UsageException {
    String raw = values.get(name);
    if (raw == null) {
      return fallback;
    }
    double value;
    try {
      value = Double.parseDouble(raw);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be a number: '" + raw + "'");
    }
    if (!(value >= min && value <= max)) {
      throw new UsageException(
          String.format(Locale.ROOT, "--%s must be between %s and %s: %s", name, min, max, raw));
    }
    return value;
  }
}
