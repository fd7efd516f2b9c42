package dev.massedge.inference.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ONNX Runtime's natives unpacked once from its real jar, checked, and unpacked again if bad. */
class OrtNativesTest {
  static final Path JAR = OrtNatives.jarOf(ai.onnxruntime.OrtEnvironment.class);

  @Test
  void unpacksOnceAndReusesTheFolder(@TempDir Path root) throws Exception {
    assertThat(JAR).as("the ONNX Runtime jar on the class path").isNotNull();
    Path dir = OrtNatives.cached(JAR, OrtNatives.platform(), root).orElseThrow();
    assertThat(dir).startsWith(root.resolve("onnxruntime"));
    assertThat(dir.getFileName().toString()).startsWith(OrtNatives.platform() + "-");
    Path lib = dir.resolve("libonnxruntime.so");
    assertThat(lib).isRegularFile();
    assertThat(dir.resolve("libonnxruntime4j_jni.so")).isRegularFile();
    FileTime written = Files.getLastModifiedTime(lib);
    Files.setLastModifiedTime(lib, FileTime.fromMillis(written.toMillis() - 60_000));
    FileTime aged = Files.getLastModifiedTime(lib);

    assertThat(OrtNatives.cached(JAR, OrtNatives.platform(), root)).contains(dir);
    assertThat(Files.getLastModifiedTime(lib)).as("not written again").isEqualTo(aged);
    // no temporary folders left beside it
    try (var s = Files.list(dir.getParent())) {
      assertThat(s.toList()).containsExactly(dir);
    }
  }

  @Test
  void aTruncatedOrAlteredLibraryIsUnpackedAgain(@TempDir Path root) throws Exception {
    Path dir = OrtNatives.cached(JAR, OrtNatives.platform(), root).orElseThrow();
    Path lib = dir.resolve("libonnxruntime4j_jni.so");
    byte[] good = Files.readAllBytes(lib);

    // a process killed while unpacking left half a folder an hour ago, another one just now
    Path stale = Files.createDirectories(dir.resolveSibling(dir.getFileName() + ".tmp123"));
    Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
    Path fresh = Files.createDirectories(dir.resolveSibling(dir.getFileName() + ".tmp456"));

    Files.write(lib, java.util.Arrays.copyOf(good, good.length / 2)); // cut short
    assertThat(OrtNatives.cached(JAR, OrtNatives.platform(), root)).contains(dir);
    assertThat(Files.readAllBytes(lib)).isEqualTo(good);
    assertThat(stale).doesNotExist();
    assertThat(fresh).as("may be another process unpacking now").isDirectory();

    byte[] flipped = good.clone();
    flipped[flipped.length / 2] ^= 0x5a; // same size, other bytes
    Files.write(lib, flipped);
    assertThat(OrtNatives.cached(JAR, OrtNatives.platform(), root)).contains(dir);
    assertThat(Files.readAllBytes(lib)).isEqualTo(good);
  }

  @Test
  void aJarWithoutThisPlatformsNativesOrAnUnwritableCacheIsRefused(@TempDir Path tmp)
      throws Exception {
    Path jar = tmp.resolve("other.jar");
    try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(jar))) {
      z.putNextEntry(new ZipEntry("ai/onnxruntime/native/plan9-mips/libonnxruntime.so"));
      z.write(new byte[] {1, 2, 3});
      z.closeEntry();
    }
    assertThat(OrtNatives.cached(jar, OrtNatives.platform(), tmp.resolve("cache"))).isEmpty();

    Path notADir = Files.writeString(tmp.resolve("file"), "x");
    assertThatThrownBy(() -> OrtNatives.cached(JAR, OrtNatives.platform(), notADir))
        .isInstanceOf(java.io.IOException.class);
  }

  @Test
  void theEngineLoadsOnnxRuntimeFromTheCache() {
    // the test JVM starts without a native path; the first engine points ONNX Runtime at the cache
    new OnnxEngine();
    String path = System.getProperty(OrtNatives.NATIVE_PATH);
    assertThat(path).isNotNull();
    assertThat(Path.of(path)).startsWith(OrtNatives.cacheRoot().resolve("onnxruntime"));
    assertThat(Path.of(path, "libonnxruntime.so")).isRegularFile();
    // and the library this JVM runs is that one, not a copy unpacked to a temporary folder
    new OnnxEngine()
        .open(
            dev.massedge.inference.TestAssets.model("face-blazeface-128").resolve("model.onnx"),
            dev.massedge.inference.EngineOptions.cpu(1))
        .close();
    java.util.List<String> mapped;
    try {
      mapped =
          Files.readAllLines(Path.of("/proc/self/maps")).stream()
              .filter(l -> l.endsWith("/libonnxruntime.so"))
              .map(l -> l.substring(l.indexOf('/')))
              .distinct()
              .toList();
    } catch (java.io.IOException e) {
      return; // not Linux
    }
    assertThat(mapped).containsExactly(Path.of(path, "libonnxruntime.so").toString());
  }
}
