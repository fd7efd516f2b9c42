package dev.massedge.inference.face;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Non-maximum suppression over decoded candidates. */
final class Nms {
  private Nms() {}

  /** Keeps the best box of each overlapping group and drops the rest. */
  static List<FaceDetector.Candidate> hard(List<FaceDetector.Candidate> in, float iou) {
    List<FaceDetector.Candidate> sorted = new ArrayList<>(in);
    sorted.sort(Comparator.comparingDouble(FaceDetector.Candidate::score).reversed());
    List<FaceDetector.Candidate> kept = new ArrayList<>();
    for (FaceDetector.Candidate c : sorted) {
      if (kept.stream().noneMatch(k -> k.iou(c) > iou)) {
        kept.add(c);
      }
    }
    return kept;
  }

  /**
   * MediaPipe's weighted NMS: each group of boxes overlapping the best one is replaced by their
   * score-weighted mean (box and keypoints), keeping the best score. Steadier boxes than hard NMS.
   */
  static List<FaceDetector.Candidate> weighted(List<FaceDetector.Candidate> in, float iou) {
    List<FaceDetector.Candidate> remaining = new ArrayList<>(in);
    remaining.sort(Comparator.comparingDouble(FaceDetector.Candidate::score).reversed());
    List<FaceDetector.Candidate> kept = new ArrayList<>();
    while (!remaining.isEmpty()) {
      FaceDetector.Candidate best = remaining.get(0);
      float[] sum = new float[best.values().length];
      float total = 0;
      List<FaceDetector.Candidate> rest = new ArrayList<>();
      for (FaceDetector.Candidate c : remaining) {
        if (c == best || best.iou(c) > iou) {
          for (int i = 0; i < sum.length; i++) {
            sum[i] += c.values()[i] * c.score();
          }
          total += c.score();
        } else {
          rest.add(c);
        }
      }
      for (int i = 0; i < sum.length; i++) {
        sum[i] /= total;
      }
      kept.add(new FaceDetector.Candidate(best.score(), sum));
      remaining = rest;
    }
    return kept;
  }
}
