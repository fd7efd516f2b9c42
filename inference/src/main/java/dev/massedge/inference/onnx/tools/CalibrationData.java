package dev.massedge.inference.onnx.tools;

import dev.massedge.inference.InferenceException;
import dev.massedge.inference.Tensor;
import dev.massedge.inference.audio.PcmAudio;
import dev.massedge.inference.audio.WavDecoder;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.image.ImageDecoder;
import dev.massedge.inference.vad.VoiceActivityDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/** Model inputs made from sample files, the way the task heads make them at run time. */
public final class CalibrationData {
  private CalibrationData() {}

  /**
   * The files under a directory (or the file itself) whose names end with one of the extensions.
   */
  public static List<Path> files(Path dirOrFile, String... extensions) {
    if (Files.isRegularFile(dirOrFile)) {
      return List.of(dirOrFile);
    }
    if (!Files.isDirectory(dirOrFile)) {
      throw new InferenceException(
          "calibration_empty", "calibration path " + dirOrFile + " does not exist");
    }
    try (Stream<Path> s = Files.list(dirOrFile)) {
      return s.filter(
              p -> {
                String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
                for (String e : extensions) {
                  if (n.endsWith(e)) {
                    return true;
                  }
                }
                return false;
              })
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new InferenceException(
          "io_error", "cannot list " + dirOrFile + ": " + e.getMessage(), e);
    }
  }

  public static List<Map<String, Tensor>> images(FaceDetector head, List<Path> images) {
    List<Map<String, Tensor>> out = new ArrayList<>();
    for (Path p : images) {
      try {
        out.add(
            Map.of(head.inputName(), head.inputTensor(ImageDecoder.decode(Files.readAllBytes(p)))));
      } catch (IOException e) {
        throw new InferenceException("io_error", "cannot read " + p + ": " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** Every frame's inputs (samples, carried state, rate) of the VAD running over the recordings. */
  public static List<Map<String, Tensor>> audio(
      VoiceActivityDetector vad, List<Path> wavs, int maxFrames) {
    List<Map<String, Tensor>> out = new ArrayList<>();
    for (Path p : wavs) {
      PcmAudio a;
      try {
        a = WavDecoder.decode(Files.readAllBytes(p)).resample(vad.sampleRate());
      } catch (IOException e) {
        throw new InferenceException("io_error", "cannot read " + p + ": " + e.getMessage(), e);
      }
      VoiceActivityDetector.Stream s = vad.newStream().recordInputs(out::add);
      s.accept(a.samples(), 0, a.samples().length);
    }
    if (out.size() > maxFrames) {
      List<Map<String, Tensor>> every = new ArrayList<>();
      double step = (double) out.size() / maxFrames;
      for (int i = 0; i < maxFrames; i++) {
        every.add(out.get((int) (i * step)));
      }
      return every;
    }
    return out;
  }
}
