package dev.massedge.inference.onnx.tools;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Range statistics of one activation over a calibration set: min, max and a reservoir sample. */
final class ActivationStats {
  static final int RESERVOIR = 1 << 15;
  private final SplittableRandom random = new SplittableRandom(42);
  private final float[] reservoir = new float[RESERVOIR];
  private long seen;
  float min = Float.POSITIVE_INFINITY;
  float max = Float.NEGATIVE_INFINITY;

  void add(java.nio.FloatBuffer values) {
    while (values.hasRemaining()) {
      float v = values.get();
      if (Float.isNaN(v)) {
        continue;
      }
      min = Math.min(min, v);
      max = Math.max(max, v);
      if (seen < RESERVOIR) {
        reservoir[(int) seen] = v;
      } else {
        long j = random.nextLong(seen + 1);
        if (j < RESERVOIR) {
          reservoir[(int) j] = v;
        }
      }
      seen++;
    }
  }

  boolean empty() {
    return seen == 0;
  }

  /** The range to quantize: min/max, or the given lower/upper percentiles of the values seen. */
  float[] range(QuantizationOptions.Calibration method, double percentile) {
    if (method == QuantizationOptions.Calibration.MINMAX || seen == 0) {
      return new float[] {min, max};
    }
    int n = (int) Math.min(seen, RESERVOIR);
    float[] s = Arrays.copyOf(reservoir, n);
    Arrays.sort(s);
    int lo = (int) Math.floor((100 - percentile) / 100 * (n - 1));
    int hi = (int) Math.ceil(percentile / 100 * (n - 1));
    return new float[] {s[Math.max(0, lo)], s[Math.min(n - 1, hi)]};
  }
}
