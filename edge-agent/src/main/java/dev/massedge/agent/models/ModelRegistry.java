package dev.massedge.agent.models;

import dev.massedge.agent.AgentConfig;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelRepository;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.exceptions.ConfigurationException;
import jakarta.annotation.PreDestroy;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's models: everything under {@code mass.agent.models-dir}, loaded at start. A model that
 * fails to load is listed as not ready with its reason; the agent still starts and serves the rest.
 */
@Context
public class ModelRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);
  private final ModelRepository repository;
  private final MeterRegistry meters;

  public ModelRegistry(AgentConfig config, MeterRegistry meters) {
    this.meters = meters;
    EngineOptions options;
    try {
      options =
          new EngineOptions(
              config.executionProviders(),
              config.intraOpThreads(),
              config.interOpThreads(),
              new EngineOptions.TensorRtOptions(
                  config.tensorrtFp16(),
                  config.tensorrtInt8(),
                  config.tensorrtCacheDir() == null ? null : Path.of(config.tensorrtCacheDir()),
                  0,
                  -1),
              null);
    } catch (IllegalArgumentException e) {
      throw new ConfigurationException(
          "mass.agent.execution-providers / threads: " + e.getMessage());
    }
    this.repository = new ModelRepository(new Engines(), options);
    Path dir = Path.of(config.modelsDir()).toAbsolutePath();
    List<LoadedModel> loaded = repository.loadAll(dir);
    long ready = loaded.stream().filter(LoadedModel::ready).count();
    log.info("{} of {} models ready from {}", ready, loaded.size(), dir);
    for (LoadedModel m : loaded) {
      Gauge.builder("mass.model.ready", m, x -> x.ready() ? 1 : 0)
          .tag("model", m.name())
          .tag("version", m.version())
          .tag("execution_provider", m.session() == null ? "none" : m.session().executionProvider())
          .tag("engine", m.descriptor() == null ? "unknown" : m.descriptor().engine())
          .description("1 when the model is loaded and serving; tags say where it runs")
          .register(meters);
    }
  }

  public List<LoadedModel> all() {
    return repository.all();
  }

  /** A ready model, or a 404 (unknown name or version) / 503 (not ready, with the reason). */
  public LoadedModel require(String name, String version) {
    LoadedModel m =
        repository
            .find(name, version)
            .orElseThrow(
                () ->
                    new InferenceException(
                        "model_not_found",
                        (version == null
                                ? "model '" + name + "'"
                                : "model '" + name + "' version '" + version + "'")
                            + " is not loaded; available: "
                            + repository.all().stream()
                                .map(x -> x.name() + "@" + x.version())
                                .toList()));
    if (!m.ready()) {
      throw new InferenceException(
          "model_not_ready", "model '" + name + "' is not ready: " + m.failure().message());
    }
    return m;
  }

  /** Looks a model up, ready or not (for metadata). */
  public LoadedModel find(String name, String version) {
    return repository
        .find(name, version)
        .orElseThrow(
            () -> new InferenceException("model_not_found", "model '" + name + "' is not loaded"));
  }

  /** Times one inference call and counts it, by model and outcome. */
  public <T> T timed(LoadedModel m, String endpoint, Supplier<T> call) {
    Timer.Sample sample = Timer.start(meters);
    String outcome = "error";
    try {
      T result = call.get();
      outcome = "ok";
      return result;
    } catch (InferenceException e) {
      meters.counter("mass.inference.errors", "model", m.name(), "code", e.code()).increment();
      throw e;
    } finally {
      sample.stop(
          Timer.builder("mass.inference.latency")
              .description("inference request latency, decoding and post-processing included")
              .tag("model", m.name())
              .tag("version", m.version())
              .tag("endpoint", endpoint)
              .tag("outcome", outcome)
              .tag("execution_provider", m.session().executionProvider())
              .publishPercentileHistogram()
              .register(meters));
    }
  }

  @PreDestroy
  @Override
  public void close() {
    repository.close();
  }
}
