package dev.inmesh.control.config.networking;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.networking.DestinationRule.ClientTls;
import dev.inmesh.control.config.networking.DestinationRule.ConnectionPool;
import dev.inmesh.control.config.networking.DestinationRule.ConsistentHash;
import dev.inmesh.control.config.networking.DestinationRule.HashOn;
import dev.inmesh.control.config.networking.DestinationRule.LoadBalancer;
import dev.inmesh.control.config.networking.DestinationRule.LocalityLbSetting;
import dev.inmesh.control.config.networking.DestinationRule.Origination;
import dev.inmesh.control.config.networking.DestinationRule.OutlierDetection;
import dev.inmesh.control.config.networking.DestinationRule.PortPolicy;
import dev.inmesh.control.config.networking.DestinationRule.Simple;
import dev.inmesh.control.config.networking.DestinationRule.Subset;
import dev.inmesh.control.config.networking.DestinationRule.TlsMode;
import dev.inmesh.control.config.networking.DestinationRule.TrafficPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Reads and validates a DestinationRule spec with Istio's rules. */
public final class DestinationRuleParser implements SpecParser<DestinationRule> {
  private static final Duration MIN_DURATION = Duration.ofMillis(1);
  /** The start of a warning for a field Inmesh's HTTP clients enforce and grpc-java's do not. */
  private static final String GRPC_IGNORES =
      "enforced by Inmesh HTTP clients; proxyless gRPC clients (grpc-java) ignore it: ";

  @Override
  public DestinationRule parse(SpecReader spec, String namespace) {
    String host = spec.requiredString("host");
    if (!host.isEmpty() && !NetworkingFields.isValidWildcardHost(host)) {
      spec.error("host", "invalid host '" + host + "'");
    }
    Optional<TrafficPolicy> policy = spec.object("trafficPolicy").map(p -> readPolicy(p, true));
    List<Subset> subsets = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (SpecReader subset : spec.list("subsets")) {
      String name = subset.requiredString("name");
      if (!name.isEmpty()) {
        NetworkingFields.checkSubsetName(subset, "name", name);
        if (!names.add(name)) {
          subset.error("name", "duplicate subset name '" + name + "'");
        }
      }
      var labels = subset.stringMap("labels");
      NetworkingFields.checkLabels(subset, "labels", labels);
      Optional<TrafficPolicy> subsetPolicy = subset.object("trafficPolicy").map(p -> readPolicy(p, true));
      subset.finish();
      subsets.add(new Subset(name, labels, subsetPolicy));
    }
    List<String> exportTo = spec.stringList("exportTo");
    NetworkingFields.checkExportTo(spec, exportTo);
    spec.object("workloadSelector").ifPresent(selector -> {
      NetworkingFields.checkLabels(selector, "matchLabels", selector.stringMap("matchLabels"));
      selector.warn(null, "accepted but not enforced by Inmesh: workloadSelector; the rule applies to every client");
      selector.finish();
    });
    return new DestinationRule(host, policy, subsets, exportTo);
  }

