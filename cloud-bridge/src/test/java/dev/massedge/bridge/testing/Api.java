package dev.massedge.bridge.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.bridge.cli.Cli;
import dev.massedge.inference.TestAssets;
import dev.massedge.sync.testing.ModelDirs;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** The bridge's REST API as a test calls it: status and JSON body. */
public final class Api {
  public static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;
  private final String token;

  public record Reply(int status, JsonNode body) {}

  public Api(String base, String token) {
    this.base = base;
    this.token = token;
  }

  /**
   * Rollout gates for tests: every device must activate, none may fail, the default health bounds,
   * and {@code soakSeconds} of soak. A mutable map, for a test to change one bound.
   */
  public static Map<String, Object> gates(int soakSeconds) {
    Map<String, Object> g = new java.util.LinkedHashMap<>();
    g.put("successThreshold", 1.0);
    g.put("failureThreshold", 0.0);
    g.put("maxErrorRate", 0.05);
    g.put("maxLatencyRatio", 1.5);
    g.put("maxDetectionChange", 0.5);
    g.put("soakSeconds", soakSeconds);
    return g;
  }

  /** Starts a rollout of {@code model} v{@code version} to the devices tagged {@code tag}. */
  public long startRollout(
      String model, String version, String tag, List<Integer> phases, Map<String, Object> gates)
      throws IOException, InterruptedException {
    Reply r =
        post(
            "/api/v1/rollouts",
            Map.of(
                "model",
                model,
                "version",
                version,
                "tags",
                List.of(tag),
                "phases",
                phases,
                "gates",
                gates));
    if (r.status() != 201) {
      throw new AssertionError("POST /api/v1/rollouts → " + r.status() + " " + r.body());
    }
    return r.body().path("id").asLong();
  }

  /**
   * Adds the bundled BlazeFace 128 to the catalog as face-short in each of {@code versions} (the
   * copies are made under {@code dir}).
   */
  public void pushFaceShort(Path dir, String... versions) throws Exception {
    for (String v : versions) {
      Path copy = dir.resolve("face-short-" + v);
      ModelDirs.asVersion(TestAssets.model("face-blazeface-128"), copy, v);
      Reply r = send("POST", "/api/v1/models", "application/zip", Cli.zip(copy));
      if (r.status() != 201) {
        throw new AssertionError("POST /api/v1/models v" + v + " → " + r.status() + " " + r.body());
      }
    }
  }

  public Api as(String otherToken) {
    return new Api(base, otherToken);
  }

  public Reply get(String path) throws IOException, InterruptedException {
    return send("GET", path, null, null);
  }

  public Reply post(String path, Object json) throws IOException, InterruptedException {
    return send("POST", path, "application/json", JSON.writeValueAsBytes(json));
  }

  public Reply put(String path, Object json) throws IOException, InterruptedException {
    return send("PUT", path, "application/json", JSON.writeValueAsBytes(json));
  }

  public Reply send(String method, String path, String type, byte[] body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (type != null) {
      b.header("Content-Type", type);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    return new Reply(
        r.statusCode(), r.body().length == 0 ? JSON.nullNode() : JSON.readTree(r.body()));
  }

  /** GET that must succeed. */
  public JsonNode ok(String path) throws IOException, InterruptedException {
    Reply r = get(path);
    if (r.status() != 200) {
      throw new AssertionError("GET " + path + " → " + r.status() + " " + r.body());
    }
    return r.body();
  }
}
