package dev.massedge.bridge.fleet;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.bridge.Json;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import io.micronaut.context.annotation.Context;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.paho.mqttv5.common.MqttMessage;

/**
 * Calls a device's model over MQTT 5 (the Open Inference Protocol request/response the agent serves
 * on {@code mass/v1/<device>/infer/<model>}), for the REST API and {@code mass infer}: the answer
 * comes back on this instance's own response topic with the request's correlation data.
 */
@Context
public final class DeviceInference {
  /** Requests larger than this are refused here, before they reach the broker. */
  public static final int MAX_BYTES = 4 * 1024 * 1024;

  private final MqttLink link;
  private final DeviceRegistry registry;
  private final String caller;

  public DeviceInference(BridgeLink bridge, DeviceRegistry registry, BridgeConfig config) {
    this.link = bridge.link();
    this.registry = registry;
    this.caller = config.instance().replaceAll("[^A-Za-z0-9_-]", "-");
    // devices answer into their own trees (the only place the broker's ACL lets them write)
    link.listenForResponses(Topics.inferReplies(caller));
  }

  /**
   * What the device answered: an HTTP status for it, the body and the device's status code; {@code
   * jsonLength} ≥ 0 when the body is the binary tensor extension's (JSON, then tensor bytes).
   */
  public record Answer(int httpStatus, String code, byte[] body, int jsonLength) {
    Answer(int httpStatus, String code, byte[] body) {
      this(httpStatus, code, body, -1);
    }
  }

  public Answer call(String device, String model, byte[] request, Duration timeout)
      throws InterruptedException {
    return call(device, model, request, -1, timeout);
  }

  /**
   * Calls a device's model; {@code headerLength} ≥ 0 passes the binary tensor extension on (the
   * first {@code headerLength} bytes are JSON, the rest tensor data).
   */
  public Answer call(
      String device, String model, byte[] request, int headerLength, Duration timeout)
      throws InterruptedException {
    Map<String, Object> d = registry.get(device); // 404 for an unknown device
    if (request == null || request.length == 0) {
      return error(400, "request_invalid", "send an Open Inference Protocol JSON request body");
    }
    if (request.length > MAX_BYTES) {
      return error(
          413,
          "body_too_large",
          "the request is " + request.length + " bytes; at most " + MAX_BYTES + " go to a device");
    }
    if (!Boolean.TRUE.equals(d.get("online"))) {
      return error(503, "device_offline", "device '" + device + "' is offline");
    }
    String topic;
    try {
      topic = Topics.inferRequest(device, model);
    } catch (RuntimeException e) {
      return error(400, "invalid_model_name", e.getMessage());
    }
    MqttMessage answer;
    try {
      answer =
          link.request(
                  topic,
                  request,
                  Topics.inferReply(device, caller),
                  timeout,
                  headerLength < 0
                      ? Map.of()
                      : Map.of(Topics.INFER_HEADER_LENGTH, Integer.toString(headerLength)))
              .get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      return error(504, "device_timeout", "no answer from " + device + " within " + timeout);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof TimeoutException) {
        return error(504, "device_timeout", "no answer from " + device + " within " + timeout);
      }
      return error(503, "broker_unreachable", String.valueOf(c.getMessage()));
    }
    String status = MqttLink.userProperty(answer, "status");
    int http =
        switch (status == null ? "" : status) {
          case "ok" -> 200;
          case "model_not_found" -> 404;
          case "body_too_large" -> 413;
          case "busy", "model_not_ready" -> 503;
          case "internal" -> 502;
          default -> 400; // the request's fault: invalid input, wrong task, bad JSON …
        };
    String jsonLength = MqttLink.userProperty(answer, Topics.INFER_HEADER_LENGTH);
    int length = -1;
    if (jsonLength != null) {
      try {
        length = Integer.parseInt(jsonLength);
      } catch (NumberFormatException e) {
        return error(502, "bad_device_answer", "the device's header length is " + jsonLength);
      }
    }
    return new Answer(http, status, answer.getPayload(), length);
  }

  /** The bridge's own refusal, in the API's error shape ({@code code}, {@code message}). */
  private static Answer error(int http, String code, String message) {
    String body = Json.write(Map.of("code", code, "message", String.valueOf(message)));
    return new Answer(http, code, body.getBytes(StandardCharsets.UTF_8));
  }
}
