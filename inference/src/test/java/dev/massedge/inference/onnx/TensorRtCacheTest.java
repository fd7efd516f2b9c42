package dev.massedge.inference.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorRtCacheTest {
  @TempDir Path tmp;

  static final byte[] V1 = "model version 1".getBytes(StandardCharsets.UTF_8);
  static final byte[] V2 = "model version 2".getBytes(StandardCharsets.UTF_8);

  @Test
  void oneFolderPerModelTensorRtVersionAndGpu() throws Exception {
    TensorRtCache orin = new TensorRtCache(tmp, "10.3.0", "NVIDIA Jetson AGX Orin");
    Path a = orin.dirFor(V1);
    assertThat(a)
        .isDirectory()
        .isEqualTo(tmp.resolve(TensorRtCache.key(V1)).resolve("trt10.3.0-NVIDIA_Jetson_AGX_Orin"));
    // the same model, TensorRT and GPU: the same folder, engines reused after a restart
    assertThat(new TensorRtCache(tmp, "10.3.0", "NVIDIA Jetson AGX Orin").dirFor(V1)).isEqualTo(a);
    // another TensorRT, another GPU, another model: never the same folder
    assertThat(new TensorRtCache(tmp, "8.6.2", "NVIDIA Jetson AGX Orin").dirFor(V1))
        .isNotEqualTo(a);
    assertThat(new TensorRtCache(tmp, "10.3.0", "NVIDIA H100 80GB HBM3").dirFor(V1))
        .isNotEqualTo(a);
    assertThat(orin.dirFor(V2)).isNotEqualTo(a).isNotEqualTo(a.getParent());
    assertThat(TensorRtCache.key(V1)).hasSize(16).matches("[0-9a-f]+");
  }

  @Test
  void enginesOfModelsNoLongerHereAreRemovedTheOthersKept() throws Exception {
    TensorRtCache cache = new TensorRtCache(tmp, "10.3.0", "gpu");
    Path one = cache.dirFor(V1);
    Path two = cache.dirFor(V2);
    Files.writeString(two.resolve("TensorrtExecutionProvider_TRTKernel_graph_1_sm87.engine"), "x");
    Path other = Files.createDirectories(tmp.resolve("not-a-model-key"));
    List<Path> removed = cache.retainOnly(Set.of(TensorRtCache.key(V1)));
    assertThat(removed).containsExactly(two.getParent());
    assertThat(two.getParent()).doesNotExist();
    assertThat(one).isDirectory();
    assertThat(other).isDirectory(); // not the cache's to remove
    assertThat(new TensorRtCache(tmp.resolve("never-made"), "1", "g").retainOnly(Set.of()))
        .isEmpty();
  }

  @Test
  void theTensorRtVersionIsTheLibrarysFullVersion() throws Exception {
    Path lib = Files.createDirectories(tmp.resolve("lib"));
    assertThat(TensorRtCache.tensorRtVersion(List.of(lib, tmp.resolve("missing"))))
        .isEqualTo("unknown");
    Files.createFile(lib.resolve("libnvinfer.so.10"));
    Files.createFile(lib.resolve("libnvinfer.so.10.3.0"));
    Files.createFile(lib.resolve("libnvinfer_plugin.so.10.3.0"));
    assertThat(TensorRtCache.tensorRtVersion(List.of(tmp.resolve("missing"), lib)))
        .isEqualTo("10.3.0");
  }
}
