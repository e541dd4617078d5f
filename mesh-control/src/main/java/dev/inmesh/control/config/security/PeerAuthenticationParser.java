package dev.inmesh.control.config.security;

import dev.inmesh.control.config.SpecParser;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.security.PeerAuthentication.Mode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** Reads {@code security.istio.io} PeerAuthentication with Istio's CRD, CEL and webhook rules. */
public final class PeerAuthenticationParser implements SpecParser<PeerAuthentication> {
  public PeerAuthenticationParser() {}

  @Override
  public PeerAuthentication parse(SpecReader spec, String namespace) {
    Map<String, String> selector = WorkloadTargets.selector(spec);
    Mode mode = readMode(spec, "mtls").orElse(Mode.UNSET);
    Map<Integer, Mode> ports = new LinkedHashMap<>();
    if (spec.has("portLevelMtls")) {
      long before = WorkloadTargets.errorCount(spec);
      Map<String, SpecReader> entries = spec.objectMap("portLevelMtls");
      if (entries.isEmpty() && WorkloadTargets.errorCount(spec) == before) {
        spec.error("portLevelMtls", "must have at least 1 entry when set");
      }
      entries.forEach((key, entry) -> {
        Optional<Integer> port = parsePort(spec, key);
        Mode portMode = entry.enumValue("mode", Mode.class).orElse(Mode.UNSET);
        entry.finish();
        port.ifPresent(p -> ports.put(p, portMode));
      });
      // Istio's CEL rule: port overrides only make sense for the workloads a selector picks
      if (selector.isEmpty()) {
        spec.error("portLevelMtls", "portLevelMtls requires selector: a mesh- or namespace-wide policy"
            + " cannot set port-level mTLS");
        ports.clear();
      }
    }
    return new PeerAuthentication(selector, mode, ports);
  }

  private static Optional<Mode> readMode(SpecReader spec, String field) {
    Optional<SpecReader> mtls = spec.object(field);
    if (mtls.isEmpty()) {
      return Optional.empty();
    }
    Optional<Mode> mode = mtls.get().enumValue("mode", Mode.class);
    mtls.get().finish();
    return mode;
  }

  private static Optional<Integer> parsePort(SpecReader spec, String key) {
    String field = "portLevelMtls." + key;
    if (!key.matches("\\d{1,10}")) {
      spec.error(field, "type conversion error: port must be an integer, got '" + key + "'");
      return Optional.empty();
    }
    long port = Long.parseLong(key);
    if (port < 1 || port > 65535) {
      spec.error(field, "port must be between 1-65535, got " + port);
      return Optional.empty();
    }
    return Optional.of((int) port);
  }
}
