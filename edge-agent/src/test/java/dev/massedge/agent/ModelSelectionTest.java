package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.TestAssets;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code mass.agent.models}: only the named bundled models load (the others cost no session and no
 * memory — the TensorFlow Lite model here would bring its native library); a name that is not there
 * is warned about, and the agent serves what it loaded.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelSelectionTest implements TestPropertyProvider {
  @Inject EmbeddedServer server;

  @Override
  public Map<String, String> getProperties() {
    return Map.of(
        "mass.agent.models-dir",
        TestAssets.models().toString(),
        "mass.agent.models",
        "face-short,vad,no-such-model");
  }

  @Test
  void onlyTheNamedModelsLoad() {
    AgentClient client = new AgentClient(server.getURI());
    assertThat(client.get("/v2/models/face-short/ready").status()).isEqualTo(200);
    assertThat(client.get("/v2/models/vad/ready").status()).isEqualTo(200);
    for (String other : new String[] {"face-long", "face-short-tflite", "no-such-model"}) {
      var r = client.get("/v2/models/" + other);
      assertThat(r.status()).as(other).isEqualTo(404);
    }
    var faces = client.post("/v1/faces", TestAssets.mediaBytes("astronaut.png"), "image/png");
    assertThat(faces.status()).isEqualTo(200);
    assertThat(faces.json().get("faces")).hasSize(1);
    assertThat(client.get("/health").body()).doesNotContain("face-long");
  }
}
