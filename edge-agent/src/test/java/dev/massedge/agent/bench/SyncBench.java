package dev.massedge.agent.bench;

import dev.massedge.inference.FineTune;
import dev.massedge.sync.delivery.ChunkServer;
import dev.massedge.sync.delivery.Delivery;
import dev.massedge.sync.delivery.HttpChunkServer;
import dev.massedge.sync.delivery.HttpChunkSource;
import dev.massedge.sync.delivery.MqttChunkSource;
import dev.massedge.sync.delivery.PackageRepository;
import dev.massedge.sync.io.Durable;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.outbox.Outbox;
import dev.massedge.sync.outbox.OutboxReceiver;
import dev.massedge.sync.outbox.OutboxSender;
import dev.massedge.sync.pkg.ChunkStore;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.testing.Broker;
import dev.massedge.sync.testing.ModelDirs;
import dev.massedge.sync.testing.TcpProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Model sync, side by side in one run: a 10 MB package delivered to one device over MQTT (embedded
 * HiveMQ CE and Mosquitto, through a byte-counting TCP proxy) and over HTTP ranges; the delta of a
 * retrained head; the outbox's sustained throughput to Mosquitto under two fsync policies. Each
 * transport's first delivery runs with its code still cold and is shown apart; its throughput is
 * the median of the deliveries after a warm-up ({@link #measure}). Run with {@code ./mass bench
 * sync}.
 */
public final class SyncBench {
  private SyncBench() {}

  static void deliver(MqttChunkSource source, ChunkStore store, SignedPackage pkg)
      throws Exception {
    Delivery d =
        new Delivery(
            source,
            store,
            dev.massedge.sync.delivery.RateLimiter.unlimited(),
            Integer.getInteger("w", Delivery.WINDOW),
            Integer.getInteger("rb", Delivery.REQUEST_BYTES));
    d.fetch(pkg.sha256(), d.manifest(pkg.sha256(), 30_000).manifest(), p -> {});
  }

  /**
   * One transport's deliveries: the first (its code still cold: interpreted, then compiled), then
   * the median and the best of the timed ones that follow a warm-up.
   */
  record Rates(double cold, double median, double best, int warmUp, int timed) {
    String describe() {
      return String.format(
          "%7.1f MB/s median (best %.1f) of %d deliveries after %d to warm up; the first: %.1f MB/s",
          median, best, timed, warmUp, cold);
    }
  }

  interface StoreMaker {
    ChunkStore make(Path dir) throws java.io.IOException;
  }

  interface Deliverer {
    void deliver(ChunkStore store) throws Exception;
  }

  /** Writes back dirty pages ({@code sync}) and lets the disk go quiet before the next delivery. */
  static void settle() throws Exception {
    new ProcessBuilder("sync").inheritIO().start().waitFor();
    Thread.sleep(200);
  }

  /**
   * Delivers the package to a new, empty store each time, {@code 1 + warmUp + timed} times. A
   * long-running bridge and broker keep compiling for a few seconds after their first deliveries
   * (the JIT's time kept growing by 0.1–0.3 s of CPU per delivery through the first ten on this
   * 2-core machine), so the figure is taken after a warm-up, as JMH would, and the first delivery
   * is shown apart. Between deliveries, untimed, the store is removed and the file system synced: a
   * device receives one package into a quiet page cache, while back-to-back deliveries left
   * gigabytes of dirty pages here (or the removal's discards) and ran at a fifth of the speed.
   */
  static Rates measure(
      Path work, String name, boolean quick, long size, StoreMaker stores, Deliverer d)
      throws Exception {
    int warmUp = quick ? 1 : 8;
    int timed = quick ? 3 : 8;
    double cold = 0;
    double[] rates = new double[timed];
    for (int r = 0; r < 1 + warmUp + timed; r++) {
      Path dir = work.resolve(name + "-" + r);
      ChunkStore store = stores.make(dir);
      long s0 = System.nanoTime();
      d.deliver(store);
      double rate = size / 1e6 / ((System.nanoTime() - s0) / 1e9);
      store.close(); // its open pack goes with the folder, not at the next GC
      Durable.deleteTree(dir);
      settle();
      if (r == 0) {
        cold = rate;
      } else if (r > warmUp) {
        rates[r - warmUp - 1] = rate;
      }
    }
    Arrays.sort(rates);
    double median = (rates[(timed - 1) / 2] + rates[timed / 2]) / 2;
    return new Rates(cold, median, rates[timed - 1], warmUp, timed);
  }

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    Path models = Path.of(System.getProperty("mass.models.dir", "models"));
    Path work = Files.createTempDirectory("mass-sync-bench");
    KeyPair key = PackageSignature.newKeyPair();
    PackageRepository repo = new PackageRepository(work.resolve("repo"));

    // a 10 MB package: incompressible bytes, as quantized weights nearly are
    Path big = Files.createDirectories(work.resolve("big"));
    byte[] data = new byte[10 * 1024 * 1024];
    new Random(1).nextBytes(data);
    Files.write(big.resolve("model.onnx"), data);
    Files.writeString(
        big.resolve("model.json"),
        "{\"name\":\"big\",\"version\":\"1\",\"task\":\"tensor\",\"engine\":\"onnxruntime\",\"file\":\"model.onnx\"}");
    SignedPackage pkg = repo.publish(big, key);
    long size = data.length;

    System.out.println("== delivery of a 10 MB package to one device on loopback ==");
    Rates overHttp;
    try (HttpChunkServer http = new HttpChunkServer(repo, new InetSocketAddress("127.0.0.1", 0))) {
      HttpChunkSource src =
          new HttpChunkSource(
              URI.create("http://127.0.0.1:" + http.port()), Duration.ofSeconds(30));
      overHttp =
          measure(
              work,
              "http",
              quick,
              size,
              ChunkStore::packed,
              store -> {
                Delivery d = new Delivery(src, store);
                d.fetch(pkg.sha256(), d.manifest(pkg.sha256(), 30_000).manifest(), p -> {});
              });
    }
    double httpRate = overHttp.median();
    System.out.println("HTTP range requests      " + overHttp.describe());
    for (String name : new String[] {"embedded", "mosquitto"}) {
      Broker broker;
      try {
        broker = Broker.of(name);
      } catch (Exception e) {
        System.out.println(name + ": not available (" + e.getMessage() + ")");
        continue;
      }
      try (broker;
          TcpProxy proxy = new TcpProxy(broker.port())) {
        MqttLink server = new MqttLink(new MqttLink.Options(broker.url(), "bench-bridge")).start();
        ChunkServer chunks = new ChunkServer(server, repo, 2);
        // throughput on a direct connection; bytes on the wire through the counting proxy, once
        MqttLink direct = new MqttLink(new MqttLink.Options(broker.url(), "bench-dev")).start();
        MqttLink counted =
            new MqttLink(new MqttLink.Options(proxy.url(), "bench-dev-counted")).start();
        while (!server.connected() || !direct.connected() || !counted.connected()) {
          Thread.sleep(50);
        }
        Thread.sleep(300);
        MqttChunkSource source = new MqttChunkSource(direct, "bench-dev", Duration.ofSeconds(30));
        Rates rates =
            measure(
                work,
                "dev-" + name,
                quick,
                size,
                ChunkStore::packed,
                store -> deliver(source, store, pkg));
        deliver(
            new MqttChunkSource(counted, "bench-dev-counted", Duration.ofSeconds(30)),
            ChunkStore.packed(work.resolve("dev-" + name + "-counted")),
            pkg);
        double wire = (double) (proxy.bytesUp() + proxy.bytesDown()) / size;
        System.out.printf(
            "MQTT 5 via %-9s      %s (%.2fx HTTP); bytes on the wire %.4fx the package (both"
                + " directions, MQTT framing and connection set-up included)%n",
            name, rates.describe(), rates.median() / httpRate, wire);
        if (name.equals("embedded")) {
          Rates files =
              measure(
                  work,
                  "dev-files-" + name,
                  quick,
                  size,
                  ChunkStore::files,
                  store -> deliver(source, store, pkg));
          System.out.printf(
              "  the same, the device keeping a file per chunk (its store before packs): %s;"
                  + " packs: %.2fx%n",
              files.describe(), rates.median() / files.median());
        }
        counted.close();
        direct.close();
        chunks.close();
        server.close();
      }
    }

    System.out.println(
        "== delta: a retrained head (BlazeFace 256, last layers' weights changed) ==");
    for (double fraction : new double[] {0.05, 0.25}) {
      Path base = models.resolve("face-blazeface-256");
      Path v2 = work.resolve("ft-" + fraction);
      Path file = ModelDirs.asVersion(base, v2, "ft" + fraction);
      long changed = FineTune.lastLayers(base.resolve(file.getFileName()), file, fraction, 7);
      PackageRepository r = new PackageRepository(work.resolve("delta-" + fraction));
      SignedPackage a = r.publish(base, key);
      SignedPackage b = r.publish(v2, key);
      ChunkStore dev = ChunkStore.packed(work.resolve("delta-dev-" + fraction));
      try (HttpChunkServer http = new HttpChunkServer(r, new InetSocketAddress("127.0.0.1", 0))) {
        HttpChunkSource src =
            new HttpChunkSource(
                URI.create("http://127.0.0.1:" + http.port()), Duration.ofSeconds(30));
        Delivery d = new Delivery(src, dev);
        d.fetch(a.sha256(), a.manifest(), p -> {});
        Delivery.Progress p = d.fetch(b.sha256(), b.manifest(), x -> {});
        long total = b.manifest().files().get(0).size();
        System.out.printf(
            "%2.0f %% of weights retrained: %7d bytes changed, %7d fetched = %.2fx the change, %.1f %% of the %d-byte model%n",
            fraction * 100,
            changed,
            p.bytesFetched(),
            (double) p.bytesFetched() / changed,
            100.0 * p.bytesFetched() / total,
            total);
      }
    }

    System.out.println("== outbox to Mosquitto, confirmed end to end ==");
    int n = quick ? 5000 : 20000;
    try (Broker broker = Broker.mosquitto()) {
      for (int fsync : new int[] {1, 100}) {
        MqttLink cloud =
            new MqttLink(new MqttLink.Options(broker.url(), "bench-cloud-" + fsync).persistent())
                .start();
        AtomicLong got = new AtomicLong();
        OutboxReceiver receiver =
            new OutboxReceiver(cloud, (dev, kind, seq, payload) -> got.incrementAndGet());
        MqttLink device =
            new MqttLink(new MqttLink.Options(broker.url(), "bench-dev-" + fsync)).start();
        while (!cloud.connected() || !device.connected()) {
          Thread.sleep(50);
        }
        Thread.sleep(300);
        Outbox outbox = new Outbox(work.resolve("outbox-" + fsync), 256 << 20, 8 << 20, fsync);
        String dev = "bench" + fsync;
        OutboxSender sender =
            new OutboxSender(
                    outbox,
                    device,
                    e ->
                        new OutboxSender.Publication(
                            "mass/v1/" + dev + "/telemetry", e.data(), null),
                    10,
                    "mass/v1/" + dev + "/telemetry/ack",
                    2000)
                .start();
        byte[] rec = new byte[200];
        long s0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          outbox.append(rec);
          sender.wakeup();
        }
        double appendSecs = (System.nanoTime() - s0) / 1e9;
        while (got.get() < n || outbox.stats().pending() > 0) {
          Thread.sleep(5);
        }
        double secs = (System.nanoTime() - s0) / 1e9;
        System.out.printf(
            "fsync every %3d record(s): appends %8.0f records/s; delivered and confirmed %7.0f records/s (%d records of 200 B)%n",
            fsync, n / appendSecs, n / secs, n);
        sender.close();
        receiver.close();
        device.close();
        cloud.close();
        outbox.close();
      }
    }
    Durable.deleteTree(work);
    System.exit(0);
  }
}
