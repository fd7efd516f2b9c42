package dev.massedge.inference;

import dev.massedge.inference.onnx.OnnxEngine;
import dev.massedge.inference.tflite.TfliteEngine;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/** The engines this build carries, by the name model descriptors use. Created on first use. */
public final class Engines {
  private static final Map<String, Supplier<Engine>> FACTORIES =
      Map.of(OnnxEngine.NAME, OnnxEngine::new, TfliteEngine.NAME, TfliteEngine::new);
  private final Map<String, Engine> engines = new ConcurrentHashMap<>();

  public Engine get(String name) {
    Supplier<Engine> f = FACTORIES.get(name);
    if (f == null) {
      throw new ModelLoadException(
          "unknown_engine", "engine '" + name + "' is unknown; available: " + FACTORIES.keySet());
    }
    return engines.computeIfAbsent(name, n -> f.get());
  }
}
