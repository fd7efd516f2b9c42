package dev.massedge.sync.broker;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The fleet's small device CA (the bridge's CLI: {@code ./mass ca …}): a folder with the CA's key
 * ({@code ca.key}, mode 600) and certificate ({@code ca.pem}), the certificates it issued ({@code
 * issued.tsv}: serial, common name, not-after, state) and the revocation list ({@code crl.pem}).
 * Devices get a client certificate whose common name is their device id; brokers a server
 * certificate for their host names and addresses. EC P-256 keys, SHA-256 signatures, PEM files that
 * Mosquitto, the embedded broker and the agent ({@link DeviceTls}) read as they are.
 *
 * <p>BouncyCastle is an optional dependency of model-sync: only the bridge carries it.
 */
public final class DeviceCa {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final Path dir;
  private final PrivateKey key;
  private final X509Certificate cert;

  private DeviceCa(Path dir, PrivateKey key, X509Certificate cert) {
    this.dir = dir;
    this.key = key;
    this.cert = cert;
  }

  /** Makes a new CA in {@code dir} (refuses to overwrite one). */
  public static DeviceCa init(Path dir, String name, Duration validity) throws IOException {
    if (Files.exists(dir.resolve("ca.key"))) {
      throw new IOException(dir + " already holds a CA (ca.key): refusing to replace it");
    }
    Files.createDirectories(dir);
    KeyPair kp = keyPair();
    X500Name subject = name(name);
    Instant now = Instant.now();
    try {
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              serial(),
              Date.from(now.minusSeconds(300)),
              Date.from(now.plus(validity)),
              subject,
              kp.getPublic());
      JcaX509ExtensionUtils u = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, u.createSubjectKeyIdentifier(kp.getPublic()));
      X509Certificate c =
          new JcaX509CertificateConverter().getCertificate(b.build(signer(kp.getPrivate())));
      DeviceCa ca = new DeviceCa(dir, kp.getPrivate(), c);
      Pem.writeKey(dir.resolve("ca.key"), kp.getPrivate());
      Pem.write(dir.resolve("ca.pem"), Pem.cert(c));
      Files.writeString(dir.resolve("issued.tsv"), "");
      ca.writeCrl();
      return ca;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot make the CA: " + e.getMessage(), e);
    }
  }

  public static DeviceCa load(Path dir) throws IOException {
    if (!Files.exists(dir.resolve("ca.key"))) {
      throw new IOException(dir + " holds no CA (make one with: ./mass ca init " + dir + ")");
    }
    return new DeviceCa(
        dir, Pem.readKey(dir.resolve("ca.key")), Pem.readCerts(dir.resolve("ca.pem")).get(0));
  }

  public X509Certificate certificate() {
    return cert;
  }

  public Path dir() {
    return dir;
  }

  /**
   * A device's client certificate, common name = {@code device}, valid from {@code notBefore} to
   * {@code notAfter}: {@code <out>/<device>.key} (mode 600) and {@code <out>/<device>.pem}.
   */
  public X509Certificate issueDevice(String device, Instant notBefore, Instant notAfter, Path out)
      throws IOException {
    dev.massedge.sync.contract.Topics.status(device); // a device id, or a clear refusal
    return issue(device, notBefore, notAfter, out, false, List.of());
  }

  /** A broker's server certificate for {@code hosts} (names or IP addresses). */
  public X509Certificate issueServer(String name, List<String> hosts, Duration validity, Path out)
      throws IOException {
    Instant now = Instant.now();
    return issue(name, now.minusSeconds(300), now.plus(validity), out, true, hosts);
  }

  private X509Certificate issue(
      String cn, Instant notBefore, Instant notAfter, Path out, boolean server, List<String> hosts)
      throws IOException {
    KeyPair kp = keyPair();
    BigInteger serial = serial();
    try {
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              cert, serial, Date.from(notBefore), Date.from(notAfter), name(cn), kp.getPublic());
      JcaX509ExtensionUtils u = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
      b.addExtension(Extension.authorityKeyIdentifier, false, u.createAuthorityKeyIdentifier(cert));
      if (!hosts.isEmpty()) {
        List<GeneralName> names = new ArrayList<>();
        for (String h : hosts) {
          names.add(
              new GeneralName(
                  h.matches("[0-9.]+|.*:.*") ? GeneralName.iPAddress : GeneralName.dNSName, h));
        }
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(names.toArray(new GeneralName[0])));
      }
      X509Certificate c = new JcaX509CertificateConverter().getCertificate(b.build(signer(key)));
      Files.createDirectories(out);
      Pem.writeKey(out.resolve(cn + ".key"), kp.getPrivate());
      Pem.write(out.resolve(cn + ".pem"), Pem.cert(c));
      Files.writeString(
          dir.resolve("issued.tsv"),
          serial.toString(16) + "\t" + cn + "\t" + notAfter + "\tvalid\n",
          java.nio.file.StandardOpenOption.APPEND);
      return c;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot issue a certificate for " + cn + ": " + e.getMessage(), e);
    }
  }

  /**
   * Revokes every certificate issued to {@code cn} that is still valid and writes the new {@code
   * crl.pem}; returns how many.
   */
  public int revoke(String cn) throws IOException {
    List<String> lines = Files.readAllLines(dir.resolve("issued.tsv"));
    List<String> out = new ArrayList<>();
    int n = 0;
    for (String l : lines) {
      String[] f = l.split("\t");
      if (f.length == 4 && f[1].equals(cn) && f[3].equals("valid")) {
        out.add(f[0] + "\t" + f[1] + "\t" + f[2] + "\trevoked");
        n++;
      } else {
        out.add(l);
      }
    }
    Path tmp = dir.resolve("issued.tsv.tmp");
    Files.write(tmp, out);
    Files.move(tmp, dir.resolve("issued.tsv"), StandardCopyOption.REPLACE_EXISTING);
    writeCrl();
    return n;
  }

  /** The CRL: every revoked serial, signed by the CA, next update in 30 days. */
  public X509CRL writeCrl() throws IOException {
    Instant now = Instant.now();
    try {
      X509v2CRLBuilder b =
          new X509v2CRLBuilder(
              org.bouncycastle.asn1.x500.X500Name.getInstance(
                  cert.getSubjectX500Principal().getEncoded()),
              Date.from(now));
      b.setNextUpdate(Date.from(now.plus(Duration.ofDays(30))));
      for (String l : Files.readAllLines(dir.resolve("issued.tsv"))) {
        String[] f = l.split("\t");
        if (f.length == 4 && f[3].equals("revoked")) {
          b.addCRLEntry(new BigInteger(f[0], 16), Date.from(now), CRLReason.keyCompromise);
        }
      }
      X509CRL crl = new JcaX509CRLConverter().getCRL(b.build(signer(key)));
      Pem.write(dir.resolve("crl.pem"), Pem.block("X509 CRL", crl.getEncoded()));
      return crl;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot write the CRL: " + e.getMessage(), e);
    }
  }

  private static X500Name name(String cn) {
    return new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, "Mass Edge fleet")
        .addRDN(BCStyle.CN, cn)
        .build();
  }

  private static BigInteger serial() {
    return new BigInteger(127, RANDOM).add(BigInteger.ONE);
  }

  private static ContentSigner signer(PrivateKey k) throws OperatorCreationException {
    return new JcaContentSignerBuilder("SHA256withECDSA").build(k);
  }

  private static KeyPair keyPair() throws IOException {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IOException("no EC P-256 in this JDK", e);
    }
  }
}
