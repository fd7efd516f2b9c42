package dev.massedge.agent.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.massedge.sync.broker.DeviceCa;
import dev.massedge.sync.broker.DeviceTls;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.testing.Broker;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The agent with a device certificate from the fleet CA ({@code mass.sync.tls-*}) syncs over TLS
 * with a broker that wants client certificates; an agent whose certificate was revoked never gets
 * in, and says why in its health.
 */
class TlsSyncTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"embedded", "mosquitto"})
  void anAgentWithItsCertificateSyncsAndARevokedOneCannot(String name) throws Exception {
    Path pki = tmp.resolve("pki");
    DeviceCa ca = DeviceCa.init(pki, "fleet CA", Duration.ofDays(3650));
    ca.issueServer("server", List.of("127.0.0.1"), Duration.ofDays(30), pki);
    Instant now = Instant.now();
    for (String id : List.of(Broker.ADMIN, "cam-tls", "cam-gone")) {
      ca.issueDevice(id, now.minusSeconds(60), now.plus(Duration.ofDays(30)), pki);
    }
    ca.revoke("cam-gone");
    try (Broker broker = Broker.withCertificates(name, pki);
        Bridge bridge =
            new Bridge(
                broker.url(),
                tmp.resolve("bridge"),
                new MqttLink.Options(broker.url(), "tls-bridge")
                    .withSocketFactory(
                        DeviceTls.socketFactory(
                            pki.resolve("ca.pem"),
                            pki.resolve(Broker.ADMIN + ".pem"),
                            pki.resolve(Broker.ADMIN + ".key"))))) {
      Map<String, Object> good = props(broker, bridge, pki, "cam-tls");
      Map<String, Object> revoked = props(broker, bridge, pki, "cam-gone");
      try (EmbeddedServer a = ApplicationContext.run(EmbeddedServer.class, good);
          EmbeddedServer b = ApplicationContext.run(EmbeddedServer.class, revoked)) {
        await().atMost(Duration.ofSeconds(30)).until(() -> bridge.status.containsKey("cam-tls"));
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> !bridge.records.isEmpty()); // its telemetry arrives over TLS
        Thread.sleep(2000);
        assertThat(bridge.status).doesNotContainKey("cam-gone");
        Map<String, Object> status = b.getApplicationContext().getBean(SyncService.class).status();
        assertThat(status.get("connected")).isEqualTo(false);
        assertThat(String.valueOf(status.get("error"))).isNotBlank().isNotEqualTo("null");
      }
    }
  }

  static Map<String, Object> props(Broker broker, Bridge bridge, Path pki, String id) {
    Map<String, Object> p =
        SyncTest.agentProps(broker.url(), pki.resolve(id + "-data"), id, bridge, 1000);
    p.put("mass.sync.tls-ca", pki.resolve("ca.pem").toString());
    p.put("mass.sync.tls-cert", pki.resolve(id + ".pem").toString());
    p.put("mass.sync.tls-key", pki.resolve(id + ".key").toString());
    p.put("mass.sync.telemetry-interval", "1s");
    return p;
  }
}
