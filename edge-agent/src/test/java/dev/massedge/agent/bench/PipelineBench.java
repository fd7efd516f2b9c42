package dev.massedge.agent.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.massedge.agent.pipeline.CameraPipeline;
import dev.massedge.agent.pipeline.EventBus;
import dev.massedge.agent.pipeline.FaceTracker;
import dev.massedge.agent.pipeline.MotionGate;
import dev.massedge.drivers.camera.Frame;
import dev.massedge.drivers.camera.PixelFormat;
import dev.massedge.drivers.camera.ProcessFrameSource;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.model.ModelRepository;
import dev.massedge.inference.onnx.OnnxEngine;
import dev.massedge.inference.vad.VoiceActivityDetector;
import dev.massedge.inference.wakeword.WakeWordDetector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Camera and voice pipelines, side by side in one run: frames/s of one and of two simultaneous
 * 640x480 face pipelines against the bare engine, capture-to-event latency, and the voice front
 * end's real-time factor on one core. Run with {@code ./mass bench pipelines [--quick] [--rounds
 * N]}: the face figures are medians of N (3) rounds of every configuration in turn.
 */
public final class PipelineBench {
  private PipelineBench() {}

  public static void main(String[] args) throws Exception {
    boolean quick = Arrays.asList(args).contains("--quick");
    double seconds = quick ? 4 : 10;
    Path models = Path.of(System.getProperty("mass.models.dir", "models"));
    Path media = Path.of(System.getProperty("mass.media.dir", "media"));
    Path work = Files.createTempDirectory("mass-pipeline-bench");
    // 100 pre-decoded 640x480 frames (a face 1 s, then a test pattern 1 s, twice) in the decoder's
    // own layout (I420), read by a camera process paced by its pipeline: every frame is analysed
    // and none is made only to be dropped
    Path raw = work.resolve("frames.yuv");
    run(
        "ffmpeg",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-loop",
        "1",
        "-t",
        "1",
        "-r",
        "25",
        "-i",
        media.resolve("astronaut.png").toString(),
        "-f",
        "lavfi",
        "-t",
        "1",
        "-i",
        "testsrc=size=640x480:rate=25",
        "-filter_complex",
        "[0:v]scale=480:480,pad=640:480:80:0,setsar=1,format=rgb24,split[a1][a2];[1:v]setsar=1,format=rgb24,split[b1][b2];[a1][b1][a2][b2]concat=n=4:v=1",
        "-pix_fmt",
        "yuv420p",
        "-f",
        "rawvideo",
        raw.toString());
    System.out.println("# Pipeline benchmark");
    System.out.printf(
        "machine: %d cores, Java %s; %s s per measurement%n%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), seconds);

    try (ModelRepository repo = new ModelRepository(new Engines(), EngineOptions.cpu(1))) {
      repo.load(models.resolve("face-blazeface-128"));
      repo.load(models.resolve("vad-silero"));
      var face = repo.find("face-short", null).orElseThrow().faceDetector();

      // rounds of every configuration in turn (this machine's neighbours come and go): medians
      int rounds = 3;
      for (int i = 0; i < args.length - 1; i++) {
        if (args[i].equals("--rounds")) {
          rounds = Integer.parseInt(args[i + 1]);
        }
      }
      double[][] r = new double[5][rounds];
      List<double[]> oneRuns = new ArrayList<>();
      for (int k = 0; k < rounds; k++) {
        r[0][k] = bareFps(models.resolve("face-blazeface-128/model.onnx"), seconds);
        double[] o = pipelines(1, raw, face, seconds);
        oneRuns.add(o);
        r[1][k] = o[0];
        r[2][k] = pipelines(2, raw, face, seconds)[0];
        r[3][k] = pipelines(1, raw, face, seconds, 320, 240)[0];
        r[4][k] = pipelines(2, raw, face, seconds, 320, 240)[0];
        System.out.printf(
            "round %d: bare %.0f, one %.0f (%.2fx), two %.0f (%.2fx one), 320x240 one %.0f (%.2fx), two %.0f (%.2fx one)%n",
            k + 1,
            r[0][k],
            r[1][k],
            r[1][k] / r[0][k],
            r[2][k],
            r[2][k] / r[1][k],
            r[3][k],
            r[3][k] / r[0][k],
            r[4][k],
            r[4][k] / r[3][k]);
      }
      double bare = median(r[0]);
      double one = median(r[1]);
      double two = median(r[2]);
      double oneSmall = median(r[3]);
      double twoSmall = median(r[4]);
      // latency from the round whose one-pipeline rate is the median
      double[] oneRun =
          oneRuns.stream()
              .min(java.util.Comparator.comparingDouble(o -> Math.abs(o[0] - one)))
              .orElseThrow();
      System.out.println();
      System.out.printf(
          "## Face pipelines, 640x480, BlazeFace 128, one intra-op thread each (median of %d rounds)%n",
          rounds);
      System.out.println("| what | frames/s | ratio |");
      System.out.println("|---|---:|---:|");
      System.out.printf("| bare OrtSession.run, one thread | %.0f | 1.00x of bare |%n", bare);
      System.out.printf(
          "| one pipeline (camera process → letterbox → run → decode → tracker → events) | %.0f | %.2fx of bare |%n",
          one, one / bare);
      System.out.printf("| two pipelines at once, total | %.0f | %.2fx of one |%n", two, two / one);
      System.out.printf(
          "| one pipeline, detect resolution 320x240 (boxes still in 640x480) | %.0f | %.2fx of bare |%n",
          oneSmall, oneSmall / bare);
      System.out.printf(
          "| two pipelines at once, detect 320x240, total | %.0f | %.2fx of one |%n",
          twoSmall, twoSmall / oneSmall);
      double gateMicros = motionGateMicros(raw, seconds / 2);
      System.out.printf(
          "| motion gate (frame difference) alone, a frame without motion | %.0f | %.0fx the pipeline's rate (%.0f µs a frame) |%n",
          1e6 / gateMicros, 1e6 / gateMicros / one, gateMicros);
      System.out.println();
      System.out.println("## Latency from frame capture (one pipeline)");
      System.out.println("| to | p50 ms | p99 ms |");
      System.out.println("|---|---:|---:|");
      System.out.printf("| detections tracked | %.2f | %.2f |%n", oneRun[1], oneRun[2]);
      System.out.printf(
          "| event published to subscribers (SSE, CoAP observers) | %.2f | %.2f |%n",
          oneRun[3], oneRun[4]);
      System.out.println();

      VoiceActivityDetector vad = repo.find("vad", null).orElseThrow().vad();
      Path oww = models.resolve("demo-only/openwakeword");
      OnnxEngine engine = new OnnxEngine();
      try (WakeWordDetector wake =
          new WakeWordDetector(
              engine.open(oww.resolve("melspectrogram.onnx"), EngineOptions.cpu(1)),
              engine.open(oww.resolve("embedding_model.onnx"), EngineOptions.cpu(1)),
              Map.of(
                  "hey_jarvis",
                  engine.open(oww.resolve("hey_jarvis_v0.1.onnx"), EngineOptions.cpu(1))),
              WakeWordDetector.DEFAULT_THRESHOLD,
              2.0)) {
        PcmAudio speech =
            WavDecoder.decode(Files.readAllBytes(media.resolve("librivox_0870_16k.wav")))
                .resample(16000);
        double[] rtf = voice(vad, wake, speech, seconds);
        System.out.println(
            "## Voice front end on one thread (LibriVox read speech, 512-sample frames)");
        System.out.println("| stage | real-time factor (audio s / processing s) |");
        System.out.println("|---|---:|");
        System.out.printf("| VAD (Silero) | %.0fx |%n", rtf[0]);
        System.out.printf("| wake word (melspectrogram + embedding + 1 head) | %.0fx |%n", rtf[1]);
        System.out.printf("| VAD + wake word | %.0fx |%n", rtf[2]);
        // the same with the embedding model in int8 (made and checked by WakeWordQuantizer)
        Path int8Dir = Files.createTempDirectory("mass-oww");
        for (String f :
            List.of("melspectrogram.onnx", "embedding_model.onnx", "hey_jarvis_v0.1.onnx")) {
          Files.copy(oww.resolve(f), int8Dir.resolve(f));
        }
        List<Path> wavs = new ArrayList<>();
        for (String f :
            List.of(
                "hey_jarvis_16k.wav",
                "hey_jarvis_pinknoise_16k.wav",
                "alexa_16k.wav",
                "sent_16k.wav",
                "librivox_0870_16k.wav")) {
          wavs.add(media.resolve(f));
        }
        dev.massedge.inference.wakeword.WakeWordQuantizer.quantize(
            int8Dir, List.of("hey_jarvis_v0.1"), wavs);
        try (WakeWordDetector wake8 =
            new WakeWordDetector(
                engine.open(int8Dir.resolve("melspectrogram.onnx"), EngineOptions.cpu(1)),
                engine.open(int8Dir.resolve("embedding_model.int8.onnx"), EngineOptions.cpu(1)),
                Map.of(
                    "hey_jarvis",
                    engine.open(int8Dir.resolve("hey_jarvis_v0.1.onnx"), EngineOptions.cpu(1))),
                WakeWordDetector.DEFAULT_THRESHOLD,
                2.0)) {
          double[] rtf8 = voice(vad, wake8, speech, seconds);
          System.out.printf("| wake word, int8 embedding model | %.0fx |%n", rtf8[1]);
          System.out.printf("| VAD + wake word, int8 embedding model | %.0fx |%n", rtf8[2]);
        }
      }
    }
  }

  static double bareFps(Path model, double seconds) throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setIntraOpNumThreads(1);
      so.setInterOpNumThreads(1);
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      try (OrtSession s = env.createSession(model.toString(), so);
          OnnxTensor in =
              OnnxTensor.createTensor(
                  env,
                  ByteBuffer.allocateDirect(128 * 128 * 12)
                      .order(ByteOrder.nativeOrder())
                      .asFloatBuffer(),
                  new long[] {1, 128, 128, 3})) {
        for (int i = 0; i < 200; i++) {
          s.run(Map.of("input:0", in)).close();
        }
        long t0 = System.nanoTime();
        long n = 0;
        while (System.nanoTime() - t0 < seconds * 1e9) {
          s.run(Map.of("input:0", in)).close();
          n++;
        }
        return n / ((System.nanoTime() - t0) / 1e9);
      }
    }
  }

  /** Total processed frames/s of n pipelines, and the first one's latency percentiles. */
  static double[] pipelines(
      int n, Path raw, dev.massedge.inference.face.FaceDetector face, double seconds)
      throws Exception {
    return pipelines(n, raw, face, seconds, 640, 480);
  }

  /** As above, the camera process delivering frames at detectW×detectH (Frigate's detect size). */
  static double[] pipelines(
      int n,
      Path raw,
      dev.massedge.inference.face.FaceDetector face,
      double seconds,
      int detectW,
      int detectH)
      throws Exception {
    List<CameraPipeline> ps = new ArrayList<>();
    EventBus bus = new EventBus();
    for (int i = 0; i < n; i++) {
      ProcessFrameSource src =
          new ProcessFrameSource(
              "bench" + i,
              pos ->
                  List.of(
                      "ffmpeg",
                      "-hide_banner",
                      "-loglevel",
                      "error",
                      "-nostdin",
                      "-stream_loop",
                      "-1",
                      "-f",
                      "rawvideo",
                      "-pix_fmt",
                      "yuv420p",
                      "-s",
                      "640x480",
                      "-r",
                      "25",
                      "-i",
                      raw.toString(),
                      "-vf",
                      "scale=" + detectW + ":" + detectH + ":flags=bilinear",
                      "-f",
                      "rawvideo",
                      "-pix_fmt",
                      "yuv420p",
                      "pipe:1"),
              detectW,
              detectH,
              PixelFormat.I420,
              25,
              false,
              true);
      ps.add(
          new CameraPipeline(
                  "bench" + i,
                  src,
                  face,
                  new FaceTracker("bench" + i, 3, 0.3, 0.3f),
                  bus,
                  null,
                  0,
                  null)
              .pictureSize(640, 480));
    }
    ps.forEach(CameraPipeline::start);
    Thread.sleep(2000); // warm-up: JIT and the camera processes
    long[] before = ps.stream().mapToLong(CameraPipeline::processed).toArray();
    long t0 = System.nanoTime();
    Thread.sleep((long) (seconds * 1000));
    double dt = (System.nanoTime() - t0) / 1e9;
    long total = 0;
    for (int i = 0; i < n; i++) {
      total += ps.get(i).processed() - before[i];
    }
    CameraPipeline first = ps.get(0);
    double[] out = {
      total / dt,
      first.frameLatency().percentileMs(50),
      first.frameLatency().percentileMs(99),
      first.eventLatency().percentileMs(50),
      first.eventLatency().percentileMs(99)
    };
    ps.forEach(CameraPipeline::close);
    return out;
  }

  /** µs per 640x480 I420 frame for the frame-difference gate, over the benchmark's frames. */
  static double motionGateMicros(Path raw, double seconds) throws Exception {
    byte[] all = Files.readAllBytes(raw);
    int size = PixelFormat.I420.frameBytes(640, 480);
    List<Frame> frames = new ArrayList<>();
    for (int o = 0; o + size <= all.length; o += size) {
      frames.add(
          new Frame(
              frames.size(),
              0,
              0,
              640,
              480,
              PixelFormat.I420,
              Arrays.copyOfRange(all, o, o + size)));
    }
    MotionGate gate = new MotionGate(12, 0.005, 0.05);
    for (int i = 0; i < 200; i++) {
      gate.onFrame(frames.get(i % frames.size()));
    }
    long t0 = System.nanoTime();
    long n = 0;
    while (System.nanoTime() - t0 < seconds * 1e9) {
      gate.onFrame(frames.get((int) (n++ % frames.size())));
    }
    return (System.nanoTime() - t0) / 1e3 / n;
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  static double[] voice(
      VoiceActivityDetector vad, WakeWordDetector wake, PcmAudio audio, double seconds) {
    float[] s = audio.samples();
    double audioSeconds = s.length / 512 * 512 / 16000.0; // the whole 512-sample frames fed
    double[] rtf = new double[3];
    for (int mode = 0; mode < 3; mode++) {
      // one stream per microphone, as a pipeline has: the recording plays again and again into it.
      // (A new wake-word stream first runs 24 warm-up steps, ~25 ms once per microphone; made
      // inside
      // the loop it was charged to every 7 s of audio.)
      VoiceActivityDetector.Stream v = vad.newStream();
      WakeWordDetector.Stream w = wake.newStream();
      long t0 = System.nanoTime();
      double done = 0;
      while (System.nanoTime() - t0 < seconds / 3 * 1e9) {
        for (int i = 0; i + 512 <= s.length; i += 512) {
          if (mode != 1) {
            v.accept(s, i, 512);
          }
          if (mode != 0) {
            w.accept(s, i, 512);
          }
        }
        done += audioSeconds;
      }
      rtf[mode] = done / ((System.nanoTime() - t0) / 1e9);
    }
    return rtf;
  }

  static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    if (p.waitFor() != 0) {
      throw new IllegalStateException("failed: " + String.join(" ", cmd));
    }
  }
}
