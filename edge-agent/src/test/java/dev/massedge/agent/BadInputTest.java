package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.massedge.inference.TestAssets;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad input gets a 4xx JSON error with a stable code and what was expected. */
@MicronautTest
class BadInputTest {
  @Inject EmbeddedServer server;
  AgentClient client;

  @BeforeEach
  void client() {
    client = new AgentClient(server.getURI());
  }

  static void assertError(AgentClient.Reply r, int status, String code, String... mentions) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.json()).as("JSON error body: %s", r.body()).isNotNull();
    assertThat(r.json().get("code").asText()).isEqualTo(code);
    for (String m : mentions) {
      assertThat(r.json().get("error").asText()).contains(m);
    }
  }

  static Map<String, Object> faceInput(String type, long[] shape, Object data) {
    return Map.of(
        "inputs",
        List.of(Map.of("name", "input:0", "datatype", type, "shape", shape, "data", data)));
  }

  @Test
  void imagesThatAreNotImages() {
    assertError(
        client.post("/v1/faces", "hello, world".getBytes(), "image/png"),
        400,
        "not_an_image",
        "JPEG or PNG");
    byte[] png = TestAssets.mediaBytes("astronaut.png");
    assertError(
        client.post("/v1/faces", Arrays.copyOf(png, png.length / 2), "image/png"),
        400,
        "image_corrupt");
    assertError(
        client.post("/v1/faces", new byte[0], "image/png"), 400, "empty_body", "JPEG or PNG");
  }

  @Test
  void audioThatIsNotPcm(@TempDir Path tmp) throws Exception {
    Path alaw =
        TestAssets.ffmpeg(
            tmp.resolve("alaw.wav"),
            "-i",
            TestAssets.media("stop_16k.wav").toString(),
            "-c:a",
            "pcm_alaw");
    assertError(
        client.post("/v1/vad", Files.readAllBytes(alaw), "audio/wav"),
        400,
        "wav_not_pcm",
        "A-law",
        "PCM");
    assertError(
        client.post("/v1/vad", TestAssets.mediaBytes("astronaut.png"), "audio/wav"),
        400,
        "not_a_wav");
    assertError(client.post("/v1/vad", new byte[0], "audio/wav"), 400, "empty_body");
  }

  @Test
  void tensorsOfTheWrongShapeTypeOrCount() {
    assertError(
        client.postJson(
            "/v2/models/face-short/infer", faceInput("FP32", new long[] {1, 2}, new float[2])),
        400,
        "shape_mismatch",
        "[1, 128, 128, 3]");
    assertError(
        client.postJson(
            "/v2/models/face-short/infer",
            faceInput("INT32", new long[] {1, 128, 128, 3}, new int[128 * 128 * 3])),
        400,
        "datatype_mismatch",
        "FP32");
    assertError(
        client.postJson(
            "/v2/models/face-short/infer",
            faceInput("FP32", new long[] {1, 128, 128, 3}, new float[5])),
        400,
        "size_mismatch",
        "49152");
    assertError(
        client.postJson(
            "/v2/models/face-short/infer", faceInput("FP32", new long[] {1}, List.of("x"))),
        400,
        "invalid_data",
        "FP32");
    assertError(
        client.postJson(
            "/v2/models/face-short/infer", faceInput("COMPLEX", new long[] {1}, new float[1])),
        400,
        "unsupported_datatype",
        "FP32");
    assertError(
        client.postJson(
            "/v2/models/vad/infer",
            Map.of(
                "inputs",
                List.of(
                    Map.of(
                        "name",
                        "input",
                        "datatype",
                        "FP32",
                        "shape",
                        new long[] {1, 576},
                        "data",
                        new float[576])))),
        400,
        "missing_input",
        "state");
    assertError(
        client.post("/v2/models/face-short/infer", "{\"inputs\": [".getBytes(), "application/json"),
        400,
        "invalid_json");
    assertError(
        client.post("/v2/models/face-short/infer", "{}".getBytes(), "application/json"),
        400,
        "invalid_request",
        "inputs");
    assertError(
        client.postJson(
            "/v2/models/face-short/infer",
            Map.of(
                "inputs",
                    List.of(
                        Map.of(
                            "name",
                            "input:0",
                            "datatype",
                            "FP32",
                            "shape",
                            new long[] {1, 128, 128, 3},
                            "data",
                            new float[49152])),
                "outputs", List.of(Map.of("name", "nope")))),
        400,
        "unknown_output",
        "Identity:0");
  }

  @Test
  void unknownModelsAndVersions() {
    assertError(client.get("/v2/models/no-such-model"), 404, "model_not_found");
    assertError(client.get("/v2/models/face-short/versions/9"), 404, "model_not_found");
    assertError(
        client.postJson(
            "/v2/models/no-such-model/infer", faceInput("FP32", new long[] {1}, new float[1])),
        404,
        "model_not_found",
        "face-short@1");
    assertError(
        client.post(
            "/v1/faces?model=no-such-model", TestAssets.mediaBytes("astronaut.png"), "image/png"),
        404,
        "model_not_found");
    assertError(
        client.post("/v1/faces?model=vad", TestAssets.mediaBytes("astronaut.png"), "image/png"),
        400,
        "wrong_task");
    assertError(
        client.post("/v1/faces?threshold=7", TestAssets.mediaBytes("astronaut.png"), "image/png"),
        400,
        "invalid_parameter");
  }

  @Test
  void bodiesOverTheLimit() {
    // the test configuration sets micronaut.server.max-request-size to 2MB
    assertError(
        client.post("/v1/faces", new byte[3 * 1024 * 1024], "image/png"), 413, "body_too_large");
  }
}
