package dev.massedge.sync.outbox;

import dev.massedge.sync.contract.MessageRejectedException;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cloud end of the outbox: takes every device's telemetry and events in sequence order, hands
 * each record to its sink exactly once (repeats dropped, records after a gap held back until the
 * gap is filled by the device's resend), and confirms what it stored with a {@code TelemetryAck}
 * every 100 records or 200 ms. Start it with {@link #expect} for devices whose position is known
 * (from the database), so a restarted cloud does not take a repeat for new data.
 */
public final class OutboxReceiver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OutboxReceiver.class);

  /** Receives each record once, in order. Throwing leaves it unconfirmed: it comes again. */
  public interface Sink {
    void accept(String device, Topics.Kind kind, long seq, byte[] payload) throws Exception;
  }

  private static final class Device {
    long next = -1;
    long confirmed = -1;
    int since;
  }

  private final MqttLink link;
  private final Sink sink;
  private final Map<String, Device> devices = new ConcurrentHashMap<>();
  private final ScheduledExecutorService flusher;
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong outOfOrder = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong droppedOnDevice = new AtomicLong();

  public OutboxReceiver(MqttLink link, Sink sink) {
    this.link = link;
    this.sink = sink;
    link.subscribe("mass/v1/+/telemetry", 1, this::onMessage);
    link.subscribe("mass/v1/+/events", 1, this::onMessage);
    flusher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "outbox-receiver-acks");
              t.setDaemon(true);
              return t;
            });
    flusher.scheduleWithFixedDelay(this::confirmAll, 200, 200, TimeUnit.MILLISECONDS);
  }

  /** The next sequence number expected from a device (what the database last stored + 1). */
  public void expect(String device, long next) {
    Device d = devices.computeIfAbsent(device, k -> new Device());
    synchronized (d) {
      d.next = next;
    }
  }

  public long duplicates() {
    return duplicates.get();
  }

  public long outOfOrder() {
    return outOfOrder.get();
  }

  public long refused() {
    return refused.get();
  }

  /** Records the devices dropped (outbox quota) before the cloud could confirm them. */
  public long droppedOnDevice() {
    return droppedOnDevice.get();
  }

  /**
   * An outbox publication as it arrives: the device topic, the record's sequence number, and the
   * first record the sender still keeps ({@code from}; the sequence number when it does not say).
   */
  public record Arrival(Topics.DeviceTopic topic, long seq, long from) {}

  /** Reads an outbox publication's topic and user properties, or refuses it with why. */
  public static Arrival arrival(String topic, MqttMessage m) {
    Topics.DeviceTopic t = Topics.parse(topic);
    String s = MqttLink.userProperty(m, "seq");
    long seq;
    try {
      seq = s == null ? -1 : Long.parseLong(s);
    } catch (NumberFormatException e) {
      seq = -1;
    }
    if (seq < 0) {
      throw new MessageRejectedException(
          "invalid_message", topic + ": no valid 'seq' user property (" + s + ")");
    }
    String f = MqttLink.userProperty(m, "from");
    long from;
    try {
      from = f == null ? seq : Math.min(seq, Long.parseLong(f));
    } catch (NumberFormatException e) {
      from = seq;
    }
    return new Arrival(t, seq, from);
  }

  private void onMessage(String topic, MqttMessage m) {
    Arrival a;
    try {
      a = arrival(topic, m);
    } catch (MessageRejectedException e) {
      refused.incrementAndGet();
      log.warn("outbox record refused: {}", e.getMessage());
      return;
    }
    Topics.DeviceTopic t = a.topic();
    long seq = a.seq();
    long from = a.from();
    Device d = devices.computeIfAbsent(t.deviceId(), k -> new Device());
    synchronized (d) {
      if (d.next < 0) {
        d.next = from; // a device seen for the first time starts at its first unconfirmed record
      }
      if (seq > d.next && from > d.next) {
        // the device dropped records over its outbox quota while they were not confirmed: they
        // will never come, so waiting for them would stall the device for good
        droppedOnDevice.addAndGet(from - d.next);
        d.next = from;
      }
      if (seq < d.next) {
        duplicates.incrementAndGet();
        return;
      }
      if (seq > d.next) {
        outOfOrder.incrementAndGet(); // a gap: wait for the resend
        return;
      }
      try {
        sink.accept(t.deviceId(), t.kind(), seq, m.getPayload());
      } catch (Exception e) {
        log.warn("outbox record {} of {} not stored: {}", seq, t.deviceId(), e.toString());
        return;
      }
      d.next = seq + 1;
      if (++d.since >= 100) {
        confirm(t.deviceId(), d);
      }
    }
  }

  private void confirmAll() {
    devices.forEach(
        (id, d) -> {
          synchronized (d) {
            if (d.next - 1 > d.confirmed) {
              confirm(id, d);
            }
          }
        });
  }

  private void confirm(String device, Device d) {
    long upTo = d.next - 1;
    d.since = 0;
    d.confirmed = upTo;
    link.publish(
        Topics.telemetryAck(device),
        SyncCodec.write(new SyncMessage.TelemetryAck(SyncCodec.SCHEMA, upTo)),
        1,
        false);
  }

  @Override
  public void close() {
    flusher.shutdownNow();
  }
}
