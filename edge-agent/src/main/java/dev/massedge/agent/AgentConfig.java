package dev.massedge.agent;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.bind.annotation.Bindable;
import java.util.List;

/**
 * The agent's configuration ({@code mass.agent.*}); defaults serve the embedded, one-machine case.
 *
 * @param modelsDir the directory with one sub-directory per model ({@code model.json} + file)
 * @param executionProviders the default provider chain, tried in order (per-model descriptors may
 *     override it)
 * @param intraOpThreads threads per operator (0: engine default)
 * @param interOpThreads threads across operators (0: engine default)
 * @param defaultFaceModel the model {@code /v1/faces} uses when none is named
 * @param defaultVadModel the model {@code /v1/vad} uses when none is named
 * @param tensorrtCacheDir where TensorRT engines are cached when TensorRT is in the chain
 * @param deviceId the device's name in MQTT topics and Home Assistant (default: the host name)
 * @param models the bundled models to load, by name (default: every one in {@code modelsDir}); the
 *     others cost no memory. Versions delivered by model sync always load: the fleet asked for them
 */
@ConfigurationProperties("mass.agent")
public record AgentConfig(
    @Bindable(defaultValue = "models") String modelsDir,
    @Bindable(defaultValue = "cpu") List<String> executionProviders,
    @Bindable(defaultValue = "1") int intraOpThreads,
    @Bindable(defaultValue = "1") int interOpThreads,
    @Bindable(defaultValue = "face-short") String defaultFaceModel,
    @Bindable(defaultValue = "vad") String defaultVadModel,
    @Bindable(defaultValue = "false") boolean tensorrtFp16,
    @Bindable(defaultValue = "false") boolean tensorrtInt8,
    @io.micronaut.core.annotation.Nullable String tensorrtCacheDir,
    @io.micronaut.core.annotation.Nullable String deviceId,
    @io.micronaut.core.annotation.Nullable List<String> models) {

  /** The device id: {@code mass.agent.device-id}, or the host name made safe for a topic. */
  public String device() {
    if (deviceId != null && !deviceId.isBlank()) {
      return deviceId;
    }
    try {
      return java.net.InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9_-]", "_");
    } catch (java.io.IOException e) {
      return "agent";
    }
  }
}
