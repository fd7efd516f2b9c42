package dev.massedge.agent.models;

import dev.massedge.agent.sync.SyncConfig;
import dev.massedge.sync.pkg.PackageSignature;
import dev.massedge.sync.pkg.TrustStore;
import dev.massedge.sync.store.ModelStore;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.exceptions.ConfigurationException;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/** The device's model store, opened (and recovered) before any model loads. */
@Singleton
@Requires(property = "mass.sync.url")
public class DeviceModels {
  private final ModelStore store;

  public DeviceModels(SyncConfig config, dev.massedge.agent.AgentConfig agent) {
    TrustStore trust = new TrustStore();
    List<String> keys = config.trustedKeys() == null ? List.of() : config.trustedKeys();
    for (int i = 0; i < keys.size(); i++) {
      try {
        trust.trust(PackageSignature.publicKey(Base64.getDecoder().decode(keys.get(i).trim())));
      } catch (RuntimeException e) {
        // the key itself is public, but say which entry, not its bytes
        throw new ConfigurationException(
            "mass.sync.trusted-keys[" + i + "] is not a base64 X.509 Ed25519 public key");
      }
    }
    if (config.revokedKeys() != null) {
      config.revokedKeys().forEach(trust::revoke);
    }
    dev.massedge.sync.store.ModelCipher cipher = null;
    if (config.modelKeyFile() != null && !config.modelKeyFile().isBlank()) {
      try {
        cipher = dev.massedge.sync.store.ModelCipher.fromFile(Path.of(config.modelKeyFile()));
      } catch (IOException e) {
        throw new ConfigurationException("mass.sync.model-key-file: " + e.getMessage());
      }
    }
    try {
      store =
          new ModelStore(
              Path.of(config.storeDir()), trust, config.quotaBytes(), config.keep(), cipher);
    } catch (IOException e) {
      throw new ConfigurationException(
          "mass.sync.store-dir: cannot open " + config.storeDir() + ": " + e.getMessage());
    }
  }

  public ModelStore store() {
    return store;
  }

  /** The directories of every model's active version. */
  public List<Path> activeDirs() {
    List<Path> out = new ArrayList<>();
    try {
      for (String n : store.names()) {
        ModelStore.Installed a = store.active(n);
        if (a != null) {
          out.add(a.dir());
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("the model store cannot be read: " + e.getMessage(), e);
    }
    return out;
  }
}
