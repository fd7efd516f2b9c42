package dev.massedge.sync.broker;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** PEM files with the JDK alone: certificates, CRLs and PKCS#8 private keys (EC or RSA). */
public final class Pem {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]+)-----END \\1-----");

  private Pem() {}

  static String block(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  static String cert(X509Certificate c) throws GeneralSecurityException {
    return block("CERTIFICATE", c.getEncoded());
  }

  static void write(Path p, String text) throws IOException {
    Path tmp = p.resolveSibling(p.getFileName() + ".tmp");
    Files.writeString(tmp, text, StandardCharsets.US_ASCII);
    Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** A private key as PKCS#8 PEM, readable by its owner only. */
  static void writeKey(Path p, PrivateKey k) throws IOException {
    dev.massedge.sync.io.Durable.replaceSecret(
        p, block("PRIVATE KEY", k.getEncoded()).getBytes(StandardCharsets.US_ASCII));
  }

  private static List<byte[]> blocks(Path p, String type) throws IOException {
    String text = Files.readString(p, StandardCharsets.US_ASCII);
    List<byte[]> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(text);
    while (m.find()) {
      if (m.group(1).equals(type)) {
        out.add(Base64.getMimeDecoder().decode(m.group(2)));
      }
    }
    if (out.isEmpty()) {
      throw new IOException(p + " holds no PEM " + type);
    }
    return out;
  }

  public static List<X509Certificate> readCerts(Path p) throws IOException {
    try {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      List<X509Certificate> out = new ArrayList<>();
      for (byte[] der : blocks(p, "CERTIFICATE")) {
        out.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(der)));
      }
      return out;
    } catch (GeneralSecurityException e) {
      throw new IOException(p + ": not a certificate: " + e.getMessage(), e);
    }
  }

  public static X509CRL readCrl(Path p) throws IOException {
    try {
      return (X509CRL)
          CertificateFactory.getInstance("X.509")
              .generateCRL(new ByteArrayInputStream(blocks(p, "X509 CRL").get(0)));
    } catch (GeneralSecurityException e) {
      throw new IOException(p + ": not a CRL: " + e.getMessage(), e);
    }
  }

  /** A PKCS#8 private key ({@code BEGIN PRIVATE KEY}), EC or RSA. */
  public static PrivateKey readKey(Path p) throws IOException {
    byte[] der = blocks(p, "PRIVATE KEY").get(0);
    for (String alg : new String[] {"EC", "RSA"}) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException tryNext) {
        // next algorithm
      }
    }
    throw new IOException(p + ": not a PKCS#8 EC or RSA private key");
  }
}
