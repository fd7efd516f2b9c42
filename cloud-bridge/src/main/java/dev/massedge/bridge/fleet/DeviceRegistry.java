package dev.massedge.bridge.fleet;

import dev.massedge.bridge.Json;
import dev.massedge.bridge.db.Db;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.sync.contract.MessageRejectedException;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.eclipse.paho.mqttv5.common.MqttMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every device the fleet has seen: it appears on its first birth message, goes online and offline
 * with birth and will, and keeps its last reported twin, models, agent version and hardware. Tags
 * are the fleet manager's (REST/CLI), and rollouts select devices by them.
 */
@Singleton
public final class DeviceRegistry {
  private static final Logger log = LoggerFactory.getLogger(DeviceRegistry.class);
  public static final Pattern TAG = Pattern.compile("[a-z0-9][a-z0-9_.:=-]{0,127}");
  private final Db db;
  private final AtomicLong rejected = new AtomicLong();

  public DeviceRegistry(Db db, BridgeLink bridge) {
    this.db = db;
    // not shared: retained births and reports reach every instance (a shared subscription gets no
    // retained messages), and recording them twice is harmless
    bridge.link().subscribe("mass/v1/+/status", 1, this::onStatus);
    bridge.link().subscribe("mass/v1/+/twin/reported", 1, this::onReported);
  }

  /** Messages refused: unparseable, wrong schema, or a device id the topic does not allow. */
  public long rejected() {
    return rejected.get();
  }

  void onStatus(String topic, MqttMessage m) {
    if (m.getPayload().length == 0) {
      return; // a retained status being cleared
    }
    try {
      String id = Topics.parse(topic).deviceId();
      Topics.checkSender(topic, MqttLink.userProperty(m, Topics.SENDER_PROPERTY));
      SyncMessage.Status s = SyncCodec.read(m.getPayload(), SyncMessage.Status.class);
      status(id, s);
    } catch (MessageRejectedException e) {
      rejected.incrementAndGet();
      log.warn("status on {} refused: {} ({})", topic, e.getMessage(), e.code());
    }
  }

  void onReported(String topic, MqttMessage m) {
    if (m.getPayload().length == 0) {
      return;
    }
    try {
      String id = Topics.parse(topic).deviceId();
      Topics.checkSender(topic, MqttLink.userProperty(m, Topics.SENDER_PROPERTY));
      SyncMessage.TwinReported r = SyncCodec.read(m.getPayload(), SyncMessage.TwinReported.class);
      reported(id, r);
    } catch (MessageRejectedException e) {
      rejected.incrementAndGet();
      log.warn("reported twin on {} refused: {} ({})", topic, e.getMessage(), e.code());
    }
  }

  /** Records a birth or will message. */
  public void status(String id, SyncMessage.Status s) {
    long now = System.currentTimeMillis();
    ensure(id, now);
    db.tx(
        () -> {
          if (s.online()) {
            db.update(
                "update devices set online = true, agent_version = ?, arch = ?, accelerator = ?,"
                    + " models_json = ?, last_seen = ? where id = ?",
                s.agentVersion(),
                s.arch(),
                s.accelerator(),
                Json.write(s.models() == null ? Map.of() : s.models()),
                now,
                id);
          } else {
            db.update("update devices set online = false, last_seen = ? where id = ?", now, id);
          }
          return null;
        });
    log.info("device {} {}", id, s.online() ? "online" : "offline");
  }

  /** Records a reported twin (a newer one only: reports can arrive out of order after a cut). */
  public void reported(String id, SyncMessage.TwinReported r) {
    long now = System.currentTimeMillis();
    ensure(id, now);
    db.tx(
        () -> {
          db.update(
              "update devices set reported_json = ?, reported_version = ?, reported_at = ?,"
                  + " last_seen = ? where id = ? and (reported_at is null or reported_at <= ?)",
              Json.write(r),
              r.desiredVersion(),
              r.epochMillis(),
              now,
              id,
              r.epochMillis());
          return null;
        });
  }

  /**
   * Makes the device's row, in a transaction of its own: on PostgreSQL a failed insert (another
   * instance made the row first) spoils the transaction it runs in.
   */
  private void ensure(String id, long now) {
    if (db.one("select id from devices where id = ?", id).isEmpty()) {
      try {
        db.update("insert into devices (id, first_seen, last_seen) values (?, ?, ?)", id, now, now);
        log.info("new device {}", id);
      } catch (RuntimeException e) {
        if (!Db.isDuplicate(e)) {
          throw e;
        }
      }
    }
  }

