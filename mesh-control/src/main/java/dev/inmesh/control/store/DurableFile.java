package dev.inmesh.control.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * A file that is replaced whole or not at all, and survives a crash once {@link #write} returns:
 * the new content goes to a temporary file in the same directory, is forced to disk, renamed over
 * the old one in one atomic step, and the directory is forced so the rename itself is durable.
 * The content it replaces is kept as {@code <name>.prev}, the previous good copy.
 *
 * <p>A crash at any point leaves the file with either its old or its new content; a stray
 * temporary file is all that can be left behind, and the next write removes it. The file is its
 * owner's alone (0600), and a directory made for it too (0700), whatever the umask.
 */
public final class DurableFile {
  private final Path file;
  private final Path previous;
  private final Path temporary;

  public DurableFile(Path file) {
    this.file = file.toAbsolutePath();
    this.previous = this.file.resolveSibling(this.file.getFileName() + ".prev");
    this.temporary = this.file.resolveSibling("." + this.file.getFileName() + ".tmp");
  }

  public Path path() {
    return file;
  }

  public Path previousPath() {
    return previous;
  }

  /** The current content, if the file exists. */
  public Optional<String> read() throws IOException {
    try {
      return Optional.of(Files.readString(file, StandardCharsets.UTF_8));
    } catch (java.nio.file.NoSuchFileException e) {
      // only a file known to be absent is absent: one that cannot be looked at is an error
      return Optional.empty();
    }
  }

  /** Whether the previous copy is there, or might be: when that cannot be told, it counts as there. */
  public boolean mayHavePrevious() {
    return !Files.notExists(previous);
  }

  /** Replaces the content durably; the content replaced becomes the previous good copy. */
  public void write(String content) throws IOException {
    Path dir = file.getParent();
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, privateTo(dir, "rwx------"));
    }
    Files.deleteIfExists(temporary);
    writeForced(temporary, content.getBytes(StandardCharsets.UTF_8));
    if (Files.exists(file)) {
      // the copy of what is in force now, made before it is replaced: a hard link costs no copy
      Path link = previous.resolveSibling("." + previous.getFileName() + ".tmp");
      Files.deleteIfExists(link);
      try {
        Files.createLink(link, file);
      } catch (UnsupportedOperationException | IOException e) {
        // a file system without hard links: a private copy does as well
        Files.deleteIfExists(link);
        writeForced(link, Files.readAllBytes(file));
      }
      Files.move(link, previous, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
    Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    try {
      forceDirectory(dir);
    } catch (IOException e) {
      // the new content is in place and is what a restart reads; the rename is as durable as the
      // file system makes it without a directory sync, which this one refused
      org.slf4j.LoggerFactory.getLogger(DurableFile.class).warn("{} is written, but its directory cannot be synced: {}",
          file, e.toString());
    }
  }

  private static java.nio.file.attribute.FileAttribute<?>[] privateTo(Path path, String permissions) {
    Path existing = path.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    boolean posix = existing != null && existing.getFileSystem().supportedFileAttributeViews().contains("posix");
    return posix ? new java.nio.file.attribute.FileAttribute<?>[] {java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString(permissions))} : new java.nio.file.attribute.FileAttribute<?>[0];
  }

  private static void writeForced(Path path, byte[] bytes) throws IOException {
    try (FileChannel channel = FileChannel.open(path, java.util.Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        privateTo(path, "rw-------"))) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
  }

  /** Forces a directory's entries (a rename into it) to disk; where the platform can't, does nothing. */
  static void forceDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      if (!System.getProperty("os.name", "").startsWith("Windows")) {
        throw e;
      }
    }
  }
}
