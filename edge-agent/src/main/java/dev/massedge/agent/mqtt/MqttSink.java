package dev.massedge.agent.mqtt;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.pipeline.EventBus;
import dev.massedge.agent.pipeline.PipelineConfig;
import dev.massedge.agent.pipeline.PipelineEvent;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.client.IMqttToken;
import org.eclipse.paho.mqttv5.client.MqttActionListener;
import org.eclipse.paho.mqttv5.client.MqttAsyncClient;
import org.eclipse.paho.mqttv5.client.MqttCallback;
import org.eclipse.paho.mqttv5.client.MqttConnectionOptions;
import org.eclipse.paho.mqttv5.client.MqttDisconnectResponse;
import org.eclipse.paho.mqttv5.client.persist.MemoryPersistence;
import org.eclipse.paho.mqttv5.common.MqttException;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pipeline events to an MQTT 5 broker, and Home Assistant MQTT discovery for every pipeline. The
 * agent owns the connection: it starts without a broker and connects (and reconnects) in the
 * background; while offline, up to {@code mass.mqtt.buffer} messages wait in memory and the rest
 * are dropped and counted. Topics, under {@code mass/v1/<device>/ha} so they never clash with the
 * model-sync contract (whose events and telemetry go through the disk outbox): {@code …/ha/status}
 * (online/offline, retained, the will), {@code …/ha/events/<pipeline>} (every event, QoS 1), {@code
 * …/ha/state/<pipeline>} (retained state for Home Assistant).
 */
