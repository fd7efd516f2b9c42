package dev.massedge.inference.model;

import dev.massedge.inference.ModelSession;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.vad.VoiceActivityDetector;
import java.nio.file.Path;

/**
 * A model in the repository: ready (with its session and task head) or failed (with the reason).
 *
 * @param name the model name (the directory name when the descriptor could not be read)
 * @param version the version label, "" when unknown
 * @param dir the model's directory
 * @param descriptor null when the descriptor itself failed
 * @param session null unless ready
 * @param faceDetector the face head, for face-detection models
 * @param vad the VAD head, for vad models
 * @param failure null when ready; otherwise the error code and message
 */
public record LoadedModel(
    String name,
    String version,
    Path dir,
    ModelDescriptor descriptor,
    ModelSession session,
    FaceDetector faceDetector,
    VoiceActivityDetector vad,
    Failure failure) {

  public record Failure(String code, String message) {}

  public boolean ready() {
    return failure == null;
  }

  public String task() {
    return descriptor == null ? "unknown" : descriptor.task();
  }
}
