package dev.massedge.agent.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.agent.sync.SyncService;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Open Inference Protocol over MQTT 5, so the cloud (or any MQTT client allowed on the device's
 * topics) can call a model without an open HTTP port: a request on {@code
 * mass/v1/<device>/infer/<model>} — the same JSON body as {@code POST /v2/models/<model>/infer},
 * with a response topic and correlation data — gets the same JSON response as HTTP on the response
 * topic, with the user property {@code status}: {@code ok}, or the error's code ({@code
 * model_not_found}, {@code invalid_input}, {@code body_too_large}, {@code busy} …) and an {@link
 * ApiError} body. Never silence: only a request without a response topic cannot be answered (it is
 * counted). Requests run on their own small pool (not on the MQTT thread), at most {@code
 * mass.sync.infer-max-bytes} each (4 MiB).
 */
@Context
@Requires(property = "mass.sync.url")
public class MqttInference implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MqttInference.class);
  private final ModelRegistry models;
  private final OipCodec codec;
  private final ObjectMapper json;
  private final MqttLink link;
  private final long maxBytes;
  private final ExecutorService pool;

  private final AtomicLong served = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong unanswerable = new AtomicLong();

  public MqttInference(
      SyncService sync,
      ModelRegistry models,
      ObjectMapper json,
      @Value("${mass.sync.infer-max-bytes:4194304}") long maxBytes) {
    this.models = models;
    this.codec = new OipCodec(json);
    this.json = json;
    this.link = sync.link();
    this.maxBytes = maxBytes;
    int threads = Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()));
    // a bounded queue: a flood of requests is answered "busy", not queued without end
    this.pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            0,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(64),
            r -> {
              Thread t = new Thread(r, "mqtt-infer");
              t.setDaemon(true);
              return t;
            });
    link.subscribe(Topics.inferRequests(sync.device()), 1, this::onRequest);
  }

  private void onRequest(String topic, MqttMessage m) {
    if (m.getProperties() == null || m.getProperties().getResponseTopic() == null) {
      unanswerable.incrementAndGet();
      log.warn("inference request on {} without a response topic: cannot answer", topic);
      return;
    }
    try {
      pool.execute(() -> answer(topic, m));
    } catch (RejectedExecutionException e) {
      fail(m, new InferenceException("busy", "too many inference requests waiting; try again"));
    }
  }

  private void answer(String topic, MqttMessage m) {
    try {
      byte[] body = m.getPayload();
      if (body.length > maxBytes) {
        throw new InferenceException(
            "body_too_large",
            "the request is "
                + body.length
                + " bytes; this device takes at most "
                + maxBytes
                + " (mass.sync.infer-max-bytes)");
      }
      String model;
      try {
        model = Topics.parse(topic).command();
      } catch (dev.massedge.sync.contract.MessageRejectedException e) {
        throw new InferenceException("model_not_found", e.getMessage());
      }
      LoadedModel lm = models.require(model, null);
      String header = MqttLink.userProperty(m, Topics.INFER_HEADER_LENGTH);
      int headerLength;
      try {
        headerLength = header == null ? -1 : Integer.parseInt(header);
      } catch (NumberFormatException e) {
        throw new dev.massedge.inference.InvalidInputException(
            "invalid_request",
            Topics.INFER_HEADER_LENGTH + " must be a number, not '" + header + "'");
      }
      OipCodec.Body out = InferenceProtocolController.run(models, codec, lm, body, headerLength);
      link.respond(
          m,
          out.bytes(),
          out.binary()
              ? Map.of(
                  "status", "ok", Topics.INFER_HEADER_LENGTH, Integer.toString(out.jsonLength()))
              : Map.of("status", "ok"));
      served.incrementAndGet();
    } catch (InferenceException e) {
      fail(m, e);
    } catch (RuntimeException e) {
      log.error("inference over MQTT failed on {}: {}", topic, e.toString(), e);
      fail(m, new InferenceException("internal", e.toString()));
    }
  }

  private void fail(MqttMessage m, InferenceException e) {
    refused.incrementAndGet();
    byte[] body;
    try {
      body = json.writeValueAsBytes(ApiError.of(e));
    } catch (java.io.IOException x) {
      body = ("{\"error\":\"" + e.code() + "\"}").getBytes(StandardCharsets.UTF_8);
    }
    link.respond(m, body, Map.of("status", e.code()));
  }

  /** Counters: answered, answered with an error, unanswerable (no response topic). */
  public Map<String, Long> stats() {
    return Map.of(
        "served", served.get(), "refused", refused.get(), "unanswerable", unanswerable.get());
  }

  @PreDestroy
  @Override
  public void close() {
    pool.shutdownNow();
  }
}
