package dev.massedge.bridge.bench;

import dev.massedge.bridge.telemetry.TelemetryIngest;
import dev.massedge.bridge.testing.BridgeApp;
import dev.massedge.bridge.testing.FakeDevice;
import dev.massedge.bridge.testing.Postgres;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.testing.Broker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Telemetry ingest through Mosquitto, side by side in one run: the bridge on H2 vs on PostgreSQL,
 * and two instances on PostgreSQL. {@code devices} devices each send {@code batches} batches of
 * {@code metrics} metrics through their disk outboxes; the clock stops when every device has every
 * record confirmed (stored in the database). {@code ./mass bench bridge [devices batches metrics]}.
 */
public final class BridgeBench {
  private BridgeBench() {}

  record Result(String setup, int records, int metrics, double seconds) {
    double recordsPerSecond() {
      return records / seconds;
    }

    double metricsPerSecond() {
      return metrics / seconds;
    }
  }

  public static void main(String[] args) throws Exception {
    int devices = args.length > 0 ? Integer.parseInt(args[0]) : 20;
    int batches = args.length > 1 ? Integer.parseInt(args[1]) : 250;
    int metrics = args.length > 2 ? Integer.parseInt(args[2]) : 20;
    Path tmp = Files.createTempDirectory("bridge-bench");
    List<Result> results = new ArrayList<>();
    try (Broker mosquitto = Broker.mosquitto();
        Postgres pg = Postgres.start()) {
      results.add(
          run(
              "H2 (embedded), 1 instance",
              tmp.resolve("h2"),
              null,
              1,
              mosquitto,
              devices,
              batches,
              metrics));
      results.add(
          run(
              "PostgreSQL, 1 instance",
              tmp.resolve("pg1"),
              pg.newDatabase("bench1"),
              1,
              mosquitto,
              devices,
              batches,
              metrics));
      results.add(
          run(
              "PostgreSQL, 2 instances",
              tmp.resolve("pg2"),
              pg.newDatabase("bench2"),
              2,
              mosquitto,
              devices,
              batches,
              metrics));
    }
    System.out.printf(
        Locale.ROOT,
        "%n## Telemetry ingest (%d devices × %d batches × %d metrics, through Mosquitto, confirmed end to end)%n%n",
        devices,
        batches,
        metrics);
    System.out.println("| setup | records/s | metrics/s | vs H2 |");
    System.out.println("|---|---|---|---|");
    double base = results.get(0).recordsPerSecond();
    for (Result r : results) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %.0f | %.2fx |%n",
          r.setup(),
          r.recordsPerSecond(),
          r.metricsPerSecond(),
          r.recordsPerSecond() / base);
    }
    System.exit(0);
  }

  static Result run(
      String name,
      Path dir,
      String db,
      int instances,
      Broker broker,
      int devices,
      int batches,
      int metrics)
      throws Exception {
    List<BridgeApp> bridges = new ArrayList<>();
    List<FakeDevice> fleet = new ArrayList<>();
    try {
      for (int i = 0; i < instances; i++) {
        bridges.add(
            new BridgeApp(
                dir.resolve("bridge"),
                db,
                broker.url(),
                Map.of("mass.bridge.instance-id", "bench-" + i)));
      }
      for (int d = 0; d < devices; d++) {
        fleet.add(
            new FakeDevice(
                name.replaceAll("[^A-Za-z0-9]", "").toLowerCase(Locale.ROOT) + "-" + d,
                broker.url(),
                dir.resolve("devices"),
                Map.of("face-short", "1")));
      }
      while (!fleet.stream().allMatch(FakeDevice::connected)) {
        Thread.sleep(50);
      }
      Thread.sleep(1000);
      long t0 = System.nanoTime();
      long now = System.currentTimeMillis();
      for (int b = 0; b < batches; b++) {
        for (FakeDevice f : fleet) {
          List<SyncMessage.Metric> m = new ArrayList<>(metrics);
          for (int k = 0; k < metrics; k++) {
            m.add(
                new SyncMessage.Metric(
                    "bench.m" + k, Map.of("model", "face-short", "version", "1"), b + k, now + b));
          }
          f.metrics(m);
        }
      }
      while (!fleet.stream().allMatch(f -> f.outbox().pending() == 0)) {
        Thread.sleep(20);
      }
      double s = (System.nanoTime() - t0) / 1e9;
      long stored = 0;
      for (BridgeApp b : bridges) {
        stored += (Long) b.bean(TelemetryIngest.class).stats().get("records");
      }
      if (stored != (long) devices * batches) {
        throw new IllegalStateException(name + ": stored " + stored + " of " + devices * batches);
      }
      System.out.printf(Locale.ROOT, "%s: %d records in %.1f s%n", name, stored, s);
      return new Result(name, devices * batches, devices * batches * metrics, s);
    } finally {
      for (FakeDevice f : fleet) {
        f.close();
      }
      for (BridgeApp b : bridges) {
        b.close();
      }
    }
  }
}
