package dev.massedge.inference;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How to open a session.
 *
 * @param executionProviders the providers to try in order, for example {@code [tensorrt, cuda,
 *     cpu]}; the first that loads wins, the others are skipped with a logged reason. CPU is always
 *     the last resort.
 * @param intraOpThreads threads inside one operator (0: the engine's default)
 * @param interOpThreads threads across operators (0: the engine's default)
 * @param tensorRt TensorRT options, passed through when TensorRT is in the chain
 * @param providerOptions extra provider options by provider name, passed through as given
 */
public record EngineOptions(
    List<String> executionProviders,
    int intraOpThreads,
    int interOpThreads,
    TensorRtOptions tensorRt,
    Map<String, Map<String, String>> providerOptions) {

  public static final List<String> KNOWN_PROVIDERS = List.of("tensorrt", "cuda", "cpu", "xnnpack");

  public EngineOptions {
    executionProviders =
        executionProviders == null || executionProviders.isEmpty()
            ? List.of("cpu")
            : executionProviders.stream().map(p -> p.trim().toLowerCase(Locale.ROOT)).toList();
    for (String p : executionProviders) {
      if (!KNOWN_PROVIDERS.contains(p)) {
        throw new IllegalArgumentException(
            "unknown execution provider '" + p + "'; expected some of " + KNOWN_PROVIDERS);
      }
    }
    if (intraOpThreads < 0 || interOpThreads < 0) {
      throw new IllegalArgumentException("thread counts must be >= 0");
    }
    tensorRt = tensorRt == null ? TensorRtOptions.DEFAULTS : tensorRt;
    providerOptions = providerOptions == null ? Map.of() : Map.copyOf(providerOptions);
  }

  public static EngineOptions cpu(int intraOpThreads) {
    return new EngineOptions(List.of("cpu"), intraOpThreads, 1, null, null);
  }

  /** Parses a chain such as {@code "tensorrt,cuda,cpu"}. */
  public static List<String> parseChain(String chain) {
    return List.of(chain.split("\\s*,\\s*"));
  }

  public EngineOptions withProviders(List<String> providers) {
    return new EngineOptions(providers, intraOpThreads, interOpThreads, tensorRt, providerOptions);
  }

  /** TensorRT execution provider options (passed to ONNX Runtime as {@code trt_*} keys). */
  public record TensorRtOptions(
      boolean fp16, boolean int8, Path engineCacheDir, long workspaceBytes, int dlaCore) {
    public static final TensorRtOptions DEFAULTS = new TensorRtOptions(false, false, null, 0, -1);
  }
}
