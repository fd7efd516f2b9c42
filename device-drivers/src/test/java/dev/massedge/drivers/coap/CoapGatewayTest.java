package dev.massedge.drivers.coap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.eclipse.californium.core.CoapClient;
import org.eclipse.californium.core.CoapHandler;
import org.eclipse.californium.core.CoapObserveRelation;
import org.eclipse.californium.core.CoapResponse;
import org.eclipse.californium.core.coap.CoAP.ResponseCode;
import org.eclipse.californium.core.coap.MediaTypeRegistry;
import org.eclipse.californium.core.network.CoapEndpoint;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.scandium.DTLSConnector;
import org.eclipse.californium.scandium.config.DtlsConfig;
import org.eclipse.californium.scandium.config.DtlsConnectorConfig;
import org.eclipse.californium.scandium.dtls.pskstore.AdvancedSinglePskStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The gateway against Californium's own client and Debian's libcoap {@code coap-client}. */
class CoapGatewayTest {
  /** Debian's libcoap3-bin client built with OpenSSL (for DTLS-PSK). */
  static final String COAP_CLIENT = "coap-client-openssl";

  final List<String> sensorEvents = new CopyOnWriteArrayList<>();
  CoapGateway gateway;
  String base;

  static final CoapGateway.InferHandler ECHO =
      (model, payload, format) ->
          model.equals("echo")
              ? new CoapGateway.Reply(ResponseCode.CONTENT, format, payload)
              : new CoapGateway.Reply(
                  ResponseCode.NOT_FOUND,
                  MediaTypeRegistry.APPLICATION_JSON,
                  ("{\"code\":\"model_not_found\",\"error\":\"model '"
                          + model
                          + "' is not loaded\"}")
                      .getBytes(StandardCharsets.UTF_8));

  @BeforeEach
  void start() {
    gateway =
        CoapGateway.udp("127.0.0.1", 0, (id, state) -> sensorEvents.add(id + "=" + state), ECHO)
            .start();
    base = "coap://127.0.0.1:" + gateway.port();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  void discoverySensorsObservedStateAndInference() throws Exception {
    CoapClient c = new CoapClient(base + "/.well-known/core");
    gateway.pipelineState("door", "{\"faces\":0}");
    String links = c.get().getResponseText();
    assertThat(links)
        .contains("</sensors>")
        .contains("</infer>")
        .contains("</pipelines/door/state>")
        .contains("obs");

    c.setURI(base + "/sensors/pir1");
    assertThat(c.post("1", MediaTypeRegistry.TEXT_PLAIN).getCode()).isEqualTo(ResponseCode.CHANGED);
    assertThat(c.post("{\"state\": false}", MediaTypeRegistry.APPLICATION_JSON).getCode())
        .isEqualTo(ResponseCode.CHANGED);
    assertThat(sensorEvents).containsExactly("pir1=true", "pir1=false");

    List<String> seen = new CopyOnWriteArrayList<>();
    CoapClient obs = new CoapClient(base + "/pipelines/door/state");
    CoapObserveRelation rel =
        obs.observe(
            new CoapHandler() {
              @Override
              public void onLoad(CoapResponse r) {
                seen.add(r.getResponseText());
              }

              @Override
              public void onError() {}
            });
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.contains("{\"faces\":0}"));
    gateway.pipelineState("door", "{\"faces\":1}");
    await().atMost(Duration.ofSeconds(5)).until(() -> seen.contains("{\"faces\":1}"));
    rel.proactiveCancel();

    c.setURI(base + "/infer/echo");
    CoapResponse r =
        c.post(new byte[] {(byte) 0xa1, 0x61, 0x61, 0x01}, MediaTypeRegistry.APPLICATION_CBOR);
    assertThat(r.getCode()).isEqualTo(ResponseCode.CONTENT);
    assertThat(r.getOptions().getContentFormat()).isEqualTo(MediaTypeRegistry.APPLICATION_CBOR);
    c.setURI(base + "/infer/nope");
    assertThat(c.post("{}", MediaTypeRegistry.APPLICATION_JSON).getResponseText())
        .contains("model_not_found");
  }

