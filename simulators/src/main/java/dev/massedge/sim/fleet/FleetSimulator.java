package dev.massedge.sim.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.inference.onnx.model.OnnxModel;
import dev.massedge.sim.Demo;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;

/**
 * Runs a scenario: a fleet of {@link VirtualDevice}s against a running bridge — they come online,
 * get tagged, send telemetry, and take the scenario's rollout — and writes a report: a table on
 * stdout, {@code devices.csv} (one row per device) and {@code rollout.png} (devices on the new
 * version over time). {@code ./mass sim SCENARIO.yaml} with the bridge's URL and token in {@code
 * MASS_BRIDGE_URL} / {@code MASS_TOKEN}.
 */
public final class FleetSimulator {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Scenario scenario;
  private final Path out;
  private final PrintStream log;
  private final dev.massedge.sim.BridgeClient api;

  /** What a run measured. */
  public record Result(
      int devices,
      int online,
      String rolloutState,
      double secondsTo100,
      long bytesPerDeviceMean,
      long bytesPerDeviceMax,
      long telemetrySent,
      long telemetryConfirmed,
      long heapMb,
      int threads,
      Accounting accounting) {}

  /**
   * Where every telemetry batch went: sent by the devices (each once, however often it was sent
   * again), stored by the bridge, dropped over a device's outbox quota (counted by the devices and,
   * from the batches' {@code from}, by the bridge), and lost — sent, neither stored nor counted.
   */
  public record Accounting(
      long sent,
      long stored,
      long droppedByDevices,
      long droppedCountedByBridge,
      long lost,
      long unconfirmed,
      long resent,
      long reconnects,
      long crashes,
      long chunkRequestsAgain,
      int faults) {}

