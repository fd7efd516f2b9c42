package dev.massedge.sync.contract;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The MQTT 5 topic scheme, version 1 (docs/protocol.md). Every device topic carries the device id
 * right after the version prefix, so a broker ACL can pin a device to {@code mass/v1/<its id>/#}.
 */
public final class Topics {
  public static final String PREFIX = "mass/v1";

  /** Device ids: what a client id and a topic level can both hold safely. */
  public static final Pattern DEVICE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,62}");

  private static final Pattern DEVICE_TOPIC =
      Pattern.compile(
          "mass/v1/([^/+#]+)/(status|twin/desired|twin/reported|telemetry|telemetry/ack|events|commands/[a-z_]+|commands/[a-z_]+/response|chunks/request|chunks/response|infer/[A-Za-z0-9][A-Za-z0-9._-]{0,127}|infer-reply/[A-Za-z0-9_-]{1,64})");

  private Topics() {}

  /** What a device topic is for. */
  public enum Kind {
    STATUS,
    TWIN_DESIRED,
    TWIN_REPORTED,
    TELEMETRY,
    TELEMETRY_ACK,
    EVENTS,
    COMMAND,
    COMMAND_RESPONSE,
    CHUNK_REQUEST,
    CHUNK_RESPONSE,
    /** A device's answer to an inference request; {@link DeviceTopic#command} names the caller. */
    INFER_REPLY,
    /** An inference request for the model named in the topic ({@link DeviceTopic#command}). */
    INFER_REQUEST
  }

  /** A parsed device topic. */
  public record DeviceTopic(String deviceId, Kind kind, String command) {}

  public static String status(String device) {
    return device(device) + "/status";
  }

  public static String twinDesired(String device) {
    return device(device) + "/twin/desired";
  }

  public static String twinReported(String device) {
    return device(device) + "/twin/reported";
  }

  public static String telemetry(String device) {
    return device(device) + "/telemetry";
  }

  /** Where the cloud says how far it has stored a device's outbox records. */
  public static String telemetryAck(String device) {
    return device(device) + "/telemetry/ack";
  }

  public static String events(String device) {
    return device(device) + "/events";
  }

  public static String command(String device, String name) {
    return device(device) + "/commands/" + name;
  }

  public static String chunkResponses(String device) {
    return device(device) + "/chunks/response";
  }

  /** Model names in inference topics. */
  public static final Pattern MODEL_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /**
   * Where a device takes Open Inference Protocol requests for {@code model} (MQTT 5
   * request/response: the caller names its response topic and correlation data).
   */
  public static String inferRequest(String device, String model) {
    if (model == null || !MODEL_NAME.matcher(model).matches()) {
      throw new MessageRejectedException(
          "invalid_model_name", "model name '" + model + "' must match " + MODEL_NAME.pattern());
    }
    return device(device) + "/infer/" + model;
  }

  /**
   * The binary tensor extension over MQTT, both ways: this user property carries what HTTP's {@code
   * Inference-Header-Content-Length} does (the JSON's length; binary tensor data follows it).
   */
  public static final String INFER_HEADER_LENGTH = "inference-header-content-length";

  /** A device's subscription to its inference requests. */
  public static String inferRequests(String device) {
    return device(device) + "/infer/+";
  }

  /**
   * Where a device asks for chunks: in its own topic tree, so a broker ACL lets it ask only as
   * itself and the chunk server can check that the answer goes back into the same tree. Bridges
   * share all devices' requests ({@link #CHUNK_REQUESTS_SHARED}).
   */
  public static String chunkRequests(String device) {
    return device(device) + "/chunks/request";
  }

  public static final String CHUNK_REQUESTS_SHARED =
      "$share/bridges/" + PREFIX + "/+/chunks/request";

  /**
   * The user property the fleet's embedded broker stamps on every publish of a device: the device
   * it authenticated (a client's own value is replaced). Mosquitto does not stamp; its ACL is the
   * check there.
   */
  public static final String SENDER_PROPERTY = "mass-sender";

  /**
   * Refuses a message on a device topic that the broker says another device sent ({@code
   * sender_mismatch}); {@code sender} null (no stamp) passes.
   */
  public static void checkSender(String topic, String sender) {
    if (sender == null) {
      return;
    }
    String device = parse(topic).deviceId();
    if (!device.equals(sender)) {
      throw new MessageRejectedException(
          "sender_mismatch",
          "device " + sender + " sent a message on " + device + "'s topic " + topic);
    }
  }

  /** Caller names in reply topics (a bridge instance, a tool). */
  public static final Pattern CALLER = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /**
   * Where {@code device} answers {@code caller}'s inference requests: inside the device's own tree,
   * the one place a device may write under the broker's ACL (docs/security.md).
   */
  public static String inferReply(String device, String caller) {
    return device(device) + "/infer-reply/" + caller(caller);
  }

  /** A caller's subscription to every device's replies to it. */
  public static String inferReplies(String caller) {
    return PREFIX + "/+/infer-reply/" + caller(caller);
  }

  private static String caller(String caller) {
    if (caller == null || !CALLER.matcher(caller).matches()) {
      throw new MessageRejectedException(
          "invalid_caller", "caller '" + caller + "' must match " + CALLER.pattern());
    }
    return caller;
  }

  private static String device(String id) {
    if (id == null || !DEVICE_ID.matcher(id).matches()) {
      throw new MessageRejectedException(
          "invalid_device_id", "device id '" + id + "' must match " + DEVICE_ID.pattern());
    }
    return PREFIX + "/" + id;
  }

  /** Parses a device topic, or refuses it with what was expected. */
  public static DeviceTopic parse(String topic) {
    Matcher m = topic == null ? null : DEVICE_TOPIC.matcher(topic);
    if (m == null || !m.matches()) {
      throw new MessageRejectedException(
          "unknown_topic", "'" + topic + "' is not a " + PREFIX + " device topic");
    }
    String id = m.group(1);
    device(id);
    String rest = m.group(2);
    if (rest.startsWith("infer/")) {
      return new DeviceTopic(id, Kind.INFER_REQUEST, rest.substring("infer/".length()));
    }
    if (rest.startsWith("infer-reply/")) {
      return new DeviceTopic(id, Kind.INFER_REPLY, rest.substring("infer-reply/".length()));
    }
    if (rest.startsWith("commands/")) {
      String[] parts = rest.split("/");
      return new DeviceTopic(
          id, parts.length == 3 ? Kind.COMMAND_RESPONSE : Kind.COMMAND, parts[1]);
    }
    Kind k =
        switch (rest) {
          case "status" -> Kind.STATUS;
          case "twin/desired" -> Kind.TWIN_DESIRED;
          case "twin/reported" -> Kind.TWIN_REPORTED;
          case "telemetry" -> Kind.TELEMETRY;
          case "telemetry/ack" -> Kind.TELEMETRY_ACK;
          case "events" -> Kind.EVENTS;
          case "chunks/request" -> Kind.CHUNK_REQUEST;
          default -> Kind.CHUNK_RESPONSE;
        };
    return new DeviceTopic(id, k, null);
  }
}
