package dev.massedge.sync.outbox;

import dev.massedge.sync.contract.MessageRejectedException;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.link.MqttLink;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains an {@link Outbox} to the broker in order with QoS 1, up to {@code window} publishes in
 * flight, every publication carrying its record's sequence number (user property {@code seq}).
 *
 * <p>Records leave the outbox only when the <em>cloud</em> says it stored them (a {@code
 * TelemetryAck} on the ack topic), not when the broker acknowledged the publish: a broker that is
 * stopped or crashes may lose what it had acknowledged (Mosquitto did, in our tests, for a message
 * it received as it shut down). Unacknowledged records are sent again after a reconnection or when
 * the cloud's acknowledgements stall, so delivery is at least once and in order; the receiver
 * ({@link OutboxReceiver}) drops repeats by sequence number. At most {@code maxUnacked} records are
 * out without an acknowledgement.
 */
public final class OutboxSender implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OutboxSender.class);
  static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(10);

  /** Where one record goes. */
  public record Publication(String topic, byte[] payload, MqttProperties properties) {}

  /** Turns a record into a publication. */
  public interface Router {
    Publication route(Outbox.Entry entry);
  }

  private final Outbox outbox;
  private final MqttLink link;
  private final Router router;
  private final int window;
  private final int maxUnacked;
  private final Semaphore wake = new Semaphore(0);
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong resent = new AtomicLong();
  private final Thread thread;
  private volatile long nextToSend = -1; // -1: from the outbox's acknowledged cursor
  private volatile long lastProgress = System.nanoTime();
  private volatile boolean closed;
  private volatile String lastError = "";

  public OutboxSender(
      Outbox outbox, MqttLink link, Router router, int window, String ackTopic, int maxUnacked) {
    this.outbox = outbox;
    this.link = link;
    this.router = router;
    this.window = Math.max(1, window);
    this.maxUnacked = Math.max(this.window, maxUnacked);
    link.subscribe(ackTopic, 1, (t, m) -> onAck(m.getPayload()));
    link.onConnected(
        () -> {
          nextToSend = -1; // what the cloud has not confirmed goes again
          wake.release();
        });
    thread = new Thread(this::run, "outbox-sender");
    thread.setDaemon(true);
  }

  public OutboxSender start() {
    thread.start();
    return this;
  }

  /** Something was appended: send it now rather than at the next poll. */
  public void wakeup() {
    wake.release();
  }

  /** Publications the broker acknowledged since start (repeats included). */
  public long sent() {
    return sent.get();
  }

  /** Records sent again because the cloud had not confirmed them. */
  public long resent() {
    return resent.get();
  }

  public String lastError() {
    return lastError;
  }

  private void onAck(byte[] payload) {
    try {
      SyncMessage.TelemetryAck a = SyncCodec.read(payload, SyncMessage.TelemetryAck.class);
      if (a.seq() >= outbox.ackedUpTo() && a.seq() < outbox.stats().nextSeq()) {
        outbox.ack(a.seq());
        lastProgress = System.nanoTime();
        wake.release();
      }
    } catch (MessageRejectedException e) {
      log.warn("telemetry ack refused ({}): {}", e.code(), e.getMessage());
    } catch (java.io.IOException e) {
      lastError = "outbox ack: " + e.getMessage();
    }
  }

  private void run() {
    while (!closed) {
      try {
        if (!link.connected()) {
          wake.tryAcquire(1, TimeUnit.SECONDS);
          continue;
        }
        long acked = outbox.ackedUpTo();
        long from = nextToSend < acked ? acked : nextToSend;
        if (from > acked && System.nanoTime() - lastProgress > STALL_NANOS) {
          // the cloud confirmed nothing for a while: what it lacks goes again
          resent.addAndGet(from - acked);
          from = acked;
          lastProgress = System.nanoTime();
        }
        List<Outbox.Entry> batch =
            from - acked >= maxUnacked ? List.of() : outbox.peekFrom(from, window);
        if (batch.isEmpty()) {
          nextToSend = from;
          wake.tryAcquire(200, TimeUnit.MILLISECONDS);
          continue;
        }
        if (from == acked) {
          lastProgress = System.nanoTime();
        }
        List<CompletableFuture<Void>> acks = new ArrayList<>(batch.size());
        // the first record still kept: below it the cloud must not wait (confirmed, or dropped
        // over the quota while the cloud could not be reached)
        String kept = Long.toString(outbox.ackedUpTo());
        for (Outbox.Entry e : batch) {
          Publication p = router.route(e);
          MqttProperties props = p.properties() == null ? new MqttProperties() : p.properties();
          List<UserProperty> user = new ArrayList<>(props.getUserProperties());
          user.add(new UserProperty("seq", Long.toString(e.seq())));
          user.add(new UserProperty("from", kept));
          props.setUserProperties(user);
          acks.add(link.publish(p.topic(), p.payload(), 1, false, props));
        }
        long next = from;
        for (int i = 0; i < batch.size(); i++) {
          try {
            acks.get(i).get(30, TimeUnit.SECONDS);
            next = batch.get(i).seq() + 1;
            sent.incrementAndGet();
          } catch (Exception e) {
            Throwable c = e.getCause() != null ? e.getCause() : e;
            lastError = c.getClass().getSimpleName() + ": " + c.getMessage();
            break; // the rest go again, in order, once the link is back
          }
        }
        nextToSend = next;
        if (next <= batch.get(batch.size() - 1).seq()) {
          Thread.sleep(500);
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        lastError = e.toString();
        log.warn("outbox sender: {}", e.toString());
        try {
          Thread.sleep(1000);
        } catch (InterruptedException ie) {
          return;
        }
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
