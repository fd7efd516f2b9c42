package dev.massedge.inference.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.DataType;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.InvalidInputException;
import dev.massedge.inference.ModelLoadException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.tflite.TfliteEngine;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxEngineTest {
  static final Path FACE = TestAssets.model("face-blazeface-128").resolve("model.onnx");

  static Tensor zeros(long... shape) {
    return Tensor.ofFloats(shape, new float[(int) Tensor.elementCount(shape)]);
  }

  @Test
  void gpuChainFallsBackToCpuAndSaysWhy() {
    var opts = new EngineOptions(List.of("tensorrt", "cuda", "cpu"), 1, 1, null, null);
    try (ModelSession s = new OnnxEngine().open(FACE, opts)) {
      assertThat(s.executionProvider()).isEqualTo("cpu");
      assertThat(s.skippedProviders()).hasSize(2);
      assertThat(s.skippedProviders().get(0)).startsWith("tensorrt: ");
      assertThat(s.skippedProviders().get(1)).startsWith("cuda: ");
      if (ai.onnxruntime.OrtEnvironment.getAvailableProviders()
          .contains(ai.onnxruntime.OrtProvider.CUDA)) {
        // the GPU agent build (-Pgpu) on a machine without CUDA: the loader's own reason
        assertThat(s.skippedProviders())
            .allMatch(r -> r.contains("Failed to load"), "the CUDA libraries are missing here");
      } else {
        assertThat(s.skippedProviders())
            .allMatch(r -> r.contains("not in this ONNX Runtime build"), "the CPU build");
      }
      // and it still runs
      assertThat(s.run(Map.of("input:0", zeros(1, 128, 128, 3)))).hasSize(4);
    }
  }

  @Test
  void sessionReportsTheModelSignature() {
    try (ModelSession s = new OnnxEngine().open(FACE, EngineOptions.cpu(1))) {
      assertThat(s.inputs()).hasSize(1);
      assertThat(s.inputs().get(0).name()).isEqualTo("input:0");
      assertThat(s.inputs().get(0).type()).isEqualTo(DataType.FP32);
      assertThat(s.inputs().get(0).shape()).containsExactly(1, 128, 128, 3);
      assertThat(s.outputs())
          .extracting(o -> o.name())
          .containsExactlyInAnyOrder("Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0");
    }
  }

  @Test
  void wrongShapeTypeNameAndCountAreRefusedWithWhatWasExpected() {
    try (ModelSession s = new OnnxEngine().open(FACE, EngineOptions.cpu(1))) {
      assertThatThrownBy(() -> s.run(Map.of("input:0", zeros(1, 64, 64, 3))))
          .isInstanceOf(InvalidInputException.class)
          .hasMessageContaining("[1, 128, 128, 3]")
          .extracting(e -> ((InferenceException) e).code())
          .isEqualTo("shape_mismatch");
      Tensor ints =
          Tensor.of(
              DataType.INT32, new long[] {1, 128, 128, 3}, ByteBuffer.allocate(128 * 128 * 3 * 4));
      assertThatThrownBy(() -> s.run(Map.of("input:0", ints)))
          .extracting(e -> ((InferenceException) e).code())
          .isEqualTo("datatype_mismatch");
      assertThatThrownBy(() -> s.run(Map.of("image", zeros(1, 128, 128, 3))))
          .extracting(e -> ((InferenceException) e).code())
          .isEqualTo("unknown_input");
      assertThatThrownBy(() -> s.run(Map.of()))
          .hasMessageContaining("input:0")
          .extracting(e -> ((InferenceException) e).code())
          .isEqualTo("missing_input");
    }
  }

  @Test
  void corruptAndTruncatedModelFilesGiveALoadError(@TempDir Path tmp) throws Exception {
    Path truncated = tmp.resolve("truncated.onnx");
    byte[] all = Files.readAllBytes(FACE);
    Files.write(truncated, Arrays.copyOf(all, all.length / 3));
    assertThatThrownBy(() -> new OnnxEngine().open(truncated, EngineOptions.cpu(1)))
        .isInstanceOf(ModelLoadException.class)
        .hasMessageContaining("truncated.onnx")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("model_corrupt");
    Path garbage = Files.writeString(tmp.resolve("garbage.tflite"), "not a flatbuffer at all");
    assertThatThrownBy(() -> new TfliteEngine().open(garbage, EngineOptions.cpu(1)))
        .isInstanceOf(ModelLoadException.class)
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("model_corrupt");
    assertThatThrownBy(() -> new OnnxEngine().open(tmp.resolve("nope.onnx"), EngineOptions.cpu(1)))
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("model_missing");
  }

  @Test
  void unknownProviderNamesAreAConfigurationError() {
    assertThatThrownBy(() -> new EngineOptions(List.of("tpu"), 1, 1, null, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tpu")
        .hasMessageContaining("cuda");
  }

  @Test
  void tfliteGpuChainAlsoFallsBackToCpu() {
    Path tfl = TestAssets.model("face-short-range-tflite").resolve("model.tflite");
    var opts = new EngineOptions(List.of("cuda", "xnnpack"), 1, 1, null, null);
    try (ModelSession s = new TfliteEngine().open(tfl, opts)) {
      assertThat(s.executionProvider()).isEqualTo("xnnpack");
      assertThat(s.skippedProviders()).singleElement().asString().startsWith("cuda: ");
      assertThat(s.inputs().get(0).shape()).containsExactly(1, 128, 128, 3);
    }
    try (ModelSession s = new TfliteEngine().open(tfl, EngineOptions.cpu(1))) {
      assertThat(s.executionProvider()).isEqualTo("cpu");
    }
  }
}