  private static TrafficPolicy readPolicy(SpecReader policy, boolean allowPortLevel) {
    Optional<LoadBalancer> loadBalancer = policy.object("loadBalancer").map(DestinationRuleParser::readLoadBalancer);
    Optional<ConnectionPool> pool = policy.object("connectionPool").map(DestinationRuleParser::readConnectionPool);
    Optional<OutlierDetection> outlier = policy.object("outlierDetection").map(DestinationRuleParser::readOutlier);
    loadBalancer.flatMap(LoadBalancer::localityLbSetting)
        .filter(locality -> !locality.disabled() && (!locality.failover().isEmpty() || !locality.failoverPriority().isEmpty()))
        .filter(locality -> outlier.isEmpty())
        .ifPresent(locality -> policy.warn("loadBalancer.localityLbSetting", "outlier detection policy must be provided"
            + " for failover: without trafficPolicy.outlierDetection no endpoint is ever taken for unhealthy, so,"
            + " as in Istio, failover and failoverPriority are not applied"));
    List<PortPolicy> portLevel = new ArrayList<>();
    if (allowPortLevel) {
      Set<Integer> ports = new HashSet<>();
      for (SpecReader port : policy.list("portLevelSettings")) {
        int number = port.object("port").flatMap(selector -> {
          Optional<Long> value = selector.integer("number", 1, 65535);
          selector.finish();
          return value;
        }).map(Long::intValue).orElse(0);
        if (number == 0 && !port.has("port")) {
          port.error("port", "Required value");
        } else if (number != 0 && !ports.add(number)) {
          port.error("port.number", "duplicate port-level settings for port " + number);
        }
        TrafficPolicy inner = readPolicy(port, false);
        port.finish();
        portLevel.add(new PortPolicy(number, inner.loadBalancer(), inner.connectionPool(), inner.outlierDetection(),
            inner.tls()));
      }
    }
    Optional<ClientTls> tls = policy.object("tls").map(DestinationRuleParser::readTls);
    policy.notHonoured("tunnel", "HTTP CONNECT tunnelling needs a proxy");
    policy.notHonoured("proxyProtocol", "the PROXY protocol needs a proxy");
    Optional<DestinationRule.RetryBudget> retryBudget = policy.object("retryBudget").map(budget -> {
      Optional<Double> percent = budget.number("percent", 0, 100);
      Optional<Integer> minimum = budget.integer("minRetryConcurrency", 0, Integer.MAX_VALUE).map(Long::intValue);
      // Istio's 0 (its default) counts the requests in flight, as Inmesh does; an interval it cannot
      budget.duration("budgetInterval", Duration.ZERO).filter(interval -> !interval.isZero()).ifPresent(interval ->
          budget.error("budgetInterval", "not supported by Inmesh: its retry budget counts the requests in flight, not those"
              + " of an interval; leave budgetInterval out or set it to 0s"));
      budget.warn(null, GRPC_IGNORES + "a retry budget (gRFC A32 takes max_requests alone)");
      budget.finish();
      return new DestinationRule.RetryBudget(percent, minimum);
    });
    return new TrafficPolicy(loadBalancer, pool, outlier, tls, portLevel, retryBudget);
  }

