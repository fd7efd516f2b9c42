package dev.massedge.agent.pipeline;

import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.drivers.audio.AudioSource;
import dev.massedge.drivers.audio.JavaSoundSource;
import dev.massedge.drivers.audio.ProcessAudioSource;
import dev.massedge.drivers.audio.WavFileSource;
import dev.massedge.drivers.camera.FrameSource;
import dev.massedge.drivers.camera.FrameSources;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.onnx.OnnxEngine;
import dev.massedge.inference.wakeword.WakeWordDetector;
import io.micronaut.context.annotation.Context;
import jakarta.annotation.PreDestroy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds and runs the pipelines declared under {@code mass.pipelines}. A pipeline that cannot be
 * built (unknown source kind, a model that is not ready, an audio file that is not 16-bit PCM) is
 * reported with its reason and the others run.
 */
@Context
public class PipelineManager implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PipelineManager.class);
  private final Map<String, Pipeline> pipelines = new LinkedHashMap<>();
  private final Map<String, String> failed = new LinkedHashMap<>();
  private final List<ModelSession> owned = new ArrayList<>();
  private final List<PipelineConfig> configs;
  private final ModelRegistry models;
  private final EventBus bus;
  private final GpioService gpio;
  private final SensorGates sensors;

  public PipelineManager(
      List<PipelineConfig> configs,
      ModelRegistry models,
      EventBus bus,
      GpioService gpio,
      SensorGates sensors) {
    this.configs = configs;
    this.models = models;
    this.bus = bus;
    this.gpio = gpio;
    this.sensors = sensors;
    models.onActivated(this::restartUsing);
    // on the triggers' own thread: a pipeline's thread publishing an event never waits for the
    // manager (which may be stopping that very pipeline)
    bus.subscribe(
        "pipeline triggers",
        e ->
            e instanceof PipelineEvent.FaceEntered
                || e instanceof PipelineEvent.FaceLeft
                || e instanceof PipelineEvent.WakeWord,
        e -> {
          try {
            triggers.execute(() -> trigger(e));
          } catch (java.util.concurrent.RejectedExecutionException closing) {
            // the agent is stopping: a pipeline's last event triggers nothing
          }
        });
    for (PipelineConfig c : configs) {
      if (!c.enabled()) {
        continue;
      }
      launch(c, "started");
    }
  }

  /**
   * Builds and starts one pipeline; one that cannot be built is listed as failed with its reason
   * and the others run. {@code how} says why, in the log.
   */
  private void launch(PipelineConfig base, String how) {
    PipelineConfig c = effective(base);
    if (c.kind().equals("camera")) {
      cameraReset(c.name());
    }
    try {
      Pipeline p = build(c, models, bus, gpio, sensors);
      pipelines.put(c.name(), p);
      failed.remove(c.name());
      p.start();
      log.info("pipeline {} ({}) {}", c.name(), c.kind(), how);
    } catch (RuntimeException e) {
      failed.put(c.name(), e.getMessage());
      log.error("pipeline {} not {}: {}", c.name(), how, e.getMessage());
    }
  }

  Pipeline build(
      PipelineConfig c, ModelRegistry models, EventBus bus, GpioService gpio, SensorGates sensors) {
    List<String> opts = c.inputOptions() == null ? List.of() : c.inputOptions();
    switch (c.kind()) {
      case "camera" -> {
        LoadedModel m = models.require(c.model() == null ? "face-short" : c.model(), null);
        if (m.faceDetector() == null) {
          throw new IllegalArgumentException(
              "mass.pipelines."
                  + c.name()
                  + ".model: '"
                  + m.name()
                  + "' is not a face-detection model");
        }
        String input = require(c, c.input(), "input");
        int detectW = c.detectWidth() == null ? c.width() : c.detectWidth();
        int detectH = c.detectHeight() == null ? c.height() : c.detectHeight();
        FrameSource source =
            switch (c.source()) {
              case "ffmpeg" ->
                  FrameSources.ffmpeg(c.name(), input, opts, detectW, detectH, c.fps());
              case "gstreamer" ->
                  FrameSources.gstreamer(c.name(), input, detectW, detectH, c.fps());
              case "image-folder" ->
                  FrameSources.imageFolder(c.name(), Path.of(input), detectW, detectH, c.fps());
              default ->
                  throw new IllegalArgumentException(
                      "mass.pipelines."
                          + c.name()
                          + ".source: '"
                          + c.source()
                          + "' is not a camera source; use ffmpeg, gstreamer or image-folder");
            };
        var detector =
            c.threads() > 0
                ? new dev.massedge.inference.face.FaceDetector(ownSession(c, m), m.descriptor())
                : m.faceDetector();
        CameraPipeline camera =
            new CameraPipeline(
                c.name(),
                source,
                detector,
                new FaceTracker(c.name(), c.minHits(), c.leaveAfterSeconds(), 0.3f),
                bus,
                gate(c, gpio, sensors),
                c.gateHoldSeconds(),
                c.ledPin() == null ? null : gpio.led(c.name() + "-led", c.ledPin()));
        camera.pictureSize(c.width(), c.height()).countInto(models.stats(m.name(), m.version()));
        if (c.snapshotOn() != null) {
          if (c.snapshotDir() == null
              || configs.stream()
                  .noneMatch(x -> x.name().equals(c.snapshotOn()) && x.kind().equals("voice"))) {
            throw new IllegalArgumentException(
                "mass.pipelines."
                    + c.name()
                    + ".snapshot-on: needs a voice pipeline named '"
                    + c.snapshotOn()
                    + "' and a snapshot-dir");
          }
          camera.snapshotsOn(c.snapshotOn());
        }
        return c.snapshotDir() == null ? camera : camera.snapshots(Path.of(c.snapshotDir()));
      }
      case "voice" -> {
        LoadedModel m = models.require(c.model() == null ? "vad" : c.model(), null);
        if (m.vad() == null) {
          throw new IllegalArgumentException(
              "mass.pipelines." + c.name() + ".model: '" + m.name() + "' is not a vad model");
        }
        int rate = m.vad().sampleRate();
        int frame = m.vad().frameSamples();
        AudioSource source =
            switch (c.source()) {
              case "wav" ->
                  new WavFileSource(c.name(), Path.of(require(c, c.input(), "input")), rate, frame);
              case "ffmpeg" ->
                  ProcessAudioSource.ffmpeg(
                      c.name(), require(c, c.input(), "input"), opts, rate, frame);
              case "java-sound" -> new JavaSoundSource(c.name(), c.input(), rate, frame);
              default ->
                  throw new IllegalArgumentException(
                      "mass.pipelines."
                          + c.name()
                          + ".source: '"
                          + c.source()
                          + "' is not a microphone source; use wav, ffmpeg or java-sound");
            };
        var vadHead =
            c.threads() > 0
                ? new dev.massedge.inference.vad.VoiceActivityDetector(
                    ownSession(c, m), m.descriptor())
                : m.vad();
        VoicePipeline voice =
            new VoicePipeline(
                c.name(),
                source,
                vadHead,
                wakeWords(c),
                bus,
                c.buttonPin() == null ? null : gpio.button(c.name() + "-button", c.buttonPin()));
        if (c.sessionFrom() != null) {
          if (configs.stream()
              .noneMatch(x -> x.name().equals(c.sessionFrom()) && x.kind().equals("camera"))) {
            throw new IllegalArgumentException(
                "mass.pipelines."
                    + c.name()
                    + ".session-from: there is no camera pipeline '"
                    + c.sessionFrom()
                    + "'");
          }
          voice.sessionsFrom(c.sessionFrom());
        }
        return c.utteranceDir() == null ? voice : voice.utterances(Path.of(c.utteranceDir()));
      }
      default ->
          throw new IllegalArgumentException(
              "mass.pipelines." + c.name() + ".kind: '" + c.kind() + "'; use camera or voice");
    }
  }

  /** A session of the pipeline's model of its own, with the pipeline's thread budget. */
  ModelSession ownSession(PipelineConfig c, LoadedModel m) {
    ModelSession s =
        new dev.massedge.inference.Engines()
            .get(m.descriptor().engine())
            .open(m.dir().resolve(m.descriptor().file()), EngineOptions.cpu(c.threads()));
    owned.add(s);
    return s;
  }

  /** How fast a motion gate's background follows the picture: ~2 s at 10 frames/s. */
  static final double MOTION_ALPHA = 0.05;

  static Gate gate(PipelineConfig c, GpioService gpio, SensorGates sensors) {
    int gates =
        (c.gatePin() != null ? 1 : 0) + (c.gateSensor() != null ? 1 : 0) + (c.gateMotion() ? 1 : 0);
    if (gates > 1) {
      throw new IllegalArgumentException(
          "mass.pipelines."
              + c.name()
              + ": gate-pin, gate-sensor and gate-motion are exclusive; choose one");
    }
    if (c.gateMotion()) {
      try {
        return new MotionGate(c.motionThreshold(), c.motionArea(), MOTION_ALPHA);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("mass.pipelines." + c.name() + ": " + e.getMessage());
      }
    }
    if (c.gatePin() != null) {
      return Gate.of(gpio.motionSensor(c.name() + "-pir", c.gatePin()));
    }
    return c.gateSensor() == null ? null : sensors.gate(c.gateSensor());
  }

  /** The wake word detector of a voice pipeline, or null when it has no wake words. */
  static WakeWordDetector wakeWords(PipelineConfig c) {
    if (c.wakeWords() == null || c.wakeWords().isEmpty()) {
      return null;
    }
    Path dir = Path.of(require(c, c.wakeWordDir(), "wake-word-dir"));
    OnnxEngine engine = new OnnxEngine();
    Map<String, ModelSession> heads = new LinkedHashMap<>();
    for (String w : c.wakeWords()) {
      Path f = dir.resolve(w.endsWith(".onnx") ? w : w + ".onnx");
      if (!java.nio.file.Files.isRegularFile(f)) {
        throw new IllegalArgumentException(
            "mass.pipelines."
                + c.name()
                + ".wake-words: no head model "
                + f
                + " (fetch the demo models with models/fetch-models.sh, or bring your own)");
      }
      heads.put(w.replace(".onnx", ""), engine.open(f, EngineOptions.cpu(1)));
    }
    return new WakeWordDetector(
        engine.open(dir.resolve("melspectrogram.onnx"), EngineOptions.cpu(1)),
        engine.open(embedding(c, dir), EngineOptions.cpu(1)),
        heads,
        c.wakeThreshold(),
        2.0);
  }

  static Path embedding(PipelineConfig c, Path dir) {
    Path f = dir.resolve(c.wakeWordEmbedding());
    if (!java.nio.file.Files.isRegularFile(f)) {
      throw new IllegalArgumentException(
          "mass.pipelines."
              + c.name()
              + ".wake-word-embedding: "
              + f
              + " does not exist"
              + (c.wakeWordEmbedding().contains("int8")
                  ? " (make it with: ./mass model quantize-wakeword "
                      + dir
                      + " --heads ... --calibration WAVS)"
                  : ""));
    }
    return f;
  }

  /** Faces in view per camera pipeline (tracks entered and not yet left). */
  private final Map<String, Integer> facesInView = new java.util.concurrent.ConcurrentHashMap<>();

  private final java.util.concurrent.ScheduledExecutorService triggers =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "pipeline-triggers");
            t.setDaemon(true);
            return t;
          });

  private final Map<String, java.util.concurrent.ScheduledFuture<?>> closing =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * The edges between pipelines: a wake word on voice pipeline V takes a snapshot on every camera
   * with {@code snapshot-on: V}; a face entering camera pipeline X opens a voice session on every
   * voice pipeline with {@code session-from: X}; when the last face has left, the session closes
   * after {@code session-grace-seconds} (a face coming back in time keeps it open).
   */
  private void trigger(PipelineEvent e) {
    if (e instanceof PipelineEvent.WakeWord w) {
      // a wake word on voice pipeline V: a snapshot from every camera with snapshot-on: V
      for (PipelineConfig c : configs) {
        if (w.pipeline().equals(c.snapshotOn())
            && pipeline(c.name()) instanceof CameraPipeline cam) {
          cam.requestSnapshot("wake_word:" + w.pipeline());
        }
      }
      return;
    }
    if (e instanceof PipelineEvent.FaceEntered f) {
      facesInView.merge(f.pipeline(), 1, Integer::sum);
      for (PipelineConfig c : configs) {
        if (f.pipeline().equals(c.sessionFrom()) && pipeline(c.name()) instanceof VoicePipeline v) {
          var pending = closing.remove(c.name());
          if (pending != null) {
            pending.cancel(false);
          }
          v.openSession("face:" + f.pipeline());
        }
      }
    } else if (e instanceof PipelineEvent.FaceLeft f) {
      int left = facesInView.merge(f.pipeline(), -1, (a, b) -> Math.max(0, a + b));
      if (left > 0) {
        return;
      }
      for (PipelineConfig c : configs) {
        if (f.pipeline().equals(c.sessionFrom()) && pipeline(c.name()) instanceof VoicePipeline v) {
          closeLater(c, v);
        }
      }
    }
  }

  /**
   * A camera pipeline (re)starts with a new tracker that will not report the faces it had as left:
   * its count starts again from zero, and the voice sessions it opened close after their grace time
   * unless a face enters again (which cancels the close).
   */
  private void cameraReset(String camera) {
    facesInView.put(camera, 0);
    for (PipelineConfig c : configs) {
      if (camera.equals(c.sessionFrom()) && pipelines.get(c.name()) instanceof VoicePipeline v) {
        closeLater(c, v);
      }
    }
  }

  /** Closes {@code v}'s session after its grace time (a face entering first cancels it). */
  private void closeLater(PipelineConfig c, VoicePipeline v) {
    var before =
        closing.put(
            c.name(),
            triggers.schedule(
                () -> {
                  closing.remove(c.name());
                  v.closeSession();
                },
                (long) (c.sessionGraceSeconds() * 1000),
                java.util.concurrent.TimeUnit.MILLISECONDS));
    if (before != null) {
      before.cancel(false);
    }
  }

  private synchronized Pipeline pipeline(String name) {
    return pipelines.get(name);
  }

  private static String require(PipelineConfig c, String value, String key) {
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("mass.pipelines." + c.name() + "." + key + " is required");
    }
    return value;
  }

  /**
   * Rebuilds the pipelines that run {@code model}, after a new version of it became active (or an
   * old one came back): each stops, and starts again on the model now active.
   */
  public synchronized void restartUsing(String model) {
    for (PipelineConfig c : configs) {
      String uses =
          c.model() != null ? c.model() : c.kind().equals("camera") ? "face-short" : "vad";
      if (!enabledOverride.getOrDefault(c.name(), c.enabled()) || !uses.equals(model)) {
        continue;
      }
      Pipeline old = pipelines.remove(c.name());
      if (old != null) {
        old.close();
      }
      launch(c, "restarted on a new version of " + model);
    }
  }

  /** Remote overrides from the twin, by pipeline: {@code enabled}. */
  private final Map<String, Boolean> enabledOverride = new LinkedHashMap<>();

  /** Remote overrides from the twin, by pipeline: the {@link #SETTABLE} settings. */
  private final Map<String, Map<String, Double>> settingsOverride = new LinkedHashMap<>();

  /**
   * What the twin may change in a pipeline besides {@code enabled}, each with its allowed range:
   * the rate and the decisions (tracker hits, leave delay, wake-word threshold, gate hold), never
   * what the pipeline reads, runs or writes (sources, models, directories, pins stay local).
   */
  static final Map<String, double[]> SETTABLE =
      new java.util.TreeMap<>(
          Map.of(
              "fps", new double[] {0.1, 60},
              "min-hits", new double[] {1, 100},
              "leave-after-seconds", new double[] {0.1, 600},
              "wake-threshold", new double[] {0.01, 1},
              "gate-hold-seconds", new double[] {0, 3600}));

  /** The pipeline's configuration with the twin's settings in force. */
  PipelineConfig effective(PipelineConfig c) {
    Map<String, Double> o = settingsOverride.getOrDefault(c.name(), Map.of());
    if (o.isEmpty()) {
      return c;
    }
    return new PipelineConfig(
        c.name(),
        c.kind(),
        c.source(),
        c.input(),
        c.inputOptions(),
        c.width(),
        c.height(),
        o.getOrDefault("fps", c.fps()),
        c.detectWidth(),
        c.detectHeight(),
        c.model(),
        o.containsKey("min-hits") ? o.get("min-hits").intValue() : c.minHits(),
        o.getOrDefault("leave-after-seconds", c.leaveAfterSeconds()),
        c.enabled(),
        c.wakeWordDir(),
        c.wakeWords(),
        o.containsKey("wake-threshold") ? o.get("wake-threshold").floatValue() : c.wakeThreshold(),
        c.wakeWordEmbedding(),
        c.gatePin(),
        c.gateSensor(),
        c.gateMotion(),
        c.motionThreshold(),
        c.motionArea(),
        o.getOrDefault("gate-hold-seconds", c.gateHoldSeconds()),
        c.ledPin(),
        c.buttonPin(),
        c.snapshotDir(),
        c.utteranceDir(),
        c.threads(),
        c.sessionFrom(),
        c.sessionGraceSeconds(),
        c.snapshotOn());
  }

  /** The configuration a pipeline runs with now (local configuration + the twin's settings). */
  public synchronized PipelineConfig config(String name) {
    return configs.stream()
        .filter(x -> x.name().equals(name))
        .findFirst()
        .map(this::effective)
        .orElse(null);
  }

  /**
   * Applies the twin's per-pipeline settings ({@code {"door": {"enabled": false, "fps": 2}}}): a
   * pipeline switched off stops, one switched on starts, one whose settings changed restarts with
   * them; a setting the twin no longer names goes back to the local configuration. Returns, per
   * pipeline, the settings in force or why a setting was refused (an unknown pipeline, a key that
   * cannot be changed remotely, a value out of its range).
   */
  public synchronized Map<String, Object> applyOverrides(Map<String, Object> wanted) {
    Map<String, Object> result = new LinkedHashMap<>();
    Map<String, Map<String, Double>> settings = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : wanted.entrySet()) {
      PipelineConfig c =
          configs.stream().filter(x -> x.name().equals(e.getKey())).findFirst().orElse(null);
      if (c == null) {
        result.put(e.getKey(), Map.of("error", "no pipeline '" + e.getKey() + "' on this device"));
        continue;
      }
      if (!(e.getValue() instanceof Map<?, ?> given)) {
        result.put(e.getKey(), Map.of("error", "settings must be an object"));
        continue;
      }
      Map<String, Object> r = new LinkedHashMap<>();
      Map<String, Double> s = new java.util.TreeMap<>();
      for (Map.Entry<?, ?> kv : given.entrySet()) {
        String key = String.valueOf(kv.getKey());
        double[] range = SETTABLE.get(key);
        if ("enabled".equals(key) && kv.getValue() instanceof Boolean on) {
          setEnabled(c, on);
          r.put("enabled", on);
        } else if (range == null) {
          r.put(
              key,
              Map.of(
                  "error",
                  "not settable remotely (settable: enabled, "
                      + String.join(", ", SETTABLE.keySet())
                      + ")"));
        } else if (!(kv.getValue() instanceof Number n)
            || !(n.doubleValue() >= range[0] && n.doubleValue() <= range[1])) {
          r.put(
              key,
              Map.of(
                  "error",
                  key + " must be a number from " + num(range[0]) + " to " + num(range[1])));
        } else {
          s.put(key, n.doubleValue());
          r.put(key, n);
        }
      }
      settings.put(c.name(), s);
      result.put(e.getKey(), r);
    }
    for (PipelineConfig c : configs) {
      Map<String, Double> now = settings.getOrDefault(c.name(), Map.of());
      Map<String, Double> before = settingsOverride.getOrDefault(c.name(), Map.of());
      if (now.equals(before)) {
        continue;
      }
      if (now.isEmpty()) {
        settingsOverride.remove(c.name());
      } else {
        settingsOverride.put(c.name(), now);
      }
      Pipeline running = pipelines.remove(c.name());
      if (running != null) {
        running.close();
        launch(c, "restarted with the twin's settings " + now);
      }
    }
    return result;
  }

  private static String num(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  private void setEnabled(PipelineConfig c, boolean on) {
    Boolean before = enabledOverride.put(c.name(), on);
    if (before != null && before == on) {
      return;
    }
    Pipeline running = pipelines.get(c.name());
    if (!on && running != null) {
      pipelines.remove(c.name()).close();
      log.info("pipeline {} stopped by the twin", c.name());
    } else if (on && running == null) {
      launch(c, "started by the twin");
    }
  }

  public synchronized List<Map<String, Object>> status() {
    List<Map<String, Object>> out = new ArrayList<>();
    pipelines.values().forEach(p -> out.add(p.status()));
    failed.forEach((n, why) -> out.add(Map.of("name", n, "state", "failed", "error", why)));
    return out;
  }

  public synchronized Pipeline get(String name) {
    return pipelines.get(name);
  }

  @PreDestroy
  @Override
  public synchronized void close() {
    triggers.shutdownNow();
    pipelines.values().forEach(Pipeline::close);
    owned.forEach(ModelSession::close);
  }
}
