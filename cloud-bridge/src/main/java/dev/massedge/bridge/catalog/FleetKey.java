package dev.massedge.bridge.catalog;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.sync.io.Durable;
import dev.massedge.sync.pkg.PackageSignature;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet's Ed25519 signing key: made on first start in {@code <data>/keys/fleet.key} (PKCS#8,
 * owner-only), its public half in {@code fleet.pub} (X.509, base64) — the value devices list in
 * {@code mass.sync.trusted-keys}. The private key never leaves that file.
 */
@Singleton
public final class FleetKey {
  private static final Logger log = LoggerFactory.getLogger(FleetKey.class);
  private final KeyPair keys;

  public FleetKey(BridgeConfig config) throws IOException, GeneralSecurityException {
    Path dir = Files.createDirectories(Path.of(config.dataDir()).resolve("keys"));
    Path priv = dir.resolve("fleet.key");
    Path pub = dir.resolve("fleet.pub");
    if (Files.exists(priv) && Files.exists(pub)) {
      KeyFactory f = KeyFactory.getInstance(PackageSignature.ED25519);
      keys =
          new KeyPair(
              f.generatePublic(
                  new X509EncodedKeySpec(Base64.getDecoder().decode(Files.readString(pub).trim()))),
              f.generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(priv))));
    } else {
      keys = PackageSignature.newKeyPair();
      Durable.replaceSecret(priv, keys.getPrivate().getEncoded());
      Files.writeString(pub, publicKey() + "\n");
      log.info("new fleet signing key {} in {}", keyId(), dir);
    }
  }

  public KeyPair pair() {
    return keys;
  }

  /** The public key as devices trust it: base64 X.509. */
  public String publicKey() {
    return Base64.getEncoder().encodeToString(keys.getPublic().getEncoded());
  }

  public String keyId() {
    return PackageSignature.keyId(keys.getPublic());
  }
}
