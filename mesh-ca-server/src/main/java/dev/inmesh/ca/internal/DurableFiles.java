package dev.inmesh.ca.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Files that survive a crash and that only their owner can read. A file is written under a
 * temporary name, synced, renamed over the old one and its directory synced, so a reader finds the
 * old content or the new, never a part. Directories are 0700 and files 0600 from the moment they
 * exist, whatever the umask; on a file system without POSIX permissions (Windows) the modes are
 * left to the file system.
 */
public final class DurableFiles {
  private static final Logger log = LoggerFactory.getLogger(DurableFiles.class);
  private static final Set<PosixFilePermission> OWNER_FILE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> OWNER_DIRECTORY = PosixFilePermissions.fromString("rwx------");
  private static final String TEMPORARY = ".tmp";

  private DurableFiles() {}

  /**
   * Creates {@code dir} and any missing parent with mode 0700. An existing {@code dir} loses what
   * its group and others may do, with a warning; existing parents are left alone.
   */
  public static Path createPrivateDirectories(Path dir) throws IOException {
    if (!posix(dir)) {
      return Files.createDirectories(dir);
    }
    if (Files.isDirectory(dir)) {
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(dir);
      Set<PosixFilePermission> narrowed = EnumSet.noneOf(PosixFilePermission.class);
      permissions.stream().filter(OWNER_DIRECTORY::contains).forEach(narrowed::add);
      if (!narrowed.equals(permissions)) {
        log.warn("{} was mode {}; narrowing it to {}, as it holds private keys", dir,
            PosixFilePermissions.toString(permissions), PosixFilePermissions.toString(narrowed));
        Files.setPosixFilePermissions(dir, narrowed);
      }
      return dir;
    }
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_DIRECTORY));
    // the mode at creation is narrowed by the umask; a umask cannot widen it, but one may take the owner's own bits
    Files.setPosixFilePermissions(dir, OWNER_DIRECTORY);
    syncDirectory(dir.toAbsolutePath().getParent());
    return dir;
  }

  /** Creates the directory {@code dir} (0700); its parent must exist. */
  public static void createPrivateDirectory(Path dir) throws IOException {
    if (!posix(dir)) {
      Files.createDirectory(dir);
      return;
    }
    Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_DIRECTORY));
    Files.setPosixFilePermissions(dir, OWNER_DIRECTORY);
    syncDirectory(dir.toAbsolutePath().getParent());
  }

  /** Creates the new file {@code file} (0600), writes {@code content} and syncs it; fails if it exists. */
  public static void writeNew(Path file, byte[] content) throws IOException {
    try (FileChannel channel = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        ownerOnly(file))) {
      ByteBuffer buffer = ByteBuffer.wrap(content);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
  }

  /** Replaces {@code file} with {@code content} (0600) in one atomic rename, synced before and after. */
  public static void write(Path file, byte[] content) throws IOException {
    Path temporary = temporary(file);
    Files.deleteIfExists(temporary);
    writeNew(temporary, content);
    move(temporary, file);
  }

  /** Renames {@code source} over {@code target} atomically (a file, a directory or a link) and syncs the directory. */
  public static void move(Path source, Path target) throws IOException {
    Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.toAbsolutePath().getParent());
  }

  /**
   * Makes {@code link} a symbolic link to {@code target}, replacing what was there in one rename.
   * Where the file system has no symbolic links for this user (Windows without the privilege), it
   * logs that and makes none.
   */
  public static void link(Path link, Path target) throws IOException {
    if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).equals(target)) {
      return;
    }
    Path temporary = temporary(link);
    Files.deleteIfExists(temporary);
    try {
      Files.createSymbolicLink(temporary, target);
    } catch (UnsupportedOperationException | FileSystemException e) {
      if (posix(link)) {
        throw e;
      }
      log.warn("cannot link {} to {} here ({}); the file is at {}", link, target, e.getMessage(), target);
      return;
    }
    move(temporary, link);
  }

  /**
   * Syncs a directory, so that the names created, renamed or deleted in it are on disk. Windows
   * cannot open a directory to sync it; its renames are journaled by NTFS.
   */
  public static void syncDirectory(Path dir) throws IOException {
    if (!posix(dir)) {
      return;
    }
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /**
   * Overwrites a secret with zeros, syncs it and deletes it. On a copy-on-write file system or a
   * flash disk the old blocks may survive the overwrite; the file's name and content do not.
   */
  public static void destroy(Path file) throws IOException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
      Files.deleteIfExists(file);
      return;
    }
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocate(4096);
      long size = channel.size();
      for (long position = 0; position < size; position += zeros.capacity()) {
        zeros.clear().limit((int) Math.min(zeros.capacity(), size - position));
        while (zeros.hasRemaining()) {
          channel.write(zeros, position + zeros.position());
        }
      }
      channel.force(true);
    } catch (NoSuchFileException e) {
      return;
    }
    Files.delete(file);
  }

  /**
   * Removes a directory and what it holds, destroying every file whose name ends with
   * {@code secretSuffix} first; syncs its parent.
   */
  public static void destroyDirectory(Path dir, String secretSuffix) throws IOException {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
          destroyDirectory(entry, secretSuffix);
        } else if (entry.getFileName().toString().endsWith(secretSuffix)) {
          destroy(entry);
        } else {
          Files.delete(entry);
        }
      }
    }
    Files.delete(dir);
    syncDirectory(dir.toAbsolutePath().getParent());
  }

  /** The name under which {@code file} is written before it is renamed into place. */
  public static Path temporary(Path file) {
    return file.resolveSibling(file.getFileName() + TEMPORARY);
  }

  /** True for the names {@link #temporary} gives. */
  public static boolean isTemporary(Path file) {
    return file.getFileName().toString().endsWith(TEMPORARY);
  }

  private static FileAttribute<?>[] ownerOnly(Path file) {
    return posix(file) ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_FILE)} : new FileAttribute<?>[0];
  }

  private static boolean posix(Path path) {
    return path.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
