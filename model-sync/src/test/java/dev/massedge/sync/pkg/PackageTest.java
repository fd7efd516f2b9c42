package dev.massedge.sync.pkg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signed, content-addressed packages of the real BlazeFace model. */
class PackageTest {
  static final Path MODELS = Path.of(System.getProperty("mass.models.dir", "../models"));

  static ModelManifest manifest(Path dir, ChunkStore store) throws Exception {
    return PackageBuilder.build(dir, store);
  }

  @Test
  void aSignedPackageVerifiesAndAnAlteredOneDoesNot() throws Exception {
    ModelManifest m = manifest(MODELS.resolve("face-blazeface-128"), null);
    KeyPair publisher = PackageSignature.newKeyPair();
    List<PackageSignature> sig = PackageSignature.sign(m, publisher);
    TrustStore device = new TrustStore().trust(publisher.getPublic());
    assertThat(device.verify(m, sig)).isEqualTo(PackageSignature.keyId(publisher.getPublic()));

    // the manifest survives its own JSON, byte for byte, so signatures do too
    ModelManifest reread = ModelManifest.parse(m.canonicalBytes());
    assertThat(reread.canonicalBytes()).isEqualTo(m.canonicalBytes());
    assertThat(device.verify(reread, sig)).isNotNull();

    ModelManifest altered =
        new ModelManifest(
            m.format(),
            m.name(),
            "2",
            m.task(),
            m.engine(),
            m.executionProviders(),
            m.files(),
            m.descriptor());
    assertThatThrownBy(() -> device.verify(altered, sig))
        .isInstanceOf(PackageRejectedException.class)
        .hasMessageContaining("face-short")
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("signature_invalid");
    assertThatThrownBy(() -> device.verify(m, List.of()))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("unsigned");
  }

  @Test
  void unknownRevokedAndRotatedKeys() throws Exception {
    ModelManifest m = manifest(MODELS.resolve("face-blazeface-128"), null);
    KeyPair oldKey = PackageSignature.newKeyPair();
    KeyPair newKey = PackageSignature.newKeyPair();
    KeyPair stranger = PackageSignature.newKeyPair();
    String oldId = PackageSignature.keyId(oldKey.getPublic());
    TrustStore device = new TrustStore().trust(oldKey.getPublic());

    assertThatThrownBy(() -> device.verify(m, PackageSignature.sign(m, stranger)))
        .hasMessageContaining(PackageSignature.keyId(stranger.getPublic()))
        .hasMessageContaining(oldId)
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("unknown_key");

    // rotation: trust the new key, sign with both, retire the old
    List<PackageSignature> both = PackageSignature.sign(m, oldKey, newKey);
    device.trust(newKey.getPublic());
    assertThat(device.verify(m, both)).isEqualTo(oldId);
    device.retire(oldId);
    assertThat(device.verify(m, both)).isEqualTo(PackageSignature.keyId(newKey.getPublic()));
    assertThatThrownBy(() -> device.verify(m, PackageSignature.sign(m, oldKey)))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("unknown_key");

    // a revoked key spoils a package even next to a good signature
    device.revoke(oldId);
    assertThatThrownBy(() -> device.verify(m, both))
        .hasMessageContaining("revoked key " + oldId)
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("revoked_key");
  }

  @Test
  void chunksAreStableAndAChangeOnlyCostsTheChunksAroundIt() {
    byte[] data = new byte[1 << 20];
    new Random(1).nextBytes(data);
    List<FastCdc.Chunk> a = FastCdc.chunks(data);
    assertThat(FastCdc.chunks(data)).isEqualTo(a);
    for (int i = 0; i < a.size() - 1; i++) {
      assertThat(a.get(i).length()).isBetween(FastCdc.MIN, FastCdc.MAX);
    }
    assertThat(a.size()).isBetween((1 << 20) / FastCdc.AVG / 2, (1 << 20) / FastCdc.AVG * 2);

    // 100 bytes inserted in the middle: only the chunks around the insertion are new
    byte[] b = new byte[data.length + 100];
    System.arraycopy(data, 0, b, 0, 500_000);
    System.arraycopy(data, 500_000, b, 500_100, data.length - 500_000);
    Set<String> have = new HashSet<>();
    a.forEach(c -> have.add(c.sha256()));
    long newBytes =
        FastCdc.chunks(b).stream()
            .filter(c -> !have.contains(c.sha256()))
            .mapToLong(FastCdc.Chunk::length)
            .sum();
    assertThat(newBytes).isLessThan(3L * FastCdc.MAX);
  }

