package dev.massedge.inference.model;

import dev.massedge.inference.DataType;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TensorSpec;
import dev.massedge.inference.image.RgbImage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs a freshly loaded model on a sample input before it may serve: the task's own path (a blank
 * frame through the face head, a silent frame through the VAD stream) or, for a tensor model, a
 * deterministic input of every declared shape (dynamic dimensions as 1). The outputs must be finite
 * and the median latency within a bound; the median is returned so a health window can compare
 * versions.
 */
public final class SmokeTest {
  private SmokeTest() {}

  /** Runs {@code runs} times; returns the median latency in nanoseconds, or throws why not. */
  public static long run(LoadedModel m, int runs, long maxLatencyNanos) {
    if (!m.ready()) {
      throw new InferenceException(
          "smoke_test_failed",
          "model " + m.name() + " v" + m.version() + " did not load: " + m.failure().message());
    }
    long[] t = new long[Math.max(1, runs)];
    try {
      for (int i = 0; i < t.length; i++) {
        long t0 = System.nanoTime();
        once(m);
        t[i] = System.nanoTime() - t0;
      }
    } catch (RuntimeException e) {
      throw new InferenceException(
          "smoke_test_failed",
          "model "
              + m.name()
              + " v"
              + m.version()
              + " failed on its sample input: "
              + e.getMessage());
    }
    Arrays.sort(t);
    long median = t[t.length / 2];
    if (maxLatencyNanos > 0 && median > maxLatencyNanos) {
      throw new InferenceException(
          "smoke_test_failed",
          String.format(
              "model %s v%s took %.1f ms on its sample input; the bound is %.1f ms",
              m.name(), m.version(), median / 1e6, maxLatencyNanos / 1e6));
    }
    return median;
  }

  private static void once(LoadedModel m) {
    if (m.faceDetector() != null) {
      int w = m.descriptor().image().width();
      int h = m.descriptor().image().height();
      m.faceDetector().detect(new RgbImage(w, h, new byte[w * h * 3]));
      return;
    }
    if (m.vad() != null) {
      m.vad().newStream().accept(new float[m.vad().frameSamples()], 0, m.vad().frameSamples());
      return;
    }
    Map<String, Tensor> in = new LinkedHashMap<>();
    for (TensorSpec s : m.session().inputs()) {
      long[] shape = Arrays.stream(s.shape()).map(d -> d < 0 ? 1 : d).toArray();
      int n = (int) Tensor.elementCount(shape);
      if (s.type() == DataType.BYTES) {
        in.put(s.name(), Tensor.ofStrings(shape, java.util.Collections.nCopies(n, new byte[0])));
        continue;
      }
      ByteBuffer b = ByteBuffer.allocate(n * s.type().byteSize()).order(ByteOrder.nativeOrder());
      in.put(s.name(), Tensor.of(s.type(), shape, b));
    }
    for (Map.Entry<String, Tensor> e : m.session().run(in).entrySet()) {
      if (e.getValue().type() == DataType.FP32) {
        FloatBuffer f = e.getValue().floats();
        for (int i = 0; i < f.limit(); i++) {
          if (!Float.isFinite(f.get(i))) {
            throw new InferenceException(
                "smoke_test_failed", "output " + e.getKey() + " holds " + f.get(i) + " at " + i);
          }
        }
      }
    }
  }
}
