package dev.massedge.agent.sync;

import dev.massedge.agent.models.DeviceModels;
import dev.massedge.agent.models.ModelRegistry;
import dev.massedge.agent.pipeline.PipelineManager;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.SmokeTest;
import dev.massedge.sync.contract.MessageRejectedException;
import dev.massedge.sync.contract.SyncCodec;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.contract.SyncMessage.ModelRef;
import dev.massedge.sync.contract.SyncMessage.ModelState;
import dev.massedge.sync.contract.Topics;
import dev.massedge.sync.delivery.ChunkSource;
import dev.massedge.sync.delivery.Delivery;
import dev.massedge.sync.delivery.DeliveryException;
import dev.massedge.sync.delivery.HttpChunkSource;
import dev.massedge.sync.delivery.MqttChunkSource;
import dev.massedge.sync.delivery.RateLimiter;
import dev.massedge.sync.link.MqttLink;
import dev.massedge.sync.pkg.PackageRejectedException;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.store.ModelStore;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device side of model sync: says who the device is (birth, will), takes the twin's desired
 * state (retained; kept on disk so the agent converges offline after a restart), and reconciles:
 * for each model whose desired manifest is not active it fetches what it lacks, verifies, stages,
 * smoke-tests, switches atomically, watches a health window, then commits or rolls back by itself.
 * Every step and every refusal is reported in the twin's reported state.
 */
