package dev.massedge.sync.pkg;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * Chunks by content on disk: a chunk is checked against its hash before it is stored and again when
 * it is read, so a corrupt or truncated chunk is never used; files are assembled from chunks and
 * checked against the manifest before they appear, atomically. Two layouts: {@link #files} (a file
 * per chunk, {@code <root>/<sha256>}: what the bridges' repository keeps, safe for several
 * processes on a shared volume) and {@link #packed} (chunks appended to pack files: the device's
 * store, one process, far fewer file creations).
 */
public abstract class ChunkStore implements AutoCloseable {
  protected final Path root;
  protected final dev.massedge.sync.store.ModelCipher cipher;

  ChunkStore(Path root, dev.massedge.sync.store.ModelCipher cipher) throws IOException {
    this.root = Files.createDirectories(root);
    this.cipher = cipher;
  }

  /** A file per chunk, in clear. */
  public static ChunkStore files(Path root) throws IOException {
    return new FileChunkStore(root, null);
  }

  /** Chunks in pack files, in clear. */
  public static ChunkStore packed(Path root) throws IOException {
    return packed(root, null);
  }

  /**
   * Chunks in pack files; with {@code cipher}, chunks are kept encrypted, and so are assembled
   * files (all but the JSON descriptors); null keeps them in clear.
   */
  public static ChunkStore packed(Path root, dev.massedge.sync.store.ModelCipher cipher)
      throws IOException {
    return new PackChunkStore(root, cipher);
  }

  public abstract boolean has(String sha256);

  /** How many chunks are stored. */
  public abstract int size() throws IOException;

  /**
   * Keeps a checked chunk's bytes (sealed when there is a cipher) under its hash: a file store
   * writes it again (mending a damaged copy), a pack store keeps the one it has.
   */
  abstract void store(String sha256, byte[] stored) throws IOException;

  /** A chunk's stored bytes; {@link java.nio.file.NoSuchFileException} when there is none. */
  abstract byte[] read(String sha256) throws IOException;

  /** Forgets a chunk found damaged, so that it is fetched again. */
  abstract void drop(String sha256) throws IOException;

  /** Removes every chunk not in {@code keep}; returns the bytes freed. */
  public abstract long retainOnly(Set<String> keep) throws IOException;

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
    store(got, cipher == null ? data : cipher.seal(data));
  }

  public byte[] get(ModelManifest.ChunkRef ref) throws IOException {
    byte[] data = read(ref.sha256());
    if (cipher != null && data.length > 0) {
      try {
        data = cipher.open(data);
      } catch (dev.massedge.sync.store.ModelCipher.SealedFileException e) {
        data = new byte[0]; // a wrong key or a damaged chunk: fetched again, like any damage
      }
    }
    if (data.length != ref.size() || !Hashes.sha256(data).equals(ref.sha256())) {
      drop(ref.sha256());
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
    try (var ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Lets go of open files; the store opens them again when used. */
  @Override
  public void close() throws IOException {}
}
