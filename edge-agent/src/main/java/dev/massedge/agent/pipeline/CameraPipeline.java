package dev.massedge.agent.pipeline;

import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.drivers.camera.Frame;
import dev.massedge.drivers.camera.FrameSource;
import dev.massedge.drivers.gpio.StatusLed;
import dev.massedge.inference.face.Face;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.image.Image;
import dev.massedge.inference.image.RgbImage;
import dev.massedge.inference.image.Yuv420Image;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Camera → face detection → tracker → events. One thread; the camera drops what it cannot use. */
public final class CameraPipeline implements Pipeline {
  private static final Logger log = LoggerFactory.getLogger(CameraPipeline.class);
  private final String name;
  private final FrameSource source;
  private final FaceDetector detector;
  private final FaceTracker tracker;
  private final EventBus bus;
  private final AtomicLong processed = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final PipelineThread worker = new PipelineThread();
  private volatile String state = "created";
  private volatile long startedNanos;

  private final Gate gate;
  private final double gateHoldSeconds;
  private final StatusLed led;
  private volatile ModelRegistry.Stats modelStats;
  private final AtomicLong gated = new AtomicLong();
  private final LatencyRecorder frameLatency = new LatencyRecorder();
  private final LatencyRecorder eventLatency = new LatencyRecorder();
  private volatile long lastMotionNanos = Long.MIN_VALUE / 2;

  public CameraPipeline(
      String name,
      FrameSource source,
      FaceDetector detector,
      FaceTracker tracker,
      EventBus bus,
      Gate gate,
      double gateHoldSeconds,
      StatusLed led) {
    this.name = name;
    this.source = source;
    this.detector = detector;
    this.tracker = tracker;
    this.bus = bus;
    this.gate = gate;
    this.gateHoldSeconds = gateHoldSeconds;
    this.led = led;
    if (gate != null) {
      // the hold runs from the last change: the start of motion, and again from its end
      gate.onChange(motion -> lastMotionNanos = System.nanoTime());
    }
  }

  private Path snapshotDir;
  private int pictureWidth;
  private int pictureHeight;

  /**
   * Counts this pipeline's inferences (calls, failures, latency) into a model version's stats, so
   * the health window and the fleet's rollout gates see the model at work, not only HTTP calls.
   */
  public CameraPipeline countInto(ModelRegistry.Stats stats) {
    this.modelStats = stats;
    return this;
  }

  /**
   * The camera's own size when frames are analysed smaller (detect resolution): boxes in events are
   * given in the camera's pixels. Snapshots stay at the analysed size.
   */
  public CameraPipeline pictureSize(int width, int height) {
    this.pictureWidth = width;
    this.pictureHeight = height;
    return this;
  }

  /** Writes a JPEG with boxes into {@code dir} for every face that enters. */
  public CameraPipeline snapshots(Path dir) {
    this.snapshotDir = dir;
    return this;
  }

  private PipelineEvent withSnapshot(PipelineEvent.FaceEntered e, Frame f, List<Face> faces) {
    try {
      Path p =
          Snapshots.write(
              snapshotDir,
              name + "-" + e.epochMillis() + "-track" + e.track(),
              f.width(),
              f.height(),
              rgb(f),
              faces);
      return new PipelineEvent.FaceEntered(
          e.pipeline(), e.track(), e.streamSeconds(), e.epochMillis(), e.face(), p.toString());
    } catch (java.io.IOException x) {
      log.warn("pipeline {}: snapshot not written: {}", name, x.getMessage());
      return e;
    }
  }

  private volatile String snapshotWanted;
  private String snapshotOn; // the voice pipeline whose wake words take snapshots, for status
  private final java.util.concurrent.atomic.AtomicLong snapshotsTaken =
      new java.util.concurrent.atomic.AtomicLong();

  /** Says which voice pipeline's wake words take this camera's snapshots (shown in status). */
  CameraPipeline snapshotsOn(String voice) {
    this.snapshotOn = voice;
    return this;
  }

  /**
   * Asks for a snapshot of the next analysed frame (a trigger from another pipeline); {@code
   * reason} goes into the {@code snapshot} event. Needs a snapshot directory.
   */
  public void requestSnapshot(String reason) {
    if (snapshotDir == null) {
      log.warn("pipeline {}: snapshot for {} not taken: no snapshot-dir configured", name, reason);
      return;
    }
    snapshotWanted = reason;
  }

  private void takeSnapshot(String reason, Frame f, List<Face> faces) {
    try {
      long now = System.currentTimeMillis();
      Path p =
          Snapshots.write(
              snapshotDir,
              name + "-" + now + "-" + reason.replaceAll("[^A-Za-z0-9_-]", "_"),
              f.width(),
              f.height(),
              rgb(f),
              faces);
      snapshotsTaken.incrementAndGet();
      bus.publish(
          new PipelineEvent.Snapshot(
              name, reason, p.toString(), faces.size(), f.streamSeconds(), now));
    } catch (java.io.IOException x) {
      log.warn("pipeline {}: snapshot for {} not written: {}", name, reason, x.getMessage());
    }
  }

  /** The frame as the detector reads it, without copying or converting its pixels. */
  static Image image(Frame f) {
    return switch (f.format()) {
      case RGB24 -> new RgbImage(f.width(), f.height(), f.pixels());
      case I420 -> new Yuv420Image(f.width(), f.height(), f.pixels());
    };
  }

