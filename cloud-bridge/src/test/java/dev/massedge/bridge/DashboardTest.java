package dev.massedge.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.massedge.bridge.testing.Api;
import dev.massedge.bridge.testing.BridgeApp;
import dev.massedge.bridge.testing.Browser;
import dev.massedge.bridge.testing.FakeDevice;
import dev.massedge.sync.contract.SyncMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The web dashboard in headless Chromium: sign-in, devices, rollouts, charts, roles, actions. */
class DashboardTest {
  @TempDir Path tmp;

  @Test
  void theDashboardShowsTheFleetAndItsRollouts() throws Exception {
    try (BridgeApp bridge = new BridgeApp(tmp.resolve("bridge"), null, null, Map.of());
        Browser browser = new Browser()) {
      Api api = bridge.api();
      api.pushFaceShort(tmp, "1", "2", "3");
      List<FakeDevice> fleet = new ArrayList<>();
      for (int i = 1; i <= 3; i++) {
        FakeDevice d =
            new FakeDevice(
                "cam-" + i, bridge.mqttUrl, tmp.resolve("dev"), Map.of(FleetTest.MODEL, "1"));
        fleet.add(d);
        await()
            .atMost(Duration.ofSeconds(20))
            .until(() -> api.get("/api/v1/devices/" + d.id).status() == 200);
        api.put("/api/v1/devices/" + d.id + "/tags", Map.of("tags", List.of("camera")));
        long now = System.currentTimeMillis();
        for (int k = 0; k < 10; k++) {
          d.metrics(
              List.of(
                  new SyncMessage.Metric(
                      "model.latency_ms.p95",
                      Map.of("model", FleetTest.MODEL, "version", "1"),
                      3 + i + k % 3,
                      now - (10 - k) * 2000L)));
        }
      }
      Map<String, Object> gates = Api.gates(1);
      long first = api.startRollout(FleetTest.MODEL, "2", "camera", List.of(34, 100), gates);
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> api.ok("/api/v1/rollouts/" + first).path("state").asText().equals("completed"));
      fleet.forEach(d -> d.behaviour = FakeDevice.Behaviour.FAIL);
      long second = api.startRollout(FleetTest.MODEL, "3", "camera", List.of(34, 100), gates);
      await()
          .atMost(Duration.ofSeconds(60))
          .until(
              () -> api.ok("/api/v1/rollouts/" + second).path("state").asText().equals("paused"));

      // a wrong token: the sign-in form, with why
      browser.open(bridge.url() + "/#token=wrong-token-0123456789");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> browser.eval("return !document.querySelector('#login').hidden").asBoolean());
      assertThat(browser.eval("return document.querySelector('#login-error').textContent").asText())
          .contains("refused");

      // a viewer sees everything and no buttons
      browser.open(bridge.url() + "/#token=" + BridgeApp.VIEWER);
      awaitLoaded(browser);
      assertThat(
              browser.eval("return document.querySelectorAll('#rollouts button').length").asInt())
          .isZero();

      // the admin
      browser.open(bridge.url() + "/#token=" + BridgeApp.ADMIN);
      awaitLoaded(browser);
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  browser
                          .eval("return document.querySelectorAll('#devices tbody tr').length")
                          .asInt()
                      == 3);
      assertThat(browser.eval("return document.querySelector('#ov-online').textContent").asText())
          .isEqualTo("3");
      JsonNode rollout1 =
          browser.eval("return document.querySelector('#rollout-" + first + "').dataset.state");
      assertThat(rollout1.asText()).isEqualTo("completed");
      String paused =
          browser
              .eval("return document.querySelector('#rollout-" + second + "').textContent")
              .asText();
      assertThat(paused).contains("paused").contains("failed to activate");
      assertThat(
              browser
                  .eval(
                      "return [...document.querySelectorAll('#devices .badge')].map(b =>"
                          + " b.textContent).join(' ')")
                  .asText())
          .contains("face-short@2");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () ->
                  browser
                          .eval(
                              "const s = document.querySelector('#chart svg'); return s ?"
                                  + " +s.dataset.series : 0")
                          .asInt()
                      >= 3);
      browser.screenshot(Path.of("target/dashboard.png"));
      // abort from the page
      browser.eval(
          "document.querySelector('#rollout-" + second + " button[data-act=abort]').click()");
      await()
          .atMost(Duration.ofSeconds(20))
          .until(
              () -> api.ok("/api/v1/rollouts/" + second).path("state").asText().equals("aborted"));
      for (FakeDevice d : fleet) {
        d.close();
      }
    }
  }

  private static void awaitLoaded(Browser b) {
    await()
        .atMost(Duration.ofSeconds(20))
        .until(() -> b.eval("return document.body.dataset.loaded || ''").asText().length() > 0);
  }
}
