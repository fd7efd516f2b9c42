package dev.massedge.bridge.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.outbox.Outbox;
import dev.massedge.sync.outbox.OutboxSender;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A device speaking the contract without an inference engine: birth and will, a desired-twin
 * handler that activates (or refuses) the models it is given and reports them, and telemetry
 * through a real disk outbox. For the bridge's tests; the end-to-end tests run real agents.
 */
public final class FakeDevice implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the device does with a model it is asked to run. */
  public enum Behaviour {
    ACTIVATE,
    FAIL
  }

  public final String id;
  private final MqttLink link;
  private final Outbox outbox;
  private final OutboxSender sender;
  private final Map<String, String> active = new ConcurrentHashMap<>();
  private final Map<String, SyncMessage.ModelState> states = new ConcurrentHashMap<>();
  public volatile Behaviour behaviour = Behaviour.ACTIVATE;
  public final AtomicReference<SyncMessage.TwinDesired> lastDesired = new AtomicReference<>();

  public FakeDevice(String id, String brokerUrl, Path dir, Map<String, String> models)
      throws IOException {
    this(id, brokerUrl, dir, models, 8 << 20);
  }

  /** With an outbox of {@code outboxQuota} bytes (1 KiB segments when small). */
  public FakeDevice(
      String id, String brokerUrl, Path dir, Map<String, String> models, long outboxQuota)
      throws IOException {
    this.id = id;
    active.putAll(models);
    models.forEach((k, v) -> states.put(k, new SyncMessage.ModelState(v, null, "active", null)));
    link =
        new MqttLink(
            new MqttLink.Options(brokerUrl, "fake-" + id)
                .withCredentials(id, null)
                .persistent()
                .withStatus(Topics.status(id), () -> status(true), status(false)));
    link.subscribe(Topics.twinDesired(id), 1, (t, m) -> onDesired(m.getPayload()));
    outbox =
        new Outbox(
            dir.resolve(id + "-outbox"), outboxQuota, Math.min(1 << 20, outboxQuota / 8), 100);
    sender = new OutboxSender(outbox, link, this::route, 10, Topics.telemetryAck(id), 2000).start();
    link.start();
  }

  private byte[] status(boolean online) {
    return SyncCodec.write(
        new SyncMessage.Status(
            SyncCodec.SCHEMA,
            online,
            "fake-1",
            "amd64",
            "none",
            Map.copyOf(active),
            System.currentTimeMillis()));
  }

  private void onDesired(byte[] payload) {
    if (payload.length == 0) {
      return;
    }
    SyncMessage.TwinDesired d = SyncCodec.read(payload, SyncMessage.TwinDesired.class);
    lastDesired.set(d);
    d.models()
        .forEach(
            (slot, ref) -> {
              if (ref.version().equals(active.get(slot))) {
                states.put(slot, new SyncMessage.ModelState(ref.version(), null, "active", null));
              } else if (behaviour == Behaviour.ACTIVATE) {
                active.put(slot, ref.version());
                states.put(slot, new SyncMessage.ModelState(ref.version(), null, "active", null));
              } else {
                states.put(
                    slot,
                    new SyncMessage.ModelState(
                        active.get(slot),
                        ref.version(),
                        "failed",
                        "smoke_test_failed: NaN output"));
              }
            });
    link.publish(
        Topics.twinReported(id),
        SyncCodec.write(
            new SyncMessage.TwinReported(
                SyncCodec.SCHEMA,
                d.version(),
                Map.copyOf(states),
                d.config(),
                System.currentTimeMillis())),
        1,
        true);
  }

  /** The version of {@code model} this device runs. */
  public String active(String model) {
    return active.get(model);
  }

  /** Queues a metrics batch in the outbox. */
  public long metrics(List<SyncMessage.Metric> metrics) throws IOException {
    return append('T', metrics);
  }

  /** Queues an event in the outbox. */
  public long event(Map<String, Object> event) throws IOException {
    return append('E', event);
  }

  private long append(char kind, Object body) throws IOException {
    byte[] b = JSON.writeValueAsBytes(body);
    byte[] rec = new byte[b.length + 1];
    rec[0] = (byte) kind;
    System.arraycopy(b, 0, rec, 1, b.length);
    long seq = outbox.append(rec);
    sender.wakeup();
    return seq;
  }

  public Outbox.Stats outbox() {
    return outbox.stats();
  }

  private OutboxSender.Publication route(Outbox.Entry e) {
    byte[] body = Arrays.copyOfRange(e.data(), 1, e.data().length);
    if (e.data()[0] == 'E') {
      return new OutboxSender.Publication(Topics.events(id), body, null);
    }
    try {
      List<SyncMessage.Metric> m = Arrays.asList(JSON.readValue(body, SyncMessage.Metric[].class));
      return new OutboxSender.Publication(
          Topics.telemetry(id),
          SyncCodec.write(new SyncMessage.TelemetryBatch(SyncCodec.SCHEMA, e.seq(), m)),
          null);
    } catch (IOException x) {
      throw new IllegalStateException(x);
    }
  }

  public boolean connected() {
    return link.connected();
  }

  @Override
  public void close() throws IOException {
    sender.close();
    link.close();
    outbox.close();
  }
}
