package dev.massedge.inference.wakeword;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.onnx.OnnxEngine;
import dev.massedge.inference.onnx.model.OnnxModel;
import dev.massedge.inference.onnx.tools.QuantizationOptions;
import dev.massedge.inference.onnx.tools.QuantizationReport;
import dev.massedge.inference.onnx.tools.StaticQuantizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An int8 version of the wake-word front end's embedding model (90 % of its time), calibrated on
 * mel windows of sample recordings, and kept only when every wake word fires on the same recordings
 * within one 80 ms step of the float detector and nothing new fires.
 */
public final class WakeWordQuantizer {
  public static final String FLOAT_EMBEDDING = "embedding_model.onnx";
  public static final String INT8_EMBEDDING = "embedding_model.int8.onnx";

  private WakeWordQuantizer() {}

  public record Result(Path file, QuantizationReport report, List<String> detections) {}

  /** Writes {@code dir/embedding_model.int8.onnx}, or refuses with what moved. */
  public static Result quantize(Path dir, List<String> heads, List<Path> recordings) {
    if (recordings.isEmpty()) {
      throw new InferenceException(
          "calibration_empty",
          "give at least one WAV recording to calibrate the embedding model on");
    }
    OnnxEngine engine = new OnnxEngine();
    List<Map<String, Tensor>> windows = new ArrayList<>();
    List<float[]> audio = new ArrayList<>();
    try (ModelSession mel = engine.open(dir.resolve("melspectrogram.onnx"), EngineOptions.cpu(1))) {
      for (Path p : recordings) {
        float[] s =
            WavDecoder.decode(Files.readAllBytes(p))
                .resample(WakeWordDetector.SAMPLE_RATE)
                .samples();
        audio.add(s);
        float[] x = new float[s.length];
        for (int i = 0; i < s.length; i++) {
          x[i] = s[i] * 32767f;
        }
        float[] m =
            mel.run(
                    Map.of(
                        mel.inputs().get(0).name(), Tensor.ofFloats(new long[] {1, x.length}, x)))
                .values()
                .iterator()
                .next()
                .toFloatArray();
        int frames = m.length / WakeWordDetector.MEL_BINS;
        for (int t = WakeWordDetector.MEL_WINDOW; t <= frames; t += 16) {
          float[] w = new float[WakeWordDetector.MEL_WINDOW * WakeWordDetector.MEL_BINS];
          for (int k = 0; k < w.length; k++) {
            w[k] = m[(t - WakeWordDetector.MEL_WINDOW) * WakeWordDetector.MEL_BINS + k] / 10f + 2f;
          }
          windows.add(
              Map.of(
                  "input_1",
                  Tensor.ofFloats(
                      new long[] {1, WakeWordDetector.MEL_WINDOW, WakeWordDetector.MEL_BINS, 1},
                      w)));
        }
      }
    } catch (IOException e) {
      throw new InferenceException("io_error", "cannot read a recording: " + e.getMessage(), e);
    }
    StaticQuantizer.Result r =
        StaticQuantizer.quantize(
            OnnxModel.read(dir.resolve(FLOAT_EMBEDDING)), windows, QuantizationOptions.DEFAULTS);
    Path out = dir.resolve(INT8_EMBEDDING);
    Path staging = dir.resolve(INT8_EMBEDDING + ".candidate");
    try {
      r.model().write(staging);
      List<String> want = detections(dir, heads, FLOAT_EMBEDDING, audio, recordings);
      List<String> got = detections(dir, heads, INT8_EMBEDDING + ".candidate", audio, recordings);
      if (!agree(want, got)) {
        Files.deleteIfExists(staging);
        throw new InferenceException(
            "accuracy_bound",
            "the int8 embedding model is refused: float detections "
                + want
                + ", int8 detections "
                + got);
      }
      Files.move(staging, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return new Result(out, r.report(), got);
    } catch (IOException e) {
      throw new InferenceException("io_error", "cannot write " + out + ": " + e.getMessage(), e);
    }
  }

  /** "recording:word@seconds" for every detection. */
  static List<String> detections(
      Path dir, List<String> heads, String embedding, List<float[]> audio, List<Path> names) {
    OnnxEngine engine = new OnnxEngine();
    Map<String, ModelSession> h = new LinkedHashMap<>();
    for (String head : heads) {
      h.put(head, engine.open(dir.resolve(head + ".onnx"), EngineOptions.cpu(1)));
    }
    List<String> out = new ArrayList<>();
    try (WakeWordDetector d =
        new WakeWordDetector(
            engine.open(dir.resolve("melspectrogram.onnx"), EngineOptions.cpu(1)),
            engine.open(dir.resolve(embedding), EngineOptions.cpu(1)),
            h,
            WakeWordDetector.DEFAULT_THRESHOLD,
            2.0)) {
      for (int i = 0; i < audio.size(); i++) {
        for (WakeWordDetector.Detection x :
            d.newStream().accept(audio.get(i), 0, audio.get(i).length)) {
          out.add(
              names.get(i).getFileName()
                  + ":"
                  + x.wakeWord()
                  + "@"
                  + String.format(java.util.Locale.ROOT, "%.2f", x.seconds()));
        }
      }
    }
    return out;
  }

  /** Same recordings and words, each within one 80 ms step. */
  static boolean agree(List<String> want, List<String> got) {
    if (want.size() != got.size()) {
      return false;
    }
    for (int i = 0; i < want.size(); i++) {
      String[] a = want.get(i).split("@");
      String[] b = got.get(i).split("@");
      if (!a[0].equals(b[0])
          || Math.abs(Double.parseDouble(a[1]) - Double.parseDouble(b[1])) > 0.081) {
        return false;
      }
    }
    return true;
  }
}
