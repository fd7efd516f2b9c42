package dev.massedge.inference.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ONNX Runtime's native libraries unpacked once into a cache folder and loaded from there, instead
 * of being unpacked from its jar into a new temporary folder at every start (18 MB written and ~140
 * ms each time). The folder is named after the libraries' CRCs, so another ONNX Runtime build (CPU
 * or GPU, another version) gets its own; a cached file whose size or CRC is wrong is unpacked
 * again. Not used when {@code onnxruntime.native.path} is already set (the bundle's launcher sets
 * it to the bundle's own {@code native/} folder) or when the jar cannot be read or the cache folder
 * not written: ONNX Runtime then unpacks as it always does.
 */
public final class OrtNatives {
  private static final Logger log = LoggerFactory.getLogger(OrtNatives.class);
  static final String NATIVE_PATH = "onnxruntime.native.path";

  /** Where the cache lives: {@code mass.native-cache-dir}, else {@code ~/.cache/mass-edge}. */
  static final String CACHE_PROPERTY = "mass.native-cache-dir";

  /**
   * Set by the first call: every session opened asks again, and a failure is not worth retrying.
   */
  private static boolean tried;

  private OrtNatives() {}

  /**
   * Points ONNX Runtime at cached natives (unpacking them first if needed), before it loads. Safe
   * to call more than once: only the first call of a process does anything, and nothing when ONNX
   * Runtime already has a native path.
   */
  public static synchronized void useCache() {
    if (tried || System.getProperty(NATIVE_PATH) != null) {
      return;
    }
    tried = true;
    Path root = cacheRoot();
    try {
      Path jar = jarOf(ai.onnxruntime.OrtEnvironment.class);
      if (jar == null) {
        return;
      }
      cached(jar, platform(), root)
          .ifPresent(dir -> System.setProperty(NATIVE_PATH, dir.toString()));
    } catch (IOException | RuntimeException e) {
      log.info(
          "ONNX Runtime natives not cached in {} ({}): unpacked to a temporary folder", root, e);
    }
  }

  static Path cacheRoot() {
    String p = System.getProperty(CACHE_PROPERTY);
    if (p != null && !p.isBlank()) {
      return Path.of(p);
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isBlank()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("mass-edge");
  }

  /** ONNX Runtime's name for this machine's natives folder: linux-x64, linux-aarch64, osx-... */
  static String platform() {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
    String o = os.contains("linux") ? "linux" : os.contains("mac") ? "osx" : "win";
    String a =
        switch (arch) {
          case "amd64", "x86_64" -> "x64";
          case "aarch64", "arm64" -> "aarch64";
          default -> arch;
        };
    return o + "-" + a;
  }

  static Path jarOf(Class<?> c) {
    try {
      var source = c.getProtectionDomain().getCodeSource();
      if (source == null) {
        return null;
      }
      Path p = Path.of(source.getLocation().toURI());
      return Files.isRegularFile(p) ? p : null;
    } catch (java.net.URISyntaxException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The folder holding the natives of {@code platform} from {@code jar}, unpacked under {@code
   * root} if not there yet; empty when the jar has none for this platform.
   */
  static Optional<Path> cached(Path jar, String platform, Path root) throws IOException {
    String prefix = "ai/onnxruntime/native/" + platform + "/";
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      List<ZipEntry> libs = new ArrayList<>();
      CRC32 key = new CRC32();
      zip.stream()
          .filter(e -> !e.isDirectory() && e.getName().startsWith(prefix))
          .filter(e -> e.getName().indexOf('/', prefix.length()) < 0)
          .sorted(java.util.Comparator.comparing(ZipEntry::getName))
          .forEach(
              e -> {
                libs.add(e);
                key.update((e.getName() + ":" + e.getSize() + ":" + e.getCrc() + ";").getBytes());
              });
      if (libs.isEmpty()) {
        return Optional.empty();
      }
      Path dir =
          root.resolve("onnxruntime")
              .resolve(platform + "-" + String.format("%08x", key.getValue()));
      if (complete(dir, libs, prefix)) {
        return Optional.of(dir);
      }
      // unpack beside the final folder, then rename it into place: another process starting at
      // the same time either finds the whole folder or unpacks its own
      Files.createDirectories(dir.getParent());
      removeStale(dir);
      Path tmp = Files.createTempDirectory(dir.getParent(), dir.getFileName() + ".tmp");
      try {
        for (ZipEntry e : libs) {
          try (InputStream in = zip.getInputStream(e)) {
            Files.copy(in, tmp.resolve(e.getName().substring(prefix.length())));
          }
        }
        if (Files.exists(dir)) {
          deleteTree(dir); // a broken copy: its files did not match the jar's
        }
        try {
          Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
          // another process won the race; its copy is complete (it renamed after unpacking)
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, dir);
        }
      } finally {
        deleteTree(tmp);
      }
      if (!complete(dir, libs, prefix)) {
        throw new IOException("unpacked natives in " + dir + " do not match " + jar);
      }
      log.info("ONNX Runtime natives unpacked once into {}", dir);
      return Optional.of(dir);
    }
  }

  /** Every library present with its size and CRC as in the jar. */
  private static boolean complete(Path dir, List<ZipEntry> libs, String prefix) throws IOException {
    for (ZipEntry e : libs) {
      Path f = dir.resolve(e.getName().substring(prefix.length()));
      if (!Files.isRegularFile(f) || Files.size(f) != e.getSize()) {
        return false;
      }
    }
    // sizes match: check the contents once a process (cheap next to unpacking; a file cut or
    // changed in place keeps its size rarely, but a bad library would crash the JVM)
    for (ZipEntry e : libs) {
      CRC32 crc = new CRC32();
      try (InputStream in =
          Files.newInputStream(dir.resolve(e.getName().substring(prefix.length())))) {
        byte[] b = new byte[1 << 16];
        for (int n; (n = in.read(b)) > 0; ) {
          crc.update(b, 0, n);
        }
      }
      if (crc.getValue() != e.getCrc()) {
        return false;
      }
    }
    return true;
  }

  /** Half-unpacked folders of processes killed while unpacking, older than ten minutes. */
  private static void removeStale(Path dir) throws IOException {
    long before = System.currentTimeMillis() - 600_000;
    try (var s = Files.list(dir.getParent())) {
      for (Path p : s.toList()) {
        if (p.getFileName().toString().startsWith(dir.getFileName() + ".tmp")
            && Files.getLastModifiedTime(p).toMillis() < before) {
          deleteTree(p);
        }
      }
    }
  }

  /** Deletes a folder and everything in it (nothing when it is not there). */
  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (var s = Files.walk(p)) {
      for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }
}
