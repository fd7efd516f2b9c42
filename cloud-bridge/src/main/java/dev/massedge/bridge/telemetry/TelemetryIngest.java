package dev.massedge.bridge.telemetry;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.bridge.Json;
import dev.massedge.bridge.db.Db;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.sync.contract.MessageRejectedException;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPInputStream;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores every device's telemetry batches and events exactly once, on one bridge or several.
 * Records arrive through the shared subscriptions {@code $share/bridges/mass/v1/+/telemetry} and
 * {@code …/events}, so bridge instances split them, and a device's records may reach them out of
 * order. The database decides, per device, under its locked position row ({@code
 * outbox_positions}): a record below the position, or already in {@code outbox_received}, is a
 * repeat (acknowledged again, not stored); the next one is stored and the position passes it and
 * every record stored ahead right after it; a record further ahead is stored and remembered in
 * {@code outbox_received} until the position passes it. The position is what the device is told
 * ({@code TelemetryAck}, every 200 ms): it forgets nothing the database does not hold, and resends
 * whatever is missing.
 */
@Singleton
public final class TelemetryIngest implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TelemetryIngest.class);
  private static final int MAX_INFLATED = 4 * 1024 * 1024;
  private static final int STRIPES = 4;
  private final Db db;
  private final BridgeConfig config;
  private final MqttLink link;
  private final ExecutorService[] stripes = new ExecutorService[STRIPES];
  private final ScheduledExecutorService timer;
  private final Map<String, Long> toAck = new ConcurrentHashMap<>();
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong metrics = new AtomicLong();
  private final AtomicLong events = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private final AtomicLong ahead = new AtomicLong();
  private final AtomicLong droppedOnDevice = new AtomicLong();

  private enum Outcome {
    STORED,
    AHEAD,
    REPEAT
  }

  public TelemetryIngest(Db db, BridgeConfig config, BridgeLink bridge) {
    this.db = db;
    this.config = config;
    this.link = bridge.link();
    for (int i = 0; i < STRIPES; i++) {
      int n = i;
      stripes[i] =
          Executors.newSingleThreadExecutor(
              r -> {
                Thread t = new Thread(r, "telemetry-ingest-" + n);
                t.setDaemon(true);
                return t;
              });
    }
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "telemetry-acks");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(this::sendAcks, 200, 200, TimeUnit.MILLISECONDS);
    link.subscribe("$share/bridges/mass/v1/+/telemetry", 1, this::onMessage);
    link.subscribe("$share/bridges/mass/v1/+/events", 1, this::onMessage);
  }

  private void onMessage(String topic, MqttMessage m) {
    OutboxReceiver.Arrival a;
    try {
      a = OutboxReceiver.arrival(topic, m);
      Topics.checkSender(topic, MqttLink.userProperty(m, Topics.SENDER_PROPERTY));
    } catch (MessageRejectedException e) {
      rejected.incrementAndGet();
      log.warn("outbox record refused: {}", e.getMessage());
      return;
    }
    byte[] payload = m.getPayload();
    String device = a.topic().deviceId();
    stripe(device).execute(() -> handle(device, a.topic().kind(), a.seq(), a.from(), payload));
  }

  private ExecutorService stripe(String device) {
    return stripes[Math.floorMod(device.hashCode(), STRIPES)];
  }

  private void handle(String device, Topics.Kind kind, long seq, long from, byte[] payload) {
    try {
      store(device, kind, seq, from, payload);
    } catch (RuntimeException e) {
      // not confirmed: the device sends it again
      log.warn("outbox record {}#{} not stored: {}", device, seq, e.toString());
    }
  }

  /** Stores one record unless it was stored before; says what happened. */
  Outcome store(String device, Topics.Kind kind, long seq, long from, byte[] payload) {
    Parsed p = parse(device, kind, seq, payload);
    Outcome o;
    try {
      o = db.tx(() -> storeInTx(device, seq, from, p));
    } catch (RuntimeException e) {
      if (!Db.isDuplicate(e)) {
        throw e;
      }
      // another instance made the position row first
      o = db.tx(() -> storeInTx(device, seq, from, p));
    }
    if (o != Outcome.REPEAT) {
      batches.incrementAndGet();
      metrics.addAndGet(p.rows.size());
      if (p.event != null) {
        events.incrementAndGet();
      }
    }
    return o;
  }

  private Outcome storeInTx(String device, long seq, long from, Parsed p) {
    List<Map<String, Object>> pos =
        db.query("select next_seq from outbox_positions where device_id = ? for update", device);
    long next;
    if (pos.isEmpty()) {
      // first contact: the device starts at the first record it has not had confirmed
      db.update(
          "insert into outbox_positions (device_id, next_seq, first_seq) values (?, ?, ?)",
          device,
          from,
          from);
      next = from;
    } else {
      next = Db.asLong(pos.get(0).get("next_seq"));
    }
    if (seq > next && from > next) {
      // the device dropped these over its outbox quota before they could be confirmed: counted,
      // and not waited for (they will never come). Those among them stored ahead of a gap are
      // stored, not dropped (the device could not know: confirmations only pass whole prefixes).
      int storedAhead =
          db.update("delete from outbox_received where device_id = ? and seq < ?", device, from);
      db.update(
          "update outbox_positions set dropped_on_device = dropped_on_device + ? where device_id = ?",
          from - next - storedAhead,
          device);
      droppedOnDevice.addAndGet(from - next - storedAhead);
      // records stored ahead from the device's first kept one on are passed too
      next = pass(device, from);
    }
    if (seq < next
        || !db.query("select seq from outbox_received where device_id = ? and seq = ?", device, seq)
            .isEmpty()) {
      duplicates.incrementAndGet();
      toAck.merge(device, next - 1, Math::max);
      return Outcome.REPEAT;
    }
    db.batch(
        "insert into metrics (device_id, name, model, version, pipeline, tags, metric_value, ts)"
            + " values (?, ?, ?, ?, ?, ?, ?, ?)",
        p.rows);
    db.update("update outbox_positions set received = received + 1 where device_id = ?", device);
    if (p.event != null) {
      db.update(
          "insert into events (device_id, seq, ts, body) values (?, ?, ?, ?)",
          device,
          seq,
          System.currentTimeMillis(),
          p.event);
    }
    if (seq > next) {
      // ahead of its predecessor (which another instance is storing, or which comes again):
      // stored now, confirmed once the position passes it
      db.update("insert into outbox_received (device_id, seq) values (?, ?)", device, seq);
      ahead.incrementAndGet();
      return Outcome.AHEAD;
    }
    // the next one: the position passes it and every record stored ahead right after it
    long n = pass(device, seq + 1);
    toAck.merge(device, n - 1, Math::max);
    return Outcome.STORED;
  }

  /**
   * Moves the device's position to {@code n} and on over the records stored ahead right after it;
   * returns the new position.
   */
  private long pass(String device, long n) {
    long start = n;
    for (Map<String, Object> r :
        db.query(
            "select seq from outbox_received where device_id = ? and seq >= ? order by seq limit"
                + " 10000",
            device,
            n)) {
      if (Db.asLong(r.get("seq")) != n) {
        break;
      }
      n++;
    }
    if (n > start) {
      db.update("delete from outbox_received where device_id = ? and seq < ?", device, n);
    }
    db.update("update outbox_positions set next_seq = ? where device_id = ?", n, device);
    return n;
  }

  private void sendAcks() {
    if (!link.connected()) {
      return;
    }
    for (String device : List.copyOf(toAck.keySet())) {
      Long upTo = toAck.remove(device);
      if (upTo != null) {
        link.publish(
            Topics.telemetryAck(device),
            SyncCodec.write(new SyncMessage.TelemetryAck(SyncCodec.SCHEMA, upTo)),
            1,
            false);
      }
    }
  }

  /** A record's rows: metrics for a batch, the body for an event; none when it was refused. */
  private record Parsed(List<Object[]> rows, String event) {}

  private Parsed parse(String device, Topics.Kind kind, long seq, byte[] payload) {
    byte[] body;
    try {
      body = inflate(payload);
    } catch (IOException e) {
      // refused, and its position moves on: one bad record must not stall the device's outbox
      rejected.incrementAndGet();
      log.warn("{} record {}#{} refused: {}", kind, device, seq, e.getMessage());
      return new Parsed(List.of(), null);
    }
    if (kind != Topics.Kind.TELEMETRY) {
      return new Parsed(List.of(), new String(body, StandardCharsets.UTF_8));
    }
    SyncMessage.TelemetryBatch b;
    try {
      b = SyncCodec.read(body, SyncMessage.TelemetryBatch.class);
    } catch (RuntimeException e) {
      rejected.incrementAndGet();
      log.warn("telemetry {}#{} refused: {}", device, seq, e.getMessage());
      return new Parsed(List.of(), null);
    }
    List<Object[]> rows = new ArrayList<>(b.metrics().size());
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
    return new Parsed(rows, null);
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
    m.put("refused", rejected.get());
    m.put("duplicates", duplicates.get());
    m.put("stored_ahead", ahead.get());
    m.put("dropped_on_devices", droppedOnDevice.get());
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
  /**
   * A device's telemetry accounting: {@code firstSeq} (its outbox position when the cloud first
   * heard from it), {@code nextSeq} (every record below it is stored or counted as dropped), {@code
   * received} (records stored), {@code droppedOnDevice} (records its outbox dropped over its quota
   * before the cloud confirmed them) and {@code pendingAhead} (stored ahead of a gap, waiting for
   * the records before them). Null before the device's first record.
   */
  public Map<String, Object> accounting(String device) {
    return db.one(
            "select first_seq, next_seq, received, dropped_on_device,"
                + " (select count(*) from outbox_received r where r.device_id = p.device_id) as"
                + " ahead from outbox_positions p where device_id = ?",
            device)
        .map(
            r -> {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("firstSeq", Db.asLong(r.get("first_seq")));
              m.put("nextSeq", Db.asLong(r.get("next_seq")));
              m.put("received", Db.asLong(r.get("received")));
              m.put("droppedOnDevice", Db.asLong(r.get("dropped_on_device")));
              m.put("pendingAhead", Db.asLong(r.get("ahead")));
              return m;
            })
        .orElse(null);
  }

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
    timer.shutdownNow();
    for (ExecutorService e : stripes) {
      e.shutdownNow();
    }
  }
}
