package dev.massedge.bridge.catalog;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.bridge.Json;
import dev.massedge.bridge.db.Db;
import dev.massedge.bridge.fleet.NotFoundException;
import dev.massedge.inference.EngineOptions;
import dev.massedge.inference.Engines;
import dev.massedge.inference.InferenceException;
import dev.massedge.inference.TensorSpec;
import dev.massedge.inference.model.LoadedModel;
import dev.massedge.inference.model.ModelDescriptor;
import dev.massedge.inference.model.ModelRepository;
import dev.massedge.inference.model.SmokeTest;
import dev.massedge.sync.contract.SyncMessage;
import dev.massedge.sync.delivery.PackageRepository;
import dev.massedge.sync.pkg.Hashes;
import dev.massedge.sync.pkg.SignedPackage;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model catalog. An upload (a zip of a model directory, or a bare model file plus its
 * descriptor) is opened with the real engine: the descriptor must name inputs and outputs the model
 * really has, and a smoke test must pass. Then it is chunked, signed with the fleet key and stored
 * content-addressed in the package repository the chunk servers read; the database keeps its
 * versions, notes and uploader. A version number is never reused for different bytes.
 */
@Singleton
public final class ModelCatalog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ModelCatalog.class);
  public static final long MAX_UPLOAD_BYTES = 512L * 1024 * 1024;
  private static final int MAX_ZIP_ENTRIES = 16;
  private final Db db;
  private final FleetKey key;
  private final PackageRepository repo;
  private final Path uploads;
  private final ModelRepository inspector;

  public ModelCatalog(Db db, FleetKey key, BridgeConfig config) throws IOException {
    this.db = db;
    this.key = key;
    this.repo = new PackageRepository(Path.of(config.dataDir()).resolve("artifacts"));
    this.uploads = Files.createDirectories(Path.of(config.dataDir()).resolve("uploads"));
    this.inspector = new ModelRepository(new Engines(), EngineOptions.cpu(1));
  }

  public PackageRepository repository() {
    return repo;
  }

  /** A refused upload: a stable code and a message that says what to fix. */
  public static final class RejectedException extends RuntimeException {
    private final String code;

    public RejectedException(String code, String message) {
      super(message);
      this.code = code;
    }

    public String code() {
      return code;
    }
  }

  /** Adds a bare model: its descriptor (model.json) and the file it names. */
  public Map<String, Object> push(byte[] descriptor, byte[] model, String notes, String user)
      throws IOException {
    Path dir = newUploadDir();
    try {
      ModelDescriptor d;
      try {
        d = ModelDescriptor.parse(new String(descriptor, java.nio.charset.StandardCharsets.UTF_8));
      } catch (InferenceException e) {
        throw new RejectedException(e.code(), "model.json: " + e.getMessage());
      }
      if (d.file() == null
          || !d.file().matches("[A-Za-z0-9._-]{1,128}")
          || d.file().equals("model.json")) {
        throw new RejectedException(
            "descriptor_invalid", "model.json: 'file' must be a plain file name, got " + d.file());
      }
      Files.write(dir.resolve(ModelDescriptor.FILE_NAME), descriptor);
      Files.write(dir.resolve(d.file()), model);
      return add(dir, notes, user);
    } finally {
      dev.massedge.sync.io.Durable.deleteTree(dir);
    }
  }

  /** Adds a model directory packed as a zip (model.json and the model file at its top). */
  public Map<String, Object> pushZip(InputStream zip, String notes, String user)
      throws IOException {
    Path dir = newUploadDir();
    try {
      long total = 0;
      int entries = 0;
      try (ZipInputStream in = new ZipInputStream(zip)) {
        for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
          if (e.isDirectory()) {
            continue;
          }
          String name = Path.of(e.getName()).getFileName().toString();
          if (!name.matches("[A-Za-z0-9._-]{1,128}") || ++entries > MAX_ZIP_ENTRIES) {
            throw new RejectedException(
                "package_invalid", "zip entry '" + e.getName() + "' is not a plain model file");
          }
          byte[] b =
              in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, MAX_UPLOAD_BYTES - total + 1));
          total += b.length;
          if (total > MAX_UPLOAD_BYTES) {
            throw new RejectedException(
                "package_too_large", "the package unpacks beyond " + MAX_UPLOAD_BYTES + " bytes");
          }
          Files.write(dir.resolve(name), b);
        }
      } catch (java.util.zip.ZipException e) {
        throw new RejectedException("package_invalid", "not a readable zip: " + e.getMessage());
      }
      if (!Files.exists(dir.resolve(ModelDescriptor.FILE_NAME))) {
        throw new RejectedException("package_invalid", "the zip has no model.json at its top");
      }
      return add(dir, notes, user);
    } finally {
      dev.massedge.sync.io.Durable.deleteTree(dir);
    }
  }

  /** Adds a model directory on this machine (the CLI's local path, tests). */
  public Map<String, Object> pushDirectory(Path modelDir, String notes, String user)
      throws IOException {
    ModelDescriptor d = ModelDescriptor.read(modelDir);
    byte[] desc = Files.readAllBytes(modelDir.resolve(ModelDescriptor.FILE_NAME));
    return push(desc, Files.readAllBytes(modelDir.resolve(d.file())), notes, user);
  }

  private Map<String, Object> add(Path dir, String notes, String user) throws IOException {
    LoadedModel m = inspector.open(dir);
    double smokeMs;
    List<String> inputs = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    try {
      if (!m.ready()) {
        throw new RejectedException(m.failure().code(), m.failure().message());
      }
      try {
        smokeMs = SmokeTest.run(m, 3, 30_000_000_000L) / 1e6;
      } catch (InferenceException e) {
        throw new RejectedException(e.code(), e.getMessage());
      }
      m.session().inputs().stream().map(TensorSpec::describe).forEach(inputs::add);
      m.session().outputs().stream().map(TensorSpec::describe).forEach(outputs::add);
    } finally {
      if (m.session() != null) {
        m.session().close();
      }
    }
    ModelDescriptor d = m.descriptor();
    Optional<Map<String, Object>> existing = row(d.name(), d.version());
    if (existing.isPresent()) {
      SignedPackage p = repo.manifest((String) existing.get().get("manifest_sha256"));
      String fileSha = Hashes.sha256(Files.readAllBytes(dir.resolve(d.file())));
      if (p != null && p.manifest().files().get(0).sha256().equals(fileSha)) {
        return view(existing.get());
      }
      throw new RejectedException(
          "version_exists",
          "model "
              + d.name()
              + " v"
              + d.version()
              + " is already in the catalog with other bytes; give the new one another version");
    }
    SignedPackage p = repo.publish(dir, key.pair());
    long size = p.manifest().files().stream().mapToLong(f -> f.size()).sum();
    try {
      db.update(
          "insert into models (name, version, manifest_sha256, task, engine, size_bytes, chunks,"
              + " inputs, outputs, smoke_ms, notes, uploaded_by, created_at)"
              + " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          d.name(),
          d.version(),
          p.sha256(),
          d.task(),
          d.engine(),
          size,
          p.manifest().allChunks().size(),
          Json.write(inputs),
          Json.write(outputs),
          smokeMs,
          notes,
          user,
          System.currentTimeMillis());
    } catch (RuntimeException e) {
      if (Db.isDuplicate(e)) {
        throw new RejectedException(
            "version_exists", "model " + d.name() + " v" + d.version() + " was added meanwhile");
      }
      throw e;
    }
    log.info(
        "model {} v{} added by {}: {} bytes, {} chunks, manifest {}",
        d.name(),
        d.version(),
        user,
        size,
        p.manifest().allChunks().size(),
        p.sha256().substring(0, 12));
    return get(d.name(), d.version());
  }

  private Optional<Map<String, Object>> row(String name, String version) {
    return db.one("select * from models where name = ? and version = ?", name, version);
  }

  public Map<String, Object> get(String name, String version) {
    return view(
        row(name, version)
            .orElseThrow(
                () ->
                    new NotFoundException(
                        "model_unknown", "no model " + name + " v" + version + " in the catalog")));
  }

  /** The reference a desired twin carries. */
  public SyncMessage.ModelRef ref(String name, String version) {
    Map<String, Object> r = get(name, version);
    return new SyncMessage.ModelRef(name, version, (String) r.get("manifestSha256"));
  }

  public Optional<SyncMessage.ModelRef> find(String name, String version) {
    return row(name, version)
        .map(r -> new SyncMessage.ModelRef(name, version, (String) r.get("manifest_sha256")));
  }

  /** How many model versions the catalog holds. */
  public long count() {
    return Db.asLong(db.query("select count(*) as n from models").get(0).get("n"));
  }

  public List<Map<String, Object>> list(String name) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> r :
        name == null
            ? db.query("select * from models order by name, created_at")
            : db.query("select * from models where name = ? order by created_at", name)) {
      out.add(view(r));
    }
    return out;
  }

  private static Map<String, Object> view(Map<String, Object> r) {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("name", r.get("name"));
    v.put("version", r.get("version"));
    v.put("manifestSha256", r.get("manifest_sha256"));
    v.put("task", r.get("task"));
    v.put("engine", r.get("engine"));
    v.put("sizeBytes", r.get("size_bytes"));
    v.put("chunks", r.get("chunks"));
    v.put("inputs", Json.read((String) r.get("inputs"), List.class));
    v.put("outputs", Json.read((String) r.get("outputs"), List.class));
    v.put("smokeMs", r.get("smoke_ms"));
    v.put("notes", r.get("notes"));
    v.put("uploadedBy", r.get("uploaded_by"));
    v.put("createdAt", r.get("created_at"));
    return v;
  }

  private Path newUploadDir() throws IOException {
    return Files.createDirectories(uploads.resolve(UUID.randomUUID().toString()));
  }

  @PreDestroy
  @Override
  public void close() {
    inspector.close();
  }
}