  /**
   * Istio's ClientTLSSettings with its webhook's rules for which fields each mode allows. SIMPLE
   * and MUTUAL are originated by Inmesh clients with the files named; {@code credentialName} (a
   * Kubernetes secret) has nowhere to be read from and is refused.
   */
  private static ClientTls readTls(SpecReader tls) {
    TlsMode mode = tls.enumValue("mode", TlsMode.class).orElse(TlsMode.DISABLE);
    Optional<String> certificate = tls.string("clientCertificate").filter(v -> !v.isEmpty());
    Optional<String> key = tls.string("privateKey").filter(v -> !v.isEmpty());
    Optional<String> ca = tls.string("caCertificates").filter(v -> !v.isEmpty());
    Optional<String> credential = tls.string("credentialName").filter(v -> !v.isEmpty());
    Optional<String> crl = tls.string("caCrl").filter(v -> !v.isEmpty());
    List<String> sans = tls.stringList("subjectAltNames");
    Optional<String> sni = tls.string("sni");
    boolean insecure = tls.bool("insecureSkipVerify").orElse(false);
    sni.filter(name -> !name.matches("[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*"))
        .ifPresent(name -> tls.warn("sni", "'" + name + "' is not a host name; Java's TLS cannot send it, so Inmesh"
            + " clients send no SNI"));
    switch (mode) {
      case ISTIO_MUTUAL -> {
        // the mesh's own certificates are used, so files would be ignored: Istio refuses them
        certificate.ifPresent(v -> tls.error("clientCertificate", "cannot specify client certificates when using ISTIO_MUTUAL"));
        key.ifPresent(v -> tls.error("privateKey", "cannot specify private key when using ISTIO_MUTUAL"));
        ca.ifPresent(v -> tls.error("caCertificates", "cannot specify CA certificates when using ISTIO_MUTUAL"));
        credential.ifPresent(v -> tls.error("credentialName", "cannot specify credentialName when using ISTIO_MUTUAL"));
      }
      case MUTUAL, SIMPLE -> {
        credential.ifPresent(v -> tls.error("credentialName", "'" + v + "' names a Kubernetes secret, which Inmesh"
            + " clients have nowhere to read from; give caCertificates"
            + (mode == TlsMode.MUTUAL ? ", clientCertificate and privateKey" : "") + " as files on the client's machine"));
        if (mode == TlsMode.MUTUAL && credential.isEmpty()) {
          if (certificate.isEmpty()) {
            tls.error("clientCertificate", "client certificate required for mutual tls");
          }
          if (key.isEmpty()) {
            tls.error("privateKey", "private key required for mutual tls");
          }
        }
        if (mode == TlsMode.SIMPLE) {
          certificate.ifPresent(v -> tls.warn("clientCertificate", "used only with mode MUTUAL; SIMPLE presents no"
              + " client certificate, as in Istio"));
          key.ifPresent(v -> tls.warn("privateKey", "used only with mode MUTUAL; SIMPLE presents no client"
              + " certificate, as in Istio"));
        }
        if (insecure) {
          ca.ifPresent(v -> tls.warn("caCertificates", "not used: insecureSkipVerify checks nothing of the server's certificate"));
          if (!sans.isEmpty()) {
            tls.warn("subjectAltNames", "not used: insecureSkipVerify checks nothing of the server's certificate");
          }
        }
        tls.warn("mode", mode + " origination is done by Inmesh HTTP clients, with the files on their own machine;"
            + " proxyless gRPC clients cannot originate TLS from files (grpc-java takes certificates only from its"
            + " bootstrap's certificate provider instances, gRFC A29), so they get this destination without endpoints"
            + " and their calls fail with UNAVAILABLE instead of going out in plaintext");
      }
      case DISABLE -> { }
    }
    tls.finish();
    Origination origination = new Origination(ca, mode == TlsMode.MUTUAL ? certificate : Optional.empty(),
        mode == TlsMode.MUTUAL ? key : Optional.empty(), crl, !insecure);
    return new ClientTls(mode, sans, sni, origination);
  }

  private static LoadBalancer readLoadBalancer(SpecReader lb) {
    Optional<Simple> simple = lb.enumValue("simple", Simple.class);
    simple.filter(s -> s == Simple.PASSTHROUGH)
        .ifPresent(s -> lb.warn("simple", "accepted but not enforced by Inmesh: PASSTHROUGH needs a proxy; round robin is used"));
    Optional<ConsistentHash> hash = lb.object("consistentHash").flatMap(DestinationRuleParser::readConsistentHash);
    if (simple.isPresent() && lb.has("consistentHash")) {
      lb.error(null, "only one of simple or consistentHash may be set");
    }
    Optional<LocalityLbSetting> locality = lb.object("localityLbSetting").map(LocalityLbSettingParser::read);
    lb.integer("warmupDurationSecs", 0, Long.MAX_VALUE).ifPresent(w -> lb.warn("warmupDurationSecs", "accepted but not enforced by Inmesh: slow start"));
    lb.object("warmup").ifPresent(warmup -> {
      if (!warmup.has("duration")) {
        warmup.error("duration", "Required value");
      }
      warmup.duration("duration", MIN_DURATION);
      warmup.number("minimumPercent", 0, 100);
      warmup.number("aggression", 1, Double.MAX_VALUE);
      warmup.warn(null, "accepted but not enforced by Inmesh: slow start");
      warmup.finish();
    });
    lb.finish();
    return new LoadBalancer(simple, hash, locality);
  }

