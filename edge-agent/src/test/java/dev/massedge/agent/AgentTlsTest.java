package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.TestAssets;
import dev.massedge.sync.broker.DeviceCa;
import dev.massedge.sync.broker.DeviceTls;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's HTTP API over TLS (Micronaut's own server TLS with a certificate from the fleet CA):
 * a client that trusts the CA is served (with its token), plain HTTP on that port is not.
 */
class AgentTlsTest {
  static final String TOKEN = "tls-token-0123456789abcdef";
  @TempDir Path tmp;

  @Test
  void theApiOverTlsWithACertificateFromTheFleetCa() throws Exception {
    Path pki = tmp.resolve("pki");
    DeviceCa ca = DeviceCa.init(pki, "fleet CA", Duration.ofDays(3650));
    ca.issueServer("server", List.of("127.0.0.1", "localhost"), Duration.ofDays(30), pki);
    Path p12 = pki.resolve("server.p12");
    DeviceTls.writeStore(p12, pki.resolve("server.pem"), pki.resolve("server.key"), "changeit");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Map<String, Object> p = new HashMap<>();
    p.put("mass.agent.models-dir", TestAssets.models().toString());
    p.put("mass.coap.enabled", false);
    p.put("mass.agent.api-auth", "token");
    p.put("mass.agent.api-tokens", TOKEN);
    p.put("micronaut.server.ssl.enabled", true);
    p.put("micronaut.server.ssl.port", port);
    p.put("micronaut.server.ssl.key-store.path", "file:" + p12);
    p.put("micronaut.server.ssl.key-store.password", "changeit");
    p.put("micronaut.server.ssl.key-store.type", "PKCS12");
    try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, p)) {
      HttpClient trusting =
          HttpClient.newBuilder()
              .sslContext(DeviceTls.context(pki.resolve("ca.pem"), null, null))
              .build();
      HttpResponse<String> r =
          trusting.send(
              HttpRequest.newBuilder(
                      URI.create("https://127.0.0.1:" + port + "/v2/models/face-short"))
                  .header("Authorization", "Bearer " + TOKEN)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).contains("\"name\":\"face-short\"");
      assertThat(
              trusting
                  .send(
                      HttpRequest.newBuilder(
                              URI.create("https://127.0.0.1:" + port + "/v1/pipelines"))
                          .build(),
                      HttpResponse.BodyHandlers.discarding())
                  .statusCode())
          .isEqualTo(401); // TLS does not replace the token
      assertThatThrownBy(
              () ->
                  HttpClient.newHttpClient()
                      .send(
                          HttpRequest.newBuilder(
                                  URI.create("http://127.0.0.1:" + port + "/v2/health/live"))
                              .timeout(Duration.ofSeconds(5))
                              .build(),
                          HttpResponse.BodyHandlers.discarding()))
          .isInstanceOf(java.io.IOException.class); // no plain HTTP on the TLS port
    }
  }
}
