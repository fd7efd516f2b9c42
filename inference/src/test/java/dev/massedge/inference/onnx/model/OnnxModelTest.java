package dev.massedge.inference.onnx.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.InferenceException;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.onnx.tools.ModelInspection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OnnxModelTest {
  @ParameterizedTest
  @ValueSource(strings = {"face-blazeface-128", "face-blazeface-256", "vad-silero"})
  void readingAndWritingGivesTheSameBytes(String model) throws Exception {
    byte[] bytes = Files.readAllBytes(TestAssets.model(model).resolve("model.onnx"));
    assertThat(OnnxModel.parse(bytes).toByteArray()).isEqualTo(bytes);
  }

  @Test
  void inspectionNamesOpsetOperatorsAndPrecision() {
    ModelInspection i =
        ModelInspection.of(TestAssets.model("face-blazeface-128").resolve("model.onnx"));
    assertThat(i.opsets()).containsEntry("", 12L);
    assertThat(i.ops()).containsEntry("Conv", 37).containsEntry("Add", 16);
    assertThat(i.precision()).isEqualTo("fp32");
    assertThat(i.inputs()).containsExactly("input:0 FLOAT[1, 128, 128, 3]");
    assertThat(i.sizeBytes()).isEqualTo(442_005);
  }

  @Test
  void corruptTruncatedAndEmptyFilesAreRefused(@TempDir Path tmp) throws Exception {
    byte[] bytes = Files.readAllBytes(TestAssets.model("face-blazeface-128").resolve("model.onnx"));
    Path truncated = Files.write(tmp.resolve("t.onnx"), Arrays.copyOf(bytes, bytes.length - 1000));
    assertThatThrownBy(() -> OnnxModel.read(truncated))
        .hasMessageContaining("t.onnx")
        .hasMessageContaining("truncated")
        .extracting(e -> ((InferenceException) e).code())
        .isEqualTo("onnx_invalid");
    Path png = TestAssets.media("camera.png");
    assertThatThrownBy(() -> OnnxModel.read(png)).isInstanceOf(OnnxFormatException.class);
    Path empty = Files.write(tmp.resolve("e.onnx"), new byte[0]);
    assertThatThrownBy(() -> OnnxModel.read(empty)).hasMessageContaining("empty");
  }
}
