package dev.massedge.sync.delivery;

import dev.massedge.sync.pkg.ChunkStore;
import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.PackageBuilder;
import dev.massedge.sync.pkg.PackageRejectedException;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The serving side's packages, content-addressed on disk: {@code manifests/<sha256>.json} (signed
 * manifests by their own hash), {@code chunks/<sha256>} and {@code files/<sha256>} (whole files,
 * for HTTP range requests). What a chunk server reads; what the bridge's catalog writes.
 */
public final class PackageRepository {
  private final Path root;
  private final ChunkStore chunks;
  private final Map<String, SignedPackage> manifests = new ConcurrentHashMap<>();

  public PackageRepository(Path root) throws IOException {
    this.root = Files.createDirectories(root);
    Files.createDirectories(root.resolve("manifests"));
    Files.createDirectories(root.resolve("files"));
    this.chunks = ChunkStore.files(root.resolve("chunks"));
  }

  /** Chunks a model directory, signs its manifest with {@code keys} and stores it all. */
  public SignedPackage publish(Path modelDir, KeyPair... keys) throws IOException {
    ModelManifest m = PackageBuilder.build(modelDir, chunks);
    for (ModelManifest.FileEntry f : m.files()) {
      Path target = root.resolve("files").resolve(f.sha256());
      if (!Files.exists(target)) {
        Path tmp = target.resolveSibling(f.sha256() + ".part");
        Files.copy(modelDir.resolve(f.path()), tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      }
    }
    return add(new SignedPackage(m, PackageSignature.sign(m, keys)));
  }

  /** Stores a signed package whose files' chunks are already here. */
  public SignedPackage add(SignedPackage p) throws IOException {
    for (ModelManifest.ChunkRef c : p.manifest().allChunks()) {
      if (!chunks.has(c.sha256())) {
        throw new PackageRejectedException(
            "chunk_missing",
            "package " + p.manifest().name() + ": chunk " + c.sha256() + " is not stored");
      }
    }
    byte[] bytes = p.bytes();
    String sha = p.sha256();
    Path target = root.resolve("manifests").resolve(sha + ".json");
    Path tmp = target.resolveSibling(sha + ".part");
    Files.write(tmp, bytes);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    manifests.put(sha, p);
    return p;
  }

  /** The signed manifest's bytes, or null when unknown. */
  public byte[] manifestBytes(String sha256) throws IOException {
    if (!sha256.matches("[0-9a-f]{64}")) {
      return null;
    }
    Path f = root.resolve("manifests").resolve(sha256 + ".json");
    return Files.isRegularFile(f) ? Files.readAllBytes(f) : null;
  }

  /** The signed package, or null when unknown. */
  public SignedPackage manifest(String sha256) throws IOException {
    SignedPackage p = manifests.get(sha256);
    if (p == null) {
      byte[] b = manifestBytes(sha256);
      if (b == null) {
        return null;
      }
      p = SignedPackage.parse(b, sha256);
      manifests.put(sha256, p);
    }
    return p;
  }

  /**
   * Writes chunks {@code [from, to)} of a file back to back: one read of the whole file's range
   * when the file is stored (it was hash-checked when published), else chunk by chunk.
   */
  public void writeChunks(ModelManifest.FileEntry file, int from, int to, OutputStream out)
      throws IOException {
    List<ModelManifest.ChunkRef> refs = file.chunks();
    Path whole = file(file.sha256());
    if (whole != null) {
      long offset = file.length(0, from);
      long len = file.length(from, to);
      try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(whole)) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) len);
        out.write(b.array(), 0, dev.massedge.sync.io.Durable.readAt(ch, b, offset));
      }
      return;
    }
    for (int i = from; i < to; i++) {
      out.write(chunks.get(refs.get(i)));
    }
  }

  /** A whole file by its SHA-256, for range requests; null when unknown. */
  public Path file(String sha256) {
    if (!sha256.matches("[0-9a-f]{64}")) {
      return null;
    }
    Path f = root.resolve("files").resolve(sha256);
    return Files.isRegularFile(f) ? f : null;
  }

  public ChunkStore chunks() {
    return chunks;
  }
}
