package dev.massedge.inference.onnx.tools;

/**
 * How much a converted model may differ from its float original before the conversion is refused.
 *
 * @param minCosine lowest cosine similarity allowed for any output on any sample (the gate for
 *     generic tensor models; face-detection and vad models are gated by their task results)
 * @param minIou lowest IoU between a reference face and its match (face-detection)
 * @param maxScoreDelta largest score change of a matched face (face-detection)
 * @param allowNewDetections whether the converted model may find faces the original did not
 * @param maxBoundaryMs largest move of a speech segment boundary (vad)
 */
public record AccuracyBounds(
    double minCosine,
    double minIou,
    double maxScoreDelta,
    boolean allowNewDetections,
    double maxBoundaryMs) {
  public static final AccuracyBounds DEFAULTS = new AccuracyBounds(0.98, 0.8, 0.1, false, 100);
}
