package dev.massedge.inference.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import dev.massedge.inference.ModelLoadException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The descriptor file ({@code model.json}) beside each model: what the model does and how to feed
 * and read it, so a new model for an existing task needs no code. See docs/model-descriptor.md.
 *
 * @param name the name clients use ({@code /v2/models/{name}})
 * @param version a version label ("1", "2025-05-01", ...)
 * @param task {@code face-detection}, {@code vad} or {@code tensor} (generic tensor in/out)
 * @param engine {@code onnxruntime} or {@code tflite}
 * @param file the model file, relative to the descriptor
 * @param executionProviders optional per-model provider chain; overrides the agent's default
 * @param image how to turn an image into the input tensor (image tasks)
 * @param face how to decode detections (face-detection)
 * @param vad the streaming VAD's tensors and segmentation settings (vad)
 */
@JsonIgnoreProperties(value = {"$schema"})
public record ModelDescriptor(
    String name,
    String version,
    String task,
    String engine,
    String file,
    String description,
    String license,
    String source,
    List<String> executionProviders,
    ImageInput image,
    FaceDecoding face,
    VadSettings vad,
    List<String> labels) {

  public static final String FILE_NAME = "model.json";
  public static final Set<String> TASKS = Set.of("face-detection", "vad", "tensor");
  public static final Set<String> ENGINES = Set.of("onnxruntime", "tflite");
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** Image input: tensor name, layout, size, channel order, value normalisation, resize mode. */
  public record ImageInput(
      String input,
      String layout,
      int width,
      int height,
      String channels,
      float scale,
      float offset,
      String resize) {}

  /**
   * Anchor-based detection decoding (BlazeFace/SSD): score and box outputs (several outputs are
   * concatenated in order), anchor layers in the same order, thresholds and keypoint names.
   */
  public record FaceDecoding(
      List<String> scores,
      List<String> boxes,
      List<AnchorLayer> anchors,
      float scoreThreshold,
      float iouThreshold,
      String nms,
      List<String> keypoints) {}

  /** One anchor layer: a grid of {@code grid}×{@code grid} cells, {@code perCell} anchors each. */
  public record AnchorLayer(int grid, int perCell) {}

  /** Silero-style streaming VAD: tensor names and segmentation settings. */
  public record VadSettings(
      int sampleRate,
      int frameSamples,
      int contextSamples,
      String input,
      String state,
      String sampleRateInput,
      String output,
      String stateOutput,
      long[] stateShape,
      float threshold,
      int minSpeechMs,
      int minSilenceMs,
      int speechPadMs) {}

  /** Reads and validates {@code dir/model.json}. */
  public static ModelDescriptor read(Path dir) {
    Path f = dir.resolve(FILE_NAME);
    if (!Files.isRegularFile(f)) {
      throw new ModelLoadException("descriptor_missing", "no " + FILE_NAME + " in " + dir);
    }
    ModelDescriptor d;
    try {
      d = JSON.readValue(f.toFile(), ModelDescriptor.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ModelLoadException(
          "descriptor_invalid",
          f + ": unknown field '" + e.getPropertyName() + "'; known: " + e.getKnownPropertyIds(),
          e);
    } catch (IOException e) {
      throw new ModelLoadException(
          "descriptor_invalid", f + " is not a valid descriptor: " + e.getMessage(), e);
    }
    d.validate(f);
    return d;
  }

  public static ModelDescriptor parse(String json) {
    try {
      ModelDescriptor d = JSON.readValue(json, ModelDescriptor.class);
      d.validate(Path.of("<inline>"));
      return d;
    } catch (IOException e) {
      throw new ModelLoadException(
          "descriptor_invalid", "invalid descriptor: " + e.getMessage(), e);
    }
  }

  private void validate(Path f) {
    List<String> problems = new ArrayList<>();
    if (name == null || !NAME.matcher(name).matches()) {
      problems.add("name '" + name + "' must match " + NAME.pattern());
    }
    if (version == null || version.isBlank()) {
      problems.add("version is required");
    }
    if (task == null || !TASKS.contains(task)) {
      problems.add("task '" + task + "' must be one of " + TASKS);
    }
    if (engine == null || !ENGINES.contains(engine)) {
      problems.add("engine '" + engine + "' must be one of " + ENGINES);
    }
    if (file == null || file.isBlank() || file.contains("..")) {
      problems.add("file must name the model file beside the descriptor");
    }
    if ("face-detection".equals(task)) {
      if (image == null) {
        problems.add("face-detection needs an 'image' section");
      }
      if (face == null || face.anchors() == null || face.scores() == null || face.boxes() == null) {
        problems.add("face-detection needs a 'face' section with scores, boxes and anchors");
      }
    }
    if ("vad".equals(task) && vad == null) {
      problems.add("vad needs a 'vad' section");
    }
    if (image != null) {
      if (image.width() <= 0 || image.height() <= 0) {
        problems.add("image.width and image.height must be > 0");
      }
      if (!Set.of("NHWC", "NCHW").contains(image.layout())) {
        problems.add("image.layout '" + image.layout() + "' must be NHWC or NCHW");
      }
      if (!Set.of("RGB", "BGR").contains(image.channels())) {
        problems.add("image.channels '" + image.channels() + "' must be RGB or BGR");
      }
      if (!Set.of("letterbox", "stretch").contains(image.resize())) {
        problems.add("image.resize '" + image.resize() + "' must be letterbox or stretch");
      }
    }
    if (!problems.isEmpty()) {
      throw new ModelLoadException("descriptor_invalid", f + ": " + String.join("; ", problems));
    }
  }

  /** Checks that every tensor the descriptor names exists in the opened model. */
  public void checkAgainst(ModelSession session) {
    Map<String, TensorSpec> in = byName(session.inputs());
    Map<String, TensorSpec> out = byName(session.outputs());
    List<String> missing = new ArrayList<>();
    if (image != null && !in.containsKey(image.input())) {
      missing.add("input '" + image.input() + "'");
    }
    if (face != null) {
      face.scores().stream()
          .filter(n -> !out.containsKey(n))
          .forEach(n -> missing.add("output '" + n + "'"));
      face.boxes().stream()
          .filter(n -> !out.containsKey(n))
          .forEach(n -> missing.add("output '" + n + "'"));
    }
    if (vad != null) {
      for (String n : List.of(vad.input(), vad.state(), vad.sampleRateInput())) {
        if (!in.containsKey(n)) {
          missing.add("input '" + n + "'");
        }
      }
      for (String n : List.of(vad.output(), vad.stateOutput())) {
        if (!out.containsKey(n)) {
          missing.add("output '" + n + "'");
        }
      }
    }
    if (!missing.isEmpty()) {
      throw new ModelLoadException(
          "descriptor_mismatch",
          "model '"
              + name
              + "': the descriptor names "
              + missing
              + " but the model has inputs "
              + session.inputs()
              + " and outputs "
              + session.outputs());
    }
  }

  private static Map<String, TensorSpec> byName(List<TensorSpec> specs) {
    var m = new java.util.LinkedHashMap<String, TensorSpec>();
    specs.forEach(s -> m.put(s.name(), s));
    return m;
  }
}
