package dev.massedge.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** The bridge's REST API for the demo and the simulator: JSON in, JSON out, a bearer token. */
public final class BridgeClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;
  private final String token;

  public BridgeClient(String base, String token) {
    this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    this.token = token;
  }

  public JsonNode get(String path) throws IOException, InterruptedException {
    return check(send("GET", path, null, null), path);
  }

  public JsonNode post(String path, String type, byte[] body)
      throws IOException, InterruptedException {
    return check(send("POST", path, type, body), path);
  }

  public JsonNode post(String path, Object json) throws IOException, InterruptedException {
    return post(path, "application/json", JSON.writeValueAsBytes(json));
  }

  public JsonNode put(String path, Object json) throws IOException, InterruptedException {
    return check(send("PUT", path, "application/json", JSON.writeValueAsBytes(json)), path);
  }

  /** The raw answer, whatever its status. */
  public HttpResponse<byte[]> send(String method, String path, String type, byte[] body)
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
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static JsonNode check(HttpResponse<byte[]> r, String path) throws IOException {
    if (r.statusCode() >= 300) {
      throw new IOException(path + ": " + r.statusCode() + " " + new String(r.body()));
    }
    return JSON.readTree(r.body());
  }
}
