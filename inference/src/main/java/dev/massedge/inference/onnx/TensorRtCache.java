package dev.massedge.inference.onnx;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where TensorRT engines are cached: {@code ROOT/<model sha256, 16 hex>/trt<version>-<gpu>/}. An
 * engine is only valid for the model, the TensorRT version and the GPU it was built for, so each
 * combination has its own folder: built once, reused across restarts and rollbacks (a rolled-back
 * version's folder is still there), never loaded on another TensorRT or GPU. {@link #retainOnly}
 * removes the folders of models no longer on the device.
 */
public final class TensorRtCache {
  private final Path root;
  private final String platform;

  /** {@code root} with this machine's TensorRT version and GPU (looked up once a process). */
  public static TensorRtCache detect(Path root) {
    return new TensorRtCache(root, ThisMachine.TENSORRT, ThisMachine.GPU);
  }

  /** The TensorRT version and GPU do not change while the agent runs: read on first use. */
  private static final class ThisMachine {
    static final String TENSORRT = tensorRtVersion(libraryDirs());
    static final String GPU = gpu();
  }

  TensorRtCache(Path root, String tensorRtVersion, String gpu) {
    this.root = root;
    this.platform = ("trt" + tensorRtVersion + "-" + gpu).replaceAll("[^A-Za-z0-9._-]+", "_");
  }

  /** The folder for a model's engines on this TensorRT and GPU (created). */
  public Path dirFor(byte[] model) {
    Path dir = root.resolve(key(model)).resolve(platform);
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("TensorRT engine cache " + dir + ": " + e.getMessage(), e);
    }
    return dir;
  }

  /** The first 16 hex digits of the model's SHA-256: the name of its folder. */
  public static String key(byte[] model) {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(model))
          .substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Removes the engines of every model whose key is not in {@code keys} (only key-named folders:
   * nothing else under the root is touched); returns the folders removed.
   */
  public List<Path> retainOnly(Set<String> keys) throws IOException {
    List<Path> removed = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return removed;
    }
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path d : dirs.filter(Files::isDirectory).toList()) {
        String name = d.getFileName().toString();
        // only folders this class made: anything else in the folder is not its to remove
        if (name.matches("[0-9a-f]{16}") && !keys.contains(name)) {
          OrtNatives.deleteTree(d);
          removed.add(d);
        }
      }
    }
    return removed;
  }

  /**
   * The folders the dynamic loader searches for libnvinfer: LD_LIBRARY_PATH, then the usual ones.
   */
  static List<Path> libraryDirs() {
    List<Path> dirs = new ArrayList<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) {
      for (String d : ld.split(":")) {
        if (!d.isBlank()) {
          dirs.add(Path.of(d));
        }
      }
    }
    for (String d :
        List.of(
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/local/cuda/lib64",
            "/usr/lib64",
            "/usr/lib")) {
      dirs.add(Path.of(d));
    }
    return dirs;
  }

  /**
   * The version of the first {@code libnvinfer.so.X.Y.Z} found (the longest name), or "unknown".
   */
  static String tensorRtVersion(List<Path> dirs) {
    for (Path d : dirs) {
      if (!Files.isDirectory(d)) {
        continue;
      }
      try (Stream<Path> files = Files.list(d)) {
        String best =
            files
                .map(f -> f.getFileName().toString())
                .filter(n -> n.matches("libnvinfer\\.so\\.[0-9.]+"))
                .max(Comparator.comparingInt(String::length))
                .orElse(null);
        if (best != null) {
          return best.substring("libnvinfer.so.".length());
        }
      } catch (IOException unreadable) {
        // next folder
      }
    }
    return "unknown";
  }

  /** The GPU's model: NVIDIA's driver on a PC or server, the board's model on a Jetson. */
  static String gpu() {
    Path gpus = Path.of("/proc/driver/nvidia/gpus");
    if (Files.isDirectory(gpus)) {
      try (Stream<Path> ids = Files.list(gpus)) {
        for (Path id : ids.sorted().toList()) {
          for (String line : Files.readAllLines(id.resolve("information"))) {
            if (line.startsWith("Model:")) {
              return line.substring("Model:".length()).trim();
            }
          }
        }
      } catch (IOException | RuntimeException unreadable) {
        // below
      }
    }
    Path board = Path.of("/proc/device-tree/model");
    try {
      if (Files.isReadable(board)) {
        return Files.readString(board).replace("\0", "").trim();
      }
    } catch (IOException unreadable) {
      // below
    }
    return "unknown";
  }
}
