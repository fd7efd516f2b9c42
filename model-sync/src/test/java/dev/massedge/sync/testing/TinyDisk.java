package dev.massedge.sync.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A real, small file system (a tmpfs of a given size mounted on a directory) that can be filled up
 * by a stranger's file and freed again: a full disk under whatever writes there. Mounting needs
 * root (CI runs as root); elsewhere the calling test is skipped with the reason.
 */
public final class TinyDisk implements AutoCloseable {
  private final Path dir;
  private final Path filler;

  private TinyDisk(Path dir) {
    this.dir = dir;
    this.filler = dir.resolve("filler.bin");
  }

  /** Mounts a tmpfs of {@code bytes} on {@code dir} (made if missing). */
  public static TinyDisk mount(Path dir, long bytes) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int rc = run("mount", "-t", "tmpfs", "-o", "size=" + bytes, "tmpfs", dir.toString());
    Assumptions.assumeTrue(
        rc == 0, "mounting a tmpfs needs root (the full-disk tests run in CI, as root)");
    return new TinyDisk(dir);
  }

  public Path dir() {
    return dir;
  }

  /** Fills the file system with another file until the disk is full; returns the bytes written. */
  public long fill() throws IOException {
    long n = 0;
    byte[] block = new byte[4096];
    try (OutputStream out = Files.newOutputStream(filler)) {
      while (true) {
        out.write(block);
        n += block.length;
      }
    } catch (IOException full) {
      if (!String.valueOf(full.getMessage()).contains("No space left")) {
        throw full;
      }
    }
    return n;
  }

  /** Deletes the filler: the disk has room again. */
  public void free() throws IOException {
    Files.deleteIfExists(filler);
  }

  @Override
  public void close() throws IOException, InterruptedException {
    run("umount", "-l", dir.toString());
  }

  private static int run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
  }
}
