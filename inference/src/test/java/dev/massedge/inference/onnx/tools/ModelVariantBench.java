package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.TestAssets;
import dev.massedge.inference.model.ModelDescriptor;
import dev.massedge.inference.onnx.OnnxEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * fp32 vs int8 vs fp16 for each model, side by side in one run: file size, latency with one and two
 * intra-op threads (interleaved rounds, median), and accuracy against fp32 on the test media. Run
 * with {@code ./mass bench variants}.
 */
public final class ModelVariantBench {
  private ModelVariantBench() {}

  record Variant(String label, Path dir, String accuracy) {}

  public static void main(String[] args) throws Exception {
    int iters = Arrays.asList(args).contains("--quick") ? 200 : 1000;
    Path work = Files.createTempDirectory("mass-variants");
    Path calibration = TestAssets.calibrationImages(work.resolve("calibration"));
    Path eval = TestAssets.evaluationImages(work.resolve("eval"));
    Path wavs = TestAssets.recordings(work.resolve("wavs"));
    System.out.println("# Model variants: fp32 vs int8 vs fp16");
    System.out.printf(
        "machine: %d cores, %s, Java %s; ONNX Runtime 1.29.0 CPU%n%n",
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.arch"),
        System.getProperty("java.version"));
    System.out.println(
        "| model | variant | size KB | ms/run 1 thread | ms/run 2 threads | vs fp32 (1 thread) | accuracy vs fp32 |");
    System.out.println("|---|---|---:|---:|---:|---:|---|");
    family(
        "face-blazeface-128", calibration, eval, work, QuantizationOptions.DEFAULTS, true, iters);
    family(
        "face-blazeface-256",
        calibration,
        eval,
        work,
        QuantizationTest.FACE_LONG_MIXED,
        true,
        iters);
    family("vad-silero", wavs, wavs, work, QuantizationOptions.DEFAULTS, false, iters);
  }

  static void family(
      String model,
      Path calibration,
      Path eval,
      Path work,
      QuantizationOptions q,
      boolean fp16,
      int iters)
      throws Exception {
    Path src = TestAssets.model(model);
    List<Variant> variants = new ArrayList<>();
    variants.add(new Variant("fp32", src, "reference"));
    try {
      var o =
          ModelConverter.quantize(
              src, calibration, eval, work.resolve(model + "-int8"), q, AccuracyBounds.DEFAULTS);
      variants.add(
          new Variant(
              q.keepFloat().isEmpty() ? "int8" : "int8 (last stage fp32)",
              o.outDir(),
              accuracy(o.accuracy())));
    } catch (RuntimeException e) {
      variants.add(new Variant("int8", null, "refused: " + e.getMessage()));
    }
    if (fp16) {
      var o =
          ModelConverter.fp16(src, eval, work.resolve(model + "-fp16"), AccuracyBounds.DEFAULTS);
      variants.add(new Variant("fp16", o.outDir(), accuracy(o.accuracy())));
    } else {
      variants.add(new Variant("fp16", null, "not converted: control-flow subgraphs (If)"));
    }
    ModelDescriptor d = ModelDescriptor.read(src);
    List<Map<String, Tensor>> sample;
    try (ModelSession s = new OnnxEngine().open(src.resolve(d.file()), EngineOptions.cpu(1))) {
      sample = ModelConverter.samples(d, s, calibration).subList(0, 1);
    }
    List<ModelSession> one = new ArrayList<>();
    List<ModelSession> two = new ArrayList<>();
    for (Variant v : variants) {
      if (v.dir() != null) {
        one.add(new OnnxEngine().open(v.dir().resolve("model.onnx"), EngineOptions.cpu(1)));
        two.add(new OnnxEngine().open(v.dir().resolve("model.onnx"), EngineOptions.cpu(2)));
      }
    }
    double[] t1 = time(one, sample.get(0), iters);
    double[] t2 = time(two, sample.get(0), iters);
    int k = 0;
    for (Variant v : variants) {
      if (v.dir() == null) {
        System.out.printf("| %s | %s | — | — | — | — | %s |%n", model, v.label(), v.accuracy());
        continue;
      }
      long size = Files.size(v.dir().resolve("model.onnx"));
      System.out.printf(
          "| %s | %s | %.0f | %.3f | %.3f | %.2fx | %s |%n",
          model, v.label(), size / 1024.0, t1[k], t2[k], t1[k] / t1[0], v.accuracy());
      k++;
    }
    one.forEach(ModelSession::close);
    two.forEach(ModelSession::close);
  }

  static String accuracy(AccuracyReport a) {
    if (a == null) {
      return "";
    }
    if (a.faces() != null) {
      var f = a.faces();
      return String.format(
          "%d/%d faces matched, min IoU %.3f, max score Δ %.3f, %d new",
          f.matched(), f.referenceFaces(), f.minIou(), f.maxScoreDelta(), f.newFaces());
    }
    if (a.segments() != null) {
      var s = a.segments();
      return String.format(
          "%d/%d speech segments matched, max boundary Δ %.0f ms, %d extra",
          s.matched(), s.referenceSegments(), s.maxBoundaryDeltaMs(), s.extra());
    }
    return a.outputs().toString();
  }

  /** Median ms/run of each session, in interleaved rounds. */
  static double[] time(List<ModelSession> sessions, Map<String, Tensor> input, int iters) {
    for (ModelSession s : sessions) {
      for (int i = 0; i < iters / 5; i++) {
        s.run(input);
      }
    }
    int rounds = 7;
    double[][] ms = new double[sessions.size()][rounds];
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < sessions.size(); i++) {
        long t = System.nanoTime();
        for (int n = 0; n < iters / rounds; n++) {
          sessions.get(i).run(input);
        }
        ms[i][r] = (System.nanoTime() - t) / 1e6 / (iters / rounds);
      }
    }
    double[] out = new double[sessions.size()];
    for (int i = 0; i < out.length; i++) {
      double[] s = ms[i].clone();
      Arrays.sort(s);
      out[i] = s[rounds / 2];
    }
    return out;
  }
}
