package dev.massedge.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.inference.TestAssets;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's HTTP API wants a token: refused without one or with a wrong one, served with it; the
 * probes stay open; a token file is made on first start, readable by its owner only; loopback mode
 * lets only this machine in without a token; a bad token setting names its key, not the secret.
 */
class ApiAuthTest {
  static final String TOKEN = "agent-token-0123456789abcdef";
  @TempDir Path tmp;
  final HttpClient http = HttpClient.newHttpClient();

  Map<String, Object> props(String mode) {
    Map<String, Object> p = new HashMap<>();
    p.put("micronaut.server.port", -1);
    p.put("mass.agent.models-dir", TestAssets.models().toString());
    p.put("mass.coap.enabled", false);
    p.put("mass.agent.api-auth", mode);
    p.put("mass.agent.api-token-file", tmp.resolve("data/api-token").toString());
    return p;
  }

  int status(URI base, String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  @Test
  void callsWithoutAValidTokenAreRefused() throws Exception {
    Map<String, Object> p = props("token");
    p.put("mass.agent.api-tokens", TOKEN);
    try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, p)) {
      URI u = agent.getURI();
      for (String path :
          new String[] {
            "/v2/models/face-short", "/v1/pipelines", "/health", "/prometheus", "/v1/batch"
          }) {
        assertThat(status(u, path, null)).as(path).isEqualTo(401);
        assertThat(status(u, path, "not-" + TOKEN)).as(path).isEqualTo(401);
        assertThat(status(u, path, TOKEN)).as(path).isEqualTo(200);
      }
      var r =
          http.send(
              HttpRequest.newBuilder(u.resolve("/v1/faces"))
                  .POST(
                      HttpRequest.BodyPublishers.ofByteArray(
                          TestAssets.mediaBytes("astronaut.png")))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).contains("token_missing");
      assertThat(r.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");
      // the probes a supervisor polls stay open
      assertThat(status(u, "/v2/health/live", null)).isEqualTo(200);
      assertThat(status(u, "/v2/health/ready", null)).isEqualTo(200);
      assertThat(tmp.resolve("data/api-token")).doesNotExist(); // configured tokens: no file
    }
  }

  @Test
  void withoutConfiguredTokensOneIsMadeForTheOwnerOnly() throws Exception {
    try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props("token"))) {
      Path file = tmp.resolve("data/api-token");
      String token = Files.readString(file).trim();
      assertThat(token).hasSizeGreaterThanOrEqualTo(32);
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
          .isEqualTo("rw-------");
      assertThat(status(agent.getURI(), "/v1/pipelines", token)).isEqualTo(200);
      assertThat(status(agent.getURI(), "/v1/pipelines", null)).isEqualTo(401);
    }
    // a restart keeps the same token
    String before = Files.readString(tmp.resolve("data/api-token")).trim();
    try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, props("token"))) {
      assertThat(status(agent.getURI(), "/v1/pipelines", before)).isEqualTo(200);
    }
  }

  @Test
  void loopbackModeLetsOnlyThisMachineInWithoutAToken() throws Exception {
    Map<String, Object> p = props("loopback");
    p.put("mass.agent.api-tokens", TOKEN);
    p.put("micronaut.server.host", "0.0.0.0");
    try (EmbeddedServer agent = ApplicationContext.run(EmbeddedServer.class, p)) {
      URI local = URI.create("http://127.0.0.1:" + agent.getPort());
      assertThat(status(local, "/v1/pipelines", null)).isEqualTo(200);
      assertThat(status(local, "/v1/pipelines", "wrong-token-of-some-length")).isEqualTo(401);
      InetAddress lan = null;
      for (NetworkInterface n : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress a : Collections.list(n.getInetAddresses())) {
          if (a instanceof Inet4Address && !a.isLoopbackAddress() && n.isUp()) {
            lan = a;
          }
        }
      }
      Assumptions.assumeTrue(lan != null, "this machine has no non-loopback IPv4 address");
      URI remote = URI.create("http://" + lan.getHostAddress() + ":" + agent.getPort());
      assertThat(status(remote, "/v1/pipelines", null)).isEqualTo(401);
      assertThat(status(remote, "/v1/pipelines", TOKEN)).isEqualTo(200);
    }
  }

  @Test
  void aBadSettingNamesTheKeyNotTheSecret() {
    Map<String, Object> p = props("token");
    p.put("mass.agent.api-tokens", "short-secret");
    assertThatThrownBy(() -> ApplicationContext.run(EmbeddedServer.class, p).close())
        .hasStackTraceContaining("mass.agent.api-tokens[0] is shorter than 16 characters")
        .satisfies(e -> assertThat(stack(e)).doesNotContain("short-secret"));
    Map<String, Object> q = props("open");
    assertThatThrownBy(() -> ApplicationContext.run(EmbeddedServer.class, q).close())
        .hasStackTraceContaining("mass.agent.api-auth must be 'token' or 'loopback'");
  }

  static String stack(Throwable e) {
    java.io.StringWriter w = new java.io.StringWriter();
    e.printStackTrace(new java.io.PrintWriter(w));
    return w.toString();
  }
}
