package dev.massedge.drivers.coap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import org.eclipse.californium.core.CoapResource;
import org.eclipse.californium.core.CoapServer;
import org.eclipse.californium.core.coap.CoAP.ResponseCode;
import org.eclipse.californium.core.coap.MediaTypeRegistry;
import org.eclipse.californium.core.config.CoapConfig;
import org.eclipse.californium.core.network.CoapEndpoint;
import org.eclipse.californium.core.network.Endpoint;
import org.eclipse.californium.core.server.resources.CoapExchange;
import org.eclipse.californium.core.server.resources.Resource;
import org.eclipse.californium.elements.config.Configuration;
import org.eclipse.californium.scandium.DTLSConnector;
import org.eclipse.californium.scandium.config.DtlsConfig;
import org.eclipse.californium.scandium.config.DtlsConnectorConfig;
import org.eclipse.californium.scandium.dtls.pskstore.AdvancedMultiPskStore;

/**
 * The agent's CoAP face for constrained devices (Californium): {@code /.well-known/core}; {@code
 * POST /sensors/{id}} for a sensor node (PIR, door contact) to report a state; observable {@code
 * /pipelines/{name}/state}; {@code POST /infer/{model}} (JSON or CBOR, answered by the agent).
 * Plain UDP for the lab, DTLS with a pre-shared key per sensor for production.
 */
public final class CoapGateway implements AutoCloseable {
  /** Largest payload accepted (block-wise transfers included); larger requests get 4.13. */
  public static final int MAX_PAYLOAD = 1 << 20;

  private static final ObjectMapper JSON = new ObjectMapper();
  private final CoapServer server;
  private final Endpoint endpoint;
  private final CoapResource pipelines = new CoapResource("pipelines");
  private final Map<String, StateResource> states = new ConcurrentHashMap<>();

  /** Answers {@code POST /infer/{model}}: the model, the payload and its content format. */
  public interface InferHandler {
    Reply infer(String model, byte[] payload, int contentFormat);
  }

  /** A CoAP answer: a response code (as Californium names them), a content format, a body. */
  public record Reply(ResponseCode code, int contentFormat, byte[] body) {}

  private CoapGateway(Endpoint endpoint, BiConsumer<String, Boolean> sensors, InferHandler infer) {
    this.endpoint = endpoint;
    this.server = new CoapServer(config());
    server.addEndpoint(endpoint);
    CoapResource sensorsRoot =
        new CoapResource("sensors") {
          @Override
          public Resource getChild(String name) {
            Resource r = super.getChild(name);
            return r != null ? r : new SensorResource(name, sensors);
          }
        };
    sensorsRoot
        .getAttributes()
        .setTitle("POST a sensor's state: true/false, 1/0, or {\"state\": true}");
    server.add(sensorsRoot);
    server.add(pipelines);
    CoapResource inferRoot =
        new CoapResource("infer") {
          @Override
          public Resource getChild(String name) {
            return new InferResource(name, infer);
          }
        };
    inferRoot
        .getAttributes()
        .setTitle("POST an inference request (JSON or CBOR) to /infer/{model}");
    server.add(inferRoot);
  }

  static Configuration config() {
    Configuration c = Configuration.createStandardWithoutFile();
    c.set(CoapConfig.MAX_RESOURCE_BODY_SIZE, MAX_PAYLOAD);
    c.set(CoapConfig.MAX_MESSAGE_SIZE, 1024);
    c.set(CoapConfig.PREFERRED_BLOCK_SIZE, 1024);
    return c;
  }

  /** Plain CoAP on UDP (port 0: any free port). */
  public static CoapGateway udp(
      String host, int port, BiConsumer<String, Boolean> sensors, InferHandler infer) {
    CoapEndpoint ep =
        CoapEndpoint.builder()
            .setConfiguration(config())
            .setInetSocketAddress(new InetSocketAddress(host, port))
            .build();
    return new CoapGateway(ep, sensors, infer);
  }

  /** CoAP over DTLS 1.2 with pre-shared keys: identity → key, one per sensor node. */
  public static CoapGateway dtlsPsk(
      String host,
      int port,
      Map<String, byte[]> keys,
      BiConsumer<String, Boolean> sensors,
      InferHandler infer) {
    if (keys.isEmpty()) {
      throw new IllegalArgumentException(
          "DTLS needs at least one pre-shared key (mass.coap.psk.<identity>)");
    }
    AdvancedMultiPskStore store = new AdvancedMultiPskStore();
    keys.forEach(store::setKey);
    Configuration c = config();
    c.set(DtlsConfig.DTLS_ROLE, DtlsConfig.DtlsRole.SERVER_ONLY);
    DtlsConnectorConfig dtls =
        DtlsConnectorConfig.builder(c)
            .setAddress(new InetSocketAddress(host, port))
            .setAdvancedPskStore(store)
            .build();
    CoapEndpoint ep =
        CoapEndpoint.builder().setConfiguration(c).setConnector(new DTLSConnector(dtls)).build();
    return new CoapGateway(ep, sensors, infer);
  }