  private static Optional<ConsistentHash> readConsistentHash(SpecReader hash) {
    List<ConsistentHash> keys = new ArrayList<>();
    long ringSize = hash.integer("minimumRingSize", 0, 8_388_608).orElse(1024L);
    Optional<SpecReader> ringHash = hash.object("ringHash");
    if (ringHash.isPresent()) {
      ringSize = ringHash.get().integer("minimumRingSize", 0, 8_388_608).orElse(ringSize);
      ringHash.get().finish();
    }
    hash.object("maglev").ifPresent(maglev -> {
      maglev.integer("tableSize", 1, Long.MAX_VALUE);
      maglev.warn(null, "accepted; Inmesh uses a ring hash in place of Maglev, with the same affinity");
      maglev.finish();
    });
    final long ring = ringSize;
    hash.string("httpHeaderName").ifPresent(h -> keys.add(new ConsistentHash(HashOn.HEADER, h.toLowerCase(java.util.Locale.ROOT), Optional.empty(), ring)));
    hash.object("httpCookie").ifPresent(cookie -> {
      String name = cookie.requiredString("name");
      cookie.string("path").ifPresent(p -> cookie.warn("path", "accepted but not enforced by Inmesh: clients never set"
          + " the cookie, they hash on the one the request carries"));
      Optional<Duration> ttl = cookie.duration("ttl");
      ttl.ifPresent(t -> cookie.warn("ttl", "accepted but not enforced by Inmesh: clients never set the cookie"
          + " (Envoy does when ttl is given); a request without it gets no affinity"));
      List<SpecReader> attributes = cookie.list("attributes");
      attributes.forEach(attribute -> {
        attribute.requiredString("name");
        attribute.string("value");
        attribute.finish();
      });
      if (!attributes.isEmpty()) {
        cookie.warn("attributes", "accepted but not enforced by Inmesh: clients never set the cookie");
      }
      cookie.finish();
      keys.add(new ConsistentHash(HashOn.COOKIE, name, ttl, ring));
    });
    hash.bool("useSourceIp").filter(b -> b).ifPresent(b -> keys.add(new ConsistentHash(HashOn.SOURCE_IP, "", Optional.empty(), ring)));
    hash.string("httpQueryParameterName").ifPresent(q -> keys.add(new ConsistentHash(HashOn.QUERY_PARAMETER, q, Optional.empty(), ring)));
    if (keys.size() > 1) {
      hash.error(null, "only one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName may be set");
    } else if (keys.isEmpty()) {
      hash.error(null, "a consistentHash needs httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName");
    }
    hash.finish();
    return keys.stream().findFirst();
  }

