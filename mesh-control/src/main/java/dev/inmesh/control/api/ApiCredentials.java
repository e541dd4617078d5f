package dev.inmesh.control.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The bearer tokens that may call mesh-control's operator API, each with a {@link Role}. Only
 * SHA-256 digests of the tokens are held (and written), so a copy of the token file grants
 * nothing; a presented token is compared with every digest in constant time.
 *
 * <p>The file has one credential a line, {@code <role> <name> sha256:<hex>}, as {@code meshctl
 * credential new} prints it; blank lines and lines starting with {@code #} are skipped. Every
 * replica of a scaled-out mesh-control is given the same file, as kube-apiserver's
 * {@code --token-auth-file} is.
 */
public final class ApiCredentials {
  private static final String TOKEN_PREFIX = "inmesh-api-";
  private static final String DIGEST_PREFIX = "sha256:";

  /** Who called: the credential's name and role, for authorization and the audit log. */
  public record Caller(String name, Role role) {
    public Caller {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(role, "role");
    }
  }

  private record Entry(Caller caller, byte[] digest) {}

  private final List<Entry> entries;

  private ApiCredentials(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** Reads a token file; the error names the file and line. */
  public static ApiCredentials read(Path file) throws IOException {
    return parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
  }

  /**
   * Parses the lines of a token file named {@code source} in errors.
   *
   * @throws IllegalArgumentException naming the source, the line and what is wrong with it
   */
  public static ApiCredentials parse(String source, String text) {
    List<Entry> entries = new ArrayList<>();
    Set<String> names = new HashSet<>();
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = source + ":" + (i + 1) + ": ";
      String[] fields = line.split("\\s+");
      if (fields.length != 3) {
        throw new IllegalArgumentException(where + "expected '<role> <name> sha256:<hex>', got " + fields.length + " field(s)");
      }
      Role role;
      try {
        role = Role.parse(fields[0]);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + e.getMessage(), e);
      }
      if (!names.add(fields[1])) {
        throw new IllegalArgumentException(where + "the name '" + fields[1] + "' is used twice; names tell callers apart in the audit log");
      }
      if (!fields[2].matches(DIGEST_PREFIX + "[0-9a-f]{64}")) {
        throw new IllegalArgumentException(where + "the third field must be sha256: and 64 lower-case hex digits"
            + " (meshctl credential new prints it); a token itself does not belong in this file");
      }
      entries.add(new Entry(new Caller(fields[1], role), HexFormat.of().parseHex(fields[2].substring(DIGEST_PREFIX.length()))));
    }
    return new ApiCredentials(entries);
  }

  /** The caller {@code token} belongs to; empty for a token no line holds. */
  public Optional<Caller> authenticate(String token) {
    byte[] presented = digest(token);
    Caller found = null;
    // every entry is compared, so the time taken does not tell how far a guess got
    for (Entry entry : entries) {
      if (MessageDigest.isEqual(entry.digest(), presented) && found == null) {
        found = entry.caller();
      }
    }
    return Optional.ofNullable(found);
  }

  /** How many credentials there are. */
  public int size() {
    return entries.size();
  }

  /** A new random token: 256 bits, URL-safe. */
  public static String newToken(SecureRandom random) {
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    return TOKEN_PREFIX + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
  }

  /** The token file's line for {@code token}: role, name and the token's digest, never the token. */
  public static String line(Role role, String name, String token) {
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._@-]{0,62}")) {
      throw new IllegalArgumentException("a credential name is letters, digits, '.', '_', '@' and '-', got '" + name + "'");
    }
    return role.label() + " " + name + " " + DIGEST_PREFIX + HexFormat.of().formatHex(digest(token));
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
