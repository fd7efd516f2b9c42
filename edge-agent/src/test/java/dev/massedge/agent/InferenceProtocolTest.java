package dev.massedge.agent;

import static dev.massedge.agent.AgentClient.input;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.onnx.OnnxEngine;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Open Inference Protocol endpoints, against the real models (GPU chain asked for, CPU here).
 */
@MicronautTest
class InferenceProtocolTest {
  @Inject EmbeddedServer server;
  AgentClient client;

  @BeforeEach
  void client() {
    client = new AgentClient(server.getURI());
  }

  /** POSTs a body with the binary extension's header; returns status, header, bytes. */
  java.net.http.HttpResponse<byte[]> postBinary(byte[] body, Integer headerLength)
      throws Exception {
    var b =
        java.net.http.HttpRequest.newBuilder(server.getURI().resolve("/v2/models/face-short/infer"))
            .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body))
            .header("Content-Type", "application/octet-stream");
    if (headerLength != null) {
      b.header("Inference-Header-Content-Length", headerLength.toString());
    }
    return java.net.http.HttpClient.newHttpClient()
        .send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A request whose single FP32 input follows the JSON as raw little-endian bytes. */
  static byte[][] binaryRequest(float[] pixels, long declaredSize) {
    String json =
        "{\"id\":\"bin-1\",\"parameters\":{\"binary_data_output\":true},\"inputs\":[{\"name\":"
            + "\"input:0\",\"datatype\":\"FP32\",\"shape\":[1,128,128,3],\"parameters\":"
            + "{\"binary_data_size\":"
            + declaredSize
            + "}}]}";
    java.nio.ByteBuffer raw =
        java.nio.ByteBuffer.allocate(pixels.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (float f : pixels) {
      raw.putFloat(f);
    }
    return new byte[][] {json.getBytes(java.nio.charset.StandardCharsets.UTF_8), raw.array()};
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  @Test
  void theBinaryTensorExtensionCarriesTheSameTensorsAsJson() throws Exception {
    float[] pixels = new float[128 * 128 * 3];
    Random rnd = new Random(11);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = rnd.nextFloat() * 2 - 1;
    }
    long[] shape = {1, 128, 128, 3};
    var asJson =
        client.postJson(
            "/v2/models/face-short/infer",
            Map.of("inputs", List.of(input("input:0", "FP32", shape, pixels))));
    assertThat(asJson.status()).isEqualTo(200);

    byte[][] req = binaryRequest(pixels, pixels.length * 4L);
    var r = postBinary(concat(req[0], req[1]), req[0].length);
    assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(200);
    int jsonLength =
        Integer.parseInt(r.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode head =
        new com.fasterxml.jackson.databind.ObjectMapper()
            .readTree(java.util.Arrays.copyOf(r.body(), jsonLength));
    assertThat(head.path("id").asText()).isEqualTo("bin-1");
    java.nio.ByteBuffer data =
        java.nio.ByteBuffer.wrap(r.body(), jsonLength, r.body().length - jsonLength)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int outputs = 0;
    for (JsonNode o : head.path("outputs")) {
      JsonNode same = null;
      for (JsonNode j : asJson.json().path("outputs")) {
        if (j.path("name").equals(o.path("name"))) {
          same = j;
        }
      }
      assertThat(o.has("data")).isFalse();
      int n = o.path("parameters").path("binary_data_size").asInt() / 4;
      assertThat(n).isEqualTo(same.path("data").size());
      for (int i = 0; i < n; i++) {
        assertThat(data.getFloat()).isEqualTo(same.path("data").get(i).floatValue());
      }
      outputs++;
    }
    assertThat(outputs).isEqualTo(4);
    assertThat(data.hasRemaining()).isFalse();

    // what is wrong is said: a size that does not fit the shape, data left over or missing, a
    // header longer than the body
    var wrongSize = postBinary(concat(binaryRequest(pixels, 12)[0], req[1]), null);
    assertThat(wrongSize.statusCode()).isEqualTo(400);
    byte[][] sized = binaryRequest(pixels, 12);
    wrongSize = postBinary(concat(sized[0], req[1]), sized[0].length);
    assertThat(new String(wrongSize.body())).contains("size_mismatch").contains("196608 bytes");
    var leftOver = postBinary(concat(concat(req[0], req[1]), new byte[8]), req[0].length);
    assertThat(leftOver.statusCode()).isEqualTo(400);
    assertThat(new String(leftOver.body())).contains("not claimed");
    var cut =
        postBinary(
            java.util.Arrays.copyOf(concat(req[0], req[1]), req[0].length + 1000), req[0].length);
    assertThat(cut.statusCode()).isEqualTo(400);
    assertThat(new String(cut.body())).contains("missing");
    var tooLong = postBinary(req[0], req[0].length + 5);
    assertThat(tooLong.statusCode()).isEqualTo(400);
  }

  @Test
  void inferOnRawBlazeFaceReturnsTheSameTensorsAsTheEngine() {
    float[] pixels = new float[128 * 128 * 3];
    Random rnd = new Random(7);
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = rnd.nextFloat() * 2 - 1;
    }
    long[] shape = {1, 128, 128, 3};
    var r =
        client.postJson(
            "/v2/models/face-short/infer",
            Map.of("id", "req-1", "inputs", List.of(input("input:0", "FP32", shape, pixels))));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().get("id").asText()).isEqualTo("req-1");
    assertThat(r.json().get("model_name").asText()).isEqualTo("face-short");

    Map<String, Tensor> direct;
    try (ModelSession s =
        new OnnxEngine()
            .open(
                TestAssets.model("face-blazeface-128").resolve("model.onnx"),
                EngineOptions.cpu(1))) {
      direct = s.run(Map.of("input:0", Tensor.ofFloats(shape, pixels)));
    }
    JsonNode outputs = r.json().get("outputs");
    assertThat(outputs).hasSize(4);
    for (JsonNode o : outputs) {
      Tensor expected = direct.get(o.get("name").asText());
      assertThat(o.get("datatype").asText()).isEqualTo("FP32");
      assertThat(o.get("shape").toString())
          .isEqualTo(java.util.Arrays.toString(expected.shape()).replace(" ", ""));
      float[] want = expected.toFloatArray();
      float[] got = new float[o.get("data").size()];
      for (int i = 0; i < got.length; i++) {
        got[i] = o.get("data").get(i).floatValue();
      }
      assertThat(got).as(o.get("name").asText()).containsExactly(want);
    }
  }

  @Test
  void requestedOutputsOnlyAndNestedInputData() {
    float[][][][] nested = new float[1][128][128][3];
    var r =
        client.postJson(
            "/v2/models/face-short/versions/1/infer",
            Map.of(
                "inputs", List.of(input("input:0", "FP32", new long[] {1, 128, 128, 3}, nested)),
                "outputs", List.of(Map.of("name", "Identity:0"))));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().get("outputs")).hasSize(1);
    assertThat(r.json().get("outputs").get(0).get("data")).hasSize(512);
  }

  @Test
  void vadModelTakesInt64ScalarAndStateOverTheProtocol() {
    var r =
        client.postJson(
            "/v2/models/vad/infer",
            Map.of(
                "inputs",
                List.of(
                    input("input", "FP32", new long[] {1, 576}, new float[576]),
                    input("state", "FP32", new long[] {2, 1, 128}, new float[256]),
                    input("sr", "INT64", new long[] {}, new long[] {16000}))));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    JsonNode out = r.json().get("outputs");
    assertThat(out).extracting(o -> o.get("name").asText()).contains("output", "stateN");
  }

  @Test
  void serverAndModelMetadataSayWhichProviderIsActive() {
    assertThat(client.get("/v2/health/live").status()).isEqualTo(200);
    assertThat(client.get("/v2/health/ready").status()).isEqualTo(200);
    assertThat(client.get("/v2").json().get("name").asText()).isEqualTo("mass-edge-agent");
    var meta = client.get("/v2/models/face-short");
    assertThat(meta.status()).isEqualTo(200);
    assertThat(meta.json().get("platform").asText()).isEqualTo("onnxruntime_onnx");
    assertThat(meta.json().get("inputs").get(0).get("shape").toString()).isEqualTo("[1,128,128,3]");
    JsonNode p = meta.json().get("parameters");
    // the test configuration asks for tensorrt,cuda,cpu; this machine has neither GPU provider
    assertThat(p.get("execution_provider").asText()).isEqualTo("cpu");
    assertThat(p.get("skipped_providers")).hasSize(2);
    assertThat(client.get("/v2/models/face-short/versions/1").status()).isEqualTo(200);
    assertThat(client.get("/v2/models/face-short/ready").json().get("ready").asBoolean()).isTrue();
    assertThat(client.get("/v2/models/face-short-tflite").json().get("platform").asText())
        .isEqualTo("tensorflow_lite");

    client.post("/v1/faces", TestAssets.mediaBytes("astronaut.png"), "image/png");
    String prom = client.get("/prometheus").body();
    assertThat(prom)
        .contains(
            "mass_model_ready{engine=\"onnxruntime\",execution_provider=\"cpu\",model=\"face-short\"")
        .containsPattern(
            "mass_inference_latency_seconds_count\\{endpoint=\"faces\",execution_provider=\"cpu\",model=\"face-short\",outcome=\"ok\",version=\"1\",?\\} [1-9]");
    assertThat(client.get("/health").body()).contains("READY on cpu");
  }
}
