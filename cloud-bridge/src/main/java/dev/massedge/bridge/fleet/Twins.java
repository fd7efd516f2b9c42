package dev.massedge.bridge.fleet;

import dev.massedge.bridge.Json;
import dev.massedge.bridge.db.Db;
import dev.massedge.bridge.mqtt.BridgeLink;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.link.MqttLink;
import jakarta.inject.Singleton;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Desired twins. The database holds the truth (a version that only grows per device); each change
 * is published retained on {@code mass/v1/<device>/twin/desired}, so a device that is offline gets
 * it when it returns. A change the broker did not confirm stays marked unpublished and is sent
 * again on the next sweep or connection.
 */
@Singleton
public final class Twins {
  private static final Logger log = LoggerFactory.getLogger(Twins.class);
  private final Db db;
  private final MqttLink link;

  public Twins(Db db, BridgeLink bridge) {
    this.db = db;
    this.link = bridge.link();
    link.onConnected(this::publishPending);
  }

  /** The desired twin, or an empty one at version 0. */
  public SyncMessage.TwinDesired desired(String device) {
    return db.one("select desired_json from devices where id = ?", device)
        .map(r -> (String) r.get("desired_json"))
        .map(s -> Json.read(s, SyncMessage.TwinDesired.class))
        .orElse(new SyncMessage.TwinDesired(SyncCodec.SCHEMA, 0, Map.of(), Map.of()));
  }

  /** Sets (or, with null, removes) one model slot; returns the new twin version. */
  public long setModel(String device, String slot, SyncMessage.ModelRef ref) {
    return change(
        device,
        d -> {
          Map<String, SyncMessage.ModelRef> models = new LinkedHashMap<>(d.models());
          if (ref == null) {
            models.remove(slot);
          } else {
            models.put(slot, ref);
          }
          return new SyncMessage.TwinDesired(d.schema(), d.version() + 1, models, d.config());
        });
  }

  /** Merges configuration keys (a null value removes the key); returns the new twin version. */
  public long setConfig(String device, Map<String, Object> changes) {
    return change(
        device,
        d -> {
          Map<String, Object> config = new LinkedHashMap<>(d.config());
          changes.forEach(
              (k, v) -> {
                if (v == null) {
                  config.remove(k);
                } else {
                  config.put(k, v);
                }
              });
          return new SyncMessage.TwinDesired(d.schema(), d.version() + 1, d.models(), config);
        });
  }

  private long change(
      String device, java.util.function.UnaryOperator<SyncMessage.TwinDesired> edit) {
    SyncMessage.TwinDesired next =
        db.tx(
            () -> {
              List<Map<String, Object>> rows =
                  db.query("select desired_json from devices where id = ? for update", device);
              if (rows.isEmpty()) {
                throw new NotFoundException("device_unknown", "no device '" + device + "'");
              }
              String json = (String) rows.get(0).get("desired_json");
              SyncMessage.TwinDesired d =
                  json == null
                      ? new SyncMessage.TwinDesired(SyncCodec.SCHEMA, 0, Map.of(), Map.of())
                      : Json.read(json, SyncMessage.TwinDesired.class);
              SyncMessage.TwinDesired n = edit.apply(d);
              db.update(
                  "update devices set desired_json = ?, desired_version = ?,"
                      + " desired_published = false where id = ?",
                  Json.write(n),
                  n.version(),
                  device);
              return n;
            });
    publish(device, next);
    return next.version();
  }

  private void publish(String device, SyncMessage.TwinDesired d) {
    if (!link.connected()) {
      return; // the next connection publishes it
    }
    link.publish(Topics.twinDesired(device), SyncCodec.write(d), 1, true)
        .whenComplete(
            (v, e) -> {
              if (e == null) {
                db.update(
                    "update devices set desired_published = true where id = ? and desired_version"
                        + " = ?",
                    device,
                    d.version());
              } else {
                log.warn("desired twin of {} not published yet: {}", device, e.toString());
              }
            });
  }

  /** Publishes every twin the broker has not confirmed. */
  public void publishPending() {
    if (!link.connected()) {
      return;
    }
    for (Map<String, Object> r :
        db.query("select id, desired_json from devices where desired_published = false")) {
      publish(
          (String) r.get("id"),
          Json.read((String) r.get("desired_json"), SyncMessage.TwinDesired.class));
    }
  }
}
