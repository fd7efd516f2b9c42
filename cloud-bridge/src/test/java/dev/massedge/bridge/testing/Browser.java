package dev.massedge.bridge.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * Headless Chromium driven through Debian's {@code chromedriver} with the W3C WebDriver protocol
 * (JSON over HTTP, no client library): open a page, run JavaScript in it, take a screenshot.
 */
public final class Browser implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Process driver;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;
  private final String session;

  public Browser() throws Exception {
    String chromedriver = find("chromedriver", "/usr/bin/chromedriver");
    String chromium = find("chromium", "/usr/bin/chromium");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    driver =
        new ProcessBuilder(chromedriver, "--port=" + port)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    base = "http://127.0.0.1:" + port;
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (true) {
      try {
        if (call("GET", "/status", null).path("value").path("ready").asBoolean()) {
          break;
        }
      } catch (IOException e) {
        // not listening yet
      }
      if (System.nanoTime() > deadline) {
        driver.destroyForcibly();
        throw new IOException("chromedriver did not start");
      }
      Thread.sleep(100);
    }
    Map<String, Object> caps =
        Map.of(
            "capabilities",
            Map.of(
                "alwaysMatch",
                Map.of(
                    "goog:chromeOptions",
                    Map.of(
                        "binary",
                        chromium,
                        "args",
                        List.of(
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--window-size=1400,1100")))));
    session = call("POST", "/session", caps).path("value").path("sessionId").asText();
  }

  private static String find(String name, String path) {
    if (Files.isExecutable(Path.of(path))) {
      return path;
    }
    throw new IllegalStateException(
        name + " is not installed: apt-get install -y chromium chromium-driver");
  }

  private JsonNode call(String method, String path, Object body)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    JsonNode n = JSON.readTree(r.body());
    if (r.statusCode() >= 300) {
      throw new IOException("WebDriver " + path + ": " + n.path("value").path("message").asText());
    }
    return n;
  }

  public void open(String url) throws IOException, InterruptedException {
    call("POST", "/session/" + session + "/url", Map.of("url", url));
  }

  /** Runs {@code script} (a function body; {@code return} gives the value) in the page. */
  public JsonNode eval(String script) throws IOException, InterruptedException {
    return call(
            "POST",
            "/session/" + session + "/execute/sync",
            Map.of("script", script, "args", List.of()))
        .path("value");
  }

  public void screenshot(Path png) throws IOException, InterruptedException {
    String b64 = call("GET", "/session/" + session + "/screenshot", null).path("value").asText();
    Files.createDirectories(png.toAbsolutePath().getParent());
    Files.write(png, Base64.getDecoder().decode(b64));
  }

  @Override
  public void close() {
    try {
      call("DELETE", "/session/" + session, null);
    } catch (Exception e) {
      // the driver goes anyway
    }
    driver.destroy();
  }
}
