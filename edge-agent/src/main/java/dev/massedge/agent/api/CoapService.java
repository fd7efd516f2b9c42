package dev.massedge.agent.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.agent.pipeline.EventBus;
import dev.massedge.agent.pipeline.PipelineEvent;
import dev.massedge.agent.pipeline.SensorGates;
import dev.massedge.drivers.coap.CoapGateway;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.model.LoadedModel;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.env.Environment;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.californium.core.coap.CoAP.ResponseCode;
import org.eclipse.californium.core.coap.MediaTypeRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent on CoAP ({@code mass.coap.*}): sensor events open camera gates, pipeline state is
 * observable, and constrained clients call models with the Open Inference Protocol in JSON or CBOR.
 * {@code mass.coap.psk.<identity>: <key>} switches to DTLS with those pre-shared keys.
 */
@Context
@Requires(property = "mass.coap.enabled", notEquals = "false")
public class CoapService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CoapService.class);
  private final CoapGateway gateway;
  private final ModelRegistry models;
  private final OipCodec codec;
  private final ObjectMapper json;
  private final ObjectMapper cbor = new ObjectMapper(new CBORFactory());

  public CoapService(
      @Value("${mass.coap.host:0.0.0.0}") String host,
      @Value("${mass.coap.port:5683}") int port,
      Environment env,
      ModelRegistry models,
      SensorGates sensors,
      EventBus bus,
      ObjectMapper json) {
    this.models = models;
    this.json = json;
    this.codec = new OipCodec(json);
    Map<String, byte[]> keys = new LinkedHashMap<>();
    env.getProperties("mass.coap.psk")
        .forEach((id, key) -> keys.put(id, String.valueOf(key).getBytes(StandardCharsets.UTF_8)));
    CoapGateway.InferHandler infer = this::infer;
    java.util.function.BiConsumer<String, Boolean> onSensor =
        (id, state) -> {
          boolean used = sensors.report(id, state);
          log.info("sensor {} reports {}{}", id, state, used ? "" : " (no pipeline listens to it)");
        };
    this.gateway =
        (keys.isEmpty()
                ? CoapGateway.udp(host, port, onSensor, infer)
                : CoapGateway.dtlsPsk(host, port, keys, onSensor, infer))
            .start();
    log.info(
        "CoAP on {}:{} ({})",
        host,
        gateway.port(),
        keys.isEmpty() ? "plain UDP" : "DTLS-PSK, " + keys.size() + " identities");
    bus.subscribe(
        "CoAP pipeline state",
        e ->
            e instanceof PipelineEvent.FaceCount
                || e instanceof PipelineEvent.WakeWord
                || e instanceof PipelineEvent.Utterance,
        this::publishState);
  }

  public int port() {
    return gateway.port();
  }

  private void publishState(PipelineEvent e) {
    Map<String, Object> state = new LinkedHashMap<>();
    if (e instanceof PipelineEvent.FaceCount c) {
      state.put("faces", c.count());
    }
    state.put("lastEvent", e.type());
    state.put("epochMillis", e.epochMillis());
    try {
      gateway.pipelineState(e.pipeline(), json.writeValueAsString(state));
    } catch (IOException x) {
      log.warn("cannot publish the state of {}: {}", e.pipeline(), x.getMessage());
    }
  }

  private CoapGateway.Reply infer(String model, byte[] payload, int format) {
    boolean isCbor = format == MediaTypeRegistry.APPLICATION_CBOR;
    try {
      byte[] request = isCbor ? json.writeValueAsBytes(cbor.readTree(payload)) : payload;
      LoadedModel m = models.require(model, null);
      byte[] response =
          models.timed(
              m,
              "coap",
              () -> {
                OipCodec.Request req = codec.parse(request);
                return codec.response(
                    m.name(), m.version(), req.id(), m.session().run(req.inputs()), req.outputs());
              });
      return reply(ResponseCode.CONTENT, response, isCbor);
    } catch (InferenceException e) {
      ResponseCode code =
          switch (ApiError.statusOf(e).getCode()) {
            case 404 -> ResponseCode.NOT_FOUND;
            case 503 -> ResponseCode.SERVICE_UNAVAILABLE;
            case 400 -> ResponseCode.BAD_REQUEST;
            default -> ResponseCode.INTERNAL_SERVER_ERROR;
          };
      return error(code, e.code(), e.getMessage(), isCbor);
    } catch (IOException e) {
      return error(
          ResponseCode.BAD_REQUEST,
          isCbor ? "invalid_cbor" : "invalid_json",
          "the payload cannot be read: " + e.getMessage(),
          isCbor);
    }
  }

  private CoapGateway.Reply error(
      ResponseCode code, String errorCode, String message, boolean isCbor) {
    try {
      return reply(code, json.writeValueAsBytes(new ApiError(message, errorCode)), isCbor);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private CoapGateway.Reply reply(ResponseCode code, byte[] jsonBody, boolean isCbor)
      throws IOException {
    if (!isCbor) {
      return new CoapGateway.Reply(code, MediaTypeRegistry.APPLICATION_JSON, jsonBody);
    }
    JsonNode tree = json.readTree(jsonBody);
    return new CoapGateway.Reply(
        code, MediaTypeRegistry.APPLICATION_CBOR, cbor.writeValueAsBytes(tree));
  }

  @PreDestroy
  @Override
  public void close() {
    gateway.close();
  }
}
