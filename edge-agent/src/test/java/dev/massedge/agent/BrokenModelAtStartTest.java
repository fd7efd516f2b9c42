package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.TestAssets;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** A corrupt model and a missing model file at start: the agent starts and serves the rest. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrokenModelAtStartTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;

  @Override
  public Map<String, String> getProperties() {
    try {
      Path root =
          Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "models");
      copy("face-blazeface-128", root.resolve("good"));
      Path corrupt = copy("face-blazeface-256", root.resolve("corrupt"));
      Files.write(corrupt.resolve("model.onnx"), new byte[] {0x08, 0x07, 0x12, 0x03});
      Path missing = copy("vad-silero", root.resolve("missing"));
      Files.delete(missing.resolve("model.onnx"));
      return Map.of(
          "mass.agent.models-dir", root.toString(), "mass.agent.execution-providers", "cpu");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Path copy(String model, Path to) throws IOException {
    Files.createDirectories(to);
    try (var files = Files.list(TestAssets.model(model))) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }

  @Test
  void brokenModelsAreNotReadyWithTheirReasonAndTheGoodOneServes() {
    AgentClient client = new AgentClient(server.getURI());
    assertThat(client.get("/v2/health/ready").status()).isEqualTo(200);

    var corrupt = client.get("/v2/models/face-long/ready");
    assertThat(corrupt.status()).isEqualTo(503);
    assertThat(corrupt.json().get("code").asText()).isEqualTo("model_corrupt");
    var missing = client.get("/v2/models/vad");
    assertThat(missing.json().get("parameters").get("error").asText())
        .contains("model.onnx")
        .contains("models/fetch-models.sh");
    var vad = client.post("/v1/vad", TestAssets.mediaBytes("silence3s.wav"), "audio/wav");
    assertThat(vad.status()).isEqualTo(503);
    assertThat(vad.json().get("code").asText()).isEqualTo("model_not_ready");

    var faces = client.post("/v1/faces", TestAssets.mediaBytes("astronaut.png"), "image/png");
    assertThat(faces.status()).isEqualTo(200);
    assertThat(faces.json().get("faces")).hasSize(1);
    assertThat(client.get("/health").body()).contains("NOT READY").contains("READY on cpu");
  }
}
