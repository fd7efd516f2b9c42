package dev.massedge.bridge.rollout;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.bridge.Json;
import dev.massedge.bridge.catalog.ModelCatalog;
import dev.massedge.bridge.db.Db;
import dev.massedge.bridge.fleet.DeviceRegistry;
import dev.massedge.bridge.fleet.NotFoundException;
import dev.massedge.bridge.fleet.Twins;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.pkg.Hashes;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Staged rollouts. A rollout targets the devices whose tags include its selector (fixed when it
 * starts) and walks them through phases (for example 1 % → 10 % → 50 % → 100 %, canary first,
 * picked in a stable pseudo-random order). A phase's devices get the new version in their desired
 * twin; the phase advances when enough of them report it active and the health gates (inference
 * error rate, p95 latency against the previous version, change in faces detected) have held for the
 * soak time. Too many failures, or a gate that breaks, pause the rollout and roll the phase back to
 * each device's previous version. Pause, resume and abort by hand. One bridge instance at a time
 * drives rollouts (a lease in the database); another takes over when it dies, from the state in the
 * database.
 */
@Singleton
public final class RolloutEngine implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RolloutEngine.class);
  private static final long BASELINE_MILLIS = 10 * 60_000L;

  private final Db db;
  private final DeviceRegistry registry;
  private final Twins twins;
  private final ModelCatalog catalog;
  private final Lease lease;
  private final ScheduledExecutorService ticker;

  public RolloutEngine(
      Db db, DeviceRegistry registry, Twins twins, ModelCatalog catalog, BridgeConfig config) {
    this.db = db;
    this.registry = registry;
    this.twins = twins;
    this.catalog = catalog;
    this.lease = new Lease(db, "rollouts", config.instance(), config.leaseTtl().toMillis());
    this.ticker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "rollouts");
              t.setDaemon(true);
              return t;
            });
    long tick = Math.max(100, config.rolloutTick().toMillis());
    ticker.scheduleWithFixedDelay(this::tickSafely, tick, tick, TimeUnit.MILLISECONDS);
  }

  /** A refused request, with a stable code. */
  public static final class RolloutException extends RuntimeException {
    private final String code;

    public RolloutException(String code, String message) {
      super(message);
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  /** Starts a rollout; returns its id. */
  public long start(
      String model,
      String version,
      Set<String> selector,
      List<Integer> phases,
      Gates gates,
      String user) {
    checkPhases(phases);
    SyncMessage.ModelRef ref = catalog.ref(model, version);
    return db.tx(
        () -> {
          List<String> devices = registry.select(selector);
          if (devices.isEmpty()) {
            throw new RolloutException("no_devices", "no device carries every tag of " + selector);
          }
          if (!db.query(
                  "select id from rollouts where model_name = ? and state in ('running', 'paused')",
                  model)
              .isEmpty()) {
            throw new RolloutException(
                "rollout_active",
                "model " + model + " already has a running or paused rollout: finish or abort it");
          }
          long now = System.currentTimeMillis();
          long id =
              db.insert(
                  "insert into rollouts (model_name, model_version, manifest_sha256, selector,"
                      + " phases, gates, state, phase, phase_started_at, created_by, created_at,"
                      + " updated_at) values (?, ?, ?, ?, ?, ?, 'running', 0, ?, ?, ?, ?)",
                  model,
                  version,
                  ref.manifestSha256(),
                  String.join(",", selector),
                  phases.stream().map(String::valueOf).reduce((a, b) -> a + "," + b).orElseThrow(),
                  Json.write(gates),
                  now,
                  user,
                  now,
                  now);
          List<String> order = new ArrayList<>(devices);
          order.sort(
              Comparator.comparing(
                  d -> Hashes.sha256((id + ":" + d).getBytes(StandardCharsets.UTF_8))));
          for (int i = 0; i < order.size(); i++) {
            String d = order.get(i);
            SyncMessage.ModelRef prev = previous(d, model);
            db.update(
                "insert into rollout_devices (rollout_id, device_id, phase, previous_version,"
                    + " previous_sha256, state, updated_at) values (?, ?, ?, ?, ?, 'pending', ?)",
                id,
                d,
                phaseOf(i, order.size(), phases),
                prev == null ? null : prev.version(),
                prev == null ? null : prev.manifestSha256(),
                now);
          }
          log.info(
              "rollout {}: {} v{} to {} devices in phases {} by {}",
              id,
              model,
              version,
              order.size(),
              phases,
              user);
          return id;
        });
  }

  static void checkPhases(List<Integer> phases) {
    if (phases == null || phases.isEmpty() || phases.get(phases.size() - 1) != 100) {
      throw new RolloutException("phases_invalid", "phases must end at 100 (percent of devices)");
    }
    int last = 0;
    for (int p : phases) {
      if (p <= last || p > 100) {
        throw new RolloutException(
            "phases_invalid", "phases must grow, each in 1..100, got " + phases);
      }
      last = p;
    }
  }

  /** The phase of the i-th device of n: phases are cumulative percentages, at least one each. */
  static int phaseOf(int i, int n, List<Integer> phases) {
    int upTo = 0;
    for (int k = 0; k < phases.size(); k++) {
      upTo = Math.max(upTo + (k == 0 ? 1 : 0), (int) Math.ceil(n * phases.get(k) / 100.0));
      if (i < upTo) {
        return k;
      }
    }
    return phases.size() - 1;
  }

  /**
   * What a rollback returns the device to: its desired model, else the active one if catalogued.
   */
  private SyncMessage.ModelRef previous(String device, String model) {
    SyncMessage.ModelRef d = twins.desired(device).models().get(model);
    if (d != null) {
      return d;
    }
    String active = registry.activeVersion(device, model);
    return active == null ? null : catalog.find(model, active).orElse(null);
  }

  private void tickSafely() {
    try {
      tick();
    } catch (RuntimeException e) {
      log.warn("rollout tick: {}", e.toString());
    }
  }

  /** Drives every running rollout one step, when this instance holds the lease. */
  public void tick() {
    if (!lease.hold()) {
      return;
    }
    for (Map<String, Object> r : db.query("select * from rollouts where state = 'running'")) {
      drive(r);
    }
  }

  private void drive(Map<String, Object> r) {
    long id = Db.asLong(r.get("id"));
    int phase = ((Number) r.get("phase")).intValue();
    String model = (String) r.get("model_name");
    String version = (String) r.get("model_version");
    Gates gates = Json.read((String) r.get("gates"), Gates.class);
    SyncMessage.ModelRef ref =
        new SyncMessage.ModelRef(model, version, (String) r.get("manifest_sha256"));
    long now = System.currentTimeMillis();
    List<Map<String, Object>> devices =
        db.query("select * from rollout_devices where rollout_id = ? and phase <= ?", id, phase);
    for (Map<String, Object> d : devices) {
      String dev = (String) d.get("device_id");
      String state = (String) d.get("state");
      if (state.equals("pending")) {
        long tv = twins.setModel(dev, model, ref);
        setDevice(id, dev, "assigned", tv, null);
        d.put("state", "assigned");
        d.put("twin_version", tv);
      }
      if ("assigned".equals(d.get("state"))) {
        String[] outcome = outcome(dev, model, version, Db.asLong(d.get("twin_version")));
        if (outcome != null) {
          setDevice(id, dev, outcome[0], Db.asLong(d.get("twin_version")), outcome[1]);
          d.put("state", outcome[0]);
          log.info(
              "rollout {}: {} {}{}",
              id,
              dev,
              outcome[0],
              outcome[1] == null ? "" : " (" + outcome[1] + ")");
        }
      }
    }
    List<Map<String, Object>> current =
        devices.stream().filter(d -> ((Number) d.get("phase")).intValue() == phase).toList();
    long total = current.size();
    long ok = current.stream().filter(d -> "succeeded".equals(d.get("state"))).count();
    long failed = current.stream().filter(d -> "failed".equals(d.get("state"))).count();
    if (total > 0 && (double) failed / total > gates.failureThreshold()) {
      rollbackAndPause(
          id,
          phase,
          failed + " of " + total + " devices in phase " + (phase + 1) + " failed to activate");
      return;
    }
    if (total == 0 || (double) ok / total < gates.successThreshold()) {
      db.update("update rollouts set healthy_since = null where id = ?", id);
      return;
    }
    Map<String, Object> health = health(r, current);
    if (health.get("failed") != null) {
      rollbackAndPause(
          id, phase, "health gate broken in phase " + (phase + 1) + ": " + health.get("failed"));
      return;
    }
    Long since = r.get("healthy_since") == null ? null : Db.asLong(r.get("healthy_since"));
    if (since != null
        && health.containsKey("waiting")
        && now - since >= gates.soakSeconds() * 1000) {
      return; // soaked, but a gate's window is not complete yet
    }
    if (since == null) {
      db.update("update rollouts set healthy_since = ?, updated_at = ? where id = ?", now, now, id);
      since = now;
    }
    if (now - since < gates.soakSeconds() * 1000) {
      return;
    }
    int phases = ((String) r.get("phases")).split(",").length;
    if (phase + 1 >= phases) {
      db.update(
          "update rollouts set state = 'completed', healthy_since = null, updated_at = ? where id = ?",
          now,
          id);
      log.info("rollout {}: completed, {} v{} on every targeted device", id, model, version);
    } else {
      db.update(
          "update rollouts set phase = ?, phase_started_at = ?, healthy_since = null, updated_at = ?"
              + " where id = ?",
          phase + 1,
          now,
          now,
          id);
      log.info(
          "rollout {}: phase {} healthy for {} s, phase {} starts",
          id,
          phase + 1,
          gates.soakSeconds(),
          phase + 2);
    }
  }

  /** {state, error} once the device reported on the twin version it was given, else null. */
  private String[] outcome(String device, String model, String version, long twinVersion) {
    SyncMessage.TwinReported rep = registry.reportedTwin(device);
    if (rep == null || rep.desiredVersion() < twinVersion || rep.models() == null) {
      return null;
    }
    SyncMessage.ModelState s = rep.models().get(model);
    if (s == null) {
      return null;
    }
    if ("active".equals(s.state()) && version.equals(s.active())) {
      return new String[] {"succeeded", null};
    }
    if (("failed".equals(s.state()) || "rolled_back".equals(s.state()))
        && (version.equals(s.pending()) || !version.equals(s.active()))) {
      return new String[] {"failed", s.state() + ": " + s.error()};
    }
    return null;
  }

  private void setDevice(long id, String dev, String state, long twinVersion, String error) {
    db.update(
        "update rollout_devices set state = ?, twin_version = ?, error = ?, updated_at = ? where"
            + " rollout_id = ? and device_id = ?",
        state,
        twinVersion,
        error,
        System.currentTimeMillis(),
        id,
        dev);
  }

  /**
   * The health gates over the phase's devices that run the new version: readings, and {@code
   * failed} naming the first gate broken. A gate without data yet (no inference calls, no faces
   * before and after) does not hold a phase back.
   */
  Map<String, Object> health(Map<String, Object> r, List<Map<String, Object>> phaseDevices) {
    Gates gates = Json.read((String) r.get("gates"), Gates.class);
    String model = (String) r.get("model_name");
    String version = (String) r.get("model_version");
    long phaseStart = Db.asLong(r.get("phase_started_at"));
    List<String> devs =
        phaseDevices.stream()
            .filter(d -> "succeeded".equals(d.get("state")))
            .map(d -> (String) d.get("device_id"))
            .toList();
    Map<String, Object> out = new LinkedHashMap<>();
    if (devs.isEmpty()) {
      return out;
    }
    String in = String.join(",", java.util.Collections.nCopies(devs.size(), "?"));
    // counters restart with the model's session: the largest value per device is its total
    double calls = 0;
    double errors = 0;
    for (Map<String, Object> m :
        db.query(
            "select device_id, name, max(metric_value) as v from metrics where model = ? and version = ?"
                + " and name in ('model.calls', 'model.errors') and ts >= ? and device_id in ("
                + in
                + ") group by device_id, name",
            args(model, version, phaseStart, devs))) {
      double v = ((Number) m.get("v")).doubleValue();
      if ("model.calls".equals(m.get("name"))) {
        calls += v;
      } else {
        errors += v;
      }
    }
    out.put("calls", calls);
    if (calls > 0) {
      double rate = errors / calls;
      out.put("errorRate", rate);
      if (rate > gates.maxErrorRate()) {
        out.put("failed", "error rate " + fmt(rate) + " > " + fmt(gates.maxErrorRate()));
      }
    }
    Double p95New =
        avg("model.latency_ms.p95", model, version, phaseStart, Long.MAX_VALUE, devs, in);
    String prevVersion =
        phaseDevices.stream()
            .map(d -> (String) d.get("previous_version"))
            .filter(java.util.Objects::nonNull)
            .findFirst()
            .orElse(null);
    Double p95Old =
        prevVersion == null
            ? null
            : avg(
                "model.latency_ms.p95",
                model,
                prevVersion,
                phaseStart - BASELINE_MILLIS,
                phaseStart,
                devs,
                in);
    if (p95New != null && p95Old != null && p95Old > 0) {
      double ratio = p95New / p95Old;
      out.put("p95Ms", p95New);
      out.put("p95PreviousMs", p95Old);
      out.put("latencyRatio", ratio);
      if (ratio > gates.maxLatencyRatio() && !out.containsKey("failed")) {
        out.put(
            "failed",
            "p95 latency "
                + fmt(ratio)
                + "x the previous version's > "
                + fmt(gates.maxLatencyRatio())
                + "x");
      }
    }
    // after the devices committed the version: not while their pipelines restarted on it
    long settled =
        phaseDevices.stream()
            .filter(d -> "succeeded".equals(d.get("state")))
            .mapToLong(d -> Db.asLong(d.get("updated_at")))
            .max()
            .orElse(phaseStart);
    // faces in view come and go with the scene: compare the mean over a whole window after the
    // commit (not while pipelines restarted) with the same length of time before the phase, and
    // hold the phase until that window is complete
    long window = Math.max(gates.soakSeconds(), 10) * 1000L;
    double[] before = values("pipeline.faces_in_view", phaseStart - window, phaseStart, devs, in);
    if (before.length > 0) {
      if (System.currentTimeMillis() < settled + window) {
        out.put("waiting", "faces in view are being compared until " + (settled + window));
      } else {
        double[] after = values("pipeline.faces_in_view", settled, settled + window, devs, in);
        if (after.length > 0) {
          double meanBefore = java.util.Arrays.stream(before).average().orElse(0);
          double meanAfter = java.util.Arrays.stream(after).average().orElse(0);
          // relative to at least a quarter face: a stray detection in an empty scene is not 100 %
          double change = Math.abs(meanAfter - meanBefore) / Math.max(meanBefore, 0.25);
          out.put("facesBefore", meanBefore);
          out.put("facesAfter", meanAfter);
          out.put("detectionChange", change);
          if (change > gates.maxDetectionChange() && !out.containsKey("failed")) {
            out.put(
                "failed",
                "faces in view changed by "
                    + fmt(change * 100)
                    + " % (mean "
                    + fmt(meanBefore)
                    + " before, "
                    + fmt(meanAfter)
                    + " after, "
                    + window / 1000
                    + " s each) > "
                    + fmt(gates.maxDetectionChange() * 100)
                    + " %");
          }
        }
      }
    }
    return out;
  }

  /** The latest values (at most 20,000) of a metric on some devices in {@code [from, to)}. */
  private double[] values(String name, long from, long to, List<String> devs, String in) {
    List<Object> a = new ArrayList<>(List.of(name, from, to));
    a.addAll(devs);
    return db
        .query(
            "select metric_value from metrics where name = ? and ts >= ? and ts < ? and device_id"
                + " in ("
                + in
                + ") order by ts desc limit 20000",
            a.toArray())
        .stream()
        .mapToDouble(r -> ((Number) r.get("metric_value")).doubleValue())
        .toArray();
  }

  private Double avg(
      String name, String model, String version, long from, long to, List<String> devs, String in) {
    List<Object> a = new ArrayList<>();
    StringBuilder sql =
        new StringBuilder(
            "select avg(metric_value) as v, count(*) as n from metrics where name = ?");
    a.add(name);
    if (model != null) {
      sql.append(" and model = ? and version = ?");
      a.add(model);
      a.add(version);
    }
    sql.append(" and ts >= ? and ts < ? and device_id in (").append(in).append(")");
    a.add(from);
    a.add(to);
    a.addAll(devs);
    Map<String, Object> row = db.query(sql.toString(), a.toArray()).get(0);
    return Db.asLong(row.get("n")) == 0 ? null : ((Number) row.get("v")).doubleValue();
  }

  private static Object[] args(String model, String version, long since, List<String> devs) {
    List<Object> a = new ArrayList<>(List.of(model, version, since));
    a.addAll(devs);
    return a.toArray();
  }

  private static String fmt(double d) {
    return String.format(java.util.Locale.ROOT, "%.3g", d);
  }

  private void rollbackAndPause(long id, int phase, String reason) {
    int n = rollback(id, "phase = " + phase);
    long now = System.currentTimeMillis();
    db.update(
        "update rollouts set state = 'paused', healthy_since = null, reason = ?, updated_at = ?"
            + " where id = ?",
        reason + "; " + n + " devices rolled back",
        now,
        id);
    log.warn("rollout {} paused: {} ({} devices rolled back)", id, reason, n);
  }

  /** Gives the touched devices matching {@code where} their previous version back. */
  private int rollback(long id, String where) {
    Map<String, Object> r = row(id);
    String model = (String) r.get("model_name");
    int n = 0;
    for (Map<String, Object> d :
        db.query(
            "select * from rollout_devices where rollout_id = ? and state in ('assigned',"
                + " 'succeeded', 'failed') and "
                + where,
            id)) {
      String dev = (String) d.get("device_id");
      String prevSha = (String) d.get("previous_sha256");
      if (prevSha == null) {
        setDevice(
            id,
            dev,
            "stuck",
            Db.asLong(d.get("twin_version")),
            "no previous version in the catalog to roll back to");
        continue;
      }
      long tv =
          twins.setModel(
              dev,
              model,
              new SyncMessage.ModelRef(model, (String) d.get("previous_version"), prevSha));
      setDevice(id, dev, "rolled_back", tv, (String) d.get("error"));
      n++;
    }
    return n;
  }

  public void pause(long id) {
    transition(id, "running", "paused", "paused by hand");
  }

  /** Resumes a paused rollout; a rolled-back phase is tried again. */
  public void resume(long id) {
    db.tx(
        () -> {
          transition(id, "paused", "running", null);
          Map<String, Object> r = row(id);
          db.update(
              "update rollout_devices set state = 'pending', error = null where rollout_id = ? and"
                  + " phase = ? and state in ('rolled_back', 'failed', 'stuck')",
              id,
              r.get("phase"));
          db.update(
              "update rollouts set phase_started_at = ? where id = ?",
              System.currentTimeMillis(),
              id);
          return null;
        });
  }

  /** Stops a rollout and rolls back every device it changed. */
  public void abort(long id) {
    db.tx(
        () -> {
          Map<String, Object> r = row(id);
          String s = (String) r.get("state");
          if (!s.equals("running") && !s.equals("paused")) {
            throw new RolloutException("rollout_finished", "rollout " + id + " is already " + s);
          }
          int n = rollback(id, "1 = 1");
          db.update(
              "update rollouts set state = 'aborted', reason = ?, updated_at = ? where id = ?",
              "aborted by hand; " + n + " devices rolled back",
              System.currentTimeMillis(),
              id);
          return null;
        });
  }

  private void transition(long id, String from, String to, String reason) {
    Map<String, Object> r = row(id);
    if (!from.equals(r.get("state"))) {
      throw new RolloutException(
          "rollout_not_" + from, "rollout " + id + " is " + r.get("state") + ", not " + from);
    }
    db.update(
        "update rollouts set state = ?, reason = ?, healthy_since = null, updated_at = ? where id = ?",
        to,
        reason,
        System.currentTimeMillis(),
        id);
  }

  private Map<String, Object> row(long id) {
    return db.one("select * from rollouts where id = ?", id)
        .orElseThrow(() -> new NotFoundException("rollout_unknown", "no rollout " + id));
  }

  /** A rollout with its phases' progress, its devices and its health readings. */
  public Map<String, Object> status(long id) {
    Map<String, Object> r = row(id);
    List<Map<String, Object>> devices =
        db.query(
            "select rd.*, d.online from rollout_devices rd left join devices d on d.id ="
                + " rd.device_id where rd.rollout_id = ? order by rd.phase, rd.device_id",
            id);
    Map<String, Object> v = summary(r);
    String[] pct = ((String) r.get("phases")).split(",");
    List<Map<String, Object>> phases = new ArrayList<>();
    for (int k = 0; k < pct.length; k++) {
      int kk = k;
      List<Map<String, Object>> in =
          devices.stream().filter(d -> ((Number) d.get("phase")).intValue() == kk).toList();
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("percent", Integer.parseInt(pct[k]));
      p.put("devices", in.size());
      Map<String, Long> states = new java.util.TreeMap<>();
      in.forEach(d -> states.merge((String) d.get("state"), 1L, Long::sum));
      p.put("states", states);
      phases.add(p);
    }
    v.put("phaseList", phases);
    List<Map<String, Object>> dl = new ArrayList<>();
    for (Map<String, Object> d : devices) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("device", d.get("device_id"));
      m.put("phase", ((Number) d.get("phase")).intValue() + 1);
      m.put("state", d.get("state"));
      m.put("previousVersion", d.get("previous_version"));
      m.put("error", d.get("error"));
      m.put("online", Boolean.TRUE.equals(d.get("online")));
      dl.add(m);
    }
    v.put("deviceList", dl);
    int phase = ((Number) r.get("phase")).intValue();
    v.put(
        "health",
        health(
            r,
            devices.stream().filter(d -> ((Number) d.get("phase")).intValue() == phase).toList()));
    return v;
  }

  /** Rollouts running or paused. */
  public long activeCount() {
    return Db.asLong(
        db.query("select count(*) as n from rollouts where state in ('running', 'paused')")
            .get(0)
            .get("n"));
  }

  public List<Map<String, Object>> list() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> r : db.query("select * from rollouts order by id desc")) {
      out.add(summary(r));
    }
    return out;
  }

  private Map<String, Object> summary(Map<String, Object> r) {
    long id = Db.asLong(r.get("id"));
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("id", id);
    v.put("model", r.get("model_name"));
    v.put("version", r.get("model_version"));
    v.put("selector", r.get("selector"));
    v.put("phases", r.get("phases"));
    v.put("phase", ((Number) r.get("phase")).intValue() + 1);
    v.put("state", r.get("state"));
    v.put("reason", r.get("reason"));
    v.put("gates", Json.read((String) r.get("gates"), Map.class));
    v.put("createdBy", r.get("created_by"));
    v.put("createdAt", r.get("created_at"));
    v.put("updatedAt", r.get("updated_at"));
    Map<String, Long> states = new java.util.TreeMap<>();
    for (Map<String, Object> c :
        db.query(
            "select state, count(*) as n from rollout_devices where rollout_id = ? group by state",
            id)) {
      states.put((String) c.get("state"), Db.asLong(c.get("n")));
    }
    v.put("devices", states.values().stream().mapToLong(Long::longValue).sum());
    v.put("states", states);
    v.put("driver", lease.holder());
    return v;
  }

  @PreDestroy
  @Override
  public void close() {
    ticker.shutdownNow();
  }
}
