package dev.inmesh.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DurableFileTest {
  @TempDir
  Path dir;

  @Test
  void replacesTheContentAndKeepsThePreviousGoodCopy() throws IOException {
    DurableFile file = new DurableFile(dir.resolve("applied.yaml"));

    file.write("one");
    file.write("two");

    assertThat(file.read()).contains("two");
    assertThat(Files.readString(file.previousPath())).isEqualTo("one");
    try (var listing = Files.list(dir)) {
      assertThat(listing.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("applied.yaml", "applied.yaml.prev");
    }
  }

  @Test
  void aWriteThatFailsLeavesTheOldContentInPlace() throws IOException {
    DurableFile file = new DurableFile(dir.resolve("applied.yaml"));
    file.write("one");
    // the temporary file's name taken by a directory: the write cannot even start
    Files.createDirectory(dir.resolve(".applied.yaml.tmp"));
    Files.writeString(dir.resolve(".applied.yaml.tmp").resolve("something"), "");

    assertThatThrownBy(() -> file.write("two")).isInstanceOf(IOException.class);

    assertThat(file.read()).contains("one");
  }

  @Test
  void aStrayTemporaryFileFromACrashIsReplacedByTheNextWrite() throws IOException {
    DurableFile file = new DurableFile(dir.resolve("applied.yaml"));
    file.write("one");
    Files.writeString(dir.resolve(".applied.yaml.tmp"), "half of tw");

    assertThat(file.read()).contains("one");
    file.write("two");

    assertThat(file.read()).contains("two");
    assertThat(Files.exists(dir.resolve(".applied.yaml.tmp"))).isFalse();
  }

  @Test
  void theFileAndADirectoryMadeForItAreTheOwnersAlone() throws IOException {
    DurableFile file = new DurableFile(dir.resolve("data").resolve("applied.yaml"));

    file.write("one");
    file.write("two");

    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file.path())))
        .isEqualTo("rw-------");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file.previousPath())))
        .isEqualTo("rw-------");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data"))))
        .isEqualTo("rwx------");
  }

  @Test
  void readsNothingWhereNothingWasWritten() throws IOException {
    assertThat(new DurableFile(dir.resolve("absent.yaml")).read()).isEmpty();
  }
}
