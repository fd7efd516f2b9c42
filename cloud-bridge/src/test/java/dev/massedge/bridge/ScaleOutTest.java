package dev.massedge.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.bridge.telemetry.TelemetryIngest;
import dev.massedge.bridge.testing.Api;
import dev.massedge.bridge.testing.BridgeApp;
import dev.massedge.bridge.testing.FakeDevice;
import dev.massedge.bridge.testing.Postgres;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.testing.Broker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two bridge instances on one Mosquitto and one PostgreSQL (and one artifact volume): devices'
 * telemetry is split between them by the shared subscriptions and stored exactly once, in order;
 * one instance drives the rollout, and when it stops the other takes the lease over and finishes.
 */
class ScaleOutTest {
  @TempDir Path tmp;

  @Test
  void twoBridgesShareTheFleetAndARolloutOutlivesItsDriver() throws Exception {
    List<AutoCloseable> closing = new ArrayList<>();
    try (Broker mosquitto = Broker.mosquitto();
        Postgres pg = Postgres.start()) {
      try {
        String db = pg.newDatabase("scale_out");
        Path shared = tmp.resolve("bridge");
        Map<String, BridgeApp> bridges = new java.util.LinkedHashMap<>();
        for (String name : List.of("a", "b")) {
          BridgeApp app =
              new BridgeApp(
                  shared,
                  db,
                  mosquitto.url(),
                  Map.of("mass.bridge.instance-id", name, "mass.bridge.lease-ttl", "2s"));
          bridges.put(name, app);
        }
        Api api = bridges.get("a").api();
        api.pushFaceShort(tmp, "1", "2");
        List<FakeDevice> fleet = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
          FakeDevice d =
              new FakeDevice(
                  "scale-" + i, mosquitto.url(), tmp.resolve("dev"), Map.of(FleetTest.MODEL, "1"));
          closing.add(d);
          fleet.add(d);
        }
        Api apiB = bridges.get("b").api();
        for (FakeDevice d : fleet) {
          await()
              .atMost(Duration.ofSeconds(20))
              .until(() -> apiB.get("/api/v1/devices/" + d.id).status() == 200);
          apiB.put("/api/v1/devices/" + d.id + "/tags", Map.of("tags", List.of("scale")));
        }

        // telemetry: 100 records per device, split across the two instances, stored once each
        for (int k = 0; k < 100; k++) {
          for (FakeDevice d : fleet) {
            d.metrics(List.of(new SyncMessage.Metric("test.counter", Map.of(), k, 1000L + k)));
          }
        }
        await()
            .atMost(Duration.ofSeconds(60))
            .until(() -> fleet.stream().allMatch(d -> d.outbox().pending() == 0));
        for (FakeDevice d : fleet) {
          JsonNode rows =
              api.ok("/api/v1/telemetry?device=" + d.id + "&name=test.counter&limit=1000");
          List<Integer> values = new ArrayList<>();
          rows.forEach(r -> values.add(r.path("metric_value").asInt()));
          assertThat(values).as(d.id).hasSize(100).isSorted().doesNotHaveDuplicates();
        }
        long storedByA = (Long) bridges.get("a").bean(TelemetryIngest.class).stats().get("records");
        long storedByB = (Long) bridges.get("b").bean(TelemetryIngest.class).stats().get("records");
        assertThat(storedByA + storedByB).isEqualTo(600);
        assertThat(storedByA).as("instance a stored some").isPositive();
        assertThat(storedByB).as("instance b stored some").isPositive();

        // a rollout; its driver stops in the middle; the other instance carries on
        Map<String, Object> gates = Api.gates(2);
        long id = api.startRollout(FleetTest.MODEL, "2", "scale", List.of(17, 50, 100), gates);
        await()
            .atMost(Duration.ofSeconds(30))
            .until(() -> api.ok("/api/v1/rollouts/" + id).path("phase").asInt() >= 2);
        String driver = api.ok("/api/v1/rollouts/" + id).path("driver").asText();
        assertThat(driver).isIn("a", "b");
        String other = driver.equals("a") ? "b" : "a";
        bridges.remove(driver).close();
        Api survivor = bridges.get(other).api();
        await()
            .atMost(Duration.ofSeconds(60))
            .until(
                () ->
                    survivor
                        .ok("/api/v1/rollouts/" + id)
                        .path("state")
                        .asText()
                        .equals("completed"));
        assertThat(survivor.ok("/api/v1/rollouts/" + id).path("driver").asText()).isEqualTo(other);
        for (FakeDevice d : fleet) {
          assertThat(d.active(FleetTest.MODEL)).isEqualTo("2");
        }
        closing.addAll(bridges.values());
      } finally {
        for (AutoCloseable c : closing) {
          c.close();
        }
      }
    }
  }
}
