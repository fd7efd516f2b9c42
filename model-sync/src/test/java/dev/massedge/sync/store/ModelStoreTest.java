package dev.massedge.sync.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.massedge.sync.pkg.ModelManifest;
import dev.massedge.sync.pkg.PackageBuilder;
import dev.massedge.sync.pkg.PackageRejectedException;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.SignedPackage;
import dev.massedge.sync.pkg.TrustStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The device's versioned store: staging, activation on trial, commit, rollback, recovery, quota.
 */
class ModelStoreTest {
  static final Path MODELS = Path.of(System.getProperty("mass.models.dir", "../models"));
  static final KeyPair FLEET = PackageSignature.newKeyPair();
  @TempDir Path tmp;

  /** Builds and signs a version of the face model straight into the device's chunk store. */
  static SignedPackage version(ModelStore store, Path tmp, String version, KeyPair key)
      throws Exception {
    Path dir = tmp.resolve("src-" + version);
    Path file =
        dev.massedge.sync.testing.ModelDirs.asVersion(
            MODELS.resolve("face-blazeface-128"), dir, version);
    byte[] model = Files.readAllBytes(file);
    model[model.length - 1 - version.length()] ^=
        (byte) version.hashCode(); // a different file per version
    Files.write(file, model);
    ModelManifest m = PackageBuilder.build(dir, store.chunks());
    return new SignedPackage(m, PackageSignature.sign(m, key));
  }

  ModelStore open(long quota) throws Exception {
    return new ModelStore(
        tmp.resolve("store"), new TrustStore().trust(FLEET.getPublic()), quota, 2);
  }

  @Test
  void activateCommitRollbackAndComeBackOnTheCommittedVersionAfterACrash() throws Exception {
    ModelStore store = open(0);
    SignedPackage v1 = version(store, tmp, "1", FLEET);
    ModelStore.Installed i1 = store.stage(v1.sha256(), v1);
    assertThat(ModelStore.check(i1)).isNull();
    store.activate(i1);
    store.commit("face-short");
    assertThat(store.active("face-short").version()).isEqualTo("1");

    SignedPackage v2 = version(store, tmp, "2", FLEET);
    ModelStore.Installed i2 = store.stage(v2.sha256(), v2);
    store.activate(i2);
    assertThat(store.state("face-short").trial()).isTrue();
    // the agent dies during v2's health window: it comes back on v1
    ModelStore reopened = open(0);
    assertThat(reopened.active("face-short").version()).isEqualTo("1");
    assertThat(reopened.state("face-short").trial()).isFalse();
    assertThat(reopened.failure("face-short", v2.sha256())).isNull(); // may be tried again

    reopened.activate(i2);
    ModelStore.Installed back =
        reopened.rollback("face-short", "error rate 40 % in the health window");
    assertThat(back.version()).isEqualTo("1");
    assertThat(reopened.failure("face-short", v2.sha256())).contains("error rate");

    // a damaged active version is not used after a restart
    Files.write(i1.file("model.onnx"), new byte[] {1, 2, 3});
    ModelStore again = open(0);
    assertThat(again.active("face-short")).isNull();
    assertThat(again.failure("face-short", v1.sha256())).contains("damaged");
  }

  @Test
  void aTrialInterruptedThreeTimesIsGivenUp() throws Exception {
    ModelStore store = open(0);
    SignedPackage v1 = version(store, tmp, "1", FLEET);
    ModelStore.Installed i1 = store.stage(v1.sha256(), v1);
    for (int i = 0; i < ModelStore.MAX_ATTEMPTS; i++) {
      store.activate(i1);
      store = open(0);
    }
    assertThat(store.failure("face-short", v1.sha256())).contains("interrupted");
  }

  @Test
  void unsignedUnknownAndRevokedPackagesAreRefusedBeforeStaging() throws Exception {
    ModelStore store = open(0);
    KeyPair stranger = PackageSignature.newKeyPair();
    SignedPackage foreign = version(store, tmp, "1", stranger);
    assertThatThrownBy(() -> store.stage(foreign.sha256(), foreign))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("unknown_key");
    store.trust().trust(stranger.getPublic()).revoke(PackageSignature.keyId(stranger.getPublic()));
    assertThatThrownBy(() -> store.verify(foreign))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("revoked_key");
    assertThat(store.versions("face-short")).isEmpty();
  }

  @Test
  void keepsNVersionsAndHonoursItsQuota() throws Exception {
    ModelStore store = open(0);
    for (String v : new String[] {"1", "2", "3", "4"}) {
      SignedPackage p = version(store, tmp, v, FLEET);
      store.activate(store.stage(p.sha256(), p));
      store.commit("face-short");
    }
    assertThat(store.versions("face-short"))
        .extracting(ModelStore.Installed::version)
        .containsExactlyInAnyOrder("4", "3");
    assertThat(store.active("face-short").version()).isEqualTo("4");

    long modelBytes = Files.size(MODELS.resolve("face-blazeface-128/model.onnx"));
    ModelStore small =
        new ModelStore(
            tmp.resolve("small"), new TrustStore().trust(FLEET.getPublic()), modelBytes * 3 / 2, 2);
    SignedPackage p = version(small, tmp.resolve("x"), "1", FLEET); // its chunks: one model's worth
    assertThatThrownBy(() -> small.stage(p.sha256(), p))
        .extracting(e -> ((PackageRejectedException) e).code())
        .isEqualTo("quota_exceeded");
  }
}
