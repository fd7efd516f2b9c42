package dev.massedge.agent.bench;

import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.testing.Broker;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Inference round trips on loopback, side by side in one run ({@code ./mass bench infer}): the same
 * Open Inference Protocol request to the same in-process agent over HTTP {@code
 * /v2/models/face-short/infer} and over MQTT 5 request/response ({@code
 * mass/v1/<device>/infer/face-short}) through embedded HiveMQ CE and through Mosquitto; requests
 * alternate, p50 and p99 of each.
 */
public final class InferBench {
  private InferBench() {}

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    int n = quick ? 100 : 500;
    Path models = Path.of(System.getProperty("mass.models.dir", "models"));
    StringBuilder zeros = new StringBuilder();
    for (int i = 0; i < 128 * 128 * 3; i++) {
      zeros.append(i == 0 ? "0" : ",0");
    }
    byte[] body =
        ("{\"inputs\":[{\"name\":\"input:0\",\"datatype\":\"FP32\",\"shape\":[1,128,128,3],\"data\":["
                + zeros
                + "]}]}")
            .getBytes();
    System.out.printf(
        Locale.ROOT,
        "== face-short (BlazeFace 128), a %d-byte JSON request, %d round trips each, alternating ==%n",
        body.length,
        n);
    String key =
        Base64.getEncoder().encodeToString(PackageSignature.newKeyPair().getPublic().getEncoded());
    for (String name : new String[] {"embedded", "mosquitto"}) {
      Path work = Files.createTempDirectory("mass-infer-bench");
      try (Broker broker = Broker.of(name)) {
        Map<String, Object> p = new HashMap<>();
        p.put("micronaut.server.port", -1);
        p.put("mass.agent.models-dir", models.toString());
        p.put("mass.agent.device-id", "bench-1");
        p.put("mass.coap.enabled", false);
        p.put("mass.agent.api-auth", "loopback"); // the bench calls it from this machine
        p.put("mass.agent.api-token-file", "target/bench-api-token");
        p.put("mass.sync.url", broker.url());
        p.put("mass.sync.store-dir", work.resolve("store").toString());
        p.put("mass.sync.outbox-dir", work.resolve("outbox").toString());
        p.put("mass.sync.trusted-keys", key);
        try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, p);
            MqttLink caller = new MqttLink(new MqttLink.Options(broker.url(), "bench")).start()) {
          String replies = "bench/infer/response";
          caller.listenForResponses(replies);
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
          while (!caller.connected() && System.nanoTime() < deadline) {
            Thread.sleep(50);
          }
          Thread.sleep(500); // the agent's subscription
          HttpClient http = HttpClient.newHttpClient();
          HttpRequest req =
              HttpRequest.newBuilder(URI.create(agent.getURL() + "/v2/models/face-short/infer"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                  .header("Content-Type", "application/json")
                  .build();
          String topic = Topics.inferRequest("bench-1", "face-short");
          long[] h = new long[n];
          long[] m = new long[n];
          for (int i = -50; i < n; i++) { // 50 of each to warm up
            long t0 = System.nanoTime();
            HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            long t1 = System.nanoTime();
            var a = caller.request(topic, body, replies, Duration.ofSeconds(10)).get();
            long t2 = System.nanoTime();
            if (r.statusCode() != 200 || !"ok".equals(MqttLink.userProperty(a, "status"))) {
              throw new IllegalStateException(
                  "HTTP " + r.statusCode() + ", MQTT " + MqttLink.userProperty(a, "status"));
            }
            if (i >= 0) {
              h[i] = t1 - t0;
              m[i] = t2 - t1;
            }
          }
          Arrays.sort(h);
          Arrays.sort(m);
          System.out.printf(
              Locale.ROOT,
              "HTTP /infer                p50 %6.2f ms  p99 %6.2f ms%n"
                  + "MQTT 5 via %-9s       p50 %6.2f ms  p99 %6.2f ms  (%.2fx / %.2fx HTTP)%n",
              ms(h, 50),
              ms(h, 99),
              name,
              ms(m, 50),
              ms(m, 99),
              ms(m, 50) / ms(h, 50),
              ms(m, 99) / ms(h, 99));
        }
      }
    }
    System.exit(0);
  }

  private static double ms(long[] sorted, int pct) {
    return sorted[Math.min(sorted.length - 1, sorted.length * pct / 100)] / 1e6;
  }
}
