package dev.massedge.sync.pkg;

import java.io.IOException;
import java.util.List;

/**
 * A manifest and its signatures, as one JSON document: what a device fetches first. Its SHA-256 is
 * the {@code manifestSha256} a twin names, so a device checks the document before it reads it.
 */
public record SignedPackage(ModelManifest manifest, List<PackageSignature> signatures) {
  public SignedPackage {
    signatures = signatures == null ? List.of() : List.copyOf(signatures);
  }

  public byte[] bytes() {
    try {
      return ModelManifest.CANONICAL.writeValueAsBytes(this);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public String sha256() {
    return Hashes.sha256(bytes());
  }

  /** Parses a signed package whose bytes must hash to {@code expectedSha256}. */
  public static SignedPackage parse(byte[] json, String expectedSha256) {
    String got = Hashes.sha256(json);
    if (expectedSha256 != null && !got.equals(expectedSha256)) {
      throw new PackageRejectedException(
          "manifest_hash_mismatch",
          "the signed manifest arrived with hash " + got + ", the twin names " + expectedSha256);
    }
    try {
      SignedPackage p = ModelManifest.CANONICAL.readValue(json, SignedPackage.class);
      if (p == null || p.manifest() == null) {
        throw new PackageRejectedException("manifest_invalid", "the signed manifest is empty");
      }
      return p;
    } catch (PackageRejectedException e) {
      throw e;
    } catch (IOException e) {
      throw new PackageRejectedException(
          "manifest_invalid", "the signed manifest cannot be read: " + firstLine(e.getMessage()));
    }
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
  }
}
