package dev.inmesh.control.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * docs/istio-support.md is the field-by-field reference: every kind mesh-control reads has a
 * table, and every row says, for each data plane, one of the values the page defines.
 */
class IstioSupportDocTest {
  private static final String FIELD_TABLE_HEADER = "| field | Inmesh HTTP | proxyless gRPC | note |";
  private static final Set<String> VALUES = Set.of(
      "enforced", "enforced, approximated (warned)", "enforced fail-closed", "refused at apply",
      "warned, not enforced", "not enforced, no warning",
      "not applicable");
  private static final List<String> KINDS = List.of("VirtualService", "DestinationRule", "ServiceEntry",
      "WorkloadEntry", "WorkloadGroup", "Gateway", "PeerAuthentication", "AuthorizationPolicy",
      "RequestAuthentication");

  @Test
  void everyKindMeshControlReadsHasAFieldTable() throws IOException {
    List<String> lines = Files.readAllLines(page());
    for (String kind : KINDS) {
      assertThat(Kinds.find(kind)).as("mesh-control reads %s", kind).isPresent();
      int heading = indexOfHeadingStartingWith(lines, "## " + kind);
      assertThat(heading).as("a section for %s", kind).isNotNegative();
      int next = heading + 1;
      while (next < lines.size() && !lines.get(next).startsWith("## ")) {
        next++;
      }
      assertThat(lines.subList(heading, next)).as("the field table of %s", kind).contains(FIELD_TABLE_HEADER);
    }
  }

  @Test
  void everyFieldRowSaysOneOfThePagesValuesForEachDataPlane() throws IOException {
    List<String> problems = new ArrayList<>();
    boolean inFieldTable = false;
    List<String> lines = Files.readAllLines(page());
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.equals(FIELD_TABLE_HEADER)) {
        inFieldTable = true;
        continue;
      }
      if (!line.startsWith("|")) {
        inFieldTable = false;
        continue;
      }
      if (!inFieldTable || line.startsWith("|---")) {
        continue;
      }
      List<String> cells = cells(line);
      if (cells.size() != 4) {
        problems.add("line " + (i + 1) + " has " + cells.size() + " cells, not 4: " + line);
      } else if (!VALUES.contains(cells.get(1)) || !VALUES.contains(cells.get(2))) {
        problems.add("line " + (i + 1) + " says '" + cells.get(1) + "' / '" + cells.get(2) + "': " + line);
      }
    }
    assertThat(problems).isEmpty();
  }

  /** The cells of a Markdown table row; {@code \|} and pipes inside code spans stay in their cell. */
  private static List<String> cells(String row) {
    String text = row.replaceAll("<!--.*?-->", "").trim();
    List<String> cells = new ArrayList<>();
    StringBuilder cell = new StringBuilder();
    boolean code = false;
    for (int i = 1; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\\' && i + 1 < text.length() && text.charAt(i + 1) == '|') {
        cell.append('|');
        i++;
      } else if (c == '`') {
        code = !code;
        cell.append(c);
      } else if (c == '|' && !code) {
        cells.add(cell.toString().trim());
        cell.setLength(0);
      } else {
        cell.append(c);
      }
    }
    return cells;
  }

  private static int indexOfHeadingStartingWith(List<String> lines, String prefix) {
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(prefix)) {
        return i;
      }
    }
    return -1;
  }

  /** The page, found from the module directory (where the build runs tests) or the repository's. */
  private static Path page() {
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("docs").resolve("istio-support.md");
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("docs/istio-support.md not found above " + Paths.get("").toAbsolutePath());
  }
}
