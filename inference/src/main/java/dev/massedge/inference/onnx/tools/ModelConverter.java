package dev.massedge.inference.onnx.tools;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.model.ModelDescriptor;
import dev.massedge.inference.onnx.OnnxEngine;
import dev.massedge.inference.onnx.model.OnnxModel;
import dev.massedge.inference.vad.VoiceActivityDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Produces a model variant (int8 QDQ or fp16) from a model directory, checks it against the float
 * original on the task's own inputs, and publishes it as a new model directory (model, descriptor,
 * report) only when it stays within the accuracy bounds.
 */
public final class ModelConverter {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  static final int MAX_AUDIO_FRAMES = 400;

  private ModelConverter() {}

  public record Outcome(
      Path outDir,
      String name,
      ModelInspection inspection,
      QuantizationReport quantization,
      AccuracyReport accuracy) {}

  public static Outcome quantize(
      Path modelDir,
      Path calibration,
      Path eval,
      Path outDir,
      QuantizationOptions options,
      AccuracyBounds bounds) {
    ModelDescriptor d = onnxDescriptor(modelDir);
    Path file = modelDir.resolve(d.file());
    OnnxModel model = OnnxModel.read(file);
    try (ModelSession reference = new OnnxEngine().open(file, EngineOptions.cpu(0))) {
      List<Map<String, Tensor>> samples = samples(d, reference, calibration);
      StaticQuantizer.Result r = StaticQuantizer.quantize(model, samples, options);
      String suffix = "-int8";
      return publish(
          d,
          modelDir,
          r.model(),
          r.report(),
          reference,
          eval == null ? calibration : eval,
          outDir,
          suffix,
          bounds);
    }
  }

  public static Outcome fp16(Path modelDir, Path eval, Path outDir, AccuracyBounds bounds) {
    ModelDescriptor d = onnxDescriptor(modelDir);
    Path file = modelDir.resolve(d.file());
    OnnxModel model = Fp16Converter.convert(OnnxModel.read(file));
    try (ModelSession reference = new OnnxEngine().open(file, EngineOptions.cpu(0))) {
      return publish(d, modelDir, model, null, reference, eval, outDir, "-fp16", bounds);
    }
  }

  private static Outcome publish(
      ModelDescriptor d,
      Path modelDir,
      OnnxModel converted,
      QuantizationReport report,
      ModelSession reference,
      Path eval,
      Path outDir,
      String suffix,
      AccuracyBounds bounds) {
    try {
      Path staging = Files.createTempDirectory("mass-convert");
      Path modelFile = staging.resolve("model.onnx");
      converted.write(modelFile);
      AccuracyReport accuracy = null;
      if (eval != null) {
        try (ModelSession candidate = new OnnxEngine().open(modelFile, EngineOptions.cpu(0))) {
          List<Map<String, Tensor>> samples = samples(d, reference, eval);
          List<Path> inputs = taskInputs(d, eval);
          accuracy = AccuracyReport.compare(reference, candidate, d, samples, inputs, bounds);
        }
      }
      ModelInspection inspection = ModelInspection.of(modelFile);
      ObjectNode desc =
          (ObjectNode) JSON.readTree(modelDir.resolve(ModelDescriptor.FILE_NAME).toFile());
      String name = d.name() + suffix;
      desc.put("name", name);
      desc.put("file", "model.onnx");
      desc.put(
          "description",
          (d.description() == null ? d.name() : d.description())
              + " — "
              + inspection.precision()
              + " variant made by mass-edge");
      JSON.writeValue(staging.resolve(ModelDescriptor.FILE_NAME).toFile(), desc);
      ObjectNode rep = JSON.createObjectNode();
      rep.set("inspection", JSON.valueToTree(inspection.summary()));
      if (report != null) {
        rep.set("quantization", JSON.valueToTree(report));
      }
      if (accuracy != null) {
        rep.set("accuracy", JSON.valueToTree(accuracy));
      }
      JSON.writeValue(staging.resolve("conversion-report.json").toFile(), rep);
      if (accuracy != null && !accuracy.passed()) {
        throw new InferenceException(
            "accuracy_bound",
            "the "
                + suffix.substring(1)
                + " variant of '"
                + d.name()
                + "' is refused: "
                + String.join(
                    "; ",
                    accuracy.violations().subList(0, Math.min(5, accuracy.violations().size())))
                + (accuracy.violations().size() > 5
                    ? " (" + accuracy.violations().size() + " in all)"
                    : "")
                + "; report: "
                + staging.resolve("conversion-report.json"));
      }
      Files.createDirectories(outDir);
      for (String f : List.of("model.onnx", ModelDescriptor.FILE_NAME, "conversion-report.json")) {
        Files.move(
            staging.resolve(f),
            outDir.resolve(f),
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      Files.deleteIfExists(staging);
      return new Outcome(
          outDir, name, ModelInspection.of(outDir.resolve("model.onnx")), report, accuracy);
    } catch (IOException e) {
      throw new InferenceException(
          "io_error", "cannot write the converted model: " + e.getMessage(), e);
    }
  }

  static ModelDescriptor onnxDescriptor(Path modelDir) {
    ModelDescriptor d = ModelDescriptor.read(modelDir);
    if (!d.engine().equals(OnnxEngine.NAME)) {
      throw new InferenceException(
          "unsupported_model",
          "model '" + d.name() + "' runs on " + d.engine() + "; only ONNX models can be converted");
    }
    return d;
  }

  static List<Path> taskInputs(ModelDescriptor d, Path path) {
    return switch (d.task()) {
      case "face-detection" -> CalibrationData.files(path, ".png", ".jpg", ".jpeg");
      case "vad" -> CalibrationData.files(path, ".wav");
      default -> List.of();
    };
  }

  static List<Map<String, Tensor>> samples(ModelDescriptor d, ModelSession session, Path path) {
    List<Path> files = taskInputs(d, path);
    return switch (d.task()) {
      case "face-detection" -> CalibrationData.images(new FaceDetector(session, d), files);
      case "vad" ->
          CalibrationData.audio(new VoiceActivityDetector(session, d), files, MAX_AUDIO_FRAMES);
      default ->
          throw new InferenceException(
              "unsupported_model",
              "calibration from files needs a face-detection or vad model; '"
                  + d.name()
                  + "' is a "
                  + d.task()
                  + " model");
    };
  }

  /**
   * The operators ONNX Runtime really runs after its graph optimisations (extended level, which
   * fuses QDQ pairs into quantized kernels): proof of what a model executes as.
   */
  public static Map<String, Integer> optimizedOps(Path model) {
    try {
      Path out = Files.createTempFile("mass-optimized", ".onnx");
      // before anything loads the native library: checks the command line and points ONNX
      // Runtime at the cached natives (SessionOptions loads them)
      new OnnxEngine();
      try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
        so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.EXTENDED_OPT);
        so.setOptimizedModelFilePath(out.toString());
        try (OrtSession s = OrtEnvironment.getEnvironment().createSession(model.toString(), so)) {
          // the optimized graph is written when the session is created
        }
      }
      Map<String, Integer> ops = new TreeMap<>(ModelInspection.of(out).ops());
      Files.deleteIfExists(out);
      return ops;
    } catch (IOException | OrtException e) {
      throw new InferenceException(
          "engine_error", "cannot optimise " + model + ": " + e.getMessage(), e);
    }
  }
}
