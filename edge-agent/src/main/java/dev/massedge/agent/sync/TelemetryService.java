package dev.massedge.agent.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.agent.pipeline.EventBus;
import dev.massedge.agent.pipeline.PipelineManager;
import dev.massedge.drivers.system.TegraStats;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.outbox.Outbox;
import dev.massedge.sync.outbox.OutboxSender;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.exceptions.ConfigurationException;
import jakarta.annotation.PreDestroy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.GZIPOutputStream;
import org.eclipse.paho.mqttv5.common.packet.MqttProperties;
import org.eclipse.paho.mqttv5.common.packet.UserProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the device promised to send: pipeline events as they happen and a metrics batch every {@code
 * mass.sync.telemetry-interval}, into the disk outbox, and from there to the cloud in order
 * (confirmed end to end, see {@link OutboxSender}). Metrics: per model version calls, errors and
 * latency p50/p95/p99; per pipeline its counters and fps; the process's CPU, RSS and heap; free
 * disk under the model store; every thermal zone's temperature; the outbox's own backlog and drops.
 * Telemetry batches over 1 KiB are gzip-compressed (user property {@code encoding=gzip}).
 */
@Context
@Requires(property = "mass.sync.url")
public class TelemetryService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TelemetryService.class);
  static final byte METRICS = 0;
  static final byte EVENT = 1;
  private final Outbox outbox;
  private final OutboxSender sender;
  private final ModelRegistry models;
  private final PipelineManager pipelines;
  private final SyncConfig config;
  private final ObjectMapper json;
  private final String device;
  private final ScheduledExecutorService timer;
  private final AtomicLong appendFailures = new AtomicLong();
  private final TegraStats tegra;

  public TelemetryService(
      SyncConfig config,
      SyncService sync,
      ModelRegistry models,
      PipelineManager pipelines,
      EventBus bus,
      ObjectMapper json) {
    this.config = config;
    this.models = models;
    this.pipelines = pipelines;
    this.json = json;
    this.device = sync.device();
    try {
      long quota = config.outboxQuotaBytes();
      outbox =
          new Outbox(
              Path.of(config.outboxDir()),
              quota,
              Math.max(64 * 1024, quota / 16),
              config.fsyncEvery());
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigurationException(
          "mass.sync.outbox-dir / outbox-quota-bytes: " + e.getMessage());
    }
    sender =
        new OutboxSender(outbox, sync.link(), this::route, 10, Topics.telemetryAck(device), 2000)
            .start();
    bus.subscribe(
        "telemetry events",
        e -> {
          try {
            append(EVENT, json.writeValueAsBytes(e));
          } catch (IOException x) {
            log.warn("event not serialisable: {}", x.getMessage());
          }
        });
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "telemetry");
              t.setDaemon(true);
              return t;
            });
    long every = config.telemetryInterval().toMillis();
    tegra = config.tegrastats().equals("off") ? null : TegraStats.start(config.tegrastats(), every);
    if (tegra != null) {
      log.info("tegrastats found: Jetson GPU, CPU, RAM, temperatures and power in the metrics");
    }
    timer.scheduleAtFixedRate(this::collect, every, every, TimeUnit.MILLISECONDS);
  }

  /** Appends one record; a full disk is counted and logged, never thrown at a pipeline. */
  void append(byte kind, byte[] body) {
    byte[] rec = new byte[body.length + 1];
    rec[0] = kind;
    System.arraycopy(body, 0, rec, 1, body.length);
    try {
      outbox.append(rec);
      sender.wakeup();
    } catch (IOException e) {
      long n = appendFailures.incrementAndGet();
      if (n == 1 || n % 100 == 0) {
        log.error(
            "telemetry outbox: cannot append ({} records lost so far): {}", n, e.getMessage());
      }
    }
  }

  private OutboxSender.Publication route(Outbox.Entry e) {
    byte[] body = Arrays.copyOfRange(e.data(), 1, e.data().length);
    if (e.data()[0] == EVENT) {
      return new OutboxSender.Publication(Topics.events(device), body, null);
    }
    try {
      List<SyncMessage.Metric> metrics =
          Arrays.asList(json.readValue(body, SyncMessage.Metric[].class));
      byte[] batch =
          SyncCodec.write(new SyncMessage.TelemetryBatch(SyncCodec.SCHEMA, e.seq(), metrics));
      MqttProperties p = new MqttProperties();
      if (batch.length > 1024) {
        batch = gzip(batch);
        p.setUserProperties(new ArrayList<>(List.of(new UserProperty("encoding", "gzip"))));
      }
      return new OutboxSender.Publication(Topics.telemetry(device), batch, p);
    } catch (IOException x) {
      throw new IllegalStateException("outbox record " + e.seq() + " is not a metrics list", x);
    }
  }

  static byte[] gzip(byte[] b) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(b.length / 4);
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(b);
    }
    return out.toByteArray();
  }

  /** Outbox state for {@code /health} and tests. */
  public Map<String, Object> status() {
    Outbox.Stats s = outbox.stats();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pending", s.pending());
    m.put("dropped", s.dropped());
    m.put("next_seq", s.nextSeq());
    m.put("append_failures", appendFailures.get());
    m.put("sent", sender.sent());
    m.put("resent", sender.resent());
    m.put("error", sender.lastError());
    return m;
  }

  void collect() {
    try {
      long now = System.currentTimeMillis();
      List<SyncMessage.Metric> out = new ArrayList<>();
      models
          .allStats()
          .forEach(
              (key, s) -> {
                String[] nv = key.split("@", 2);
                Map<String, String> tags = Map.of("model", nv[0], "version", nv[1]);
                out.add(new SyncMessage.Metric("model.calls", tags, s.calls.get(), now));
                out.add(new SyncMessage.Metric("model.errors", tags, s.errors.get(), now));
                if (s.latency.count() > 0) {
                  out.add(
                      new SyncMessage.Metric(
                          "model.latency_ms.p50", tags, s.latency.percentileMs(50), now));
                  out.add(
                      new SyncMessage.Metric(
                          "model.latency_ms.p95", tags, s.latency.percentileMs(95), now));
                  out.add(
                      new SyncMessage.Metric(
                          "model.latency_ms.p99", tags, s.latency.percentileMs(99), now));
                }
              });
      for (Map<String, Object> p : pipelines.status()) {
        Map<String, String> tags = Map.of("pipeline", String.valueOf(p.get("name")));
        p.forEach(
            (k, v) -> {
              if (v instanceof Number n && Double.isFinite(n.doubleValue())) {
                out.add(new SyncMessage.Metric("pipeline." + k, tags, n.doubleValue(), now));
              }
            });
      }
      var os = ManagementFactory.getOperatingSystemMXBean();
      if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
        out.add(new SyncMessage.Metric("process.cpu", Map.of(), sun.getProcessCpuLoad(), now));
        out.add(new SyncMessage.Metric("system.cpu", Map.of(), sun.getCpuLoad(), now));
      }
      out.add(new SyncMessage.Metric("process.rss_bytes", Map.of(), rss(), now));
      out.add(
          new SyncMessage.Metric(
              "jvm.heap_used_bytes",
              Map.of(),
              ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(),
              now));
      out.add(new SyncMessage.Metric("process.threads", Map.of(), Thread.activeCount(), now));
      Path store = Path.of(config.storeDir());
      if (Files.exists(store)) {
        out.add(
            new SyncMessage.Metric(
                "disk.free_bytes",
                Map.of("path", "store"),
                Files.getFileStore(store).getUsableSpace(),
                now));
      }
      temperatures(out, now);
      if (tegra != null) {
        tegra.latest().forEach((k, v) -> out.add(new SyncMessage.Metric(k, Map.of(), v, now)));
      }
      Outbox.Stats o = outbox.stats();
      out.add(new SyncMessage.Metric("outbox.pending", Map.of(), o.pending(), now));
      out.add(new SyncMessage.Metric("outbox.dropped", Map.of(), o.dropped(), now));
      // records refused at the door (a full disk): cumulative since the agent started, so the
      // first batch that fits again tells the cloud how many never made it into the outbox
      out.add(
          new SyncMessage.Metric("outbox.append_failures", Map.of(), appendFailures.get(), now));
      out.removeIf(m -> !Double.isFinite(m.value()));
      append(METRICS, json.writeValueAsBytes(out));
    } catch (IOException | RuntimeException e) {
      log.warn("telemetry collection failed: {}", e.toString());
    }
  }

  static long rss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return -1;
  }

  /** Every /sys/class/thermal zone in °C (Jetson's CPU/GPU zones appear here too). */
  static void temperatures(List<SyncMessage.Metric> out, long now) {
    Path root = Path.of("/sys/class/thermal");
    if (!Files.isDirectory(root)) {
      return;
    }
    try (var zones = Files.list(root)) {
      for (Path z :
          zones.filter(p -> p.getFileName().toString().startsWith("thermal_zone")).toList()) {
        try {
          String type = Files.readString(z.resolve("type")).trim();
          double c = Long.parseLong(Files.readString(z.resolve("temp")).trim()) / 1000.0;
          out.add(new SyncMessage.Metric("temperature_c", Map.of("zone", type), c, now));
        } catch (IOException | RuntimeException e) {
          // a zone without a readable sensor
        }
      }
    } catch (IOException e) {
      // no thermal zones
    }
  }

  /** Collects a batch now (tests and shutdown). */
  public void flushMetrics() {
    collect();
  }

  @PreDestroy
  @Override
  public void close() {
    timer.shutdownNow();
    if (tegra != null) {
      tegra.close();
    }
    sender.close();
    try {
      outbox.close();
    } catch (IOException e) {
      log.warn("outbox close: {}", e.getMessage());
    }
  }
}
