package dev.massedge.inference;

import java.util.List;
import java.util.Map;

/**
 * An opened model, ready to run. Sessions are safe to call from several threads at once (both
 * engines serialise or parallelise internally as they can); close it to free native memory.
 */
public interface ModelSession extends AutoCloseable {
  List<TensorSpec> inputs();

  List<TensorSpec> outputs();

  /**
   * Runs the model. Inputs are checked against {@link #inputs()} first: a missing, unknown or
   * misshapen input gives an {@link InvalidInputException} that names what was expected.
   */
  Map<String, Tensor> run(Map<String, Tensor> inputs);

  /** The engine that runs this session ("onnxruntime", "tflite"). */
  String engine();

  /** The execution provider or delegate the session really runs on ("cpu", "cuda", "xnnpack"). */
  String executionProvider();

  /** Providers that were asked for but could not load, each as "provider: reason". */
  default List<String> skippedProviders() {
    return List.of();
  }

  @Override
  void close();
}
