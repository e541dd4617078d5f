package dev.inmesh.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A small PKI made with the openssl command, as an operator makes one for etcd: a CA, and
 * certificates it signs for servers (loopback names, usable by peers as clients too) and for
 * clients. Keys are EC P-256 in PKCS#8 PEM.
 */
public final class OpensslPki {
  private final Path dir;

  /** The files of one certificate: the certificate and its private key, PEM. */
  public record Pair(Path certificate, Path key) {}

  private OpensslPki(Path dir) {
    this.dir = dir;
  }

  /** Makes a CA in {@code dir} (ca.pem, ca-key.pem). */
  public static OpensslPki create(Path dir) {
    OpensslPki pki = new OpensslPki(dir);
    pki.key("ca-key.pem");
    pki.run("req", "-x509", "-new", "-key", dir.resolve("ca-key.pem").toString(), "-days", "2",
        "-subj", "/CN=inmesh-test-etcd-ca", "-out", dir.resolve("ca.pem").toString());
    return pki;
  }

  public Path caCertificate() {
    return dir.resolve("ca.pem");
  }

  /** A server certificate for localhost and 127.0.0.1, good for TLS servers and, as etcd peers need, clients. */
  public Pair server(String name) {
    return sign(name, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  }

  /** A server certificate for the DNS name {@code host} only, as a server outside the mesh has one. */
  public Pair serverFor(String host) {
    return sign(host, "subjectAltName=DNS:" + host + "\nextendedKeyUsage=serverAuth\n");
  }

  /** A client certificate whose common name is {@code name}. */
  public Pair client(String name) {
    return sign(name, "extendedKeyUsage=clientAuth\n");
  }

  /** A client certificate whose common name is {@code name} and whose one URI SAN is {@code uri} (a SPIFFE ID, say). */
  public Pair client(String name, String uri) {
    return sign(name, "subjectAltName=URI:" + uri + "\nextendedKeyUsage=clientAuth\n");
  }

  /**
   * Writes the CA's CRL (crl.pem) listing {@code revoked}, as {@code openssl ca -gencrl} makes one;
   * each call revokes the certificates given on top of those revoked before.
   */
  public Path crl(Pair... revoked) {
    Path config = dir.resolve("ca.cnf");
    try {
      if (!Files.exists(config)) {
        Files.writeString(config, "[ ca ]\ndefault_ca = CA_default\n[ CA_default ]\ndatabase = index.txt\n"
            + "crlnumber = crlnumber\ndefault_md = sha256\ndefault_crl_days = 2\ncertificate = ca.pem\n"
            + "private_key = ca-key.pem\n", StandardCharsets.US_ASCII);
        Files.writeString(dir.resolve("index.txt"), "", StandardCharsets.US_ASCII);
        Files.writeString(dir.resolve("crlnumber"), "01\n", StandardCharsets.US_ASCII);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (Pair pair : revoked) {
      run("ca", "-config", config.toString(), "-revoke", pair.certificate().toString());
    }
    Path crl = dir.resolve("crl.pem");
    run("ca", "-config", config.toString(), "-gencrl", "-out", crl.toString());
    return crl;
  }

  private Pair sign(String name, String extensions) {
    Path key = key(name + "-key.pem");
    Path csr = dir.resolve(name + ".csr");
    Path cert = dir.resolve(name + ".pem");
    Path ext = dir.resolve(name + ".ext");
    try {
      Files.writeString(ext, extensions, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    run("req", "-new", "-key", key.toString(), "-subj", "/CN=" + name, "-out", csr.toString());
    run("x509", "-req", "-in", csr.toString(), "-CA", caCertificate().toString(), "-CAkey", dir.resolve("ca-key.pem").toString(),
        "-CAcreateserial", "-days", "2", "-extfile", ext.toString(), "-out", cert.toString());
    return new Pair(cert, key);
  }

  private Path key(String file) {
    Path key = dir.resolve(file);
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
    return key;
  }

  private void run(String... args) {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run openssl; .ci/run installs Debian's openssl", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