@Context
@Requires(property = "mass.sync.url")
public class SyncService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SyncService.class);
  private final SyncConfig config;
  private final ModelRegistry registry;
  private final ModelStore store;
  private final String device;
  private final MqttLink link;
  private final Delivery delivery;
  private final Map<String, ModelState> reported = new ConcurrentHashMap<>();
  private final Semaphore wake = new Semaphore(0);
  private final Thread loop;
  private volatile SyncMessage.TwinDesired desired;
  private volatile Map<String, Object> appliedConfig = Map.of();
  private final PipelineManager pipelines;
  private volatile boolean closed;

  public SyncService(
      SyncConfig config,
      ModelRegistry registry,
      DeviceModels models,
      PipelineManager pipelines,
      dev.massedge.agent.AgentConfig agent) {
    this.config = config;
    this.pipelines = pipelines;
    this.registry = registry;
    this.store = models.store();
    this.device = agent.device();
    Topics.status(device); // refuses an id the topic scheme cannot carry, naming the rule
    MqttLink.Options o =
        new MqttLink.Options(config.url(), "mass-agent-" + device)
            .withStatus(Topics.status(device), () -> status(true), status(false));
    // the broker's ACL holds a client to the topics of its user name: the device id by default
    String user = config.username() == null ? device : config.username();
    if (!user.equals(device)) {
      log.warn(
          "mass.sync.username '{}' is not the device id '{}': a broker with the device ACL will"
              + " refuse this agent's topics (docs/security.md)",
          user,
          device);
    }
    o =
        o.withCredentials(
            user,
            config.password() == null ? null : config.password().getBytes(StandardCharsets.UTF_8));
    if (config.tlsCa() != null) {
      try {
        o =
            o.withSocketFactory(
                dev.massedge.sync.broker.DeviceTls.socketFactory(
                    config.tlsCa(), config.tlsCert(), config.tlsKey()));
      } catch (java.io.IOException e) {
        throw new io.micronaut.context.exceptions.ConfigurationException(
            "mass.sync.tls-ca / tls-cert / tls-key: " + e.getMessage(), e);
      }
      if (!config.url().startsWith("ssl://")) {
        log.warn("mass.sync.tls-ca is set but mass.sync.url {} is not ssl://", config.url());
      }
    }
    link = new MqttLink(o);
    ChunkSource source =
        config.httpUrl() != null
            ? new HttpChunkSource(URI.create(config.httpUrl()), Duration.ofSeconds(30))
            : new MqttChunkSource(link, device, Duration.ofSeconds(30));
    delivery =
        new Delivery(
            source,
            store.chunks(),
            new RateLimiter(config.bandwidth()),
            Delivery.WINDOW,
            Delivery.REQUEST_BYTES);
    desired = readDesired();
    link.subscribe(Topics.twinDesired(device), 1, (t, m) -> onDesired(m.getPayload()));
    link.onConnected(
        () -> {
          publishReported();
          wake.release();
        });
    link.start();
    loop = new Thread(this::run, "model-sync");
    loop.setDaemon(true);
    loop.start();
  }

  public String device() {
    return device;
  }

  public MqttLink link() {
    return link;
  }

  /** For {@code /health} and {@code /v1/sync}. */
  public Map<String, Object> status() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("device", device);
    m.put("connected", link.connected());
    m.put("error", link.lastError());
    m.put("desiredVersion", desired == null ? 0 : desired.version());
    m.put("models", new LinkedHashMap<>(reported));
    return m;
  }

  private byte[] status(boolean online) {
    Map<String, String> models = new LinkedHashMap<>();
    registry.all().stream()
        .filter(LoadedModel::ready)
        .forEach(x -> models.put(x.name(), registry.require(x.name(), null).version()));
    String accel =
        registry.all().stream()
            .filter(LoadedModel::ready)
            .map(x -> x.session().executionProvider())
            .filter(p -> !p.equals("cpu"))
            .findFirst()
            .orElse("cpu");
    return SyncCodec.write(
        new SyncMessage.Status(
            SyncCodec.SCHEMA,
            online,
            agentVersion(),
            System.getProperty("os.arch"),
            accel,
            models,
            System.currentTimeMillis()));
  }

  static String agentVersion() {
    String v = SyncService.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  private void onDesired(byte[] payload) {
    SyncMessage.TwinDesired d;
    try {
      d = SyncCodec.read(payload, SyncMessage.TwinDesired.class);
    } catch (MessageRejectedException e) {
      log.warn("twin desired refused ({}): {}", e.code(), e.getMessage());
      return;
    }
    if (desired != null && d.version() < desired.version()) {
      log.warn("twin desired v{} is older than v{}: ignored", d.version(), desired.version());
      return;
    }
    desired = d;
    try {
      Path f = Path.of(config.storeDir()).resolve("desired.json");
      Files.createDirectories(f.getParent());
      Path tmp = f.resolveSibling("desired.json.tmp");
      Files.write(tmp, payload);
      Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn("cannot keep the desired state on disk: {}", e.getMessage());
    }
    wake.release();
  }

  private SyncMessage.TwinDesired readDesired() {
    Path f = Path.of(config.storeDir()).resolve("desired.json");
    try {
      return Files.isRegularFile(f)
          ? SyncCodec.read(Files.readAllBytes(f), SyncMessage.TwinDesired.class)
          : null;
    } catch (IOException | MessageRejectedException e) {
      log.warn(
          "the kept desired state is unreadable ({}): waiting for the cloud's", e.getMessage());
      return null;
    }
  }

  private void run() {
    while (!closed) {
      try {
        wake.tryAcquire(5, TimeUnit.SECONDS);
        wake.drainPermits();
        SyncMessage.TwinDesired d = desired;
        if (d == null) {
          continue;
        }
        applyConfig(d);
        if (d.models() == null) {
          continue;
        }
        for (Map.Entry<String, ModelRef> e : d.models().entrySet()) {
          if (closed) {
            return;
          }
          reconcile(e.getKey(), e.getValue());
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException | IOException e) {
        log.error("model sync: {}", e.toString(), e);
      }
    }
  }

  /** The twin's {@code config.pipelines}: what a pipeline may have changed remotely. */
  @SuppressWarnings("unchecked")
  private void applyConfig(SyncMessage.TwinDesired d) {
    Object p = d.config() == null ? null : d.config().get("pipelines");
    Map<String, Object> applied = new LinkedHashMap<>();
    if (p instanceof Map<?, ?> m) {
      applied.put("pipelines", pipelines.applyOverrides((Map<String, Object>) m));
    } else if (p != null) {
      applied.put("pipelines", Map.of("error", "config.pipelines must be an object"));
    }
    if (!applied.equals(appliedConfig)) {
      appliedConfig = applied;
      publishReported();
    }
  }

  private void report(String slot, String active, String pending, String state, String error) {
    ModelState s = new ModelState(active, pending, state, error);
    if (!s.equals(reported.put(slot, s))) {
      log.info("model {}: {}{}", slot, state, error == null ? "" : " (" + error + ")");
      publishReported();
    }
  }

  private void publishReported() {
    SyncMessage.TwinDesired d = desired;
    byte[] b =
        SyncCodec.write(
            new SyncMessage.TwinReported(
                SyncCodec.SCHEMA,
                d == null ? 0 : d.version(),
                new LinkedHashMap<>(reported),
                appliedConfig,
                System.currentTimeMillis()));
    link.publish(
        Topics.twinReported(device), b, 1, true); // retained: the next connection repeats it anyway
  }

  private String activeVersion(String name) {
    try {
      return registry.require(name, null).version();
    } catch (InferenceException e) {
      return null;
    }
  }

  void reconcile(String slot, ModelRef ref) throws IOException, InterruptedException {
    String name = ref.name() == null ? slot : ref.name();
    String sha = ref.manifestSha256();
    ModelStore.Installed act = store.active(name);
    if (act != null && act.manifestSha256().equals(sha)) {
      report(slot, act.version(), null, "active", null);
      return;
    }
    String failure = store.failure(name, sha);
    if (failure != null) {
      report(slot, activeVersion(name), ref.version(), "failed", failure);
      return;
    }
    try {
      report(slot, activeVersion(name), ref.version(), "downloading", null);
      SignedPackage p = delivery.manifest(sha, 30_000);
      if (!p.manifest().name().equals(name)) {
        throw new PackageRejectedException(
            "manifest_invalid",
            "the twin asks for model '"
                + name
                + "' but the package is '"
                + p.manifest().name()
                + "'");
      }
      store.verify(p);
      store.ensureRoomForChunks(p.manifest().files().stream().mapToLong(f -> f.size()).sum());
      Delivery.Progress done = delivery.fetch(sha, p.manifest(), x -> {});
      log.info(
          "model {} v{}: {} new chunks, {} bytes fetched",
          name,
          p.manifest().version(),
          done.chunksFetched(),
          done.bytesFetched());
      report(slot, activeVersion(name), ref.version(), "verifying", null);
      ModelStore.Installed installed = store.stage(sha, p);
      activate(slot, name, installed);
    } catch (PackageRejectedException e) {
      reject(slot, name, ref, e.code(), e.getMessage());
    } catch (InferenceException e) {
      reject(slot, name, ref, e.code(), e.getMessage());
    } catch (DeliveryException e) {
      if (e.retryable()) {
        report(
            slot, activeVersion(name), ref.version(), "waiting", e.code() + ": " + e.getMessage());
      } else {
        reject(slot, name, ref, e.code(), e.getMessage());
      }
    }
  }

  private void reject(String slot, String name, ModelRef ref, String code, String message)
      throws IOException {
    String why = code + ": " + message;
    store.reject(name, ref.manifestSha256(), why);
    log.warn(
        "model {} v{} refused; v{} keeps serving: {}",
        name,
        ref.version(),
        activeVersion(name),
        why);
    report(slot, activeVersion(name), ref.version(), "failed", why);
  }

  private void activate(String slot, String name, ModelStore.Installed installed)
      throws IOException, InterruptedException {
    long bound = config.smokeMaxLatency().toNanos();
    LoadedModel candidate = registry.open(installed.dir());
    long latency;
    try {
      latency = SmokeTest.run(candidate, 5, bound);
    } catch (InferenceException e) {
      if (candidate.session() != null) {
        candidate.session().close();
      }
      throw e;
    }
    LoadedModel previous = null;
    try {
      previous = registry.require(name, null);
    } catch (InferenceException none) {
      // no version serves yet: nothing to compare with or fall back to but the store's
    }
    long previousLatency = previous == null ? 0 : SmokeTest.run(previous, 5, 0);
    Path previousDir = previous == null ? null : previous.dir();
    store.activate(installed);
    registry.activate(candidate);
    report(slot, installed.version(), null, "health_window", null);

    // the health window: real traffic plus probes on the sample input
    ModelRegistry.Stats stats = registry.stats(candidate.name(), candidate.version());
    long callsBefore = stats.calls.get();
    long errorsBefore = stats.errors.get();
    List<Long> probes = new ArrayList<>();
    long deadline = System.nanoTime() + config.healthWindow().toNanos();
    while (System.nanoTime() < deadline && !closed) {
      try {
        probes.add(registry.timed(candidate, "health_probe", () -> SmokeTest.run(candidate, 1, 0)));
      } catch (InferenceException e) {
        // counted as an error in the version's stats
      }
      Thread.sleep(200);
    }
    long calls = stats.calls.get() - callsBefore;
    long errors = stats.errors.get() - errorsBefore;
    long[] sorted = probes.stream().mapToLong(Long::longValue).sorted().toArray();
    long median = sorted.length == 0 ? latency : sorted[sorted.length / 2];
    String problem = null;
    if (calls > 0 && errors > config.maxErrorRate() * calls) {
      problem =
          String.format(
              "error rate %.0f %% (%d of %d) in the health window, the bound is %.0f %%",
              100.0 * errors / calls, errors, calls, config.maxErrorRate() * 100);
    } else if (previousLatency > 0 && median > config.latencyFactor() * previousLatency) {
      problem =
          String.format(
              "median latency %.2f ms in the health window, %.1fx the previous version's %.2f ms (bound %.1fx)",
              median / 1e6,
              (double) median / previousLatency,
              previousLatency / 1e6,
              config.latencyFactor());
    }
    if (closed) {
      return; // stopping: the store rolls the trial back on the next start
    }
    if (problem == null) {
      store.commit(name);
      registry.cleanEngineCaches(); // the commit may have removed versions beyond the kept ones
      report(slot, installed.version(), null, "active", null);
      log.info(
          "model {} v{} committed after its health window ({} calls, {} errors, median {} µs)",
          name,
          installed.version(),
          calls,
          errors,
          median / 1000);
      return;
    }
    ModelStore.Installed back = store.rollback(name, "health_window_failed: " + problem);
    Path dir = back != null ? back.dir() : previousDir;
    if (dir != null) {
      registry.activate(registry.open(dir));
    }
    registry.cleanEngineCaches();
    report(
        slot,
        activeVersion(name),
        installed.version(),
        "rolled_back",
        "health_window_failed: " + problem);
  }

  @PreDestroy
  @Override
  public void close() {
    closed = true;
    loop.interrupt();
    link.close();
  }
}
