package dev.massedge.inference.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.TestAssets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRepositoryTest {
  static void copyModel(String from, Path to) throws Exception {
    Files.createDirectories(to);
    try (var files = Files.list(TestAssets.model(from))) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
  }

  @Test
  void aCorruptOrMissingModelIsReportedAndTheOthersServe(@TempDir Path root) throws Exception {
    copyModel("face-blazeface-128", root.resolve("good"));
    copyModel("face-blazeface-128", root.resolve("corrupt"));
    Path desc = root.resolve("corrupt/model.json");
    Files.writeString(desc, Files.readString(desc).replace("\"face-short\"", "\"face-corrupt\""));
    Files.write(root.resolve("corrupt/model.onnx"), new byte[] {1, 2, 3, 4});
    copyModel("vad-silero", root.resolve("missing"));
    Path vadDesc = root.resolve("missing/model.json");
    Files.writeString(
        vadDesc,
        Files.readString(vadDesc).replace("\"name\": \"vad\"", "\"name\": \"vad-missing\""));
    Files.delete(root.resolve("missing/model.onnx"));
    Files.createDirectories(root.resolve("bad-descriptor"));
    Files.writeString(root.resolve("bad-descriptor/model.json"), "{\"name\": \"x\", \"tsak\": 1}");

    try (var repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      List<LoadedModel> all = repo.loadAll(root);

      assertThat(all).hasSize(4);
      assertThat(repo.find("face-short", null)).get().matches(LoadedModel::ready);
      LoadedModel corrupt = repo.find("face-corrupt", null).orElseThrow();
      assertThat(corrupt.ready()).isFalse();
      assertThat(corrupt.failure().code()).isEqualTo("model_corrupt");
      LoadedModel missing = repo.find("vad-missing", null).orElseThrow();
      assertThat(missing.failure().code()).isEqualTo("model_missing");
      assertThat(missing.failure().message())
          .contains("model.onnx")
          .contains(ModelRepository.FETCH_COMMAND);
      LoadedModel bad = repo.find("bad-descriptor", null).orElseThrow();
      assertThat(bad.failure().code()).isEqualTo("descriptor_invalid");
      assertThat(bad.failure().message()).contains("tsak");
    }
  }

  @Test
  void aDescriptorThatNamesTensorsTheModelLacksIsRefused(@TempDir Path root) throws Exception {
    copyModel("face-blazeface-128", root.resolve("m"));
    Path desc = root.resolve("m/model.json");
    Files.writeString(desc, Files.readString(desc).replace("\"Identity_3:0\"", "\"boxes_small\""));
    try (var repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      LoadedModel m = repo.load(root.resolve("m"));
      assertThat(m.failure().code()).isEqualTo("descriptor_mismatch");
      assertThat(m.failure().message()).contains("boxes_small").contains("Identity_3:0");
    }
  }

  @Test
  void aGenericTensorModelNeedsOnlyADescriptor(@TempDir Path root) throws Exception {
    Path dir = root.resolve("raw");
    Files.createDirectories(dir);
    Files.copy(
        TestAssets.model("face-blazeface-128").resolve("model.onnx"),
        dir.resolve("blazeface.onnx"));
    Files.writeString(
        dir.resolve("model.json"),
        "{\"name\": \"raw-blazeface\", \"version\": \"7\", \"task\": \"tensor\","
            + " \"engine\": \"onnxruntime\", \"file\": \"blazeface.onnx\"}");
    try (var repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      LoadedModel m = repo.load(dir);
      assertThat(m.ready()).as("%s", m.failure()).isTrue();
      assertThat(m.faceDetector()).isNull();
      var out =
          m.session()
              .run(
                  java.util.Map.of(
                      "input:0",
                      dev.massedge.inference.Tensor.ofFloats(
                          new long[] {1, 128, 128, 3}, new float[128 * 128 * 3])));
      assertThat(out.get("Identity:0").shape()).containsExactly(1, 512, 1);
      assertThat(repo.find("raw-blazeface", "7")).contains(m);
    }
  }

  @Test
  void versionsOrderNumerically() {
    assertThat(ModelRepository.VERSION_ORDER.compare("2", "10")).isNegative();
  }
}
