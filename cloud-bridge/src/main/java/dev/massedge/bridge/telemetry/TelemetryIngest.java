package dev.massedge.bridge.telemetry;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.bridge.Json;
import dev.massedge.bridge.db.Db;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.outbox.OutboxReceiver;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores every device's telemetry batches and events, once each and in order: the outbox receiver
 * hands each record over once, and the record's rows and the device's next sequence number are
 * written in one transaction, so a bridge restart neither loses nor repeats a record (the receiver
 * starts from the stored positions). Only then is the record acknowledged to the device.
 */
@Singleton
public final class TelemetryIngest implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TelemetryIngest.class);
  private static final int MAX_INFLATED = 4 * 1024 * 1024;
  private final Db db;
  private final BridgeConfig config;
  private final OutboxReceiver receiver;
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong metrics = new AtomicLong();
  private final AtomicLong events = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();

  public TelemetryIngest(Db db, BridgeConfig config, BridgeLink bridge) {
    this.db = db;
    this.config = config;
    this.receiver = new OutboxReceiver(bridge.link(), this::store);
    for (Map<String, Object> r : db.query("select device_id, next_seq from outbox_positions")) {
      receiver.expect((String) r.get("device_id"), Db.asLong(r.get("next_seq")));
    }
  }

  void store(String device, Topics.Kind kind, long seq, byte[] payload) {
    byte[] body;
    try {
      body = inflate(payload);
    } catch (IOException e) {
      // refused, and its position moves on: one bad record must not stall the device's outbox
      rejected.incrementAndGet();
      log.warn("{} record {}#{} refused: {}", kind, device, seq, e.getMessage());
      body = null;
    }
    List<Object[]> rows = new ArrayList<>();
    String event = null;
    if (body == null) {
      // nothing to store but the position
    } else if (kind == Topics.Kind.TELEMETRY) {
      SyncMessage.TelemetryBatch b;
      try {
        b = SyncCodec.read(body, SyncMessage.TelemetryBatch.class);
      } catch (RuntimeException e) {
        rejected.incrementAndGet();
        log.warn("telemetry {}#{} refused: {}", device, seq, e.getMessage());
        b = new SyncMessage.TelemetryBatch(SyncCodec.SCHEMA, seq, List.of());
      }
      for (SyncMessage.Metric m : b.metrics()) {
        Map<String, String> tags = m.tags() == null ? Map.of() : m.tags();
        Map<String, String> rest = new LinkedHashMap<>(tags);
        rest.remove("model");
        rest.remove("version");
        rest.remove("pipeline");
        rows.add(
            new Object[] {
              device,
              m.name(),
              tags.get("model"),
              tags.get("version"),
              tags.get("pipeline"),
              rest.isEmpty() ? null : Json.write(rest),
              m.value(),
              m.epochMillis()
            });
      }
    } else {
      event = new String(body, StandardCharsets.UTF_8);
    }
    String ev = event;
    db.tx(
        () -> {
          db.batch(
              "insert into metrics (device_id, name, model, version, pipeline, tags, metric_value, ts)"
                  + " values (?, ?, ?, ?, ?, ?, ?, ?)",
              rows);
          if (ev != null) {
            db.update(
                "insert into events (device_id, seq, ts, body) values (?, ?, ?, ?)",
                device,
                seq,
                System.currentTimeMillis(),
                ev);
          }
          if (db.update(
                  "update outbox_positions set next_seq = ? where device_id = ?", seq + 1, device)
              == 0) {
            db.update(
                "insert into outbox_positions (device_id, next_seq) values (?, ?)",
                device,
                seq + 1);
          }
          return null;
        });
    batches.incrementAndGet();
    metrics.addAndGet(rows.size());
    if (ev != null) {
      events.incrementAndGet();
    }
  }

  private static byte[] inflate(byte[] b) throws IOException {
    if (b.length < 2 || (b[0] & 0xff) != 0x1f || (b[1] & 0xff) != 0x8b) {
      return b;
    }
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(b))) {
      byte[] out = in.readNBytes(MAX_INFLATED + 1);
      if (out.length > MAX_INFLATED) {
        throw new IOException("telemetry record inflates beyond " + MAX_INFLATED + " bytes");
      }
      return out;
    }
  }

  /** Deletes metrics and events older than the retention. */
  public int applyRetention() {
    long cutoff = System.currentTimeMillis() - config.telemetryRetention().toMillis();
    int n = db.update("delete from metrics where ts < ?", cutoff);
    n += db.update("delete from events where ts < ?", cutoff);
    if (n > 0) {
      log.info(
          "retention: {} telemetry rows older than {} deleted", n, config.telemetryRetention());
    }
    return n;
  }

  public Map<String, Object> stats() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("records", batches.get());
    m.put("metrics", metrics.get());
    m.put("events", events.get());
    m.put("refused", rejected.get() + receiver.refused());
    m.put("duplicates", receiver.duplicates());
    m.put("out_of_order", receiver.outOfOrder());
    return m;
  }

  /** Metric rows for a device and/or model, newest last. */
  public List<Map<String, Object>> query(
      String device, String model, String version, String name, long since, int limit) {
    StringBuilder sql =
        new StringBuilder(
            "select device_id, name, model, version, pipeline, tags, metric_value, ts from metrics where ts >= ?");
    List<Object> args = new ArrayList<>(List.of(since));
    if (device != null) {
      sql.append(" and device_id = ?");
      args.add(device);
    }
    if (model != null) {
      sql.append(" and model = ?");
      args.add(model);
    }
    if (version != null) {
      sql.append(" and version = ?");
      args.add(version);
    }
    if (name != null) {
      sql.append(" and name = ?");
      args.add(name);
    }
    sql.append(" order by ts desc limit ").append(Math.max(1, Math.min(limit, 10_000)));
    List<Map<String, Object>> rows = new ArrayList<>(db.query(sql.toString(), args.toArray()));
    java.util.Collections.reverse(rows);
    return rows;
  }

  /** A device's events, newest last. */
  public List<Map<String, Object>> events(String device, long since, int limit) {
    List<Map<String, Object>> rows =
        new ArrayList<>(
            db.query(
                "select device_id, seq, ts, body from events where device_id = ? and ts >= ?"
                    + " order by seq desc limit "
                    + Math.max(1, Math.min(limit, 10_000)),
                device,
                since));
    java.util.Collections.reverse(rows);
    return rows;
  }

  @PreDestroy
  @Override
  public void close() {
    receiver.close();
  }
}
