package dev.massedge.sync.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes that survive a crash or a power cut (the store's and the outbox's small state files), and
 * the folder-tree delete the store, the bridge's catalog and the demo share.
 */
public final class Durable {
  private Durable() {}

  /** Writes {@code bytes} to {@code p} and forces them to disk before returning. */
  public static void writeSynced(Path p, byte[] bytes) throws IOException {
    try (FileChannel ch =
        FileChannel.open(
            p,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
  }

  /**
   * Replaces {@code target} with {@code bytes} atomically: a synced temporary file beside it,
   * renamed over it, then the directory synced, so a reader sees the old or the new, never a mix.
   */
  public static void replace(Path target, byte[] bytes) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
    writeSynced(tmp, bytes);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.toAbsolutePath().getParent());
  }

  /**
   * {@link #replace}, for a secret (a key, a token): the temporary file is made readable by its
   * owner only before a byte is written (where the file system has modes), so no copy is ever
   * readable by others.
   */
  public static void replaceSecret(Path target, byte[] bytes) throws IOException {
    Path tmp = target.resolveSibling(target.getFileName() + ".part");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(
          tmp,
          java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
              java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException noModes) {
      Files.createFile(tmp); // the directory's protection is all there is
    }
    writeSynced(tmp, bytes);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    syncDirectory(target.toAbsolutePath().getParent());
  }

  /**
   * Reads into {@code b} from position {@code at} until it is full or the file ends; returns the
   * bytes read.
   */
  public static int readAt(FileChannel ch, ByteBuffer b, long at) throws IOException {
    while (b.hasRemaining() && ch.read(b, at + b.position()) >= 0) {
      // the rest of the range
    }
    return b.position();
  }

  /** Forces a directory's entries (a rename, a new file) to disk where the file system allows. */
  public static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException ignored) {
      // not every file system lets a directory be opened; the rename is still atomic
    }
  }

  /** Deletes a folder and everything in it, deepest first (nothing when it is not there). */
  public static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (java.util.stream.Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
