package dev.massedge.inference;

import java.nio.file.Path;

/** An inference engine: opens model files into sessions. */
public interface Engine {
  /** The engine's name as model descriptors spell it ("onnxruntime", "tflite"). */
  String name();

  ModelSession open(Path modelFile, EngineOptions options);

  /**
   * Opens a model held in memory ({@code modelFile} names it in messages): a model decrypted from
   * an encrypted store never touches the disk in clear. Engines that cannot say so.
   */
  default ModelSession open(Path modelFile, byte[] model, EngineOptions options) {
    throw new ModelLoadException(
        "unsupported",
        name()
            + " cannot open a model from memory: store "
            + modelFile.getFileName()
            + " unencrypted (mass.sync.model-key-file applies to ONNX models)");
  }
}
