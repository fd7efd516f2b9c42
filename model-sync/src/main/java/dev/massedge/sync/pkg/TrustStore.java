package dev.massedge.sync.pkg;

import java.security.PublicKey;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The publisher keys a device trusts. Rotation: trust the new key, publish packages signed with
 * both, then retire the old one; a revoked key is refused even where another signature would be
 * valid, so a leaked key cannot be used alongside a good one.
 */
public final class TrustStore {
  private final Map<String, PublicKey> trusted = new LinkedHashMap<>();
  private final Set<String> revoked = new TreeSet<>();

  public TrustStore trust(PublicKey key) {
    trusted.put(PackageSignature.keyId(key), key);
    return this;
  }

  /** No longer accepted, but not suspect: packages it signed need another trusted signature. */
  public TrustStore retire(String keyId) {
    trusted.remove(keyId);
    return this;
  }

  /** Never accepted again, and a package carrying its signature is refused outright. */
  public TrustStore revoke(String keyId) {
    trusted.remove(keyId);
    revoked.add(keyId);
    return this;
  }

  public Set<String> trustedIds() {
    return Set.copyOf(trusted.keySet());
  }

  /** Returns the id of a trusted key whose signature verifies, or says why there is none. */
  public String verify(ModelManifest m, List<PackageSignature> signatures) {
    String what = "model '" + m.name() + "' v" + m.version();
    if (signatures == null || signatures.isEmpty()) {
      throw new PackageRejectedException("unsigned", what + " rejected: it carries no signature");
    }
    for (PackageSignature s : signatures) {
      if (revoked.contains(s.keyId())) {
        throw new PackageRejectedException(
            "revoked_key", what + " rejected: signed by revoked key " + s.keyId());
      }
    }
    byte[] canonical = m.canonicalBytes();
    boolean anyKnown = false;
    for (PackageSignature s : signatures) {
      PublicKey k = trusted.get(s.keyId());
      if (k == null) {
        continue;
      }
      anyKnown = true;
      if (PackageSignature.ED25519.equals(s.algorithm()) && s.verifies(canonical, k)) {
        return s.keyId();
      }
    }
    if (!anyKnown) {
      throw new PackageRejectedException(
          "unknown_key",
          what
              + " rejected: signature by unknown key "
              + signatures.stream().map(PackageSignature::keyId).toList()
              + "; trusted keys: "
              + new TreeSet<>(trusted.keySet()));
    }
    throw new PackageRejectedException(
        "signature_invalid",
        what
            + " rejected: the signature by "
            + signatures.stream().map(PackageSignature::keyId).toList()
            + " does not match the manifest (altered after signing?)");
  }
}
