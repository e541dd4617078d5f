package dev.inmesh.internal.security.authz;

import dev.inmesh.internal.security.jwt.VerifiedJwt;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Builds {@link AuthzRequest}s for tests: an mTLS GET from productpage to reviews unless told otherwise. */
public final class Requests {
  public static final String PRODUCTPAGE = "spiffe://cluster.local/ns/shop/sa/productpage";
  public static final String RATINGS = "spiffe://cluster.local/ns/shop/sa/ratings";

  private Optional<String> principal = Optional.of(PRODUCTPAGE);
  private InetAddress sourceIp = CidrRange.parseAddress("10.0.0.7");
  private InetAddress destinationIp = CidrRange.parseAddress("10.0.0.9");
  private int destinationPort = 9080;
  private String method = "GET";
  private String host = "reviews.shop.svc.cluster.local:9080";
  private String path = "/reviews/1";
  private final Map<String, String> headers = new HashMap<>();
  private Optional<String> sni = Optional.empty();
  private Optional<VerifiedJwt> jwt = Optional.empty();

  private Requests() {}

  public static Requests request() {
    return new Requests();
  }

  public Requests from(String spiffeId) {
    principal = Optional.of(spiffeId);
    return this;
  }

  public Requests plaintext() {
    principal = Optional.empty();
    return this;
  }

  public Requests sourceIp(String ip) {
    sourceIp = CidrRange.parseAddress(ip);
    return this;
  }

  public Requests destinationIp(String ip) {
    destinationIp = CidrRange.parseAddress(ip);
    return this;
  }

  public Requests port(int port) {
    destinationPort = port;
    return this;
  }

  public Requests method(String value) {
    method = value;
    return this;
  }

  public Requests host(String value) {
    host = value;
    return this;
  }

  public Requests path(String value) {
    path = value;
    return this;
  }

  public Requests header(String name, String value) {
    headers.put(name, value);
    return this;
  }

  public Requests sni(String value) {
    sni = Optional.of(value);
    return this;
  }

  /** An end-user token with these claims, verified, its claims under {@code payload} as Istio's filter puts them. */
  public Requests jwt(Map<String, Object> claims) {
    jwt = Optional.of(new VerifiedJwt("origins-0", "payload", claims));
    return this;
  }

  public AuthzRequest build() {
    Map<String, String> copy = Map.copyOf(headers);
    return new AuthzRequest(principal, sourceIp, destinationIp, destinationPort, method, host, path,
        name -> Optional.ofNullable(copy.get(name)), sni, jwt);
  }

  @Override
  public String toString() {
    return method + " " + path + " from " + principal.orElse("plaintext") + " at " + sourceIp.getHostAddress();
  }
}
