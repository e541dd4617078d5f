package dev.inmesh.control.config.security;

import dev.inmesh.control.config.IstioSpec;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Istio's PeerAuthentication: which mutual-TLS mode the selected workloads accept, with per-port
 * overrides. An empty {@code selector} means every workload in the namespace (or the mesh, in the
 * root namespace). {@link Mode#UNSET} inherits from the parent scope, as in Istio.
 */
public record PeerAuthentication(Map<String, String> selector, Mode mode, Map<Integer, Mode> portLevelMtls)
    implements IstioSpec {

  public enum Mode { UNSET, DISABLE, PERMISSIVE, STRICT }

  public PeerAuthentication {
    selector = Map.copyOf(selector);
    Objects.requireNonNull(mode, "mode");
    portLevelMtls.keySet().forEach(port -> {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be between 1-65535, got " + port);
      }
    });
    if (!portLevelMtls.isEmpty() && selector.isEmpty()) {
      throw new IllegalArgumentException("portLevelMtls requires selector, got ports " + portLevelMtls.keySet());
    }
    // sorted by port so that two equal policies print and compare the same way
    portLevelMtls = Collections.unmodifiableMap(new TreeMap<>(portLevelMtls));
  }

  /** The mode for traffic to {@code port}: the port-level override if there is one. */
  public Mode modeFor(int port) {
    Mode override = portLevelMtls.get(port);
    return override == null || override == Mode.UNSET ? mode : override;
  }
}
