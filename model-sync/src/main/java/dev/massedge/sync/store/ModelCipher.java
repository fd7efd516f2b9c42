package dev.massedge.sync.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Model bytes at rest on the device, encrypted with the device's own key (AES-256-GCM): the chunk
 * cache and the installed model files. A sealed file is {@code MASSGCM1}, a 12-byte random nonce,
 * then the ciphertext with its 16-byte tag; it is opened in memory only, and a wrong key or a
 * changed byte is refused ({@code model_undecryptable}) rather than decoded into garbage.
 */
public final class ModelCipher {
  private static final byte[] MAGIC = "MASSGCM1".getBytes(StandardCharsets.US_ASCII);
  private static final int NONCE = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();
  private final SecretKeySpec key;

  public ModelCipher(byte[] key) {
    if (key.length != 32) {
      throw new IllegalArgumentException("a model key is 32 bytes (AES-256), got " + key.length);
    }
    this.key = new SecretKeySpec(key.clone(), "AES");
  }

  /**
   * The key in {@code file}: 32 raw bytes, or their base64 on one line ({@code head -c 32
   * /dev/urandom > model.key}). The error names the file, never the key.
   */
  public static ModelCipher fromFile(Path file) throws IOException {
    byte[] raw = Files.readAllBytes(file);
    if (raw.length == 32) {
      return new ModelCipher(raw);
    }
    try {
      byte[] k = Base64.getDecoder().decode(new String(raw, StandardCharsets.US_ASCII).trim());
      if (k.length == 32) {
        return new ModelCipher(k);
      }
    } catch (IllegalArgumentException notBase64) {
      // below
    }
    throw new IOException(
        file
            + " holds no model key: 32 raw bytes or their base64 expected, found "
            + raw.length
            + " bytes");
  }

  public byte[] seal(byte[] plain) {
    byte[] nonce = new byte[NONCE];
    RANDOM.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(MAGIC);
      byte[] out = new byte[MAGIC.length + NONCE + c.getOutputSize(plain.length)];
      System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
      System.arraycopy(nonce, 0, out, MAGIC.length, NONCE);
      c.doFinal(plain, 0, plain.length, out, MAGIC.length + NONCE);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is missing from this JDK", e);
    }
  }

  /** The plain bytes, or {@link SealedFileException} when the key is wrong or a byte changed. */
  public byte[] open(byte[] sealed) {
    if (!sealed(sealed)) {
      throw new SealedFileException("not an encrypted model file (no MASSGCM1 header)");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.DECRYPT_MODE,
          key,
          new GCMParameterSpec(
              TAG_BITS, Arrays.copyOfRange(sealed, MAGIC.length, MAGIC.length + NONCE)));
      c.updateAAD(MAGIC);
      int off = MAGIC.length + NONCE;
      return c.doFinal(sealed, off, sealed.length - off);
    } catch (AEADBadTagException e) {
      throw new SealedFileException("the model key does not open it, or it was changed");
    } catch (GeneralSecurityException e) {
      throw new SealedFileException("cannot decrypt: " + e.getMessage());
    }
  }

  public static boolean sealed(byte[] b) {
    return b.length >= MAGIC.length + NONCE + TAG_BITS / 8
        && Arrays.equals(b, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
  }

  /** Does {@code file} start with the sealed header? */
  public static boolean sealed(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
    } catch (IOException e) {
      return false;
    }
  }

  public byte[] openFile(Path file) throws IOException {
    try {
      return open(Files.readAllBytes(file));
    } catch (SealedFileException e) {
      throw new SealedFileException(file + ": " + e.getMessage());
    }
  }

  /** A sealed file the key cannot open (a wrong key, a changed byte). */
  public static final class SealedFileException extends RuntimeException {
    public SealedFileException(String message) {
      super(message);
    }
  }
}
