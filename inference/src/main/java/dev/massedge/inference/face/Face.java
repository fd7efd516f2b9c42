package dev.massedge.inference.face;

import java.util.List;

/**
 * One detected face, in source-image pixels.
 *
 * @param x left edge
 * @param y top edge
 * @param width box width
 * @param height box height
 * @param score detection confidence in [0, 1]
 * @param keypoints the model's landmarks (BlazeFace: eyes, nose, mouth, ears)
 */
public record Face(
    float x, float y, float width, float height, float score, List<Keypoint> keypoints) {

  public record Keypoint(String name, float x, float y) {}

  /** The same face in a picture scaled by (sx, sy): boxes and keypoints. */
  public Face scaled(float sx, float sy) {
    return new Face(
        x * sx,
        y * sy,
        width * sx,
        height * sy,
        score,
        keypoints.stream().map(k -> new Keypoint(k.name(), k.x() * sx, k.y() * sy)).toList());
  }

  /** Intersection over union with another box. */
  public float iou(float ox, float oy, float ow, float oh) {
    float ix = Math.max(0, Math.min(x + width, ox + ow) - Math.max(x, ox));
    float iy = Math.max(0, Math.min(y + height, oy + oh) - Math.max(y, oy));
    float inter = ix * iy;
    float union = width * height + ow * oh - inter;
    return union <= 0 ? 0 : inter / union;
  }

  public float iou(Face o) {
    return iou(o.x, o.y, o.width, o.height);
  }
}