  @Test
  void aRetrainedLastLayerCostsOnlyItsChunks(@TempDir Path tmp) throws Exception {
    Path v1 = MODELS.resolve("face-blazeface-256");
    byte[] model = Files.readAllBytes(v1.resolve("model.onnx"));
    // v2: the last 5 % of the file (the heads' weights) changed
    byte[] changed = model.clone();
    Random r = new Random(2);
    int from = (int) (changed.length * 0.95);
    for (int i = from; i < changed.length - 200; i++) {
      changed[i] = (byte) r.nextInt();
    }
    Path v2 = Files.createDirectories(tmp.resolve("v2"));
    Files.write(v2.resolve("model.onnx"), changed);
    Files.copy(v1.resolve("model.json"), v2.resolve("model.json"));
    ChunkStore device = ChunkStore.files(tmp.resolve("device-chunks"));
    ModelManifest m1 = manifest(v1, device);
    ModelManifest m2 = manifest(v2, null);
    long missing =
        m2.allChunks().stream()
            .filter(c -> !device.has(c.sha256()))
            .mapToLong(ModelManifest.ChunkRef::size)
            .sum();
    long changedBytes = changed.length - 200 - from;
    assertThat(missing).isLessThanOrEqualTo(changedBytes + FastCdc.MAX);
    assertThat(m1.files().get(0).sha256()).isNotEqualTo(m2.files().get(0).sha256());
  }

  @Test
  void corruptAndTruncatedChunksAreRefusedAndFilesCheckedWhenAssembled(@TempDir Path tmp)
      throws Exception {
    ChunkStore store = ChunkStore.files(tmp.resolve("chunks"));
    ModelManifest m = manifest(MODELS.resolve("face-blazeface-128"), store);
    ModelManifest.FileEntry file = m.files().get(0);
    Path out = tmp.resolve("out/model.onnx");
    store.assemble(file, out);
    assertThat(Files.readAllBytes(out))
        .isEqualTo(Files.readAllBytes(MODELS.resolve("face-blazeface-128/model.onnx")));

    ModelManifest.ChunkRef first = file.chunks().get(0);
    byte[] good = store.get(first);
    byte[] bad = good.clone();
    bad[10] ^= 1;
    ChunkStore other = ChunkStore.files(tmp.resolve("other"));
    assertThatThrownBy(() -> other.put(first, bad))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("chunk_hash_mismatch");
    assertThatThrownBy(() -> other.put(first, java.util.Arrays.copyOf(good, good.length - 1)))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("chunk_truncated");
    assertThat(other.has(first.sha256())).isFalse();

    // a chunk damaged on disk is found when read, removed, and the file is not assembled
    Files.write(tmp.resolve("chunks").resolve(first.sha256()), bad);
    Path out2 = tmp.resolve("out2/model.onnx");
    assertThatThrownBy(() -> store.assemble(file, out2))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("chunk_hash_mismatch");
    assertThat(out2).doesNotExist();
    assertThat(store.has(first.sha256())).isFalse();
  }

  @Test
  void manifestsThatLieAreRefused() {
    assertThatThrownBy(() -> ModelManifest.parse("{\"format\": 9}".getBytes()))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("manifest_invalid");
    assertThatThrownBy(() -> ModelManifest.parse("not json".getBytes()))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("manifest_invalid");
    List<ModelManifest.ChunkRef> chunks =
        new ArrayList<>(List.of(new ModelManifest.ChunkRef("ab", 10)));
    assertThatThrownBy(
            () ->
                new ModelManifest(
                    1,
                    "m",
                    "1",
                    "tensor",
                    "onnxruntime",
                    null,
                    List.of(new ModelManifest.FileEntry("../etc/passwd", 10, "x", chunks)),
                    null))
        .hasMessageContaining("inside the package");
    assertThatThrownBy(
            () ->
                new ModelManifest(
                    1,
                    "m",
                    "1",
                    "tensor",
                    "onnxruntime",
                    null,
                    List.of(new ModelManifest.FileEntry("m.onnx", 11, "x", chunks)),
                    null))
        .hasMessageContaining("add up to 10");
  }
}