  private static ConnectionPool readConnectionPool(SpecReader pool) {
    Optional<Integer> maxConnections = Optional.empty();
    Optional<Duration> connectTimeout = Optional.empty();
    Optional<SpecReader> tcp = pool.object("tcp");
    if (tcp.isPresent()) {
      SpecReader t = tcp.get();
      maxConnections = t.integer("maxConnections", 0, Integer.MAX_VALUE).map(Long::intValue);
      connectTimeout = t.duration("connectTimeout", MIN_DURATION);
      maxConnections.ifPresent(v -> t.warn("maxConnections", GRPC_IGNORES + "one HTTP/2 connection per endpoint (gRFC A32)"));
      connectTimeout.ifPresent(v -> t.warn("connectTimeout", GRPC_IGNORES + "it connects with its own backoff"));
      t.object("tcpKeepalive").ifPresent(keepalive -> {
        keepalive.integer("probes", 0, Integer.MAX_VALUE);
        keepalive.duration("time", MIN_DURATION);
        keepalive.duration("interval", MIN_DURATION);
        keepalive.warn(null, "accepted but not enforced by Inmesh yet: tcpKeepalive");
        keepalive.finish();
      });
      t.notHonoured("maxConnectionDuration", "connections live until idle");
      t.notHonoured("idleTimeout", "use http.idleTimeout");
      t.finish();
    }
    Optional<Integer> pending = Optional.empty();
    Optional<Integer> maxRequests = Optional.empty();
    Optional<Integer> perConnection = Optional.empty();
    Optional<Integer> maxRetries = Optional.empty();
    Optional<Duration> idleTimeout = Optional.empty();
    Optional<SpecReader> http = pool.object("http");
    if (http.isPresent()) {
      SpecReader h = http.get();
      pending = h.integer("http1MaxPendingRequests", 0, Integer.MAX_VALUE).map(Long::intValue);
      maxRequests = h.integer("http2MaxRequests", 0, Integer.MAX_VALUE).map(Long::intValue);
      perConnection = h.integer("maxRequestsPerConnection", 0, Integer.MAX_VALUE).map(Long::intValue);
      maxRetries = h.integer("maxRetries", 0, Integer.MAX_VALUE).map(Long::intValue);
      idleTimeout = h.duration("idleTimeout", MIN_DURATION);
      pending.ifPresent(v -> h.warn("http1MaxPendingRequests", GRPC_IGNORES + "HTTP/2 has no pending requests (gRFC A32)"));
      perConnection.ifPresent(v -> h.warn("maxRequestsPerConnection", GRPC_IGNORES + "one long-lived HTTP/2 connection per endpoint"));
      maxRetries.ifPresent(v -> h.warn("maxRetries", GRPC_IGNORES + "gRFC A32 takes max_requests alone"));
      idleTimeout.ifPresent(v -> h.warn("idleTimeout", GRPC_IGNORES + "its channel's own idle timeout applies"));
      h.notHonoured("h2UpgradePolicy", "the client library chooses the protocol");
      h.notHonoured("useClientProtocol", "the client library chooses the protocol");
      h.notHonoured("maxConcurrentStreams", "the client library limits its own streams");
      h.object("http2KeepAlive").ifPresent(keepalive -> {
        keepalive.duration("interval", MIN_DURATION);
        keepalive.duration("timeout", MIN_DURATION);
        keepalive.warn(null, "accepted but not enforced by Inmesh yet: http2KeepAlive");
        keepalive.finish();
      });
      h.finish();
    }
    pool.finish();
    return new ConnectionPool(maxConnections, connectTimeout, pending, maxRequests, perConnection, maxRetries, idleTimeout);
  }

  private static OutlierDetection readOutlier(SpecReader outlier) {
    Optional<Integer> consecutive5xx = outlier.integer("consecutive5xxErrors", 0, Integer.MAX_VALUE).map(Long::intValue);
    Optional<Integer> legacy = outlier.integer("consecutiveErrors", 0, Integer.MAX_VALUE).map(Long::intValue);
    if (legacy.isPresent()) {
      outlier.warn("consecutiveErrors", "deprecated: use consecutive5xxErrors");
      consecutive5xx = consecutive5xx.or(() -> legacy);
    }
    Optional<Integer> gateway = outlier.integer("consecutiveGatewayErrors", 0, Integer.MAX_VALUE).map(Long::intValue);
    Optional<Duration> interval = outlier.duration("interval", MIN_DURATION);
    Optional<Duration> ejection = outlier.duration("baseEjectionTime", MIN_DURATION);
    Optional<Integer> maxPercent = outlier.integer("maxEjectionPercent", 0, 100).map(Long::intValue);
    Optional<Integer> minHealth = outlier.integer("minHealthPercent", 0, 100).map(Long::intValue);
    outlier.notHonoured("splitExternalLocalOriginErrors", "local-origin failures count as gateway errors");
    outlier.notHonoured("consecutiveLocalOriginFailures", "local-origin failures count as gateway errors");
    outlier.finish();
    return new OutlierDetection(consecutive5xx, gateway, interval, ejection, maxPercent, minHealth);
  }
}
