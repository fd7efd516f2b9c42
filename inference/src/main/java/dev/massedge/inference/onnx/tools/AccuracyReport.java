package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.face.Face;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.image.RgbImage;
import dev.massedge.inference.model.ModelDescriptor;
import dev.massedge.inference.vad.SpeechSegment;
import dev.massedge.inference.vad.VoiceActivityDetector;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A converted model against its float original on the same inputs: per output, the cosine
 * similarity and the largest absolute error; for face detection, matched faces, IoU and score
 * changes, missed and new faces; for VAD, segment agreement. {@link #violations()} lists every
 * bound the conversion broke.
 */
public record AccuracyReport(
    Map<String, OutputAgreement> outputs,
    FaceAgreement faces,
    SegmentAgreement segments,
    List<String> violations) {

  public record OutputAgreement(double minCosine, double meanCosine, double maxAbsError) {}

  public record FaceAgreement(
      int images,
      int referenceFaces,
      int matched,
      int missed,
      int newFaces,
      double minIou,
      double maxScoreDelta) {}

  public record SegmentAgreement(
      int recordings,
      int referenceSegments,
      int matched,
      int missed,
      int extra,
      double maxBoundaryDeltaMs) {}

  public boolean passed() {
    return violations.isEmpty();
  }

  /** Compares the two sessions on raw samples, then on the task's own inputs. */
  public static AccuracyReport compare(
      ModelSession reference,
      ModelSession candidate,
      ModelDescriptor descriptor,
      List<Map<String, Tensor>> samples,
      List<Path> taskInputs,
      AccuracyBounds bounds) {
    List<String> violations = new ArrayList<>();
    Map<String, double[]> acc = new LinkedHashMap<>(); // min cos, sum cos, max err, count
    for (Map<String, Tensor> s : samples) {
      Map<String, Tensor> a = reference.run(s);
      Map<String, Tensor> b = candidate.run(s);
      for (var e : a.entrySet()) {
        Tensor other = b.get(e.getKey());
        if (e.getValue().type() != dev.massedge.inference.DataType.FP32 || other == null) {
          continue;
        }
        double[] st = acc.computeIfAbsent(e.getKey(), k -> new double[] {1, 0, 0, 0});
        FloatBuffer x = e.getValue().floats();
        FloatBuffer y = other.floats();
        double dot = 0;
        double nx = 0;
        double ny = 0;
        double err = 0;
        for (int i = 0; i < x.remaining(); i++) {
          double u = x.get(i);
          double v = y.get(i);
          dot += u * v;
          nx += u * u;
          ny += v * v;
          err = Math.max(err, Math.abs(u - v));
        }
        double cos = nx == 0 && ny == 0 ? 1 : dot / Math.sqrt(nx * ny + 1e-30);
        st[0] = Math.min(st[0], cos);
        st[1] += cos;
        st[2] = Math.max(st[2], err);
        st[3]++;
      }
    }
    Map<String, OutputAgreement> outputs = new LinkedHashMap<>();
    List<String> cosineViolations = new ArrayList<>();
    acc.forEach(
        (k, st) -> {
          outputs.put(k, new OutputAgreement(st[0], st[1] / st[3], st[2]));
          if (st[0] < bounds.minCosine()) {
            cosineViolations.add(
                String.format("output '%s': cosine %.4f < %.4f", k, st[0], bounds.minCosine()));
          }
        });
    FaceAgreement faces = null;
    SegmentAgreement segments = null;
    if (descriptor.task().equals("face-detection") && !taskInputs.isEmpty()) {
      faces =
          faces(
              new FaceDetector(reference, descriptor),
              new FaceDetector(candidate, descriptor),
              taskInputs,
              bounds,
              violations);
    } else if (descriptor.task().equals("vad") && !taskInputs.isEmpty()) {
      segments =
          segments(
              new VoiceActivityDetector(reference, descriptor),
              new VoiceActivityDetector(candidate, descriptor),
              taskInputs,
              bounds,
              violations);
    }
    // Where the task itself can be checked (faces, speech segments), that is the gate: raw
    // outputs such as background logits or a recurrent state move a lot without changing a single
    // result. For generic tensor models the outputs are all there is.
    if (faces == null && segments == null) {
      violations.addAll(cosineViolations);
    }
    return new AccuracyReport(outputs, faces, segments, violations);
  }

  private static FaceAgreement faces(
      FaceDetector ref,
      FaceDetector cand,
      List<Path> images,
      AccuracyBounds b,
      List<String> violations) {
    int refCount = 0;
    int matched = 0;
    int missed = 0;
    int added = 0;
    double minIou = 1;
    double maxDelta = 0;
    for (Path p : images) {
      RgbImage img = decode(p);
      List<Face> want = ref.detect(img);
      List<Face> got = new ArrayList<>(cand.detect(img));
      refCount += want.size();
      for (Face w : want) {
        Face best = null;
        for (Face g : got) {
          if (best == null || w.iou(g) > w.iou(best)) {
            best = g;
          }
        }
        if (best == null || w.iou(best) < 0.3) {
          missed++;
          violations.add(p.getFileName() + ": a face (score " + w.score() + ") is missed");
          continue;
        }
        got.remove(best);
        matched++;
        double iou = w.iou(best);
        double delta = Math.abs(w.score() - best.score());
        minIou = Math.min(minIou, iou);
        maxDelta = Math.max(maxDelta, delta);
        if (iou < b.minIou()) {
          violations.add(String.format("%s: IoU %.3f < %.3f", p.getFileName(), iou, b.minIou()));
        }
        if (delta > b.maxScoreDelta()) {
          violations.add(
              String.format(
                  "%s: score moved %.3f > %.3f", p.getFileName(), delta, b.maxScoreDelta()));
        }
      }
      added += got.size();
      if (!got.isEmpty() && !b.allowNewDetections()) {
        violations.add(
            p.getFileName()
                + ": "
                + got.size()
                + " new detection(s), best score "
                + got.get(0).score());
      }
    }
    return new FaceAgreement(images.size(), refCount, matched, missed, added, minIou, maxDelta);
  }

  private static SegmentAgreement segments(
      VoiceActivityDetector ref,
      VoiceActivityDetector cand,
      List<Path> wavs,
      AccuracyBounds b,
      List<String> violations) {
    int refCount = 0;
    int matched = 0;
    int missed = 0;
    int extra = 0;
    double maxDelta = 0;
    for (Path p : wavs) {
      PcmAudio a;
      try {
        a = WavDecoder.decode(Files.readAllBytes(p));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      List<SpeechSegment> want = ref.segments(a);
      List<SpeechSegment> got = new ArrayList<>(cand.segments(a));
      refCount += want.size();
      for (SpeechSegment w : want) {
        SpeechSegment best = null;
        for (SpeechSegment g : got) {
          if (g.endMs() > w.startMs() && g.startMs() < w.endMs()) {
            best = g;
            break;
          }
        }
        if (best == null) {
          missed++;
          violations.add(p.getFileName() + ": speech at " + w.startMs() + " ms is missed");
          continue;
        }
        got.remove(best);
        matched++;
        double d =
            Math.max(Math.abs(w.startMs() - best.startMs()), Math.abs(w.endMs() - best.endMs()));
        maxDelta = Math.max(maxDelta, d);
        if (d > b.maxBoundaryMs()) {
          violations.add(
              String.format(
                  "%s: a boundary moved %.0f ms > %.0f", p.getFileName(), d, b.maxBoundaryMs()));
        }
      }
      extra += got.size();
      if (!got.isEmpty()) {
        violations.add(p.getFileName() + ": " + got.size() + " extra speech segment(s)");
      }
    }
    return new SegmentAgreement(wavs.size(), refCount, matched, missed, extra, maxDelta);
  }

  private static RgbImage decode(Path p) {
    try {
      return ImageDecoder.decode(Files.readAllBytes(p));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
