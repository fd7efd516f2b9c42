package dev.massedge.inference;

import java.nio.file.Path;

/** An inference engine: opens model files into sessions. */
public interface Engine {
  /** The engine's name as model descriptors spell it ("onnxruntime", "tflite"). */
  String name();

  ModelSession open(Path modelFile, EngineOptions options);
}
