package dev.inmesh.control.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** JSON and YAML for scripts, aligned tables for people. */
final class Printer {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
      .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
      .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

  private Printer() {}

  /** Prints {@code value} as JSON or YAML; false for the table format, which the caller prints itself. */
  static boolean structured(Meshctl.Format format, Object value, PrintStream out) {
    try {
      switch (format) {
        case json -> out.println(JSON.writeValueAsString(value));
        case yaml -> out.print(YAML.writeValueAsString(value));
        default -> {
          return false;
        }
      }
      return true;
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot print the answer: " + e.getMessage(), e);
    }
  }

  /** Columns padded to their widest cell; the last column is not padded. */
  static void table(PrintStream out, List<String> header, List<List<String>> rows) {
    List<List<String>> all = new ArrayList<>();
    all.add(header);
    all.addAll(rows);
    int[] widths = new int[header.size()];
    for (List<String> row : all) {
      for (int i = 0; i < row.size(); i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : all) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        line.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + (widths[i] + 2) + "s", row.get(i)));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
