package dev.massedge.agent.models;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import dev.massedge.inference.onnx.TensorRtCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorRtCacheCleanTest {
  @TempDir Path tmp;

  @Test
  void atStartTheEnginesOfModelsNoLongerOnTheDeviceAreRemoved() throws Exception {
    Path face = TestAssets.model("face-blazeface-128");
    try (ModelRepository repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      LoadedModel m = repo.load(face);
      Path root = tmp.resolve("trt");
      String key = TensorRtCache.key(Files.readAllBytes(face.resolve(m.descriptor().file())));
      Path kept = Files.createDirectories(root.resolve(key).resolve("trt10.3.0-gpu"));
      Path gone =
          Files.createDirectories(root.resolve("0123456789abcdef").resolve("trt10.3.0-gpu"));
      Files.writeString(gone.resolve("old.engine"), "engine of a model removed long ago");

      ModelRegistry.cleanTensorRtCache(root, List.of(m), null);

      assertThat(kept).isDirectory();
      assertThat(gone.getParent()).doesNotExist();
    }
  }
}
