package dev.massedge.sync.pkg;

/**
 * A package, signature or chunk that must not be used. {@link #code()} is stable ({@code
 * signature_invalid}, {@code unknown_key}, {@code revoked_key}, {@code unsigned}, {@code
 * chunk_hash_mismatch}, {@code file_hash_mismatch}, {@code manifest_invalid}); the message names
 * the keys and hashes involved.
 */
public class PackageRejectedException extends RuntimeException {
  private final String code;

  public PackageRejectedException(String code, String message) {
    super(message);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