  /** Replaces a device's tags. */
  public void setTags(String id, Set<String> tags) {
    for (String t : tags) {
      if (!TAG.matcher(t).matches()) {
        throw new IllegalArgumentException(
            "tag '" + t + "' must match " + TAG.pattern() + " (lower case)");
      }
    }
    db.tx(
        () -> {
          if (db.one("select id from devices where id = ?", id).isEmpty()) {
            throw new NotFoundException("device_unknown", "no device '" + id + "'");
          }
          db.update("delete from device_tags where device_id = ?", id);
          for (String t : tags) {
            db.update("insert into device_tags (device_id, tag) values (?, ?)", id, t);
          }
          return null;
        });
  }

  /** Devices carrying every tag in {@code selector} (all devices for an empty selector). */
  public List<String> select(Set<String> selector) {
    List<String> out = new ArrayList<>();
    for (Map<String, Object> r : db.query("select id from devices order by id")) {
      out.add((String) r.get("id"));
    }
    if (selector.isEmpty()) {
      return out;
    }
    Map<String, Set<String>> tags = allTags();
    out.removeIf(id -> !tags.getOrDefault(id, Set.of()).containsAll(selector));
    return out;
  }

  private Map<String, Set<String>> allTags() {
    Map<String, Set<String>> m = new LinkedHashMap<>();
    for (Map<String, Object> r : db.query("select device_id, tag from device_tags")) {
      m.computeIfAbsent((String) r.get("device_id"), k -> new TreeSet<>())
          .add((String) r.get("tag"));
    }
    return m;
  }

  /** Every device as the API shows it, optionally only those with a tag. */
  public List<Map<String, Object>> list(String tag) {
    Map<String, Set<String>> tags = allTags();
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> r : db.query("select * from devices order by id")) {
      Set<String> t = tags.getOrDefault((String) r.get("id"), Set.of());
      if (tag == null || t.contains(tag)) {
        out.add(view(r, t));
      }
    }
    return out;
  }

  public Map<String, Object> get(String id) {
    Map<String, Object> r =
        db.one("select * from devices where id = ?", id)
            .orElseThrow(() -> new NotFoundException("device_unknown", "no device '" + id + "'"));
    return view(r, allTags().getOrDefault(id, Set.of()));
  }

  /** The last reported twin, or null. */
  public SyncMessage.TwinReported reportedTwin(String id) {
    return db.one("select reported_json from devices where id = ?", id)
        .map(r -> (String) r.get("reported_json"))
        .map(s -> Json.read(s, SyncMessage.TwinReported.class))
        .orElse(null);
  }

  /** The version of a model a device runs: from its reported twin, else from its birth message. */
  public String activeVersion(String id, String model) {
    SyncMessage.TwinReported r = reportedTwin(id);
    SyncMessage.ModelState s = r == null || r.models() == null ? null : r.models().get(model);
    if (s != null && s.active() != null) {
      return s.active();
    }
    return db.one("select models_json from devices where id = ?", id)
        .map(row -> Json.map((String) row.get("models_json")).get(model))
        .map(String::valueOf)
        .orElse(null);
  }

  /** How many devices the fleet has, and how many are online: {@code {devices, online}}. */
  public long[] counts() {
    Map<String, Object> r =
        db.query("select count(*) as n, sum(case when online then 1 else 0 end) as up from devices")
            .get(0);
    return new long[] {Db.asLong(r.get("n")), Db.asLong(r.get("up"))};
  }

  private static Map<String, Object> view(Map<String, Object> r, Set<String> tags) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", r.get("id"));
    v.put("online", r.get("online"));
    v.put("tags", tags);
    v.put("agentVersion", r.get("agent_version"));
    v.put("arch", r.get("arch"));
    v.put("accelerator", r.get("accelerator"));
    Map<String, Object> models = new java.util.TreeMap<>();
    Json.map((String) r.get("models_json"))
        .forEach((k, ver) -> models.put(k, Map.of("active", ver, "state", "active")));
    Object reportedModels = Json.map((String) r.get("reported_json")).get("models");
    if (reportedModels instanceof Map<?, ?> rm) {
      rm.forEach((k, st) -> models.put(String.valueOf(k), st));
    }
    v.put("models", models);
    v.put("firstSeen", r.get("first_seen"));
    v.put("lastSeen", r.get("last_seen"));
    Map<String, Object> rep = Json.map((String) r.get("reported_json"));
    v.put("reported", rep.isEmpty() ? null : rep);
    Map<String, Object> des = Json.map((String) r.get("desired_json"));
    v.put("desired", des.isEmpty() ? null : des);
    v.put("inSync", Db.asLong(r.get("reported_version")) >= Db.asLong(r.get("desired_version")));
    return v;
  }
}
