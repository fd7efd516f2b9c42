package dev.massedge.agent.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.image.RgbImage;
import dev.massedge.inference.model.ModelRepository;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;

/**
 * The agent's benchmark: every figure is measured side by side in one run and printed as a table of
 * ratios. Run with {@code ./mass bench}. Arguments: {@code --quick} for fewer iterations.
 */
public final class AgentBench {
  private static final StringBuilder report = new StringBuilder();

  private AgentBench() {}

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    int iters = quick ? 300 : 2000;
    int requests = quick ? 1000 : 10_000;
    Path models = Path.of(System.getProperty("mass.models.dir", "models"));
    Path media = Path.of(System.getProperty("mass.media.dir", "media"));
    line("# Mass Edge agent benchmark");
    line(
        "machine: %d cores, %s, Java %s",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.arch"),
        System.getProperty("java.version"));
    RgbImage frame = frame640x480(media.resolve("astronaut.png"));
    byte[] jpeg = encode(frame, "jpg");

    try (ModelRepository repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      repo.loadAll(models);
      FaceDetector ort = repo.find("face-short", null).orElseThrow().faceDetector();
      FaceDetector tfl = repo.find("face-short-tflite", null).orElseThrow().faceDetector();

      // 1. pipeline overhead vs bare OrtSession.run, same model, one intra-op thread
      OrtEnvironment env = OrtEnvironment.getEnvironment(); // shared: never close it here
      try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
        so.setIntraOpNumThreads(1);
        so.setInterOpNumThreads(1);
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        try (OrtSession bare =
                env.createSession(models.resolve("face-blazeface-128/model.onnx").toString(), so);
            OnnxTensor input =
                OnnxTensor.createTensor(
                    env,
                    ByteBuffer.allocateDirect(128 * 128 * 3 * 4)
                        .order(ByteOrder.nativeOrder())
                        .asFloatBuffer(),
                    new long[] {1, 128, 128, 3})) {
          Map<String, OnnxTensor> in = Map.of("input:0", input);
          double[] t =
              interleaved(
                  iters,
                  () -> {
                    try (OrtSession.Result r = bare.run(in)) {
                      return r.size();
                    }
                  },
                  () -> ort.detect(frame).size(),
                  () -> ort.detect(ImageDecoder.decode(jpeg)).size());
          line("");
          line("## Face pipeline overhead (640x480 frame, BlazeFace 128, 1 thread)");
          line("| path | ms/frame | vs bare session.run |");
          line("|---|---:|---:|");
          line("| bare OrtSession.run (pre-made input) | %.3f | 1.00x |", t[0]);
          line(
              "| raw RGB frame → letterbox+normalise → run → decode+NMS | %.3f | %.2fx |",
              t[1], t[1] / t[0]);
          line("| JPEG bytes → ImageIO decode → same pipeline | %.3f | %.2fx |", t[2], t[2] / t[0]);
        }
      }

      // 3. ONNX Runtime vs TensorFlow Lite on the short-range task
      double[] e =
          interleaved(iters, () -> ort.detect(frame).size(), () -> tfl.detect(frame).size());
      line("");
      line("## ONNX Runtime vs TensorFlow Lite (BlazeFace short range, whole pipeline, 1 thread)");
      line("| engine | ms/frame | ratio |");
      line("|---|---:|---:|");
      line("| ONNX Runtime 1.29.0 (barracuda ONNX export) | %.3f | 1.00x |", e[0]);
      line(
          "| TensorFlow Lite 2.21 (MediaPipe .tflite, fp16 weights) | %.3f | %.2fx |",
          e[1], e[1] / e[0]);

