package dev.massedge.inference.face;

import dev.massedge.inference.DataType;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TensorSpec;
import dev.massedge.inference.image.Image;
import dev.massedge.inference.image.Letterbox;
import dev.massedge.inference.model.ModelDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Anchor-based face detection (BlazeFace and other SSD-style models): letterbox and normalise into
 * a reused direct buffer, run, decode boxes and keypoints against the anchors, non-maximum
 * suppression, and boxes mapped back to source-image pixels. Safe for concurrent use.
 */
public final class FaceDetector {
  private final ModelSession session;
  private final ModelDescriptor.ImageInput in;
  private final ModelDescriptor.FaceDecoding dec;
  private final long[] inputShape;
  private final float[] anchorX;
  private final float[] anchorY;
  private final int boxValues;
  private final List<String> keypointNames;
  private final ConcurrentLinkedQueue<ByteBuffer> buffers = new ConcurrentLinkedQueue<>();

  public FaceDetector(ModelSession session, ModelDescriptor descriptor) {
    this.session = session;
    this.in = descriptor.image();
    this.dec = descriptor.face();
    boolean nchw = in.layout().equals("NCHW");
    this.inputShape =
        nchw
            ? new long[] {1, 3, in.height(), in.width()}
            : new long[] {1, in.height(), in.width(), 3};
    int n = 0;
    for (var layer : dec.anchors()) {
      n += layer.grid() * layer.grid() * layer.perCell();
    }
    anchorX = new float[n];
    anchorY = new float[n];
    int i = 0;
    for (var layer : dec.anchors()) {
      for (int y = 0; y < layer.grid(); y++) {
        for (int x = 0; x < layer.grid(); x++) {
          for (int k = 0; k < layer.perCell(); k++, i++) {
            anchorX[i] = (x + 0.5f) / layer.grid();
            anchorY[i] = (y + 0.5f) / layer.grid();
          }
        }
      }
    }
    long scoreCount = 0;
    long boxCount = 0;
    int values = -1;
    for (TensorSpec s : session.outputs()) {
      if (dec.scores().contains(s.name())) {
        scoreCount += Tensor.elementCount(positive(s.shape()));
      }
      if (dec.boxes().contains(s.name())) {
        long[] sh = s.shape();
        boxCount += sh[1];
        values = (int) sh[sh.length - 1];
      }
    }
    if (scoreCount != n || boxCount != n) {
      throw new InferenceException(
          "descriptor_mismatch",
          "model '"
              + descriptor.name()
              + "' has "
              + scoreCount
              + " scores and "
              + boxCount
              + " boxes but its anchors "
              + dec.anchors()
              + " make "
              + n);
    }
    this.boxValues = values;
    int kp = (values - 4) / 2;
    List<String> names = new ArrayList<>();
    for (int k = 0; k < kp; k++) {
      names.add(
          dec.keypoints() != null && k < dec.keypoints().size() ? dec.keypoints().get(k) : "k" + k);
    }
    this.keypointNames = List.copyOf(names);
  }

  private static long[] positive(long[] shape) {
    long[] s = shape.clone();
    for (int i = 0; i < s.length; i++) {
      s[i] = Math.max(1, s[i]);
    }
    return s;
  }

  public ModelSession session() {
    return session;
  }

  public int anchorCount() {
    return anchorX.length;
  }

  /** The model input for an image (a fresh buffer): for calibration and evaluation tools. */
  public Tensor inputTensor(Image image) {
    Letterbox lb =
        Letterbox.fit(
            image.width(),
            image.height(),
            in.width(),
            in.height(),
            in.resize().equals("letterbox"));
    ByteBuffer buf =
        ByteBuffer.allocateDirect(in.width() * in.height() * 3 * 4).order(ByteOrder.nativeOrder());
    lb.write(
        image,
        buf.asFloatBuffer(),
        in.layout().equals("NCHW"),
        in.channels().equals("BGR"),
        in.scale(),
        in.offset());
    return Tensor.of(DataType.FP32, inputShape, buf);
  }

  public String inputName() {
    return in.input();
  }

  /** Detects faces with the descriptor's score threshold. */
  public List<Face> detect(Image image) {
    return detect(image, dec.scoreThreshold());
  }

