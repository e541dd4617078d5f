package dev.inmesh.ca;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
  @TempDir
  Path temp;

  @Test
  void keepsTheAdminTokenInAFileOnlyItsOwnerCanReadAndReadsTheSameOneOnRestart() throws Exception {
    Path dataDir = temp.resolve("new").resolve("ca");

    String token = Main.adminToken(dataDir);

    assertThat(token).hasSizeGreaterThanOrEqualTo(40);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dataDir.resolve("admin-token"))))
        .isEqualTo("rw-------");
    assertThat(Main.adminToken(dataDir)).isEqualTo(token);
  }
}
