package dev.inmesh.control.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What meshctl needs to call mesh-control, in one file as kubectl keeps its kubeconfig: the API's
 * URL, the bearer token, and for an {@code https} URL the PEM roots that its certificate chains
 * to. mesh-control writes one for its generated admin; {@code meshctl} reads it from
 * {@code --credential}, {@code $MESHCTL_CREDENTIAL} or {@code ~/.inmesh/credential}.
 *
 * <pre>
 * server: http://127.0.0.1:15014
 * name: admin
 * role: admin
 * token: inmesh-api-…
 * certificateAuthority: |      # only for https
 *   -----BEGIN CERTIFICATE-----
 * </pre>
 */
public record OperatorCredential(String server, String name, Role role, String token, Optional<String> certificateAuthority) {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  public OperatorCredential {
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(certificateAuthority, "certificateAuthority");
  }

  /** Where meshctl looks when neither {@code --credential} nor {@code $MESHCTL_CREDENTIAL} is set. */
  public static Path defaultPath() {
    return Path.of(System.getProperty("user.home"), ".inmesh", "credential");
  }

  /**
   * Reads a credential file.
   *
   * @throws IOException naming the file when it cannot be read or lacks {@code server} or {@code token}
   */
  public static OperatorCredential read(Path file) throws IOException {
    JsonNode node;
    try {
      node = YAML.readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException(file + " is not a meshctl credential (YAML with server and token): " + e.getOriginalMessage(), e);
    }
    if (node == null || !node.path("server").isTextual() || !node.path("token").isTextual()) {
      throw new IOException(file + " is not a meshctl credential: it needs 'server' and 'token'");
    }
    Role role;
    try {
      role = Role.parse(node.path("role").asText("viewer"));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
    String ca = node.path("certificateAuthority").asText("");
    return new OperatorCredential(node.get("server").asText(), node.path("name").asText("unnamed"), role,
        node.get("token").asText(), ca.isEmpty() ? Optional.empty() : Optional.of(ca));
  }

  /**
   * Writes this credential to {@code file}, readable by its owner only, atomically: a temporary
   * file in the same directory is written, synced, and renamed over it, and the directory synced.
   */
  public void write(Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Map<String, Object> yaml = new LinkedHashMap<>();
    yaml.put("server", server);
    yaml.put("name", name);
    yaml.put("role", role.label());
    yaml.put("token", token);
    certificateAuthority.ifPresent(ca -> yaml.put("certificateAuthority", ca));
    byte[] bytes = ("# meshctl credential for mesh-control: it grants role " + role.label() + "; keep it secret\n"
        + YAML.writeValueAsString(yaml).replaceFirst("^---\n", "")).getBytes(StandardCharsets.UTF_8);
    writePrivately(file, bytes);
  }

  /** Writes {@code bytes} to {@code file} as {@link #write} does: owner-only, synced, renamed into place. */
  public static void writePrivately(Path file, byte[] bytes) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Path temp;
    try {
      temp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      temp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
    }
    try {
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        channel.write(java.nio.ByteBuffer.wrap(bytes));
        channel.force(true);
      }
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temp);
    }
    try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
      directory.force(true);
    } catch (IOException e) {
      // some file systems cannot sync a directory; the rename itself was atomic
    }
  }
}
