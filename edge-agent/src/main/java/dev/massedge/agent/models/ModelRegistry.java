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
import io.micronaut.core.annotation.Nullable;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's models: everything under {@code mass.agent.models-dir} (or the ones {@code
 * mass.agent.models} names), loaded at start. A model that fails to load is listed as not ready
 * with its reason; the agent still starts and serves the rest.
 */
@Context
public class ModelRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);
  private final ModelRepository repository;
  private final MeterRegistry meters;
  private final Path tensorRtCacheDir;
  private final DeviceModels store;
  private final List<LoadedModel> bundled; // loaded at start from the models folder

  /** The version serving each model name when it is not simply the newest (after a rollback). */
  private final Map<String, String> active = new ConcurrentHashMap<>();

  private final Map<String, Stats> stats = new ConcurrentHashMap<>();
  private final List<Consumer<String>> activationListeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService closer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "model-closer");
            t.setDaemon(true);
            return t;
          });

  /** Calls and errors of one model version, for health windows. */
  public static final class Stats {
    public final AtomicLong calls = new AtomicLong();
    public final AtomicLong errors = new AtomicLong();
    public final dev.massedge.agent.pipeline.LatencyRecorder latency =
        new dev.massedge.agent.pipeline.LatencyRecorder();
  }

  /**
   * Removes the TensorRT engines of models no longer on the device: those loaded now and every
   * version the model store keeps (a rollback reuses its engines) stay.
   */
  static void cleanTensorRtCache(
      Path root, List<LoadedModel> loaded, @Nullable DeviceModels store) {
    try {
      // the model files first (an active store version is both loaded and kept), each read once
      java.util.Set<Path> files = new java.util.LinkedHashSet<>();
      for (LoadedModel m : loaded) {
        if (m.descriptor() != null && m.dir() != null) {
          files.add(m.dir().resolve(m.descriptor().file()).toAbsolutePath().normalize());
        }
      }
      if (store != null) {
        for (String name : store.store().names()) {
          for (var v : store.store().versions(name)) {
            try (var in = java.nio.file.Files.list(v.dir())) {
              in.filter(f -> f.toString().endsWith(".onnx"))
                  .forEach(f -> files.add(f.toAbsolutePath().normalize()));
            }
          }
        }
      }
      java.util.Set<String> keep = new java.util.HashSet<>();
      for (Path f : files) {
        keep.add(tensorRtKey(f, store));
      }
      for (Path gone : dev.massedge.inference.onnx.TensorRtCache.detect(root).retainOnly(keep)) {
        log.info("TensorRT engines of a model no longer here removed: {}", gone);
      }
    } catch (IOException | RuntimeException e) {
      log.warn("TensorRT engine cache {} not cleaned: {}", root, e.getMessage());
    }
  }

  /** The engine-cache key of a model file, read as the engine reads it (opened when sealed). */
  static String tensorRtKey(Path file, @Nullable DeviceModels store) throws IOException {
    byte[] bytes =
        store != null
                && store.store().cipher() != null
                && dev.massedge.sync.store.ModelCipher.sealed(file)
            ? store.store().cipher().openFile(file)
            : java.nio.file.Files.readAllBytes(file);
    return dev.massedge.inference.onnx.TensorRtCache.key(bytes);
  }

  /** Every version's stats so far, keyed "name@version". */
  public Map<String, Stats> allStats() {
    return Map.copyOf(stats);
  }

  public ModelRegistry(AgentConfig config, MeterRegistry meters, @Nullable DeviceModels store) {
    this.meters = meters;
    this.store = store;
    this.tensorRtCacheDir =
        config.tensorrtCacheDir() == null ? null : Path.of(config.tensorrtCacheDir());
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
    if (store != null && store.store().cipher() != null) {
      // delivered models are kept encrypted: opened from memory, never written in clear
      var cipher = store.store().cipher();
      repository.setFileReader(
          new ModelRepository.ModelFileReader() {
            @Override
            public boolean applies(Path file) {
              return dev.massedge.sync.store.ModelCipher.sealed(file);
            }

            @Override
            public byte[] read(Path file) {
              try {
                return cipher.openFile(file);
              } catch (IOException | RuntimeException e) {
                throw new dev.massedge.inference.ModelLoadException(
                    "model_undecryptable", file + ": " + e.getMessage());
              }
            }
          });
    }
    Path dir = Path.of(config.modelsDir()).toAbsolutePath();
    List<String> wanted = config.models() == null ? List.of() : config.models();
    List<LoadedModel> loaded =
        new java.util.ArrayList<>(repository.loadAll(dir, java.util.Set.copyOf(wanted)));
    bundled = List.copyOf(loaded);
    for (String name : wanted) {
      if (loaded.stream().noneMatch(m -> m.name().equals(name))) {
        log.warn("mass.agent.models names {}, which is not in {}", name, dir);
      }
    }
    if (store != null) {
      // versions delivered by model sync replace the bundled ones: the last committed, verified one
      for (Path d : store.activeDirs()) {
        LoadedModel m = repository.load(d);
        loaded.add(m);
        if (m.ready()) {
          active.put(m.name(), m.version());
        }
        log.info("model {} v{} from the model store ({})", m.name(), m.version(), d);
      }
    }
    long ready = loaded.stream().filter(LoadedModel::ready).count();
    log.info("{} of {} models ready from {}", ready, loaded.size(), dir);
    cleanEngineCaches();
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

  /**
   * Removes the TensorRT engines of model versions no longer on the device (neither bundled, nor
   * loaded, nor kept by the model store), as at start: for the store's commits and rollbacks, which
   * may remove old versions. Nothing without a cache folder.
   */
  public void cleanEngineCaches() {
    if (tensorRtCacheDir != null) {
      // the bundled models stay on the device (the fallback when the store has no version)
      List<LoadedModel> here = new java.util.ArrayList<>(bundled);
      here.addAll(repository.all());
      cleanTensorRtCache(tensorRtCacheDir, here, store);
    }
  }

  public List<LoadedModel> all() {
    return repository.all();
  }

  /** Opens a model directory in a staging slot: not serving until {@link #activate}d. */
  public LoadedModel open(Path dir) {
    return repository.open(dir);
  }

  /** Called with a model name whenever another version of it starts serving. */
  public void onActivated(Consumer<String> listener) {
    activationListeners.add(listener);
  }

  /**
   * Makes {@code m} the version that serves its name. The version it replaces stops serving now and
   * its session is closed a few seconds later, when requests that already hold it are done.
   */
  public synchronized void activate(LoadedModel m) {
    LoadedModel old = find(m.name(), null, false);
    repository.register(m);
    active.put(m.name(), m.version());
    if (old != null && !old.version().equals(m.version())) {
      LoadedModel gone = repository.unregister(old.name(), old.version());
      if (gone != null && gone.session() != null) {
        closer.schedule(gone.session()::close, 5, TimeUnit.SECONDS);
      }
    }
    log.info("model {} v{} now serving", m.name(), m.version());
    activationListeners.forEach(l -> l.accept(m.name()));
  }

  /** Calls and errors of a version since it was loaded. */
  public Stats stats(String name, String version) {
    return stats.computeIfAbsent(name + "@" + version, k -> new Stats());
  }

  private LoadedModel find(String name, String version, boolean unused) {
    String v = version != null ? version : active.get(name);
    return repository.find(name, v).or(() -> repository.find(name, null)).orElse(null);
  }

  /** A ready model, or a 404 (unknown name or version) / 503 (not ready, with the reason). */
  public LoadedModel require(String name, String version) {
    LoadedModel m =
        java.util.Optional.ofNullable(
                version == null
                    ? find(name, null, false)
                    : repository.find(name, version).orElse(null))
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
    return java.util.Optional.ofNullable(
            version == null ? find(name, null, false) : repository.find(name, version).orElse(null))
        .orElseThrow(
            () -> new InferenceException("model_not_found", "model '" + name + "' is not loaded"));
  }

  /** Times one inference call and counts it, by model and outcome. */
  public <T> T timed(LoadedModel m, String endpoint, Supplier<T> call) {
    Timer.Sample sample = Timer.start(meters);
    String outcome = "error";
    Stats s = stats(m.name(), m.version());
    s.calls.incrementAndGet();
    long t0 = System.nanoTime();
    try {
      T result = call.get();
      outcome = "ok";
      return result;
    } catch (InferenceException e) {
      if (!(e instanceof dev.massedge.inference.InvalidInputException)) {
        s.errors.incrementAndGet(); // the model failed, not the caller's input
      }
      meters.counter("mass.inference.errors", "model", m.name(), "code", e.code()).increment();
      throw e;
    } finally {
      s.latency.record(System.nanoTime() - t0);
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
    closer.shutdownNow();
    repository.close();
  }
}
