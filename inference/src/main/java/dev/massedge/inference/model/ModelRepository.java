package dev.massedge.inference.model;

import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.ModelSession;
import dev.massedge.inference.face.FaceDetector;
import dev.massedge.inference.vad.VoiceActivityDetector;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every model under a directory: each sub-directory with a {@code model.json} is one model version.
 * A model that fails to load is kept, not ready, with its reason; the others serve.
 */
public final class ModelRepository implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelRepository.class);

  /** The command that fetches the pinned models; named in every "model file missing" error. */
  public static final String FETCH_COMMAND = "models/fetch-models.sh (or ./mvnw -B initialize)";

  private final Engines engines;
  private final EngineOptions defaults;
  private final Map<String, TreeMap<String, LoadedModel>> models = new ConcurrentHashMap<>();

  public ModelRepository(Engines engines, EngineOptions defaults) {
    this.engines = engines;
    this.defaults = defaults;
  }

  /** Loads every model directory under {@code root}. A missing root loads nothing and says so. */
  public List<LoadedModel> loadAll(Path root) {
    return loadAll(root, java.util.Set.of());
  }

  /**
   * Loads the model directories under {@code root} whose model is named in {@code wanted} (all of
   * them when it is empty; the others cost no session, no native library and no memory); a
   * directory whose descriptor cannot be read is loaded, so that it is listed as not ready with its
   * reason.
   */
  public List<LoadedModel> loadAll(Path root, java.util.Set<String> wanted) {
    List<LoadedModel> loaded = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      log.error("model directory {} does not exist; no models loaded", root);
      return loaded;
    }
    try (Stream<Path> dirs = Files.list(root)) {
      for (Path dir : dirs.sorted().toList()) {
        if (Files.isRegularFile(dir.resolve(ModelDescriptor.FILE_NAME))) {
          String name = null;
          try {
            // only to choose: load() reads the descriptor itself
            name = wanted.isEmpty() ? null : ModelDescriptor.read(dir).name();
          } catch (InferenceException e) {
            // load() lists it as not ready, with the reason
          }
          if (name != null && !wanted.contains(name)) {
            log.info("model {} in {} not loaded: not among the models asked for", name, dir);
            continue;
          }
          loaded.add(load(dir));
        }
      }
    } catch (IOException e) {
      log.error("cannot list model directory {}: {}", root, e.toString());
    }
    return loaded;
  }

  /**
   * Model files that must be read in a special way (decrypted from an encrypted store): {@code
   * applies} says which, {@code read} gives their bytes, in memory only.
   */
  public interface ModelFileReader {
    boolean applies(Path file);

    byte[] read(Path file);
  }

  private volatile ModelFileReader reader;

  /** Files the reader applies to are opened from the bytes it gives. */
  public void setFileReader(ModelFileReader r) {
    this.reader = r;
  }

  /** Loads one model directory, replacing a loaded model of the same name and version. */
  public LoadedModel load(Path dir) {
    return register(open(dir));
  }

  /**
   * Opens a model directory without serving it (a staging slot): the caller smoke-tests it, then
   * {@link #register}s it or closes its session.
   */
  public LoadedModel open(Path dir) {
    ModelDescriptor d;
    try {
      d = ModelDescriptor.read(dir);
    } catch (InferenceException e) {
      return failed(dir.getFileName().toString(), "", dir, null, e);
    }
    Path file = dir.resolve(d.file());
    if (!Files.isRegularFile(file)) {
      return failed(
          d.name(),
          d.version(),
          dir,
          d,
          new InferenceException(
              "model_missing",
              "model file " + file + " is missing; fetch it with " + FETCH_COMMAND));
    }
    ModelSession session = null;
    try {
      EngineOptions opts =
          d.executionProviders() == null
              ? defaults
              : defaults.withProviders(d.executionProviders());
      ModelFileReader r = reader;
      session =
          r != null && r.applies(file)
              ? engines.get(d.engine()).open(file, r.read(file), opts)
              : engines.get(d.engine()).open(file, opts);
      d.checkAgainst(session);
      FaceDetector face = d.task().equals("face-detection") ? new FaceDetector(session, d) : null;
      VoiceActivityDetector vad =
          d.task().equals("vad") ? new VoiceActivityDetector(session, d) : null;
      log.info(
          "model {} v{} ready: {} on {} ({})",
          d.name(),
          d.version(),
          d.engine(),
          session.executionProvider(),
          d.task());
      return new LoadedModel(d.name(), d.version(), dir, d, session, face, vad, null);
    } catch (InferenceException e) {
      if (session != null) {
        session.close();
      }
      return failed(d.name(), d.version(), dir, d, e);
    }
  }

  private static LoadedModel failed(
      String name, String version, Path dir, ModelDescriptor d, InferenceException e) {
    log.error("model {} in {} is not ready: {}", name, dir, e.getMessage());
    return new LoadedModel(
        name, version, dir, d, null, null, null, new LoadedModel.Failure(e.code(), e.getMessage()));
  }

  /** Serves {@code m}, replacing (and closing) a loaded model of the same name and version. */
  public LoadedModel register(LoadedModel m) {
    LoadedModel old =
        models.computeIfAbsent(m.name(), n -> new TreeMap<>(VERSION_ORDER)).put(m.version(), m);
    if (old != null && old.session() != null && old.session() != m.session()) {
      old.session().close();
    }
    return m;
  }

  /** Stops serving one version; returns it (its session still open) or null. */
  public LoadedModel unregister(String name, String version) {
    TreeMap<String, LoadedModel> versions = models.get(name);
    return versions == null ? null : versions.remove(version);
  }

  /** Numeric-aware version order: "2" before "10". */
  static final Comparator<String> VERSION_ORDER =
      (a, b) -> {
        boolean na = a.matches("\\d{1,18}");
        boolean nb = b.matches("\\d{1,18}");
        if (na && nb) {
          return Long.compare(Long.parseLong(a), Long.parseLong(b));
        }
        return a.compareTo(b);
      };

  /** The newest version of a model, or a specific one. */
  public Optional<LoadedModel> find(String name, String version) {
    TreeMap<String, LoadedModel> versions = models.get(name);
    if (versions == null || versions.isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(
        version == null ? versions.lastEntry().getValue() : versions.get(version));
  }

  public List<LoadedModel> all() {
    List<LoadedModel> out = new ArrayList<>();
    models.values().stream().map(Map::values).forEach(out::addAll);
    out.sort(
        Comparator.comparing(LoadedModel::name).thenComparing(LoadedModel::version, VERSION_ORDER));
    return out;
  }

  /** The ready models of a task, for task endpoints that pick a default. */
  public List<LoadedModel> ready(String task) {
    return all().stream().filter(m -> m.ready() && m.task().equals(task)).toList();
  }

  public Collection<String> names() {
    return models.keySet();
  }

  @Override
  public void close() {
    for (LoadedModel m : all()) {
      if (m.session() != null) {
        m.session().close();
      }
    }
    models.clear();
  }
}
