package dev.massedge.sync.pkg;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 in lowercase hex. */
public final class Hashes {
  private Hashes() {}

  public static String sha256(byte[] data) {
    return sha256(data, 0, data.length);
  }

  public static String sha256(byte[] data, int offset, int length) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      d.update(data, offset, length);
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
