package dev.inmesh.control.config;

/**
 * Turns the {@code spec} of one kind into its record. It reports every problem through the reader
 * (with the field path) and returns its best reading; the caller rejects the resource if any
 * error was reported. {@code namespace} is the resource's own, for rules that depend on it.
 */
@FunctionalInterface
public interface SpecParser<T extends IstioSpec> {
  T parse(SpecReader spec, String namespace);
}
