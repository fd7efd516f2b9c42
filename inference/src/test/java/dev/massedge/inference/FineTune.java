package dev.massedge.inference;

import dev.massedge.inference.onnx.model.OnnxModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A stand-in for retraining a model's last layers: the float weights of the last initializers (in
 * file order) covering {@code fraction} of all weight bytes get a small seeded change. The result
 * is a valid model of the same network, as a fine-tuned head would be.
 */
public final class FineTune {
  private FineTune() {}

  /** Returns the number of weight bytes changed. */
  public static long lastLayers(Path in, Path out, double fraction, long seed) throws Exception {
    OnnxModel m = OnnxModel.read(in);
    Map<String, OnnxModel.Initializer> inits = m.graph().initializers;
    long total = 0;
    for (OnnxModel.Initializer i : inits.values()) {
      if (i.dataType() == OnnxModel.FLOAT && !i.external()) {
        total += i.byteSize();
      }
    }
    List<String> names = new ArrayList<>(inits.keySet());
    Random r = new Random(seed);
    long changed = 0;
    for (int k = names.size() - 1; k >= 0 && changed < fraction * total; k--) {
      OnnxModel.Initializer i = inits.get(names.get(k));
      if (i.dataType() != OnnxModel.FLOAT || i.external() || i.elementCount() < 16) {
        continue;
      }
      float[] w = i.floats();
      for (int j = 0; j < w.length; j++) {
        w[j] *= 1f + 0.01f * (float) r.nextGaussian();
      }
      inits.put(i.name(), OnnxModel.Initializer.ofFloats(i.name(), i.dims(), w));
      changed += i.byteSize();
    }
    m.write(out);
    return changed;
  }
}
