package dev.massedge.sync.pkg;

import dev.massedge.sync.io.Durable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chunks appended to pack files ({@code <root>/<n>.pack}, docs/package-format.md): the device's
 * store, used by one process.
 *
 * <p>Why packs and not a file per chunk: a 10 MB model is 1,280 chunks of 8 KiB on average, and
 * creating (and renaming) that many files cost more than fetching them — 0.2 to 0.9 s per 10 MB on
 * this project's ext4 test machines, worse on the SD cards and eMMC of the devices, with an inode
 * and a partly filled block each. A pack is one file appended to: a record is {@code "MCK1"}, the
 * chunk's SHA-256 (32 bytes), its stored length (4 bytes, big-endian) and its bytes (sealed when
 * the store has a cipher). The index (hash → pack, offset, length) lives in memory and is rebuilt
 * at open by walking the records' headers; a record cut by a crash or a full disk ends the walk and
 * is cut off its pack, a record found damaged when read is marked {@code "DEAD"} and fetched again.
 * Nothing is synced one by one: every read checks the hash again, and the assembled file is synced
 * before it is used. {@link #retainOnly} rewrites a pack without its unused chunks (a new file
 * renamed over it) or deletes it. A store from before packs (a file per chunk) is moved into a pack
 * when opened.
 */
final class PackChunkStore extends ChunkStore {
  private static final Logger log = LoggerFactory.getLogger(PackChunkStore.class);
  private static final byte[] PACK_MAGIC =
      "MASSPAK1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final int LIVE = 0x4D434B31; // "MCK1"
  private static final int DEAD = 0x44454144; // "DEAD"
  private static final int HEADER = 4 + 32 + 4;

  /** A record longer than this is not one (chunks are at most 64 KiB; sealing adds a little). */
  static final int MAX_RECORD = 16 << 20;

  /** A pack grows to about this size before the next one is started. */
  static final long PACK_BYTES = 64L << 20;

  private record Loc(int pack, long offset, int length) {}

  private final Map<String, Loc> index = new HashMap<>();
  private final TreeSet<Integer> packs = new TreeSet<>();
  private final Map<Integer, FileChannel> readers = new HashMap<>();
  private FileChannel writer;
  private int writerPack = -1;
  private long writerSize;