      // 2 + 4. the agent as a separate process: RSS, and HTTP throughput vs in-process
      Path jar = Path.of("edge-agent/target/edge-agent.jar");
      if (!Files.isRegularFile(jar)) {
        line("");
        line(
            "(agent jar missing: build with ./mvnw -B package -DskipTests to measure HTTP and RSS)");
      } else {
        agentFigures(jar, models, jpeg, ort, requests);
      }
    }
    Path out = Path.of("target", "bench-report.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, report.toString());
    System.err.println("report written to " + out.toAbsolutePath());
  }

  private static void agentFigures(
      Path jar, Path models, byte[] jpeg, FaceDetector ort, int requests) throws Exception {
    int port = 18080 + (int) (ProcessHandle.current().pid() % 1000);
    List<String> cmd = new ArrayList<>(List.of("java"));
    String opts = System.getProperty("mass.agent.jvm.options");
    if (opts != null) {
      Files.readAllLines(Path.of(opts)).stream()
          .filter(l -> !l.isBlank() && !l.startsWith("#"))
          .forEach(cmd::add);
    }
    cmd.addAll(
        List.of(
            "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
            "-Dmass.agent.api-auth=loopback", // the bench calls it from this machine
            "-Dmass.agent.api-token-file=target/bench-api-token",
            "-jar",
            jar.toString()));
    line("");
    line("agent started as: %s", String.join(" ", cmd));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("MASS_AGENT_PORT", Integer.toString(port));
    pb.environment().put("MASS_MODELS_DIR", models.toAbsolutePath().toString());
    pb.redirectErrorStream(true).redirectOutput(Path.of("target", "bench-agent.log").toFile());
    Process agent = pb.start();
    try {
      // HTTP/1.1 as curl and most device clients speak it (the JDK default tries an h2c upgrade)
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      URI base = URI.create("http://127.0.0.1:" + port);
      long t0 = System.nanoTime();
      while (true) {
        try {
          if (http.send(
                      HttpRequest.newBuilder(base.resolve("/v2/health/ready")).build(),
                      HttpResponse.BodyHandlers.ofString())
                  .statusCode()
              == 200) {
            break;
          }
        } catch (IOException notYet) {
          // not listening yet
        }
        if (System.nanoTime() - t0 > 60_000_000_000L) {
          throw new IllegalStateException("agent did not become ready; see target/bench-agent.log");
        }
        Thread.sleep(50);
      }
      double readyMs = (System.nanoTime() - t0) / 1e6;
      long rssStart = rssKb(agent.pid());
      HttpRequest req =
          HttpRequest.newBuilder(base.resolve("/v1/faces"))
              .header("Content-Type", "image/jpeg")
              .POST(HttpRequest.BodyPublishers.ofByteArray(jpeg))
              .build();
      // throughput: 2 concurrent HTTP clients vs 2 in-process threads, same JPEG, interleaved
      // rounds
      int per = Math.max(200, requests / 10);
      double[] httpRates = new double[3];
      double[] directRates = new double[3];
      List<long[]> rss = new ArrayList<>();
      int sent = 0;
      for (int round = 0; round < 3; round++) {
        httpRates[round] =
            rate(
                2,
                per,
                () -> {
                  HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
                  if (r.statusCode() != 200) {
                    throw new IllegalStateException(r.body());
                  }
                });
        sent += per;
        directRates[round] = rate(2, per, () -> ort.detect(ImageDecoder.decode(jpeg)));
      }
      // the rest of the requests, then RSS again
      while (sent < requests) {
        int n = Math.min(per, requests - sent);
        rate(2, n, () -> http.send(req, HttpResponse.BodyHandlers.discarding()));
        sent += n;
        if (sent % (requests / 4) < per) {
          rss.add(new long[] {sent, rssKb(agent.pid())});
        }
      }
      long rssEnd = rssKb(agent.pid());
      double http2 = median(httpRates);
      double direct2 = median(directRates);
      line("");
      line("## /v1/faces throughput, 2 concurrent clients (640x480 JPEG, decode included)");
      line("| path | requests/s | ratio |");
      line("|---|---:|---:|");
      line("| in-process FaceDetector, 2 threads | %.0f | 1.00x |", direct2);
      line("| HTTP /v1/faces on the agent, 2 clients | %.0f | %.2fx |", http2, http2 / direct2);
      line("");
      line("## Agent memory (RSS of the agent process, all %s models loaded)", "4");
      line("| point | RSS MB |");
      line("|---|---:|");
      line("| ready (%.0f ms after exec) | %.1f |", readyMs, rssStart / 1024.0);
      for (long[] p : rss) {
        line("| after %d requests | %.1f |", p[0], p[1] / 1024.0);
      }
      if (rss.isEmpty() || rss.get(rss.size() - 1)[0] != sent) {
        line("| after %d requests | %.1f |", sent, rssEnd / 1024.0);
      }
    } finally {
      agent.destroy();
      agent.waitFor(10, TimeUnit.SECONDS);
    }
  }

  interface Op {
    Object run() throws Exception;
  }

  interface Call {
    void run() throws Exception;
  }

  /** Median ms/op of each op, measured in interleaved rounds so drift hits all of them alike. */
  static double[] interleaved(int iters, Op... ops) throws Exception {
    for (Op op : ops) {
      for (int i = 0; i < Math.max(100, iters / 5); i++) {
        op.run();
      }
    }
    int rounds = 7;
    double[][] ms = new double[ops.length][rounds];
    for (int r = 0; r < rounds; r++) {
      for (int o = 0; o < ops.length; o++) {
        long t = System.nanoTime();
        for (int i = 0; i < iters / rounds; i++) {
          ops[o].run();
        }
        ms[o][r] = (System.nanoTime() - t) / 1e6 / (iters / rounds);
      }
    }
    double[] out = new double[ops.length];
    for (int o = 0; o < ops.length; o++) {
      out[o] = median(ms[o]);
    }
    return out;
  }

  static double rate(int threads, int total, Call call) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicInteger left = new AtomicInteger(total);
    long t = System.nanoTime();
    List<Future<?>> fs = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      fs.add(
          pool.submit(
              () -> {
                while (left.getAndDecrement() > 0) {
                  call.run();
                }
                return null;
              }));
    }
    for (Future<?> f : fs) {
      f.get();
    }
    pool.shutdown();
    return total / ((System.nanoTime() - t) / 1e9);
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  static long rssKb(long pid) throws IOException {
    for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
      if (l.startsWith("VmRSS:")) {
        return Long.parseLong(l.replaceAll("\\D", ""));
      }
    }
    return -1;
  }

  static RgbImage frame640x480(Path png) throws IOException {
    RgbImage face = ImageDecoder.decode(Files.readAllBytes(png));
    byte[] px = new byte[640 * 480 * 3];
    Arrays.fill(px, (byte) 40);
    int ox = 64;
    for (int y = 0; y < Math.min(480, face.height()); y++) {
      System.arraycopy(
          face.pixels(), y * face.width() * 3, px, (y * 640 + ox) * 3, Math.min(512, 640 - ox) * 3);
    }
    return new RgbImage(640, 480, px);
  }

  static byte[] encode(RgbImage img, String format) throws IOException {
    BufferedImage b = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_3BYTE_BGR);
    byte[] dst = ((java.awt.image.DataBufferByte) b.getRaster().getDataBuffer()).getData();
    byte[] src = img.pixels();
    for (int i = 0; i < src.length; i += 3) {
      dst[i] = src[i + 2];
      dst[i + 1] = src[i + 1];
      dst[i + 2] = src[i];
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(b, format, out);
    return out.toByteArray();
  }

  private static void line(String fmt, Object... args) {
    String s = args.length == 0 ? fmt : String.format(fmt, args);
    report.append(s).append('\n');
    System.out.println(s);
  }
}