  @Test
  void malformedAndOversizedPayloadsAreRefusedAndTheGatewayKeepsServing() throws Exception {
    CoapClient c = new CoapClient(base + "/sensors/door");
    CoapResponse bad = c.post("maybe", MediaTypeRegistry.TEXT_PLAIN);
    assertThat(bad.getCode()).isEqualTo(ResponseCode.BAD_REQUEST);
    assertThat(bad.getResponseText()).contains("maybe").contains("true/false");
    assertThat(c.post("", MediaTypeRegistry.TEXT_PLAIN).getCode())
        .isEqualTo(ResponseCode.BAD_REQUEST);
    assertThat(c.post("x".repeat(300), MediaTypeRegistry.TEXT_PLAIN).getCode())
        .isEqualTo(ResponseCode.REQUEST_ENTITY_TOO_LARGE);
    c.setURI(base + "/infer/echo");
    assertThat(c.post("<xml/>", MediaTypeRegistry.APPLICATION_XML).getCode())
        .isEqualTo(ResponseCode.UNSUPPORTED_CONTENT_FORMAT);
    // a request bigger than the gateway takes, sent block-wise
    CoapResponse huge =
        c.post(new byte[CoapGateway.MAX_PAYLOAD + 10], MediaTypeRegistry.APPLICATION_CBOR);
    assertThat(huge.getCode()).isEqualTo(ResponseCode.REQUEST_ENTITY_TOO_LARGE);
    c.setURI(base + "/sensors/door");
    assertThat(c.post("1", MediaTypeRegistry.TEXT_PLAIN).getCode()).isEqualTo(ResponseCode.CHANGED);
  }

  @Test
  void debiansCoapClientTalksToIt() throws Exception {
    assertThat(run(COAP_CLIENT, "-m", "get", base + "/.well-known/core")).contains("</sensors>");
    run(COAP_CLIENT, "-m", "post", "-e", "true", base + "/sensors/door2");
    await().atMost(Duration.ofSeconds(5)).until(() -> sensorEvents.contains("door2=true"));
  }

  @Test
  void dtlsWithTheRightKeyOnlyAndCoapClientToo() throws Exception {
    byte[] key = "sensor-secret-1".getBytes(StandardCharsets.UTF_8);
    try (CoapGateway secure =
        CoapGateway.dtlsPsk(
                "127.0.0.1",
                0,
                Map.of("pir-node-1", key),
                (id, s) -> sensorEvents.add("dtls:" + id + "=" + s),
                ECHO)
            .start()) {
      String uri = "coaps://127.0.0.1:" + secure.port() + "/sensors/hall";
      assertThat(post(uri, "pir-node-1", key).getCode()).isEqualTo(ResponseCode.CHANGED);
      assertThat(sensorEvents).contains("dtls:hall=true");
      assertThat(post(uri, "pir-node-1", "wrong-key".getBytes(StandardCharsets.UTF_8))).isNull();
      assertThat(post(uri, "intruder", key)).isNull();
      run(
          COAP_CLIENT,
          "-m",
          "post",
          "-e",
          "1",
          "-u",
          "pir-node-1",
          "-k",
          "sensor-secret-1",
          "coaps://127.0.0.1:" + secure.port() + "/sensors/lobby");
      await().atMost(Duration.ofSeconds(5)).until(() -> sensorEvents.contains("dtls:lobby=true"));
    }
  }

  /** A DTLS-PSK POST with Californium's client; null when the handshake fails (no answer). */
  static CoapResponse post(String uri, String identity, byte[] key) throws Exception {
    Configuration cfg = CoapGateway.config();
    cfg.set(DtlsConfig.DTLS_ROLE, DtlsConfig.DtlsRole.CLIENT_ONLY);
    cfg.set(DtlsConfig.DTLS_MAX_RETRANSMISSIONS, 1);
    DtlsConnectorConfig dtls =
        DtlsConnectorConfig.builder(cfg)
            .setAddress(new InetSocketAddress("127.0.0.1", 0))
            .setAdvancedPskStore(new AdvancedSinglePskStore(identity, key))
            .build();
    CoapEndpoint ep =
        CoapEndpoint.builder().setConfiguration(cfg).setConnector(new DTLSConnector(dtls)).build();
    CoapClient c = new CoapClient(uri);
    c.setEndpoint(ep);
    c.setTimeout(3000L);
    try {
      return c.post("true", MediaTypeRegistry.TEXT_PLAIN);
    } finally {
      c.shutdown();
      ep.destroy();
    }
  }

  static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    return out;
  }
}
