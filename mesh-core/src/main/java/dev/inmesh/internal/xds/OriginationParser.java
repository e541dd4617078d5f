package dev.inmesh.internal.xds;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.inmesh.internal.model.TlsOrigination;
import dev.inmesh.internal.model.UpstreamTls;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.UpstreamHttpProtocolOptions;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * An UpstreamTlsContext for TLS the client originates (a DestinationRule's SIMPLE or MUTUAL), in
 * the file-based shape Envoy reads: {@code validation_context.trusted_ca.filename},
 * {@code system_root_certs}, or {@code trust_chain_verification: ACCEPT_UNTRUSTED} (insecureSkipVerify),
 * {@code crl.filename}, exact {@code match_subject_alt_names},
 * {@code tls_certificates[0]} with file names, {@code sni}; and the cluster's
 * {@code upstream_http_protocol_options} {@code auto_sni} and {@code auto_san_validation}. Only
 * the shape is checked here: the files are on this machine and are read at connection time, so
 * that a missing file fails the calls of this cluster (naming the file), never the whole update.
 */
final class OriginationParser {
  static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

  private OriginationParser() {}

  /**
   * Whether a context is originated TLS: it names files or the system roots, or accepts any server.
   * Mesh mTLS names none of these (its certificates come from provider instances).
   */
  static boolean originates(UpstreamTlsContext context) {
    CommonTlsContext common = context.getCommonTlsContext();
    CertificateValidationContext validation = validation(common);
    return common.getTlsCertificatesCount() > 0 || validation.hasTrustedCa() || validation.hasSystemRootCerts()
        || validation.getTrustChainVerification() == CertificateValidationContext.TrustChainVerification.ACCEPT_UNTRUSTED;
  }

  private static CertificateValidationContext validation(CommonTlsContext common) {
    return common.hasCombinedValidationContext()
        ? common.getCombinedValidationContext().getDefaultValidationContext() : common.getValidationContext();
  }

  static UpstreamTls parse(String resource, String field, UpstreamTlsContext context, Cluster cluster)
      throws XdsParseException {
    CommonTlsContext common = context.getCommonTlsContext();
    String commonField = field + ".common_tls_context";
    if (common.getTlsCertificateSdsSecretConfigsCount() > 0 || common.hasValidationContextSdsSecretConfig()) {
      throw new XdsParseException(resource, commonField, "secrets over SDS are not supported by in-process clients;"
          + " give files");
    }
    Optional<TlsOrigination.ClientCertificate> client = Optional.empty();
    if (common.getTlsCertificatesCount() > 1) {
      throw new XdsParseException(resource, commonField + ".tls_certificates", "at most one client certificate");
    }
    if (common.getTlsCertificatesCount() == 1) {
      TlsCertificate certificate = common.getTlsCertificates(0);
      String certificateField = commonField + ".tls_certificates[0]";
      client = Optional.of(new TlsOrigination.ClientCertificate(
          file(resource, certificateField + ".certificate_chain", certificate.getCertificateChain()),
          file(resource, certificateField + ".private_key", certificate.getPrivateKey())));
    }
    CertificateValidationContext validation = validation(common);
    String validationField = commonField + (common.hasCombinedValidationContext()
        ? ".combined_validation_context.default_validation_context" : ".validation_context");
    if (common.hasTlsCertificateProviderInstance() || validation.hasCaCertificateProviderInstance()) {
      throw new XdsParseException(resource, commonField, "originated TLS takes files; mesh certificates (provider"
          + " instances) are for mesh mTLS only");
    }
    TlsOrigination.ServerTrust trust;
    boolean acceptsAny = validation.getTrustChainVerification()
        == CertificateValidationContext.TrustChainVerification.ACCEPT_UNTRUSTED;
    if (acceptsAny) {
      trust = new TlsOrigination.AnyServer();
    } else if (validation.hasTrustedCa()) {
      trust = new TlsOrigination.CaFile(file(resource, validationField + ".trusted_ca", validation.getTrustedCa()));
    } else if (validation.hasSystemRootCerts()) {
      trust = new TlsOrigination.SystemRoots();
    } else {
      throw new XdsParseException(resource, validationField, "originated TLS needs trusted_ca, system_root_certs or"
          + " trust_chain_verification ACCEPT_UNTRUSTED");
    }
    Optional<Path> crl = Optional.empty();
    if (validation.hasCrl()) {
      crl = Optional.of(file(resource, validationField + ".crl", validation.getCrl()));
    }
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < validation.getMatchSubjectAltNamesCount(); i++) {
      StringMatcher matcher = validation.getMatchSubjectAltNames(i);
      if (matcher.getMatchPatternCase() != StringMatcher.MatchPatternCase.EXACT || matcher.getIgnoreCase()) {
        throw new XdsParseException(resource, validationField + ".match_subject_alt_names[" + i + "]",
            "only exact, case-sensitive names are supported");
      }
      names.add(matcher.getExact());
    }
    UpstreamHttpProtocolOptions options = httpOptions(resource, cluster);
    TlsOrigination origination = new TlsOrigination(trust, crl, client, options.getAutoSni(),
        options.getAutoSanValidation() && !acceptsAny);
    return UpstreamTls.originated(origination, acceptsAny ? Set.of() : names, context.getSni());
  }

  /** Istio's place for auto SNI, the typed HttpProtocolOptions, or the cluster's older field of the same name. */
  private static UpstreamHttpProtocolOptions httpOptions(String resource, Cluster cluster) throws XdsParseException {
    var typed = cluster.getTypedExtensionProtocolOptionsMap().get(HTTP_PROTOCOL_OPTIONS);
    if (typed != null) {
      try {
        HttpProtocolOptions options = TypedConfigs.unpack(typed, HTTP_PROTOCOL_OPTIONS, HttpProtocolOptions.parser());
        if (options.hasUpstreamHttpProtocolOptions()) {
          return options.getUpstreamHttpProtocolOptions();
        }
      } catch (InvalidProtocolBufferException e) {
        throw new XdsParseException(resource, "typed_extension_protocol_options[" + HTTP_PROTOCOL_OPTIONS + "]",
            "not an HttpProtocolOptions: " + e.getMessage());
      }
    }
    return cluster.getUpstreamHttpProtocolOptions();
  }

  private static Path file(String resource, String field, DataSource source) throws XdsParseException {
    if (source.getSpecifierCase() != DataSource.SpecifierCase.FILENAME || source.getFilename().isEmpty()) {
      throw new XdsParseException(resource, field, "only a filename is supported for originated TLS, got "
          + source.getSpecifierCase());
    }
    try {
      return Path.of(source.getFilename());
    } catch (java.nio.file.InvalidPathException e) {
      throw new XdsParseException(resource, field + ".filename", "not a path on this machine: " + e.getMessage());
    }
  }
}
