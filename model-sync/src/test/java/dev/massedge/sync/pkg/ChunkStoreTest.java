package dev.massedge.sync.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.sync.testing.Bytes;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pack-file chunk store: what a crash, a damaged record, a clean-up and an old store leave. */
class ChunkStoreTest {
  /** Chunks of random bytes, 1 to 16 KiB each. */
  static List<byte[]> chunks(int n, long seed) {
    Random r = new Random(seed);
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] b = new byte[1024 + r.nextInt(15 * 1024)];
      r.nextBytes(b);
      out.add(b);
    }
    return out;
  }

  /** {@code n} chunks put into a new packed store at {@code root}, which is then closed. */
  static List<byte[]> stored(Path root, int n, long seed) throws IOException {
    List<byte[]> cs = chunks(n, seed);
    try (ChunkStore s = ChunkStore.packed(root)) {
      for (byte[] c : cs) {
        s.put(ref(c), c);
      }
    }
    return cs;
  }

  static ModelManifest.ChunkRef ref(byte[] b) {
    return new ModelManifest.ChunkRef(Hashes.sha256(b), b.length);
  }

  static List<Path> packs(Path root) throws IOException {
    try (var f = Files.list(root)) {
      return f.filter(p -> p.getFileName().toString().endsWith(".pack")).sorted().toList();
    }
  }

  /** Flips a bit of {@code data} where a pack under {@code root} holds it. */
  static void damage(Path root, byte[] data) throws IOException {
    for (Path p : packs(root)) {
      byte[] all = Files.readAllBytes(p);
      int at = Bytes.indexOf(all, data);
      if (at >= 0) {
        all[at + data.length / 2] ^= 1;
        Files.write(p, all);
        return;
      }
    }
    throw new AssertionError("no pack under " + root + " holds those bytes");
  }

  @Test
  void chunksGoIntoOnePackAndAreReadBackAfterAReopen(@TempDir Path tmp) throws Exception {
    List<byte[]> cs = chunks(200, 1);
    ChunkStore s = ChunkStore.packed(tmp);
    for (byte[] c : cs) {
      s.put(ref(c), c);
      s.put(ref(c), c); // a chunk already stored is not stored twice
    }
    s.close();
    assertThat(packs(tmp)).hasSize(1);
    try (var f = Files.list(tmp)) {
      assertThat(f.count()).as("one file for 200 chunks").isEqualTo(1);
    }
    long payload = cs.stream().mapToLong(c -> c.length).sum();
    assertThat(Files.size(packs(tmp).get(0))).isEqualTo(8 + payload + 40L * cs.size());
    ChunkStore again = ChunkStore.packed(tmp);
    assertThat(again.size()).isEqualTo(200);
    for (byte[] c : cs) {
      assertThat(again.get(ref(c))).isEqualTo(c);
    }
    assertThatThrownBy(() -> again.get(ref(new byte[] {1, 2, 3})))
        .isInstanceOf(java.nio.file.NoSuchFileException.class);
  }

  @Test
  void aRecordCutByACrashIsCutOffAndFetchedAgain(@TempDir Path tmp) throws Exception {
    List<byte[]> cs = stored(tmp, 10, 2);
    Path pack = packs(tmp).get(0);
    long full = Files.size(pack);
    byte[] last = cs.get(9);
    // as a kill -9 in the middle of the last append leaves it: its header and half its bytes
    try (FileChannel ch = FileChannel.open(pack, StandardOpenOption.WRITE)) {
      ch.truncate(full - last.length / 2);
    }
    ChunkStore reopened = ChunkStore.packed(tmp);
    assertThat(reopened.size()).isEqualTo(9);
    assertThat(reopened.has(ref(last).sha256())).isFalse();
    assertThat(Files.size(pack)).isEqualTo(full - last.length - 40);
    for (byte[] c : cs.subList(0, 9)) {
      assertThat(reopened.get(ref(c))).isEqualTo(c);
    }
    reopened.put(ref(last), last);
    assertThat(reopened.get(ref(last))).isEqualTo(last);
    reopened.close();
    assertThat(ChunkStore.packed(tmp).size()).isEqualTo(10);

    // a header cut in half, and a pack whose own header never made it: the same
    try (FileChannel ch = FileChannel.open(packs(tmp).get(1), StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {'M', 'C'}), ch.size());
    }
    Files.write(tmp.resolve("00000009.pack"), new byte[] {'M', 'A', 'S'});
    Files.write(tmp.resolve("00000003.pack.tmp"), new byte[100]);
    ChunkStore third = ChunkStore.packed(tmp);
    assertThat(third.size()).isEqualTo(10);
    assertThat(tmp.resolve("00000009.pack")).doesNotExist();
    assertThat(tmp.resolve("00000003.pack.tmp")).doesNotExist();
  }

  @Test
  void aDamagedRecordIsDroppedAndStaysDroppedAfterAReopen(@TempDir Path tmp) throws Exception {
    List<byte[]> cs = stored(tmp, 5, 3);
    damage(tmp, cs.get(2));
    ChunkStore reopened = ChunkStore.packed(tmp);
    assertThat(reopened.has(ref(cs.get(2)).sha256())).isTrue();
    assertThatThrownBy(() -> reopened.get(ref(cs.get(2))))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("chunk_hash_mismatch");
    assertThat(reopened.has(ref(cs.get(2)).sha256())).isFalse();
    reopened.close();
    ChunkStore third = ChunkStore.packed(tmp);
    assertThat(third.has(ref(cs.get(2)).sha256())).as("marked dead on disk").isFalse();
    assertThat(third.get(ref(cs.get(3)))).as("the records after it").isEqualTo(cs.get(3));
    third.put(ref(cs.get(2)), cs.get(2));
    assertThat(third.get(ref(cs.get(2)))).isEqualTo(cs.get(2));
  }

  @Test
  void retainOnlyRewritesOrDeletesPacksAndFreesTheirBytes(@TempDir Path tmp) throws Exception {
    List<byte[]> a = chunks(50, 4);
    List<byte[]> b = chunks(50, 5);
    ChunkStore s = ChunkStore.packed(tmp);
    for (byte[] c : a) {
      s.put(ref(c), c);
    }
    s.close(); // the next chunks go into a second pack
    for (byte[] c : b) {
      s.put(ref(c), c);
    }
    assertThat(packs(tmp)).hasSize(2);
    Set<String> keep = new HashSet<>();
    for (int i = 0; i < 50; i += 2) {
      keep.add(ref(b.get(i)).sha256()); // half of the second pack, none of the first
    }
    long before = Files.size(packs(tmp).get(0)) + Files.size(packs(tmp).get(1));
    long freed = s.retainOnly(keep);
    assertThat(packs(tmp)).hasSize(1);
    assertThat(before - Files.size(packs(tmp).get(0))).isEqualTo(freed);
    assertThat(s.size()).isEqualTo(25);
    for (int i = 0; i < 50; i++) {
      assertThat(s.has(ref(a.get(i)).sha256())).isFalse();
      assertThat(s.has(ref(b.get(i)).sha256())).isEqualTo(i % 2 == 0);
      if (i % 2 == 0) {
        assertThat(s.get(ref(b.get(i)))).isEqualTo(b.get(i));
      }
    }
    s.put(ref(a.get(0)), a.get(0)); // a new pack: the rewritten one is not appended to
    assertThat(packs(tmp)).hasSize(2);
    s.close();
    ChunkStore reopened = ChunkStore.packed(tmp);
    assertThat(reopened.size()).isEqualTo(26);
    assertThat(reopened.get(ref(b.get(48)))).isEqualTo(b.get(48));
    assertThat(reopened.retainOnly(Set.of())).isPositive();
    assertThat(packs(tmp)).isEmpty();
  }

  @Test
  void aFullDiskRefusesAChunkAndLeavesNoPartOfItInThePack(@TempDir Path tmp) throws Exception {
    try (dev.massedge.sync.testing.TinyDisk disk =
        dev.massedge.sync.testing.TinyDisk.mount(tmp.resolve("disk"), 1 << 20)) {
      Path root = disk.dir().resolve("chunks");
      List<byte[]> cs = chunks(30, 8);
      List<byte[]> accepted = new ArrayList<>();
      List<byte[]> refused = new ArrayList<>();
      ChunkStore s = ChunkStore.packed(root);
      for (byte[] c : cs.subList(0, 5)) {
        s.put(ref(c), c);
        accepted.add(c);
      }
      disk.fill(); // another program filled the disk
      for (byte[] c : cs.subList(5, 30)) {
        long before = Files.size(packs(root).get(0));
        try {
          s.put(ref(c), c);
          accepted.add(c);
        } catch (IOException full) {
          assertThat(full.getMessage()).contains("No space left");
          assertThat(s.has(ref(c).sha256())).isFalse();
          assertThat(Files.size(packs(root).get(0))).as("cut back").isEqualTo(before);
          refused.add(c);
        }
      }
      assertThat(refused).isNotEmpty();
      // a new pack cannot even start on the full disk: refused, and nothing of it stays
      s.close();
      byte[] first = refused.get(0);
      assertThatThrownBy(() -> s.put(ref(first), first)).hasMessageContaining("No space left");
      assertThat(packs(root)).hasSize(1);
      disk.free();
      for (byte[] c : refused) {
        s.put(ref(c), c);
        accepted.add(c);
      }
      s.close();
      ChunkStore reopened = ChunkStore.packed(root);
      assertThat(reopened.size()).isEqualTo(30);
      for (byte[] c : accepted) {
        assertThat(reopened.get(ref(c))).isEqualTo(c);
      }
    }
  }

  @Test
  void aCleanUpOnAFullDiskLeavesAPackItCannotRewriteAsItWas(@TempDir Path tmp) throws Exception {
    try (dev.massedge.sync.testing.TinyDisk disk =
        dev.massedge.sync.testing.TinyDisk.mount(tmp.resolve("disk"), 1 << 20)) {
      Path root = disk.dir().resolve("chunks");
      List<byte[]> cs = stored(root, 20, 9);
      Set<String> keep = new HashSet<>();
      for (int i = 0; i < 20; i += 2) {
        keep.add(ref(cs.get(i)).sha256());
      }
      Path pack = packs(root).get(0);
      long size = Files.size(pack);
      disk.fill();
      ChunkStore s = ChunkStore.packed(root);
      assertThat(s.retainOnly(keep)).as("nothing freed, no failure").isZero();
      assertThat(Files.size(pack)).isEqualTo(size);
      try (var f = Files.list(root)) {
        assertThat(f.toList()).containsExactly(pack); // no half-written rewrite left
      }
      for (byte[] c : cs) {
        assertThat(s.get(ref(c))).isEqualTo(c);
      }
      disk.free();
      assertThat(s.retainOnly(keep)).isPositive();
      assertThat(s.size()).isEqualTo(10);
      for (int i = 0; i < 20; i += 2) {
        assertThat(s.get(ref(cs.get(i)))).isEqualTo(cs.get(i));
      }
    }
  }

  @Test
  void aStoreOfOneFilePerChunkIsMovedIntoAPack(@TempDir Path tmp) throws Exception {
    List<byte[]> cs = chunks(20, 6);
    for (byte[] c : cs) {
      Files.write(tmp.resolve(ref(c).sha256()), c); // as stores before packs kept them
    }
    Files.write(tmp.resolve(ref(cs.get(0)).sha256() + ".part"), new byte[10]);
    ChunkStore s = ChunkStore.packed(tmp);
    assertThat(s.size()).isEqualTo(20);
    try (var f = Files.list(tmp)) {
      assertThat(f.map(p -> p.getFileName().toString()).toList()).containsExactly("00000001.pack");
    }
    for (byte[] c : cs) {
      assertThat(s.get(ref(c))).isEqualTo(c);
    }
  }

  @Test
  void sealedChunksNeverReachThePackInClear(@TempDir Path tmp) throws Exception {
    dev.massedge.sync.store.ModelCipher cipher =
        new dev.massedge.sync.store.ModelCipher(new byte[32]);
    List<byte[]> cs = chunks(5, 7);
    ChunkStore s = ChunkStore.packed(tmp, cipher);
    for (byte[] c : cs) {
      s.put(ref(c), c);
    }
    s.close();
    byte[] pack = Files.readAllBytes(packs(tmp).get(0));
    for (byte[] c : cs) {
      assertThat(Bytes.indexOf(pack, java.util.Arrays.copyOf(c, 64))).isEqualTo(-1);
      assertThat(ChunkStore.packed(tmp, cipher).get(ref(c))).isEqualTo(c);
    }
  }
}
