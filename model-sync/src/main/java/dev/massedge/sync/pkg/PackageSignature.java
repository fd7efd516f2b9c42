package dev.massedge.sync.pkg;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * An Ed25519 signature (the JDK's own) over a manifest's canonical bytes, with the id of the key
 * that made it: the first 16 hex digits of the SHA-256 of the public key's X.509 encoding.
 */
public record PackageSignature(String keyId, String algorithm, String value) {
  public static final String ED25519 = "Ed25519";

  public static KeyPair newKeyPair() {
    try {
      return KeyPairGenerator.getInstance(ED25519).generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public static String keyId(PublicKey key) {
    return Hashes.sha256(key.getEncoded()).substring(0, 16);
  }

  /** Signs with each key (several during a key rotation). */
  public static List<PackageSignature> sign(ModelManifest m, KeyPair... keys) {
    List<PackageSignature> out = new ArrayList<>();
    for (KeyPair k : keys) {
      out.add(
          new PackageSignature(
              keyId(k.getPublic()),
              ED25519,
              Base64.getEncoder().encodeToString(sign(m.canonicalBytes(), k.getPrivate()))));
    }
    return out;
  }

  static byte[] sign(byte[] data, PrivateKey key) {
    try {
      Signature s = Signature.getInstance(ED25519);
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  boolean verifies(byte[] data, PublicKey key) {
    try {
      Signature s = Signature.getInstance(ED25519);
      s.initVerify(key);
      s.update(data);
      return s.verify(Base64.getDecoder().decode(value));
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  /** A public key from its X.509 (SubjectPublicKeyInfo) bytes. */
  public static PublicKey publicKey(byte[] x509) {
    try {
      return KeyFactory.getInstance(ED25519).generatePublic(new X509EncodedKeySpec(x509));
    } catch (GeneralSecurityException e) {
      throw new PackageRejectedException(
          "manifest_invalid", "not an Ed25519 public key: " + e.getMessage());
    }
  }
}
