package dev.massedge.sync.pkg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * A file per chunk ({@code <root>/<sha256>}), written to {@code .part} and renamed into place: any
 * number of processes may share the folder (the bridges' repository on a shared volume).
 */
final class FileChunkStore extends ChunkStore {
  FileChunkStore(Path root, dev.massedge.sync.store.ModelCipher cipher) throws IOException {
    super(root, cipher);
  }

  @Override
  public boolean has(String sha256) {
    return Files.isRegularFile(root.resolve(sha256));
  }

  @Override
  public int size() throws IOException {
    try (var files = Files.list(root)) {
      return (int) files.filter(p -> p.getFileName().toString().matches("[0-9a-f]{64}")).count();
    }
  }

  @Override
  void store(String sha256, byte[] stored) throws IOException {
    Path tmp = root.resolve(sha256 + ".part");
    // not synced one by one: every read checks the hash again, so a chunk a power cut spoiled is
    // refetched, and the assembled file is synced before it is used
    Files.write(tmp, stored, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
    Files.move(
        tmp,
        root.resolve(sha256),
        StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  byte[] read(String sha256) throws IOException {
    return Files.readAllBytes(root.resolve(sha256));
  }

  @Override
  void drop(String sha256) throws IOException {
    Files.deleteIfExists(root.resolve(sha256));
  }

  @Override
  public long retainOnly(Set<String> keep) throws IOException {
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
}
