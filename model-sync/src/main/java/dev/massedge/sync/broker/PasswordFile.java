package dev.massedge.sync.broker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * A Mosquitto password file ({@code user:$7$iterations$salt$hash}, PBKDF2-HMAC-SHA512 as {@code
 * mosquitto_passwd} writes it): the embedded broker checks device credentials against the same file
 * Mosquitto reads, and {@link #entry} writes lines Mosquitto accepts. Only hashes are stored.
 */
public final class PasswordFile {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int ITERATIONS = 101; // mosquitto_passwd's default
  private final Map<String, String[]> users;

  private PasswordFile(Map<String, String[]> users) {
    this.users = users;
  }

  /** Reads a file; a line that is not a {@code $7$} entry is refused with its line number. */
  public static PasswordFile load(Path file) throws IOException {
    Map<String, String[]> users = new LinkedHashMap<>();
    int n = 0;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      n++;
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      String[] p = colon < 0 ? new String[0] : line.substring(colon + 1).split("\\$");
      // "$7$101$salt$hash" splits into "", "7", "101", salt, hash
      if (colon <= 0 || p.length != 5 || !p[1].equals("7")) {
        throw new IOException(
            file
                + " line "
                + n
                + ": not a user with a PBKDF2-SHA512 hash as mosquitto_passwd writes it ($7$)");
      }
      try {
        Integer.parseInt(p[2]);
        Base64.getDecoder().decode(p[3]);
        Base64.getDecoder().decode(p[4]);
      } catch (IllegalArgumentException e) {
        throw new IOException(
            file + " line " + n + ": damaged entry for " + line.substring(0, colon));
      }
      users.put(line.substring(0, colon), new String[] {p[2], p[3], p[4]});
    }
    return new PasswordFile(users);
  }

  public boolean contains(String user) {
    return users.containsKey(user);
  }

  public int size() {
    return users.size();
  }

  /** Does {@code password} belong to {@code user}? (constant time in the hash comparison) */
  public boolean verify(String user, byte[] password) {
    String[] e = user == null || password == null ? null : users.get(user);
    if (e == null) {
      return false;
    }
    byte[] salt = Base64.getDecoder().decode(e[1]);
    byte[] want = Base64.getDecoder().decode(e[2]);
    return MessageDigest.isEqual(hash(password, salt, Integer.parseInt(e[0]), want.length), want);
  }

  /** A new line for {@code user} (a fresh salt), as {@code mosquitto_passwd -b} writes it. */
  public static String entry(String user, String password) {
    if (user.isEmpty() || user.contains(":")) {
      throw new IllegalArgumentException("a user name must be non-empty, without ':'");
    }
    byte[] salt = new byte[12];
    RANDOM.nextBytes(salt);
    byte[] h = hash(password.getBytes(StandardCharsets.UTF_8), salt, ITERATIONS, 64);
    Base64.Encoder b64 = Base64.getEncoder();
    return user
        + ":$7$"
        + ITERATIONS
        + "$"
        + b64.encodeToString(salt)
        + "$"
        + b64.encodeToString(h);
  }

  private static byte[] hash(byte[] password, byte[] salt, int iterations, int length) {
    char[] chars = new String(password, StandardCharsets.UTF_8).toCharArray();
    try {
      return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512")
          .generateSecret(new PBEKeySpec(chars, salt, iterations, length * 8))
          .getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("PBKDF2WithHmacSHA512 is missing from this JDK", e);
    } finally {
      java.util.Arrays.fill(chars, '\0');
    }
  }
}