  public List<Face> detect(Image image, float scoreThreshold) {
    Letterbox lb =
        Letterbox.fit(
            image.width(),
            image.height(),
            in.width(),
            in.height(),
            in.resize().equals("letterbox"));
    ByteBuffer buf = buffers.poll();
    if (buf == null) {
      buf =
          ByteBuffer.allocateDirect(in.width() * in.height() * 3 * 4)
              .order(ByteOrder.nativeOrder());
    }
    try {
      FloatBuffer fb = buf.clear().asFloatBuffer();
      lb.write(
          image,
          fb,
          in.layout().equals("NCHW"),
          in.channels().equals("BGR"),
          in.scale(),
          in.offset());
      Map<String, Tensor> out =
          session.run(Map.of(in.input(), Tensor.of(DataType.FP32, inputShape, buf.clear())));
      return decode(out, lb, scoreThreshold);
    } finally {
      buffers.offer(buf);
    }
  }

  /**
   * Decodes raw model outputs (exposed for tests and for callers that ran the model themselves).
   */
  public List<Face> decode(Map<String, Tensor> outputs, Letterbox lb, float scoreThreshold) {
    float[] scores = concat(outputs, dec.scores());
    float[] boxes = concat(outputs, dec.boxes());
    // logit threshold: sigmoid(x) >= t  <=>  x >= log(t / (1 - t))
    float logitMin = (float) Math.log(scoreThreshold / (1 - scoreThreshold));
    List<Candidate> candidates = new ArrayList<>();
    float w = in.width();
    float h = in.height();
    for (int i = 0; i < scores.length; i++) {
      if (scores[i] < logitMin) {
        continue;
      }
      float score = (float) (1 / (1 + Math.exp(-Math.max(-80, Math.min(80, scores[i])))));
      int o = i * boxValues;
      float cx = anchorX[i] + boxes[o] / w;
      float cy = anchorY[i] + boxes[o + 1] / h;
      float bw = boxes[o + 2] / w;
      float bh = boxes[o + 3] / h;
      float[] v = new float[4 + keypointNames.size() * 2];
      v[0] = cx - bw / 2;
      v[1] = cy - bh / 2;
      v[2] = cx + bw / 2;
      v[3] = cy + bh / 2;
      for (int k = 0; k < keypointNames.size(); k++) {
        v[4 + 2 * k] = anchorX[i] + boxes[o + 4 + 2 * k] / w;
        v[5 + 2 * k] = anchorY[i] + boxes[o + 5 + 2 * k] / h;
      }
      candidates.add(new Candidate(score, v));
    }
    List<Candidate> kept =
        "hard".equals(dec.nms())
            ? Nms.hard(candidates, dec.iouThreshold())
            : Nms.weighted(candidates, dec.iouThreshold());
    List<Face> faces = new ArrayList<>(kept.size());
    for (Candidate c : kept) {
      float[] v = c.values();
      float x0 = clamp(lb.toSourceX(v[0] * w), lb.srcWidth());
      float y0 = clamp(lb.toSourceY(v[1] * h), lb.srcHeight());
      float x1 = clamp(lb.toSourceX(v[2] * w), lb.srcWidth());
      float y1 = clamp(lb.toSourceY(v[3] * h), lb.srcHeight());
      List<Face.Keypoint> kps = new ArrayList<>(keypointNames.size());
      for (int k = 0; k < keypointNames.size(); k++) {
        kps.add(
            new Face.Keypoint(
                keypointNames.get(k),
                lb.toSourceX(v[4 + 2 * k] * w),
                lb.toSourceY(v[5 + 2 * k] * h)));
      }
      faces.add(new Face(x0, y0, x1 - x0, y1 - y0, c.score(), List.copyOf(kps)));
    }
    return faces;
  }

  private static float clamp(float v, int max) {
    return Math.max(0, Math.min(v, max));
  }

  private static float[] concat(Map<String, Tensor> outputs, List<String> names) {
    if (names.size() == 1) {
      return outputs.get(names.get(0)).toFloatArray();
    }
    float[][] parts = new float[names.size()][];
    int n = 0;
    for (int i = 0; i < parts.length; i++) {
      parts[i] = outputs.get(names.get(i)).toFloatArray();
      n += parts[i].length;
    }
    float[] all = new float[n];
    int o = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, all, o, p.length);
      o += p.length;
    }
    return all;
  }

  /** A decoded box (x0, y0, x1, y1 normalised, then keypoint pairs) with its score. */
  record Candidate(float score, float[] values) {
    float iou(Candidate o) {
      float[] a = values;
      float[] b = o.values;
      float ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
      float iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
      float inter = ix * iy;
      float union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
      return union <= 0 ? 0 : inter / union;
    }

    @Override
    public String toString() {
      return score + Arrays.toString(values);
    }
  }
}
