package dev.massedge.sync.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.massedge.sync.io.Durable;
import dev.massedge.sync.pkg.ChunkStore;
import dev.massedge.sync.pkg.Hashes;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.PackageRejectedException;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.pkg.TrustStore;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The device's versioned model store. Layout under its root: {@code chunks/} (content-addressed,
 * shared by versions, so a new version costs only its new chunks), {@code models/<name>/<dir>/}
 * (one directory per installed version: its files and {@code package.json}, the signed manifest),
 * {@code models/<name>/state.json} (which version is active, which was before it, whether the
 * active one is still on trial, which manifests failed and why), always replaced atomically (write,
 * fsync, rename, fsync the directory).
 *
 * <p>Life of a version: {@link #verify} (signature, before any chunk is fetched) → fetch chunks
 * (Delivery) → {@link #stage} (assemble, check every file's hash, sync, rename into place) → the
 * agent smoke-tests it → {@link #activate} (on trial) → health window → {@link #commit} or {@link
 * #rollback}. On open, a version still on trial (the agent died during its health window) is rolled
 * back, and the active version's files are checked against its manifest: the agent always comes up
 * on a committed, verified version.
 */
public final class ModelStore {
  private static final Logger log = LoggerFactory.getLogger(ModelStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final int MAX_ATTEMPTS = 3;

  private final Path root;
  private final ChunkStore chunks;
  private final TrustStore trust;
  private final long quotaBytes;
  private final int keep;

  /** One installed version. */
  public record Installed(
      String name, String version, String manifestSha256, Path dir, SignedPackage pkg) {
    public Path file(String path) {
      return dir.resolve(path);
    }
  }

  /**
   * A model's record: active and previous version directories, whether the active one is on trial,
   * failed manifests with their reasons, and attempts per manifest (an agent killed mid-trial
   * retries at most {@link #MAX_ATTEMPTS} times).
   */
  public record State(
      String active,
      String previous,
      boolean trial,
      Map<String, String> failed,
      Map<String, Integer> attempts) {
    public State {
      failed = failed == null ? new LinkedHashMap<>() : new LinkedHashMap<>(failed);
      attempts = attempts == null ? new LinkedHashMap<>() : new LinkedHashMap<>(attempts);
    }

    static State empty() {
      return new State(null, null, false, null, null);
    }
  }

  public ModelStore(Path root, TrustStore trust, long quotaBytes, int keep) throws IOException {
    this(root, trust, quotaBytes, keep, null);
  }

  /**
   * With {@code cipher} (the device's model key), chunks and installed model files are kept
   * encrypted (AES-256-GCM) and opened in memory only ({@link ModelCipher}).
   */
  public ModelStore(Path root, TrustStore trust, long quotaBytes, int keep, ModelCipher cipher)
      throws IOException {
    this.root = Files.createDirectories(root);
    Files.createDirectories(root.resolve("models"));
    this.cipher = cipher;
    this.chunks = ChunkStore.packed(root.resolve("chunks"), cipher);
    this.trust = trust;
    this.quotaBytes = quotaBytes;
    this.keep = Math.max(2, keep);
    for (String name : names()) {
      recover(name);
    }
  }

  public ChunkStore chunks() {
    return chunks;
  }

  private final ModelCipher cipher;

  /** The device's model key, or null when the store keeps models in clear. */
  public ModelCipher cipher() {
    return cipher;
  }

  public TrustStore trust() {
    return trust;
  }

  /** Models this store holds a record of. */
  public List<String> names() throws IOException {
    try (Stream<Path> s = Files.list(root.resolve("models"))) {
      return s.filter(p -> Files.isRegularFile(p.resolve("state.json")))
          .map(p -> p.getFileName().toString())
          .sorted()
          .toList();
    }
  }

  /** The signature check, before a single chunk is fetched. Returns the signing key's id. */
  public String verify(SignedPackage p) {
    String name = p.manifest().name();
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
      throw new PackageRejectedException(
          "manifest_invalid", "model name '" + name + "' is not allowed");
    }
    return trust.verify(p.manifest(), p.signatures());
  }

  /**
   * Makes room for a package, then assembles its files from stored chunks into a new version
   * directory (checked, synced, renamed into place). The version is installed, not active.
   */
  public Installed stage(String manifestSha256, SignedPackage p) throws IOException {
    verify(p);
    ModelManifest m = p.manifest();
    Path modelDir = Files.createDirectories(root.resolve("models").resolve(m.name()));
    String dirName = dirName(m.version(), manifestSha256);
    Path target = modelDir.resolve(dirName);
    if (Files.isRegularFile(target.resolve("package.json"))) {
      return installed(m.name(), dirName);
    }
    ensureRoom(m);
    Path staging = modelDir.resolve(dirName + ".staging");
    Durable.deleteTree(staging);
    Files.createDirectories(staging);
    try {
      for (ModelManifest.FileEntry f : m.files()) {
        chunks.assemble(f, staging.resolve(f.path()));
      }
      if (m.descriptor() != null
          && m.files().stream().noneMatch(f -> f.path().equals("model.json"))) {
        // the descriptor is part of the signed manifest; the engine reads it beside the model
        Durable.writeSynced(
            staging.resolve("model.json"),
            JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m.descriptor()));
      }
      Durable.writeSynced(staging.resolve("package.json"), p.bytes());
      Durable.syncDirectory(staging);
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      Durable.syncDirectory(modelDir);
    } catch (IOException | RuntimeException e) {
      Durable.deleteTree(staging);
      throw diskFull(e);
    }
    if (!Files.isRegularFile(modelDir.resolve("state.json"))) {
      write(m.name(), State.empty());
    }
    return installed(m.name(), dirName);
  }

  static String dirName(String version, String manifestSha256) {
    return "v" + version.replaceAll("[^A-Za-z0-9._-]", "_") + "-" + manifestSha256.substring(0, 12);
  }

  /** Makes {@code candidate} active, on trial; the active one becomes its fallback. */
  public synchronized void activate(Installed candidate) throws IOException {
    State s = state(candidate.name());
    Map<String, Integer> attempts = new LinkedHashMap<>(s.attempts());
    attempts.merge(candidate.manifestSha256(), 1, Integer::sum);
    String previous =
        candidate.dir().getFileName().toString().equals(s.active()) ? s.previous() : s.active();
    write(
        candidate.name(),
        new State(candidate.dir().getFileName().toString(), previous, true, s.failed(), attempts));
  }

  /** The active version passed its health window: it stays, and old versions beyond N go. */
  public synchronized void commit(String name) throws IOException {
    State s = state(name);
    write(name, new State(s.active(), s.previous(), false, s.failed(), s.attempts()));
    collect(name);
  }

  /**
   * The active version failed: the previous one is active again (or none: the agent falls back to
   * its bundled model), and the manifest is remembered as failed with {@code reason} so it is not
   * tried again. Returns what is active now.
   */
  public synchronized Installed rollback(String name, String reason) throws IOException {
    State s = state(name);
    Installed failed = s.active() == null ? null : installedOrNull(name, s.active());
    Map<String, String> f = new LinkedHashMap<>(s.failed());
    if (failed != null) {
      f.put(failed.manifestSha256(), reason);
    }
    write(name, new State(s.previous(), null, false, f, s.attempts()));
    log.warn("model {}: rolled back from {} to {}: {}", name, s.active(), s.previous(), reason);
    return s.previous() == null ? null : installedOrNull(name, s.previous());
  }

  /** Records a manifest that was refused before it was ever active. */
  public synchronized void reject(String name, String manifestSha256, String reason)
      throws IOException {
    if (!Files.isDirectory(root.resolve("models").resolve(name))) {
      Files.createDirectories(root.resolve("models").resolve(name));
    }
    State s = state(name);
    Map<String, String> f = new LinkedHashMap<>(s.failed());
    f.put(manifestSha256, reason);
    write(name, new State(s.active(), s.previous(), s.trial(), f, s.attempts()));
  }

  /** Why a manifest failed here before, or null. */
  public String failure(String name, String manifestSha256) throws IOException {
    return state(name).failed().get(manifestSha256);
  }

  /** The active version, or null. */
  public Installed active(String name) throws IOException {
    State s = state(name);
    return s.active() == null ? null : installedOrNull(name, s.active());
  }

  public synchronized State state(String name) throws IOException {
    Path f = root.resolve("models").resolve(name).resolve("state.json");
    if (!Files.isRegularFile(f)) {
      return State.empty();
    }
    return JSON.readValue(f.toFile(), State.class);
  }

  /** At open: undo an unfinished trial, and check the active version's files. */
  private void recover(String name) throws IOException {
    State s = state(name);
    if (s.trial()) {
      Installed a = installedOrNull(name, s.active());
      int attempts = a == null ? MAX_ATTEMPTS : s.attempts().getOrDefault(a.manifestSha256(), 1);
      Map<String, String> f = new LinkedHashMap<>(s.failed());
      if (a != null && attempts >= MAX_ATTEMPTS) {
        f.put(a.manifestSha256(), "interrupted during its health window " + attempts + " times");
      }
      log.warn(
          "model {}: {} was on trial when the agent stopped: back to {}",
          name,
          s.active(),
          s.previous());
      s = new State(s.previous(), null, false, f, s.attempts());
      write(name, s);
    }
    while (s.active() != null) {
      Installed a = installedOrNull(name, s.active());
      String problem = a == null ? "its directory is gone" : check(a, cipher);
      if (problem == null) {
        break;
      }
      log.error(
          "model {}: active version {} is damaged ({}): back to {}",
          name,
          s.active(),
          problem,
          s.previous());
      Map<String, String> f = new LinkedHashMap<>(s.failed());
      if (a != null) {
        f.put(a.manifestSha256(), "damaged on disk: " + problem);
      }
      s = new State(s.previous(), null, false, f, s.attempts());
      write(name, s);
    }
  }

  /** Checks every file of an installed version against its manifest; null when it is whole. */
  public static String check(Installed v) throws IOException {
    return check(v, null);
  }

  /** {@link #check(Installed)}, opening encrypted files with {@code cipher}. */
  public static String check(Installed v, ModelCipher cipher) throws IOException {
    for (ModelManifest.FileEntry f : v.pkg().manifest().files()) {
      Path p = v.file(f.path());
      if (!Files.isRegularFile(p)) {
        return f.path() + " is missing";
      }
      if (ModelCipher.sealed(p)) {
        if (cipher == null) {
          return f.path() + " is encrypted and no model key is set (mass.sync.model-key-file)";
        }
        byte[] plain;
        try {
          plain = cipher.openFile(p);
        } catch (ModelCipher.SealedFileException e) {
          return f.path() + " cannot be decrypted: the model key does not open it, or it changed";
        }
        if (plain.length != f.size() || !Hashes.sha256(plain).equals(f.sha256())) {
          return f.path() + " does not match its SHA-256";
        }
        continue;
      }
      if (Files.size(p) != f.size()) {
        return f.path() + " has the wrong size";
      }
      if (!sha256(p).equals(f.sha256())) {
        return f.path() + " does not match its SHA-256";
      }
    }
    return null;
  }

  private static String sha256(Path p) throws IOException {
    try (InputStream in =
        new DigestInputStream(Files.newInputStream(p), MessageDigest.getInstance("SHA-256"))) {
      byte[] buf = new byte[1 << 16];
      while (in.read(buf) >= 0) {
        // digesting
      }
      return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private Installed installed(String name, String dir) throws IOException {
    Path d = root.resolve("models").resolve(name).resolve(dir);
    byte[] b = Files.readAllBytes(d.resolve("package.json"));
    SignedPackage p = SignedPackage.parse(b, null);
    return new Installed(name, p.manifest().version(), Hashes.sha256(b), d, p);
  }

  private Installed installedOrNull(String name, String dir) {
    try {
      return dir == null ? null : installed(name, dir);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Every installed version of a model, newest first. */
  public List<Installed> versions(String name) throws IOException {
    Path d = root.resolve("models").resolve(name);
    if (!Files.isDirectory(d)) {
      return List.of();
    }
    List<Installed> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(d)) {
      for (Path p :
          s.filter(p -> Files.isRegularFile(p.resolve("package.json")))
              .sorted(Comparator.comparing((Path p) -> p.toFile().lastModified()).reversed())
              .toList()) {
        Installed i = installedOrNull(name, p.getFileName().toString());
        if (i != null) {
          out.add(i);
        }
      }
    }
    return out;
  }

  /** Removes versions beyond {@code keep} (never the active or previous one) and unused chunks. */
  public synchronized long collect(String name) throws IOException {
    State s = state(name);
    long freed = 0;
    int kept = 0;
    for (Installed v : versions(name)) {
      String dir = v.dir().getFileName().toString();
      boolean pinned = dir.equals(s.active()) || dir.equals(s.previous());
      if (pinned || kept < keep) {
        kept++;
        continue;
      }
      freed += size(v.dir());
      Durable.deleteTree(v.dir());
      log.info("model {}: removed old version {}", name, dir);
    }
    Set<String> used = new HashSet<>();
    for (String n : names()) {
      for (Installed v : versions(n)) {
        v.pkg().manifest().allChunks().forEach(c -> used.add(c.sha256()));
      }
    }
    return freed + chunks.retainOnly(used);
  }

  private void ensureRoom(ModelManifest m) throws IOException {
    long need = m.files().stream().mapToLong(ModelManifest.FileEntry::size).sum();
    ensureRoom(need, "model " + m.name() + " v" + m.version());
  }

  /** A size check for the chunks of a delivery, before they are fetched. */
  public void ensureRoomForChunks(long bytes) throws IOException {
    ensureRoom(bytes, "the chunks to fetch");
  }

  /**
   * Room for {@code bytes} more: within the quota (after removing old versions and unused chunks),
   * and on the disk with 1 MiB to spare.
   */
  private void ensureRoom(long bytes, String what) throws IOException {
    if (quotaBytes > 0 && size(root) + bytes > quotaBytes) {
      for (String n : names()) {
        collect(n);
      }
      long used = size(root);
      if (used + bytes > quotaBytes) {
        throw new PackageRejectedException(
            "quota_exceeded",
            what
                + " needs "
                + bytes
                + " bytes; the store uses "
                + used
                + " of its "
                + quotaBytes
                + " byte quota");
      }
    }
    long free = Files.getFileStore(root).getUsableSpace();
    if (free < bytes + (1 << 20)) {
      throw new PackageRejectedException(
          "disk_full", what + " needs " + bytes + " bytes; the disk has " + free + " free");
    }
  }

  private static RuntimeException diskFull(Exception e) {
    String msg = String.valueOf(e.getMessage());
    if (msg.contains("No space left")) {
      return new PackageRejectedException("disk_full", "the disk filled up while staging: " + msg);
    }
    return e instanceof RuntimeException r ? r : new java.io.UncheckedIOException((IOException) e);
  }

  private void write(String name, State s) throws IOException {
    Path dir = Files.createDirectories(root.resolve("models").resolve(name));
    Durable.replace(dir.resolve("state.json"), JSON.writeValueAsBytes(s));
  }

  private static long size(Path p) throws IOException {
    if (!Files.exists(p)) {
      return 0;
    }
    try (Stream<Path> s = Files.walk(p)) {
      return s.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }
}