  /** The frame's pixels as packed RGB (converted from I420: snapshots only). */
  static byte[] rgb(Frame f) {
    return image(f).toRgb().pixels();
  }

  /**
   * Whether frames are analysed now: always without a gate; with one (PIR, CoAP sensor, motion in
   * the picture), while it is active and for the hold after its last change.
   */
  boolean open() {
    if (gate == null || gate.active()) {
      return true;
    }
    return (System.nanoTime() - lastMotionNanos) / 1e9 < gateHoldSeconds;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String kind() {
    return "camera";
  }

  @Override
  public synchronized void start() {
    if (worker.started()) {
      return;
    }
    startedNanos = System.nanoTime();
    source.start();
    worker.start(name, this::run);
  }

  private void run() {
    state = "running";
    boolean wasOpen = true;
    try {
      while (worker.running()) {
        Frame f = source.next(Duration.ofMillis(500));
        if (f == null) {
          if (source.stats().state() == FrameSource.State.ENDED) {
            break;
          }
          continue;
        }
        if (gate != null) {
          gate.onFrame(f);
        }
        if (!open()) {
          gated.incrementAndGet();
          source.release(f);
          if (wasOpen) {
            // the gate closed: nobody is watched any more, so the faces in view leave
            tracker.finish().forEach(bus::publish);
            if (led != null) {
              led.show(StatusLed.Pattern.OFF);
            }
          }
          wasOpen = false;
          continue;
        }
        wasOpen = true;
        try {
          ModelRegistry.Stats ms = modelStats;
          if (ms != null) {
            ms.calls.incrementAndGet();
          }
          long t0 = System.nanoTime();
          List<Face> faces;
          try {
            faces = detector.detect(image(f));
          } catch (RuntimeException e) {
            if (ms != null) {
              ms.errors.incrementAndGet();
            }
            throw e;
          }
          if (ms != null) {
            ms.latency.record(System.nanoTime() - t0);
          }
          processed.incrementAndGet();
          frameLatency.record(System.nanoTime() - f.capturedNanos());
          List<Face> inPicture = faces;
          if (pictureWidth > 0 && (f.width() != pictureWidth || f.height() != pictureHeight)) {
            float sx = (float) pictureWidth / f.width();
            float sy = (float) pictureHeight / f.height();
            inPicture = faces.stream().map(x -> x.scaled(sx, sy)).toList();
          }
          String wanted = snapshotWanted;
          if (wanted != null) {
            snapshotWanted = null;
            takeSnapshot(wanted, f, faces);
          }
          List<PipelineEvent> events = tracker.update(inPicture, f.streamSeconds());
          for (PipelineEvent e : events) {
            if (snapshotDir != null && e instanceof PipelineEvent.FaceEntered fe) {
              e = withSnapshot(fe, f, faces);
            }
            bus.publish(e);
            eventLatency.record(System.nanoTime() - f.capturedNanos());
          }
          if (led != null) {
            led.show(tracker.facesInView() > 0 ? StatusLed.Pattern.ON : StatusLed.Pattern.OFF);
          }
        } catch (RuntimeException e) {
          errors.incrementAndGet();
          log.warn("pipeline {}: frame {} failed: {}", name, f.sequence(), e.getMessage());
        } finally {
          source.release(f);
        }
      }
      tracker.finish().forEach(bus::publish);
      state = worker.running() ? "ended" : "stopped";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      state = "stopped";
    }
  }

  public long processed() {
    return processed.get();
  }

  /** Frame capture → detections decoded and tracked. */
  public LatencyRecorder frameLatency() {
    return frameLatency;
  }

  /** Frame capture → its events published to subscribers (server-sent events, CoAP observers). */
  public LatencyRecorder eventLatency() {
    return eventLatency;
  }

  @Override
  public Map<String, Object> status() {
    FrameSource.Stats s = source.stats();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("kind", kind());
    m.put("state", state);
    m.put("source", s.state().name().toLowerCase(java.util.Locale.ROOT));
    m.put("frames_captured", s.captured());
    m.put("frames_dropped", s.dropped());
    m.put("frames_processed", processed.get());
    m.put("frame_errors", errors.get());
    m.put("frames_gated", gated.get());
    m.put("gate_open", open());
    if (gate instanceof MotionGate motion) {
      m.put("motion_changed", motion.changed());
      m.put("motion_frames", motion.motionFrames());
      m.put("lighting_changes", motion.lightingChanges());
    }
    m.put("source_restarts", s.restarts());
    m.put("source_error", s.lastError());
    double secs = (System.nanoTime() - startedNanos) / 1e9;
    m.put("processed_fps", startedNanos == 0 || secs <= 0 ? 0 : processed.get() / secs);
    m.put("faces_in_view", tracker.facesInView());
    m.put("frame_latency_ms_p50", frameLatency.percentileMs(50));
    m.put("frame_latency_ms_p99", frameLatency.percentileMs(99));
    m.put("event_latency_ms_p50", eventLatency.percentileMs(50));
    m.put("event_latency_ms_p99", eventLatency.percentileMs(99));
    if (snapshotOn != null) {
      m.put("snapshot_on", snapshotOn);
      m.put("snapshots", snapshotsTaken.get());
    }
    return m;
  }

  @Override
  public void close() {
    worker.stop(source);
  }
}