  public FleetSimulator(Scenario scenario, String bridge, String token, Path out, PrintStream log) {
    this.scenario = scenario;
    this.api = new dev.massedge.sim.BridgeClient(bridge, token);
    this.out = out;
    this.log = log;
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: mass sim SCENARIO.yaml [OUT_DIR]  (MASS_BRIDGE_URL, MASS_TOKEN)");
      System.exit(2);
    }
    Scenario s = Scenario.read(Path.of(args[0]));
    String url = System.getenv().getOrDefault("MASS_BRIDGE_URL", "http://127.0.0.1:8090");
    String token = System.getenv("MASS_TOKEN");
    Path out = Path.of(args.length > 1 ? args[1] : "target/sim");
    Result r = new FleetSimulator(s, url, token, out, System.out).run();
    System.exit(r.rolloutState().equals("completed") || s.rolloutVersion() == null ? 0 : 1);
  }

  public Result run() throws Exception {
    Files.createDirectories(out);
    String key = api.get("/api/v1/fleet-key").path("publicKey").asText();
    var trust = VirtualDevice.trusting(key);
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, daemon("sim-timer"));
    List<VirtualDevice> fleet = new ArrayList<>();
    long t0 = System.nanoTime();
    int brokerPort = java.net.URI.create(scenario.broker()).getPort();
    try (FaultProxy proxy =
        scenario.faults().isEmpty() ? null : new FaultProxy(brokerPort, FAULT_LANES)) {
      for (int i = 1; i <= scenario.devices(); i++) {
        fleet.add(
            new VirtualDevice(
                String.format(Locale.ROOT, "%s-%04d", scenario.prefix(), i),
                scenario,
                proxy == null ? brokerPort : proxy.port(i - 1),
                trust,
                timer,
                i));
      }
      if (proxy != null) {
        log.printf(
            Locale.ROOT,
            "faults: the devices connect through a fault proxy (%d lanes of %d devices)%n",
            FAULT_LANES,
            (scenario.devices() + FAULT_LANES - 1) / FAULT_LANES);
      }
      return run(fleet, proxy, t0);
    } finally {
      timer.shutdownNow();
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  /** Lanes of the fault proxy: a fault's share of the fleet is rounded up to twentieths. */
  static final int FAULT_LANES = 20;

  private Result run(List<VirtualDevice> fleet, FaultProxy proxy, long t0) throws Exception {
    long faultsEnd = System.nanoTime();
    for (int i = 0; i < fleet.size(); i += 100) {
      CompletableFuture.allOf(
              fleet.subList(i, Math.min(fleet.size(), i + 100)).stream()
                  .map(VirtualDevice::start)
                  .toArray(CompletableFuture[]::new))
          .get(120, TimeUnit.SECONDS);
    }
    log.printf(
        Locale.ROOT,
        "%d devices connected in %.1f s%n",
        fleet.size(),
        (System.nanoTime() - t0) / 1e9);
    int online = awaitOnline(fleet.size());
    for (VirtualDevice d : fleet) {
      api.put("/api/v1/devices/" + d.id() + "/tags", Map.of("tags", scenario.tags()));
    }
    if (scenario.rolloutSizeBytes() > 0) {
      makeVersion();
    }
    String state = "none";
    double secondsTo100 = Double.NaN;
    List<double[]> series = new ArrayList<>();
    if (scenario.rolloutVersion() != null) {
      Map<String, Object> gates =
          Map.of(
              "successThreshold", 1.0,
              "failureThreshold", scenario.failureThreshold(),
              "maxErrorRate", 0.05,
              "maxLatencyRatio", 3.0,
              "maxDetectionChange", 0.5,
              "soakSeconds", scenario.soakSeconds());
      JsonNode r =
          api.post(
              "/api/v1/rollouts",
              Map.of(
                  "model", scenario.model(),
                  "version", scenario.rolloutVersion(),
                  "tags", scenario.tags(),
                  "phases", scenario.phases(),
                  "gates", gates));
      long id = r.path("id").asLong();
      long start = System.nanoTime();
      faultsEnd = schedule(fleet, proxy, start);
      long deadline = start + TimeUnit.SECONDS.toNanos(scenario.timeoutSeconds());
      String last = "";
      while (true) {
        JsonNode st = api.get("/api/v1/rollouts/" + id);
        state = st.path("state").asText();
        double t = (System.nanoTime() - start) / 1e9;
        long ok = st.path("states").path("succeeded").asLong();
        series.add(new double[] {t, ok});
        String line =
            String.format(
                Locale.ROOT,
                "%6.1f s  phase %d  %d/%d on v%s  %s",
                t,
                st.path("phase").asInt(),
                ok,
                st.path("devices").asLong(),
                scenario.rolloutVersion(),
                st.path("states"));
        if (!line.substring(10).equals(last)) {
          log.println(line);
          last = line.substring(10);
        }
        if (!state.equals("running")) {
          secondsTo100 = state.equals("completed") ? t : Double.NaN;
          break;
        }
        if (System.nanoTime() > deadline) {
          state = "timed out (" + state + ")";
          break;
        }
        Thread.sleep(500);
      }
    }
    if (scenario.rolloutVersion() == null) {
      faultsEnd = schedule(fleet, proxy, System.nanoTime());
    }
    double ingestPerSecond = Double.NaN;
    double rowsPerSecond = Double.NaN;
    if (scenario.holdSeconds() > 0) {
      JsonNode before = api.get("/api/v1/overview").path("telemetry");
      long h0 = System.nanoTime();
      log.printf(Locale.ROOT, "holding %d s: telemetry only%n", scenario.holdSeconds());
      Thread.sleep(scenario.holdSeconds() * 1000L);
      JsonNode after = api.get("/api/v1/overview").path("telemetry");
      double dt = (System.nanoTime() - h0) / 1e9;
      ingestPerSecond = (after.path("records").asLong() - before.path("records").asLong()) / dt;
      rowsPerSecond = (after.path("metrics").asLong() - before.path("metrics").asLong()) / dt;
    }
    long left = faultsEnd - System.nanoTime();
    if (left > 0) {
      log.printf(Locale.ROOT, "waiting %.0f s for the faults to end%n", left / 1e9);
      TimeUnit.NANOSECONDS.sleep(left);
    }
    Accounting accounting = drain(fleet);
    long confirmed = 0;
    List<String> csv = new ArrayList<>();
    csv.add("device,outcome,bytes_fetched,fetch_ms,activated_at,telemetry_confirmed");
    long bytesSum = 0;
    long bytesMax = 0;
    for (VirtualDevice d : fleet) {
      long b = d.bytesFetched.get();
      bytesSum += b;
      bytesMax = Math.max(bytesMax, b);
      confirmed += d.acked.get() + 1;
      csv.add(
          String.join(
              ",",
              d.id(),
              d.outcome,
              Long.toString(b),
              Long.toString(d.fetchMillis),
              Long.toString(d.activatedAt),
              Long.toString(d.acked.get() + 1)));
    }
    Files.write(out.resolve("devices.csv"), csv);
    chart(series, fleet.size(), out.resolve("rollout.png"));
    Runtime rt = Runtime.getRuntime();
    Result result =
        new Result(
            fleet.size(),
            online,
            state,
            secondsTo100,
            bytesSum / fleet.size(),
            bytesMax,
            accounting.sent(),
            confirmed,
            (rt.totalMemory() - rt.freeMemory()) >> 20,
            Thread.activeCount(),
            accounting);
    for (VirtualDevice d : fleet) {
      d.stop();
    }
    log.println();
    log.println(
        "| devices | online at the bridge | rollout | time to 100 % | bytes fetched per device (mean / max) | telemetry batches sent / confirmed | simulator heap | threads |");
    log.println("|---|---|---|---|---|---|---|---|");
    log.printf(
        Locale.ROOT,
        "| %d | %d | %s | %.1f s | %d / %d | %d / %d | %d MB | %d |%n",
        result.devices(),
        result.online(),
        result.rolloutState(),
        result.secondsTo100(),
        result.bytesPerDeviceMean(),
        result.bytesPerDeviceMax(),
        result.telemetrySent(),
        result.telemetryConfirmed(),
        result.heapMb(),
        result.threads());
    log.println();
    log.println(
        "| telemetry batches sent | stored by the bridge | dropped over a quota (devices / bridge) | lost | unconfirmed | sent again | reconnections | crashes | chunk requests asked again | faults |");
    log.println("|---|---|---|---|---|---|---|---|---|---|");
    log.printf(
        Locale.ROOT,
        "| %d | %d | %d / %d | %d | %d | %d | %d | %d | %d | %d |%n",
        accounting.sent(),
        accounting.stored(),
        accounting.droppedByDevices(),
        accounting.droppedCountedByBridge(),
        accounting.lost(),
        accounting.unconfirmed(),
        accounting.resent(),
        accounting.reconnects(),
        accounting.crashes(),
        accounting.chunkRequestsAgain(),
        accounting.faults());
    if (scenario.holdSeconds() > 0) {
      double offered = fleet.size() * 1000.0 / scenario.telemetryIntervalMillis();
      log.printf(
          Locale.ROOT,
          "telemetry ingest over %d s: %.0f batches/s stored (%.0f offered: %d devices every %d ms),"
              + " %.0f metric rows/s%n",
          scenario.holdSeconds(),
          ingestPerSecond,
          offered,
          fleet.size(),
          scenario.telemetryIntervalMillis(),
          rowsPerSecond);
    }
    log.println("report: " + out.resolve("devices.csv") + ", " + out.resolve("rollout.png"));
    return result;
  }

  /**
   * Schedules the scenario's faults from {@code start}; returns when the last one ends (nanoTime).
   */
  private long schedule(List<VirtualDevice> fleet, FaultProxy proxy, long start) {
    long end = start;
    if (proxy == null) {
      return end;
    }
    ScheduledExecutorService faults =
        Executors.newSingleThreadScheduledExecutor(daemon("sim-faults"));
    for (Scenario.Fault f : scenario.faults()) {
      long at = (long) (f.at() * 1000);
      long until = at + (f.kind().equals("reset") ? 0 : (long) (f.seconds() * 1000));
      end = Math.max(end, start + TimeUnit.MILLISECONDS.toNanos(until));
      List<VirtualDevice> hit = new ArrayList<>();
      for (int i = 0; i < fleet.size(); i++) {
        if (proxy.covers(f.from(), f.share(), i)) {
          hit.add(fleet.get(i));
        }
      }
      Runnable begin;
      Runnable stop;
      switch (f.kind()) {
        case "cut" -> {
          begin = () -> proxy.change(f.from(), f.share(), c -> c.withCut(true));
          stop = () -> proxy.change(f.from(), f.share(), c -> c.withCut(false));
        }
        case "latency" -> {
          begin =
              () ->
                  proxy.change(
                      f.from(), f.share(), c -> c.withLatency(f.millis(), f.jitterMillis()));
          stop = () -> proxy.change(f.from(), f.share(), c -> c.withLatency(0, 0));
        }
        case "bandwidth" -> {
          begin = () -> proxy.change(f.from(), f.share(), c -> c.withBandwidth(f.bytesPerSecond()));
          stop = () -> proxy.change(f.from(), f.share(), c -> c.withBandwidth(0));
        }
        case "reset" -> {
          begin = () -> proxy.reset(f.from(), f.share());
          stop = null;
        }
        default -> {
          begin = () -> hit.forEach(VirtualDevice::crash);
          stop = () -> hit.forEach(VirtualDevice::restart);
        }
      }
      faults.schedule(
          () -> {
            log.printf(
                Locale.ROOT,
                "%6.1f s  fault: %s (%d devices)%n",
                (System.nanoTime() - start) / 1e9,
                f.describe(),
                hit.size());
            begin.run();
          },
          at,
          TimeUnit.MILLISECONDS);
      if (stop != null) {
        faults.schedule(
            () -> {
              stop.run();
              log.printf(
                  Locale.ROOT,
                  "%6.1f s  fault over: %s%n",
                  (System.nanoTime() - start) / 1e9,
                  f.kind());
            },
            until,
            TimeUnit.MILLISECONDS);
      }
    }
    faults.shutdown();
    return end + TimeUnit.SECONDS.toNanos(1);
  }

  /**
   * Stops the telemetry, lets the devices' outboxes drain (up to 120 s) and accounts for every
   * batch with the bridge's per-device positions.
   */
  private Accounting drain(List<VirtualDevice> fleet) throws Exception {
    fleet.forEach(VirtualDevice::stopProducing);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    long unconfirmed;
    while ((unconfirmed = fleet.stream().mapToLong(VirtualDevice::unconfirmed).sum()) > 0
        && System.nanoTime() < deadline) {
      Thread.sleep(250);
    }
    if (unconfirmed > 0) {
      log.printf(
          Locale.ROOT, "%d telemetry batches still unconfirmed after 120 s, e.g.%n", unconfirmed);
      fleet.stream()
          .filter(d -> d.unconfirmed() > 0)
          .limit(5)
          .forEach(d -> log.println("  " + d.outboxState()));
    }
    long sent = 0;
    long stored = 0;
    long dropped = 0;
    long droppedBridge = 0;
    long lost = 0;
    for (VirtualDevice d : fleet) {
      JsonNode acc = api.get("/api/v1/devices/" + d.id()).path("telemetry");
      long n = d.sent();
      long received = acc.path("received").asLong();
      long counted = acc.path("droppedOnDevice").asLong();
      sent += n;
      stored += received;
      dropped += d.dropped.get();
      droppedBridge += counted;
      // from its first batch on (firstSeq 0), the bridge has stored each one or counted it dropped
      lost += n - received - counted;
    }
    return new Accounting(
        sent,
        stored,
        dropped,
        droppedBridge,
        lost,
        unconfirmed,
        fleet.stream().mapToLong(d -> d.resent.get()).sum(),
        fleet.stream().mapToLong(d -> d.reconnects.get()).sum(),
        fleet.stream().mapToLong(d -> d.crashes.get()).sum(),
        fleet.stream().mapToLong(d -> d.askRetries.get()).sum(),
        scenario.faults().size());
  }

  /**
   * Makes the rollout's version of the scenario's model and adds it to the catalog (unless there):
   * the bundled face-short with an unused initializer of random floats that brings the file to
   * {@code rollout.size-bytes} — a bigger model to move, which the engine loads like the original.
   */
  private void makeVersion() throws Exception {
    String version = scenario.rolloutVersion();
    if (api.send("GET", "/api/v1/models/" + scenario.model() + "/" + version, null, null)
            .statusCode()
        == 200) {
      return;
    }
    Path base = Path.of(System.getProperty("mass.models.dir", "models"), "face-blazeface-128");
    Path dir = out.resolve("model-" + version);
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve("model.json"),
        Files.readString(base.resolve("model.json"))
            .replaceFirst("\"version\"\\s*:\\s*\"[^\"]*\"", "\"version\": \"" + version + "\""));
    OnnxModel m = OnnxModel.read(base.resolve("model.onnx"));
    long pad = Math.max(0, scenario.rolloutSizeBytes() - Files.size(base.resolve("model.onnx")));
    float[] noise = new float[(int) (pad / 4)];
    java.util.Random r = new java.util.Random(42);
    for (int i = 0; i < noise.length; i++) {
      noise[i] = (float) r.nextGaussian();
    }
    m.graph()
        .initializers
        .put(
            "mass_sim_padding",
            OnnxModel.Initializer.ofFloats("mass_sim_padding", new long[] {noise.length}, noise));
    m.write(dir.resolve("model.onnx"));
    JsonNode added = api.post("/api/v1/models?notes=simulator", "application/zip", Demo.zip(dir));
    log.printf(
        Locale.ROOT,
        "catalog: %s v%s, %.2f MB (padded), %d chunks%n",
        added.path("name").asText(),
        added.path("version").asText(),
        added.path("sizeBytes").asLong() / 1e6,
        added.path("chunks").asInt());
  }

  private int awaitOnline(int n) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    int online = 0;
    while (System.nanoTime() < deadline) {
      online = 0;
      for (JsonNode d : api.get("/api/v1/devices")) {
        if (d.path("id").asText().startsWith(scenario.prefix() + "-")
            && d.path("online").asBoolean()) {
          online++;
        }
      }
      if (online >= n) {
        break;
      }
      Thread.sleep(500);
    }
    return online;
  }

  static void chart(List<double[]> series, int devices, Path png) throws IOException {
    int w = 800;
    int h = 400;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    int l = 60;
    int b = h - 40;
    g.setColor(Color.GRAY);
    g.drawLine(l, 20, l, b);
    g.drawLine(l, b, w - 20, b);
    double tMax = series.isEmpty() ? 1 : Math.max(1, series.get(series.size() - 1)[0]);
    g.drawString(devices + " devices", 5, 25);
    g.drawString("0", 40, b);
    g.drawString(String.format(Locale.ROOT, "%.0f s", tMax), w - 60, h - 20);
    g.drawString("devices on the new version", l + 10, 15);
    g.setColor(new Color(0x3f51b5));
    g.setStroke(new BasicStroke(2));
    int px = l;
    int py = b;
    for (double[] p : series) {
      int x = l + (int) ((w - 20 - l) * p[0] / tMax);
      int y = b - (int) ((b - 20) * p[1] / Math.max(1, devices));
      g.drawLine(px, py, x, y);
      px = x;
      py = y;
    }
    g.dispose();
    ImageIO.write(img, "png", png.toFile());
  }
}
