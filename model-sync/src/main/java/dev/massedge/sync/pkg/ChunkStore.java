package dev.massedge.sync.pkg;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Chunks by content on disk ({@code <root>/<sha256>}): a chunk is checked against its hash before
 * it is stored and again when it is read, so a corrupt or truncated chunk is never used; files are
 * assembled from chunks and checked against the manifest before they appear, atomically.
 */
public final class ChunkStore {
  private final Path root;
  private final dev.massedge.sync.store.ModelCipher cipher;

  public ChunkStore(Path root) throws IOException {
    this(root, null);
  }

  /**
   * With {@code cipher}, chunks are kept encrypted, and so are assembled files (all but the JSON
   * descriptors); null keeps them in clear.
   */
  public ChunkStore(Path root, dev.massedge.sync.store.ModelCipher cipher) throws IOException {
    this.root = Files.createDirectories(root);
    this.cipher = cipher;
  }

  public boolean has(String sha256) {
    return Files.isRegularFile(root.resolve(sha256));
  }

  /** Stores a chunk that must hash to {@code expected} and be {@code size} bytes long. */
  public void put(ModelManifest.ChunkRef expected, byte[] data) throws IOException {
    if (data.length != expected.size()) {
      throw new PackageRejectedException(
          "chunk_truncated",
          "chunk "
              + expected.sha256()
              + " is "
              + data.length
              + " bytes, the manifest says "
              + expected.size());
    }
    String got = Hashes.sha256(data);
    if (!got.equals(expected.sha256())) {
      throw new PackageRejectedException(
          "chunk_hash_mismatch",
          "chunk " + expected.sha256() + " arrived with hash " + got + ": refused");
    }
    Path tmp = root.resolve(expected.sha256() + ".part");
    // not synced one by one: every read checks the hash again, so a chunk a power cut spoiled is
    // refetched, and the assembled file is synced before it is used
    Files.write(
        tmp,
        cipher == null ? data : cipher.seal(data),
        StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING);
    Files.move(
        tmp,
        root.resolve(expected.sha256()),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  /** Removes every chunk not in {@code keep}; returns the bytes freed. */
  public long retainOnly(java.util.Set<String> keep) throws IOException {
    long freed = 0;
    try (var files = Files.list(root)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String n = p.getFileName().toString();
        if (!keep.contains(n)) {
          freed += Files.size(p);
          Files.deleteIfExists(p);
        }
      }
    }
    return freed;
  }

  public byte[] get(ModelManifest.ChunkRef ref) throws IOException {
    byte[] data = Files.readAllBytes(root.resolve(ref.sha256()));
    if (cipher != null) {
      try {
        data = cipher.open(data);
      } catch (dev.massedge.sync.store.ModelCipher.SealedFileException e) {
        data = new byte[0]; // a wrong key or a damaged chunk: fetched again, like any damage
      }
    }
    if (data.length != ref.size() || !Hashes.sha256(data).equals(ref.sha256())) {
      Files.deleteIfExists(root.resolve(ref.sha256()));
      throw new PackageRejectedException(
          "chunk_hash_mismatch",
          "stored chunk " + ref.sha256() + " is damaged: removed, fetch it again");
    }
    return data;
  }

  /** Writes {@code out} from its chunks, checks size and SHA-256, then moves it into place. */
  public void assemble(ModelManifest.FileEntry file, Path out) throws IOException {
    Path tmp = out.resolveSibling(out.getFileName() + ".part");
    Files.createDirectories(out.toAbsolutePath().getParent());
    boolean seal = cipher != null && !file.path().endsWith(".json");
    byte[] all;
    if (seal) {
      // assembled and checked in memory; only the sealed bytes reach the disk
      java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream((int) file.size());
      for (ModelManifest.ChunkRef c : file.chunks()) {
        b.write(get(c));
      }
      all = b.toByteArray();
    } else {
      try (OutputStream o = Files.newOutputStream(tmp)) {
        for (ModelManifest.ChunkRef c : file.chunks()) {
          o.write(get(c));
        }
      }
      all = Files.readAllBytes(tmp);
    }
    if (all.length != file.size() || !Hashes.sha256(all).equals(file.sha256())) {
      Files.deleteIfExists(tmp);
      throw new PackageRejectedException(
          "file_hash_mismatch",
          "file '"
              + file.path()
              + "' assembled to "
              + Hashes.sha256(all)
              + ", the manifest says "
              + file.sha256());
    }
    if (seal) {
      Files.write(tmp, cipher.seal(all));
    }
    try (var ch = java.nio.channels.FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
