package dev.inmesh.gateway.internal;

import dev.inmesh.internal.model.GatewayListener;
import dev.inmesh.internal.security.CertificateManager;
import dev.inmesh.internal.security.SpiffeTrustManager;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Makes the server TLS context of a gateway server: its key pair from the files the listener names
 * or from the credential directory ({@code <dir>/<credentialName>/tls.crt, tls.key, ca.crt}, the
 * keys of an Istio TLS secret), ALPN as the listener offers it, and for MUTUAL a required client
 * certificate verified against the server's CA. {@link #stamp} tells when those files change. An
 * ISTIO_MUTUAL server is mesh mTLS: the gateway's own SPIFFE certificate (the newest at each
 * handshake, so it has no files to watch) and a client certificate required that chains to a mesh
 * root and carries a SPIFFE ID.
 */
public final class TlsContexts {
  static final String CERTIFICATE = "tls.crt";
  static final String KEY = "tls.key";
  static final String CA = "ca.crt";
  /** Istio's separate secret for a MUTUAL credential's client CA: {@code <credentialName>-cacert}. */
  static final String CA_CREDENTIAL_SUFFIX = "-cacert";

  private final Path credentialsDir;
  private final Optional<CertificateManager> meshCertificates;

  /** @param meshCertificates the gateway's mesh identity, which ISTIO_MUTUAL servers present */
  public TlsContexts(Path credentialsDir, Optional<CertificateManager> meshCertificates) {
    this.credentialsDir = credentialsDir;
    this.meshCertificates = meshCertificates;
  }

  /** @throws GatewayConfigException naming the file that is missing or unreadable */
  public SslContext context(GatewayListener.ServerTls tls) {
    List<String> alpn = tls.alpn().isEmpty() ? List.of(ApplicationProtocolNames.HTTP_1_1) : tls.alpn();
    if (tls.mode() == GatewayListener.Mode.ISTIO_MUTUAL) {
      return meshContext(alpn);
    }
    File certificate;
    File key;
    File ca = null;
    if (tls.credentialName().isPresent()) {
      String name = tls.credentialName().get();
      Path dir = credential(name);
      certificate = existing(dir.resolve(CERTIFICATE), "credentialName " + name);
      key = existing(dir.resolve(KEY), "credentialName " + name);
      if (tls.mode() == GatewayListener.Mode.MUTUAL) {
        Path own = dir.resolve(CA);
        Path separate = credential(name + CA_CREDENTIAL_SUFFIX).resolve(CA);
        ca = existing(Files.exists(own) ? own : separate, "credentialName " + name + " (MUTUAL needs ca.crt)");
      }
    } else {
      certificate = existing(Path.of(tls.certificateChain().orElseThrow()), "serverCertificate");
      key = existing(Path.of(tls.privateKey().orElseThrow()), "privateKey");
      if (tls.mode() == GatewayListener.Mode.MUTUAL) {
        ca = existing(Path.of(tls.caCertificates().orElseThrow()), "caCertificates");
      }
    }
    try {
      SslContextBuilder builder = serverDefaults(SslContextBuilder.forServer(certificate, key), alpn);
      if (ca != null) {
        builder.trustManager(ca).clientAuth(ClientAuth.REQUIRE);
      }
      return builder.build();
    } catch (Exception | Error e) {
      throw new GatewayConfigException("cannot load the TLS key pair " + certificate + " / " + key
          + (ca == null ? "" : " with client CA " + ca) + ": " + e.getMessage(), e);
    }
  }

  private SslContext meshContext(List<String> alpn) {
    CertificateManager certificates = meshCertificates.orElseThrow(() -> new GatewayConfigException(
        "ISTIO_MUTUAL needs the gateway's mesh certificate; start it with a CA (--ca, --ca-root, --join-token-file)"));
    try {
      return serverDefaults(SslContextBuilder.forServer(certificates.keyManager()), alpn)
          .trustManager(new SpiffeTrustManager(certificates::trustAnchors, peer -> true, Clock.systemUTC()))
          .clientAuth(ClientAuth.REQUIRE)
          .build();
    } catch (Exception | Error e) {
      throw new GatewayConfigException("cannot make the mesh TLS context: " + e.getMessage(), e);
    }
  }

  private static SslContextBuilder serverDefaults(SslContextBuilder builder, List<String> alpn) {
    return builder.sslProvider(SslProvider.JDK)
        .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
  }

  /**
   * What the files {@link #context} reads for {@code tls} are now: each one's path, inode, size
   * and modification time, or that it is absent. A new stamp means the files changed (rotated,
   * written, or created after the server was first configured) and the context is made again.
   */
  public String stamp(GatewayListener.ServerTls tls) {
    List<Path> files = new ArrayList<>();
    if (tls.credentialName().isPresent()) {
      String name = tls.credentialName().get();
      Path dir;
      try {
        dir = credential(name);
      } catch (GatewayConfigException e) {
        return "invalid credentialName";
      }
      files.add(dir.resolve(CERTIFICATE));
      files.add(dir.resolve(KEY));
      if (tls.mode() == GatewayListener.Mode.MUTUAL) {
        files.add(dir.resolve(CA));
        files.add(credentialsDir.resolve(name + CA_CREDENTIAL_SUFFIX).resolve(CA));
      }
    } else {
      tls.certificateChain().map(Path::of).ifPresent(files::add);
      tls.privateKey().map(Path::of).ifPresent(files::add);
      tls.caCertificates().map(Path::of).ifPresent(files::add);
    }
    StringBuilder stamp = new StringBuilder();
    for (Path file : files) {
      stamp.append(file).append('=');
      try {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        stamp.append(attributes.fileKey()).append('/').append(attributes.size()).append('/')
            .append(attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS));
      } catch (IOException e) {
        stamp.append("absent");
      }
      stamp.append(';');
    }
    return stamp.toString();
  }

  private Path credential(String name) {
    Path dir = credentialsDir.resolve(name).normalize();
    if (!dir.getParent().equals(credentialsDir.normalize())) {
      throw new GatewayConfigException("credentialName '" + name + "' is not a directory name under " + credentialsDir);
    }
    return dir;
  }

  private static File existing(Path path, String what) {
    if (!Files.isReadable(path)) {
      throw new GatewayConfigException(what + ": no readable file " + path);
    }
    return path.toFile();
  }
}