@Context
@Requires(property = "mass.mqtt.url")
public class MqttSink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MqttSink.class);
  private final MqttAsyncClient client;
  private final String device;
  private final String base;
  private final ObjectMapper json;
  private final List<PipelineConfig> pipelines;
  private final Map<String, Map<String, Object>> state = new ConcurrentHashMap<>();
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private volatile String lastError = "not connected yet";
  private final int bufferSize;

  public MqttSink(
      @Value("${mass.mqtt.url}") String url,
      dev.massedge.agent.AgentConfig agent,
      @Value("${mass.mqtt.buffer:1000}") int buffer,
      List<PipelineConfig> pipelines,
      EventBus bus,
      ObjectMapper json)
      throws MqttException {
    this.device = agent.device();
    this.base = "mass/v1/" + device + "/ha";
    this.json = json;
    this.pipelines = pipelines;
    client = new MqttAsyncClient(url, "mass-agent-" + device, new MemoryPersistence());
    this.bufferSize = buffer;
    client.setCallback(
        new MqttCallback() {
          @Override
          public void disconnected(MqttDisconnectResponse r) {
            lastError = "disconnected: " + r.getReasonString();
            log.warn("MQTT {}: {}", url, lastError);
          }

          @Override
          public void mqttErrorOccurred(MqttException e) {
            lastError = e.getMessage();
          }

          @Override
          public void messageArrived(String topic, MqttMessage message) {}

          @Override
          public void deliveryComplete(IMqttToken token) {}

          @Override
          public void connectComplete(boolean reconnect, String serverUri) {
            lastError = "";
            log.info("MQTT connected to {}{}", serverUri, reconnect ? " (again)" : "");
            announce();
            flush();
          }

          @Override
          public void authPacketArrived(int reasonCode, MqttProperties properties) {}
        });
    MqttConnectionOptions o = new MqttConnectionOptions();
    o.setAutomaticReconnect(true);
    o.setAutomaticReconnectDelay(1, 30);
    o.setCleanStart(true);
    o.setConnectionTimeout(10);
    o.setWill(
        base + "/status",
        new MqttMessage("offline".getBytes(StandardCharsets.UTF_8), 1, true, null));
    connect(o, url);
    bus.subscribe("MQTT event sink", this::publish);
  }

  private void connect(MqttConnectionOptions o, String url) {
    try {
      client.connect(
          o,
          null,
          new MqttActionListener() {
            @Override
            public void onSuccess(IMqttToken t) {}

            @Override
            public void onFailure(IMqttToken t, Throwable e) {
              lastError = "cannot connect to " + url + ": " + e.getMessage();
              log.warn("MQTT {} (the agent keeps running and retries)", lastError);
              // the first connect is not retried by Paho: try again in the background
              Thread retry =
                  new Thread(
                      () -> {
                        try {
                          Thread.sleep(5000);
                          if (!client.isConnected()) {
                            connect(o, url);
                          }
                        } catch (InterruptedException ie) {
                          Thread.currentThread().interrupt();
                        }
                      },
                      "mqtt-retry");
              retry.setDaemon(true);
              retry.start();
            }
          });
    } catch (MqttException e) {
      lastError = e.getMessage();
    }
  }

  public String device() {
    return device;
  }

  /** Connection and counters for {@code /health}. */
  public Map<String, Object> status() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("connected", client.isConnected());
    m.put("error", lastError);
    m.put("published", published.get());
    m.put("dropped", dropped.get());
    synchronized (pending) {
      m.put("buffered", pending.size());
    }
    return m;
  }

  /** Birth message and Home Assistant discovery, on every (re)connection. */
  private void announce() {
    send(base + "/status", "online".getBytes(StandardCharsets.UTF_8), 1, true);
    for (PipelineConfig p : pipelines) {
      if (!p.enabled()) {
        continue;
      }
      if (p.kind().equals("camera")) {
        discovery(
            "sensor",
            p.name(),
            "faces",
            "Faces",
            "{{ value_json.faces | default(0) }}",
            Map.of("unit_of_measurement", "faces", "state_class", "measurement"));
        discovery(
            "binary_sensor",
            p.name(),
            "face_present",
            "Face present",
            "{{ 'ON' if (value_json.faces | default(0)) > 0 else 'OFF' }}",
            Map.of("device_class", "occupancy"));
      } else {
        discovery(
            "binary_sensor",
            p.name(),
            "wake",
            "Wake word",
            "{{ value_json.wake | default('OFF') }}",
            Map.of("off_delay", 3));
        discovery(
            "binary_sensor",
            p.name(),
            "speaking",
            "Speaking",
            "{{ value_json.speaking | default('OFF') }}",
            Map.of("device_class", "sound"));
      }
    }
  }

  private void discovery(
      String component,
      String pipeline,
      String key,
      String name,
      String template,
      Map<String, Object> extra) {
    String id = "mass_" + device + "_" + pipeline + "_" + key;
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("name", pipeline + " " + name);
    cfg.put("unique_id", id);
    cfg.put("object_id", id);
    cfg.put("state_topic", base + "/state/" + pipeline);
    cfg.put("value_template", template);
    cfg.put("availability_topic", base + "/status");
    cfg.putAll(extra);
    cfg.put(
        "device",
        Map.of(
            "identifiers",
            List.of("mass_" + device),
            "name",
            "Mass Edge " + device,
            "manufacturer",
            "Mass Edge",
            "model",
            "edge agent"));
    try {
      send(
          "homeassistant/" + component + "/" + id + "/config",
          json.writeValueAsBytes(cfg),
          1,
          true);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private void publish(PipelineEvent e) {
    try {
      send(base + "/events/" + e.pipeline(), json.writeValueAsBytes(e), 1, false);
      Map<String, Object> s = state.computeIfAbsent(e.pipeline(), k -> new ConcurrentHashMap<>());
      boolean changed = true;
      if (e instanceof PipelineEvent.FaceCount c) {
        s.put("faces", c.count());
      } else if (e instanceof PipelineEvent.WakeWord w) {
        s.put("wake", "ON");
        s.put("last_wake_word", w.word());
      } else if (e instanceof PipelineEvent.Speaking sp) {
        s.put("speaking", sp.speaking() ? "ON" : "OFF");
        if (!sp.speaking()) {
          s.put("wake", "OFF");
        }
      } else {
        changed = false;
      }
      if (changed) {
        send(base + "/state/" + e.pipeline(), json.writeValueAsBytes(s), 1, true);
      }
    } catch (java.io.IOException x) {
      log.warn("cannot write event {}: {}", e, x.getMessage());
    }
  }

  private record Pending(String topic, byte[] payload, int qos, boolean retained) {}

  /** Messages made while the broker was unreachable, oldest first; sent on (re)connection. */
  private final java.util.ArrayDeque<Pending> pending = new java.util.ArrayDeque<>();

  private void send(String topic, byte[] payload, int qos, boolean retained) {
    if (!client.isConnected()) {
      hold(new Pending(topic, payload, qos, retained));
      return;
    }
    try {
      client.publish(topic, payload, qos, retained);
      published.incrementAndGet();
    } catch (MqttException e) {
      lastError = e.getMessage();
      hold(new Pending(topic, payload, qos, retained));
    }
  }

  private void hold(Pending p) {
    synchronized (pending) {
      if (pending.size() >= bufferSize) {
        pending.removeFirst();
        dropped.incrementAndGet();
      }
      pending.addLast(p);
    }
  }

  private void flush() {
    while (client.isConnected()) {
      Pending p;
      synchronized (pending) {
        p = pending.pollFirst();
      }
      if (p == null) {
        return;
      }
      send(p.topic(), p.payload(), p.qos(), p.retained());
    }
  }

  @PreDestroy
  @Override
  public void close() {
    try {
      if (client.isConnected()) {
        client
            .publish(base + "/status", "offline".getBytes(StandardCharsets.UTF_8), 1, true)
            .waitForCompletion(2000);
        client.disconnect().waitForCompletion(2000);
      }
      client.close(true);
    } catch (MqttException e) {
      log.debug("MQTT close: {}", e.getMessage());
    }
  }
}