  public CoapGateway start() {
    server.start();
    return this;
  }

  /** The port really bound (after {@link #start()}). */
  public int port() {
    return endpoint.getAddress().getPort();
  }

  /** Publishes a pipeline's state; observers of {@code /pipelines/{name}/state} are notified. */
  public void pipelineState(String name, String json) {
    StateResource r =
        states.computeIfAbsent(
            name,
            n -> {
              CoapResource p = new CoapResource(n);
              StateResource s = new StateResource();
              p.add(s);
              pipelines.add(p);
              return s;
            });
    r.update(json);
  }

  @Override
  public void close() {
    server.destroy();
  }

  private static final class SensorResource extends CoapResource {
    private final BiConsumer<String, Boolean> listener;

    SensorResource(String id, BiConsumer<String, Boolean> listener) {
      super(id);
      this.listener = listener;
    }

    @Override
    public void handlePOST(CoapExchange ex) {
      byte[] p = ex.getRequestPayload();
      if (p == null || p.length == 0) {
        ex.respond(
            ResponseCode.BAD_REQUEST, "empty payload: send true/false, 1/0 or {\"state\": true}");
        return;
      }
      if (p.length > 256) {
        ex.respond(
            ResponseCode.REQUEST_ENTITY_TOO_LARGE,
            "a sensor state is at most 256 bytes, got " + p.length);
        return;
      }
      Boolean state = parse(new String(p, StandardCharsets.UTF_8).trim());
      if (state == null) {
        ex.respond(
            ResponseCode.BAD_REQUEST,
            "cannot read a state from '"
                + shorten(p)
                + "': send true/false, 1/0 or {\"state\": true}");
        return;
      }
      listener.accept(getName(), state);
      ex.respond(ResponseCode.CHANGED);
    }

    static Boolean parse(String s) {
      switch (s) {
        case "1", "true", "on", "open", "motion" -> {
          return true;
        }
        case "0", "false", "off", "closed", "clear" -> {
          return false;
        }
        default -> {
          try {
            JsonNode n = JSON.readTree(s);
            JsonNode st = n == null ? null : n.get("state");
            return st != null && st.isBoolean() ? st.asBoolean() : null;
          } catch (java.io.IOException e) {
            return null;
          }
        }
      }
    }
  }

  private static final class StateResource extends CoapResource {
    private volatile String json = "{}";

    StateResource() {
      super("state");
      setObservable(true);
      getAttributes().setObservable();
      getAttributes().setTitle("pipeline state: faces in view, last event");
    }

    void update(String j) {
      json = j;
      changed();
    }

    @Override
    public void handleGET(CoapExchange ex) {
      ex.respond(ResponseCode.CONTENT, json, MediaTypeRegistry.APPLICATION_JSON);
    }
  }

  private static final class InferResource extends CoapResource {
    private final InferHandler handler;

    InferResource(String model, InferHandler handler) {
      super(model);
      this.handler = handler;
    }

    @Override
    public void handlePOST(CoapExchange ex) {
      byte[] p = ex.getRequestPayload();
      int format = ex.getRequestOptions().getContentFormat();
      if (p == null || p.length == 0) {
        ex.respond(
            ResponseCode.BAD_REQUEST, "empty payload: send an inference request in JSON or CBOR");
        return;
      }
      if (format != MediaTypeRegistry.APPLICATION_JSON
          && format != MediaTypeRegistry.APPLICATION_CBOR
          && format != MediaTypeRegistry.UNDEFINED) {
        ex.respond(
            ResponseCode.UNSUPPORTED_CONTENT_FORMAT,
            "content format " + format + ": use application/json (50) or application/cbor (60)");
        return;
      }
      Reply r =
          handler.infer(
              getName(),
              p,
              format == MediaTypeRegistry.UNDEFINED ? MediaTypeRegistry.APPLICATION_JSON : format);
      ex.respond(r.code(), r.body(), r.contentFormat());
    }
  }

  static String shorten(byte[] p) {
    String s = new String(p, 0, Math.min(p.length, 40), StandardCharsets.UTF_8);
    return p.length > 40 ? s + "…" : s;
  }
}
