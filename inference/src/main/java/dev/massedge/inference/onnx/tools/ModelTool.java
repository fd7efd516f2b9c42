package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.InferenceException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code mass model ...}: inspect ONNX files, quantize to int8, convert to fp16, and show what ONNX
 * Runtime really executes. Exit codes: 0 ok, 2 usage, 3 refused by the accuracy bounds, 1 other
 * errors.
 */
public final class ModelTool {
  private ModelTool() {}

  static final String USAGE =
      """
      usage: mass model <command> ...
        inspect FILE...                       opsets, operators, inputs/outputs, size, precision
        optimized FILE                        operators ONNX Runtime runs after its optimisations
        quantize MODEL_DIR --calibration PATH --out DIR
                 [--eval PATH] [--activations uint8|int8] [--method minmax|percentile]
                 [--percentile 99.99] [--per-tensor] [--keep-float REGEX]
                 [--min-cosine 0.98] [--min-iou 0.8] [--max-score-delta 0.1] [--max-boundary-ms 100]
        fp16 MODEL_DIR --out DIR [--eval PATH] [--min-cosine 0.98] ...
        quantize-wakeword DIR --heads NAME[,NAME...] --calibration WAV_PATH
                                              int8 embedding model for openWakeWord-format heads
      PATH is a file or a directory of images (face-detection) or WAV files (vad).
      """;

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0) {
      err.print(USAGE);
      return 2;
    }
    try {
      List<String> positional = new ArrayList<>();
      Map<String, String> flags = new HashMap<>();
      for (int i = 1; i < args.length; i++) {
        if (args[i].startsWith("--")) {
          String key = args[i].substring(2);
          if (key.equals("per-tensor")) {
            flags.put(key, "true");
          } else if (i + 1 < args.length) {
            flags.put(key, args[++i]);
          } else {
            err.println("--" + key + " needs a value");
            return 2;
          }
        } else {
          positional.add(args[i]);
        }
      }
      switch (args[0]) {
        case "inspect" -> {
          for (String f : positional) {
            out.print(ModelInspection.of(Path.of(f)).summary());
          }
          return positional.isEmpty() ? usage(err) : 0;
        }
        case "optimized" -> {
          if (positional.size() != 1) {
            return usage(err);
          }
          out.println(ModelConverter.optimizedOps(Path.of(positional.get(0))));
          return 0;
        }
        case "quantize" -> {
          if (positional.size() != 1
              || !flags.containsKey("calibration")
              || !flags.containsKey("out")) {
            return usage(err);
          }
          QuantizationOptions q =
              new QuantizationOptions(
                  QuantizationOptions.ActivationType.valueOf(
                      flags.getOrDefault("activations", "uint8").toUpperCase(Locale.ROOT)),
                  QuantizationOptions.Calibration.valueOf(
                      flags.getOrDefault("method", "percentile").toUpperCase(Locale.ROOT)),
                  Double.parseDouble(flags.getOrDefault("percentile", "99.99")),
                  !flags.containsKey("per-tensor"),
                  flags.getOrDefault("keep-float", ""));
          ModelConverter.Outcome o =
              ModelConverter.quantize(
                  Path.of(positional.get(0)),
                  Path.of(flags.get("calibration")),
                  flags.containsKey("eval") ? Path.of(flags.get("eval")) : null,
                  Path.of(flags.get("out")),
                  q,
                  bounds(flags));
          print(out, o);
          return 0;
        }
        case "quantize-wakeword" -> {
          if (positional.size() != 1
              || !flags.containsKey("heads")
              || !flags.containsKey("calibration")) {
            return usage(err);
          }
          var r =
              dev.massedge.inference.wakeword.WakeWordQuantizer.quantize(
                  Path.of(positional.get(0)),
                  List.of(flags.get("heads").split(",")),
                  CalibrationData.files(Path.of(flags.get("calibration")), ".wav"));
          out.println("wrote " + r.file() + " (" + r.report().quantizedNodes() + ")");
          out.println("detections, same as with the float model: " + r.detections());
          return 0;
        }
        case "fp16" -> {
          if (positional.size() != 1 || !flags.containsKey("out")) {
            return usage(err);
          }
          ModelConverter.Outcome o =
              ModelConverter.fp16(
                  Path.of(positional.get(0)),
                  flags.containsKey("eval") ? Path.of(flags.get("eval")) : null,
                  Path.of(flags.get("out")),
                  bounds(flags));
          print(out, o);
          return 0;
        }
        default -> {
          return usage(err);
        }
      }
    } catch (InferenceException e) {
      err.println("error [" + e.code() + "]: " + e.getMessage());
      return e.code().equals("accuracy_bound") ? 3 : 1;
    } catch (IllegalArgumentException e) {
      err.println("error: " + e.getMessage());
      return 2;
    }
  }

  private static AccuracyBounds bounds(Map<String, String> f) {
    AccuracyBounds d = AccuracyBounds.DEFAULTS;
    return new AccuracyBounds(
        Double.parseDouble(f.getOrDefault("min-cosine", Double.toString(d.minCosine()))),
        Double.parseDouble(f.getOrDefault("min-iou", Double.toString(d.minIou()))),
        Double.parseDouble(f.getOrDefault("max-score-delta", Double.toString(d.maxScoreDelta()))),
        false,
        Double.parseDouble(f.getOrDefault("max-boundary-ms", Double.toString(d.maxBoundaryMs()))));
  }

  private static void print(PrintStream out, ModelConverter.Outcome o) {
    out.println("wrote " + o.outDir() + " (model '" + o.name() + "')");
    out.print(o.inspection().summary());
    if (o.quantization() != null) {
      QuantizationReport r = o.quantization();
      out.printf(
          "quantized: %s activations, %s calibration on %d samples, per-channel weights %s, opset %d -> %d%n",
          r.activations(),
          r.calibration(),
          r.calibrationSamples(),
          r.perChannelWeights(),
          r.opsetBefore(),
          r.opsetAfter());
      out.println("  quantized nodes: " + r.quantizedNodes());
      out.println(
          "  left float: "
              + r.floatNodes().size()
              + (r.floatNodes().isEmpty() ? "" : " " + r.floatNodes()));
      out.printf("  size: %,d -> %,d bytes%n", r.floatBytes(), r.quantizedBytes());
      r.notes().forEach(n -> out.println("  note: " + n));
    }
    if (o.accuracy() != null) {
      o.accuracy()
          .outputs()
          .forEach(
              (k, v) ->
                  out.printf(
                      "  output %s: cosine min %.5f mean %.5f, max |error| %.4f%n",
                      k, v.minCosine(), v.meanCosine(), v.maxAbsError()));
      if (o.accuracy().faces() != null) {
        out.println("  faces: " + o.accuracy().faces());
      }
      if (o.accuracy().segments() != null) {
        out.println("  speech: " + o.accuracy().segments());
      }
    }
  }

  private static int usage(PrintStream err) {
    err.print(USAGE);
    return 2;
  }
}
