package dev.massedge.sync.broker;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * TLS for an MQTT client from PEM files, with the JDK alone (the agent carries no BouncyCastle):
 * trust only the fleet CA, present the device's certificate. The broker's certificate must name the
 * host the client dials (its address or name).
 */
public final class DeviceTls {
  private DeviceTls() {}

  /**
   * @param ca the CA that signed the broker's certificate
   * @param cert the client's certificate (PEM; null for server authentication only)
   * @param key the client's PKCS#8 private key (PEM)
   */
  public static SSLSocketFactory socketFactory(Path ca, Path cert, Path key) throws IOException {
    return context(ca, cert, key).getSocketFactory();
  }

  /**
   * {@link #socketFactory(Path, Path, Path)} from configuration values (cert and key may be null).
   */
  public static SSLSocketFactory socketFactory(String ca, String cert, String key)
      throws IOException {
    return socketFactory(
        Path.of(ca), cert == null ? null : Path.of(cert), key == null ? null : Path.of(key));
  }

  public static SSLContext context(Path ca, Path cert, Path key) throws IOException {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (X509Certificate c : Pem.readCerts(ca)) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyManagerFactory kmf = null;
      if (cert != null) {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        List<X509Certificate> chain = Pem.readCerts(cert);
        PrivateKey k = Pem.readKey(key);
        char[] pw = "mass".toCharArray(); // in memory only
        keys.setKeyEntry("device", k, pw, chain.toArray(new X509Certificate[0]));
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, pw);
      }
      SSLContext ctx = SSLContext.getInstance("TLSv1.3");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IOException(
          "cannot set up TLS from " + ca + ", " + cert + ": " + e.getMessage(), e);
    }
  }

  /**
   * A PKCS#12 key store file (for a broker's listener) with {@code cert}'s chain and {@code key},
   * or a trust store with {@code ca} alone when {@code key} is null.
   */
  public static void writeStore(Path out, Path cert, Path key, String password) throws IOException {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      List<X509Certificate> chain = Pem.readCerts(cert);
      if (key == null) {
        int i = 0;
        for (X509Certificate c : chain) {
          ks.setCertificateEntry("ca-" + i++, c);
        }
      } else {
        ks.setKeyEntry(
            "server",
            Pem.readKey(key),
            password.toCharArray(),
            chain.toArray(new X509Certificate[0]));
      }
      java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
      ks.store(o, password.toCharArray());
      dev.massedge.sync.io.Durable.replaceSecret(out, o.toByteArray());
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot write " + out + ": " + e.getMessage(), e);
    }
  }
}
