package dev.inmesh.control.config;

import dev.inmesh.control.config.networking.DestinationRuleParser;
import dev.inmesh.control.config.networking.GatewayParser;
import dev.inmesh.control.config.networking.ServiceEntryParser;
import dev.inmesh.control.config.networking.VirtualServiceParser;
import dev.inmesh.control.config.networking.WorkloadEntryParser;
import dev.inmesh.control.config.networking.WorkloadGroupParser;
import dev.inmesh.control.config.security.AuthorizationPolicyParser;
import dev.inmesh.control.config.security.PeerAuthenticationParser;
import dev.inmesh.control.config.security.RequestAuthenticationParser;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The Istio kinds Inmesh reads, the API versions each is served at, and their parsers. */
public final class Kinds {
  public static final String NETWORKING = "networking.istio.io";
  public static final String SECURITY = "security.istio.io";

  /** One kind: its API group, the versions Istio serves it at, and its parser. */
  public record Kind(String name, String group, List<String> versions, SpecParser<?> parser) {}

  private static final List<String> NETWORKING_VERSIONS = List.of("v1", "v1beta1", "v1alpha3");
  private static final List<String> SECURITY_VERSIONS = List.of("v1", "v1beta1");

  private static final Map<String, Kind> KINDS = Map.of(
      "VirtualService", new Kind("VirtualService", NETWORKING, NETWORKING_VERSIONS, new VirtualServiceParser()),
      "DestinationRule", new Kind("DestinationRule", NETWORKING, NETWORKING_VERSIONS, new DestinationRuleParser()),
      "ServiceEntry", new Kind("ServiceEntry", NETWORKING, NETWORKING_VERSIONS, new ServiceEntryParser()),
      "WorkloadEntry", new Kind("WorkloadEntry", NETWORKING, NETWORKING_VERSIONS, new WorkloadEntryParser()),
      "WorkloadGroup", new Kind("WorkloadGroup", NETWORKING, NETWORKING_VERSIONS, new WorkloadGroupParser()),
      "Gateway", new Kind("Gateway", NETWORKING, NETWORKING_VERSIONS, new GatewayParser()),
      "PeerAuthentication", new Kind("PeerAuthentication", SECURITY, SECURITY_VERSIONS, new PeerAuthenticationParser()),
      "AuthorizationPolicy", new Kind("AuthorizationPolicy", SECURITY, SECURITY_VERSIONS, new AuthorizationPolicyParser()),
      "RequestAuthentication", new Kind("RequestAuthentication", SECURITY, SECURITY_VERSIONS, new RequestAuthenticationParser()));

  /** Real Istio kinds that Inmesh does not read: accepted with a warning, never silently. */
  private static final Set<String> OTHER_ISTIO_KINDS = Set.of(
      "Sidecar", "EnvoyFilter", "ProxyConfig", "Telemetry", "WasmPlugin");

  private Kinds() {}

  public static Optional<Kind> find(String kind) {
    return Optional.ofNullable(KINDS.get(kind));
  }

  public static boolean isOtherIstioKind(String kind) {
    return OTHER_ISTIO_KINDS.contains(kind);
  }
}