  PackChunkStore(Path root, dev.massedge.sync.store.ModelCipher cipher) throws IOException {
    super(root, cipher);
    List<Path> legacy = new ArrayList<>();
    try (var files = Files.list(root)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        String n = p.getFileName().toString();
        if (n.matches("[0-9]{8}\\.pack")) {
          packs.add(Integer.parseInt(n.substring(0, 8)));
        } else if (n.matches("[0-9a-f]{64}")) {
          legacy.add(p);
        } else if (n.endsWith(".part") || n.endsWith(".pack.tmp")) {
          Files.deleteIfExists(p); // cut by a crash before it was renamed into place
        }
      }
    }
    for (int n : packs) {
      scan(n);
    }
    for (Path p : legacy) {
      // checked when read, like any stored chunk
      store(p.getFileName().toString(), Files.readAllBytes(p));
      Files.delete(p);
    }
    if (!legacy.isEmpty()) {
      log.info("chunk store {}: {} chunk files moved into a pack", root, legacy.size());
    }
  }

  private Path pack(int n) {
    return root.resolve(String.format("%08d.pack", n));
  }

  /** Indexes a pack's records; cuts off a record a crash or a full disk left incomplete. */
  private void scan(int n) throws IOException {
    Path p = pack(n);
    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = ch.size();
      ByteBuffer magic = ByteBuffer.allocate(PACK_MAGIC.length);
      if (size < PACK_MAGIC.length
          || Durable.readAt(ch, magic, 0) < PACK_MAGIC.length
          || !java.util.Arrays.equals(magic.array(), PACK_MAGIC)) {
        log.warn("chunk store {}: {} is not a chunk pack: removed", root, p.getFileName());
        ch.close();
        Files.delete(p);
        packs.remove(n);
        return;
      }
      long pos = PACK_MAGIC.length;
      ByteBuffer h = ByteBuffer.allocate(HEADER);
      byte[] sha = new byte[32];
      while (pos + HEADER <= size) {
        h.clear();
        Durable.readAt(ch, h, pos);
        int kind = h.getInt(0);
        int len = h.getInt(36);
        if ((kind != LIVE && kind != DEAD)
            || len < 0
            || len > MAX_RECORD
            || pos + HEADER + len > size) {
          break;
        }
        if (kind == LIVE) {
          h.get(4, sha);
          index.putIfAbsent(HexFormat.of().formatHex(sha), new Loc(n, pos + HEADER, len));
        }
        pos += HEADER + len;
      }
      if (pos < size) {
        log.warn(
            "chunk store {}: {} ends in an incomplete record at byte {}: {} bytes cut off (those"
                + " chunks are fetched again)",
            root,
            p.getFileName(),
            pos,
            size - pos);
        ch.truncate(pos);
      }
    }
  }

  @Override
  public synchronized boolean has(String sha256) {
    return index.containsKey(sha256);
  }

  @Override
  public synchronized int size() {
    return index.size();
  }

  @Override
  synchronized void store(String sha256, byte[] stored) throws IOException {
    if (!index.containsKey(sha256)) {
      append(sha256, stored);
    }
  }

  /**
   * Appends a record; on failure (a full disk) cuts the pack back so nothing half-written stays.
   */
  private void append(String sha256, byte[] stored) throws IOException {
    if (writer == null || writerSize >= PACK_BYTES) {
      startPack();
    }
    long at = writerSize;
    ByteBuffer h = ByteBuffer.allocate(HEADER);
    h.putInt(LIVE).put(HexFormat.of().parseHex(sha256)).putInt(stored.length).flip();
    ByteBuffer d = ByteBuffer.wrap(stored);
    try {
      writer.position(at);
      while (h.hasRemaining() || d.hasRemaining()) {
        writer.write(new ByteBuffer[] {h, d});
      }
    } catch (IOException e) {
      try {
        writer.truncate(at);
      } catch (IOException ignored) {
        // the walk at the next open cuts it off
      }
      throw e;
    }
    writerSize = at + HEADER + stored.length;
    index.put(sha256, new Loc(writerPack, at + HEADER, stored.length));
  }

  private void startPack() throws IOException {
    closeWriter();
    int n = packs.isEmpty() ? 1 : packs.last() + 1;
    while (Files.exists(pack(n))) {
      n++; // not one of ours
    }
    FileChannel ch =
        FileChannel.open(
            pack(n),
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    try {
      ch.write(ByteBuffer.wrap(PACK_MAGIC), 0);
    } catch (IOException e) {
      // a full disk: no headerless pack stays behind to block the next start
      ch.close();
      Files.deleteIfExists(pack(n));
      throw e;
    }
    packs.add(n);
    writer = ch;
    writerPack = n;
    writerSize = PACK_MAGIC.length;
  }

  private void closeWriter() throws IOException {
    if (writer != null) {
      writer.close();
      writer = null;
      writerPack = -1;
    }
  }

  private FileChannel reader(int n) throws IOException {
    if (n == writerPack) {
      return writer;
    }
    FileChannel ch = readers.get(n);
    if (ch == null) {
      ch = FileChannel.open(pack(n), StandardOpenOption.READ);
      readers.put(n, ch);
    }
    return ch;
  }

  /**
   * Deletes the packs none of whose chunks are kept first (that needs no room), then rewrites the
   * packs some of whose chunks are kept; a rewrite the disk has no room for leaves its pack as it
   * is (logged, not freed) rather than failing the clean-up that was to make room.
   */
  @Override
  public synchronized long retainOnly(Set<String> keep) throws IOException {
    Map<Integer, List<Map.Entry<String, Loc>>> byPack = new HashMap<>();
    for (Map.Entry<String, Loc> e : index.entrySet()) {
      byPack.computeIfAbsent(e.getValue().pack(), k -> new ArrayList<>()).add(e);
    }
    long freed = 0;
    Map<Integer, List<Map.Entry<String, Loc>>> rewrites = new java.util.TreeMap<>();
    for (int n : new ArrayList<>(packs)) {
      List<Map.Entry<String, Loc>> in = byPack.getOrDefault(n, List.of());
      List<Map.Entry<String, Loc>> kept =
          in.stream().filter(e -> keep.contains(e.getKey())).toList();
      if (kept.size() == in.size() && !in.isEmpty()) {
        continue;
      }
      if (!kept.isEmpty()) {
        rewrites.put(n, kept);
        continue;
      }
      release(n);
      long before = Files.size(pack(n));
      Files.delete(pack(n));
      packs.remove(n);
      in.forEach(e -> index.remove(e.getKey()));
      freed += before;
    }
    for (Map.Entry<Integer, List<Map.Entry<String, Loc>>> r : rewrites.entrySet()) {
      int n = r.getKey();
      try {
        freed += rewrite(n, r.getValue(), byPack.get(n));
      } catch (IOException e) {
        log.warn(
            "chunk store {}: could not rewrite {} without its unused chunks ({}): left as it is",
            root,
            pack(n).getFileName(),
            e.getMessage());
      }
    }
    return freed;
  }

  /** Closes what this store holds open of pack {@code n}; the next chunk starts a new pack. */
  private void release(int n) throws IOException {
    if (n == writerPack) {
      closeWriter();
    }
    FileChannel old = readers.remove(n);
    if (old != null) {
      old.close();
    }
  }

  /** Pack {@code n} with only {@code kept} of its records, renamed over it; the bytes freed. */
  private long rewrite(int n, List<Map.Entry<String, Loc>> kept, List<Map.Entry<String, Loc>> in)
      throws IOException {
    release(n);
    Path p = pack(n);
    long before = Files.size(p);
    Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
    Map<String, Loc> moved = new HashMap<>();
    try {
      try (FileChannel src = FileChannel.open(p, StandardOpenOption.READ);
          FileChannel dst =
              FileChannel.open(
                  tmp,
                  StandardOpenOption.CREATE,
                  StandardOpenOption.TRUNCATE_EXISTING,
                  StandardOpenOption.WRITE)) {
        long pos = dst.write(ByteBuffer.wrap(PACK_MAGIC));
        for (Map.Entry<String, Loc> e : kept) {
          Loc l = e.getValue();
          long len = HEADER + l.length();
          long from = l.offset() - HEADER;
          for (long done = 0; done < len; ) {
            done += src.transferTo(from + done, len - done, dst);
          }
          moved.put(e.getKey(), new Loc(n, pos + HEADER, l.length()));
          pos += len;
        }
        dst.force(true);
      }
      Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
    in.forEach(e -> index.remove(e.getKey()));
    index.putAll(moved);
    return before - Files.size(p);
  }

  @Override
  synchronized byte[] read(String sha256) throws IOException {
    Loc loc = index.get(sha256);
    if (loc == null) {
      throw new NoSuchFileException(root.toString(), null, "no chunk " + sha256);
    }
    ByteBuffer b = ByteBuffer.allocate(loc.length());
    return Durable.readAt(reader(loc.pack()), b, loc.offset()) < loc.length()
        ? new byte[0]
        : b.array();
  }

  /** Takes a damaged record out of the index, and out of the next open's walk. */
  @Override
  synchronized void drop(String sha256) throws IOException {
    Loc loc = index.remove(sha256);
    if (loc != null) {
      try (FileChannel ch = FileChannel.open(pack(loc.pack()), StandardOpenOption.WRITE)) {
        ch.write(ByteBuffer.allocate(4).putInt(0, DEAD), loc.offset() - HEADER);
      }
    }
  }

  /** Closes the open packs; the store opens them again when used. */
  @Override
  public synchronized void close() throws IOException {
    closeWriter();
    for (FileChannel ch : readers.values()) {
      ch.close();
    }
    readers.clear();
  }
}
