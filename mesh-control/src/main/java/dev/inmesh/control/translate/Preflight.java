package dev.inmesh.control.translate;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.networking.DestinationRule;
import dev.inmesh.control.config.networking.ServiceEntry;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.config.security.PeerAuthentication;
import dev.inmesh.control.config.security.RequestAuthentication;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.internal.xds.XdsDecoder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * mesh-control never sends what its clients NACK: before a change is in force, the config it would
 * make is translated for every kind of client (Inmesh HTTP clients, proxyless gRPC clients, with and
 * without mesh certificates; the server listeners of every workload) and decoded with the parsers
 * Inmesh clients run ({@link XdsDecoder#refusals}). What they would refuse that they do not refuse
 * today refuses the change, naming the Istio resource of the change that causes it and the field.
 * grpc-java has no parser in this process: its clients' resources are checked with Inmesh's, and
 * what grpc-java would not do is warned of at translation instead.
 */
public final class Preflight {
  private final XdsTranslator translator;
  /** The last state checked and what it was refused: the state before a change is the one after the last. */
  private MeshState lastState;
  private Map<Key, Set<String>> lastRefusals;
  private Set<ClientProfile> lastProfiles = Set.of();

  public Preflight(XdsTranslator translator) {
    this.translator = translator;
  }

  /** One refusal, whichever profile met it; {@code clients} says which kinds of client would NACK it. */
  private record Key(String type, String name, String field, String message) {
    static Key of(XdsDecoder.Refusal refusal) {
      return new Key(refusal.type(), refusal.name(), refusal.field(), refusal.message());
    }
  }

  /**
   * The profiles to check a state for: those clients are served now ({@code connected}, as
   * {@link ClientProfile#key} names them), and for every namespace with a workload (and
   * {@code default}) the ones its clients would have: Inmesh with and without mesh certificates,
   * proxyless gRPC with them.
   */
  public static Set<ClientProfile> profiles(MeshState state, Collection<String> connected) {
    Set<String> namespaces = new TreeSet<>();
    namespaces.add("default");
    state.workloads().stream().map(Workload::metadata).map(m -> m.namespace()).forEach(namespaces::add);
    Set<ClientProfile> profiles = new LinkedHashSet<>();
    for (String namespace : namespaces) {
      profiles.add(new ClientProfile(namespace, false, true));
      profiles.add(new ClientProfile(namespace, false, false));
      profiles.add(new ClientProfile(namespace, true, true));
    }
    // a gateway each Gateway selects, connected yet or not: a change a gateway would NACK is refused too
    for (ConfigResource gateway : state.ofKind(dev.inmesh.control.config.networking.Gateway.class)) {
      var selector = gateway.spec(dev.inmesh.control.config.networking.Gateway.class).selector();
      profiles.add(new ClientProfile(gateway.namespace(), false, true, null,
          selector.isEmpty() ? java.util.Map.of("app", "gateway") : selector));
    }
    connected.stream().map(ClientProfile::parse).forEach(profiles::add);
    return profiles;
  }

  /** Every resource a client of {@code profile} would NACK in this translation. */
  public static List<XdsDecoder.Refusal> refusals(Translation translation) {
    return XdsDecoder.refusals(translation.listeners(), translation.routes(), translation.clusters(), translation.endpoints());
  }

  /**
   * The problems that refuse a change from {@code before} to {@code after}: one error per resource
   * some client would NACK after it and none before. Empty when the change may go ahead.
   *
   * @param changed the resources the change writes, whose Istio names the errors carry
   */
  public synchronized List<Problem> check(MeshState before, MeshState after, List<ConfigResource> changed,
      Collection<String> connected) {
    Set<ClientProfile> profiles = profiles(after, connected);
    Map<Key, Set<String>> old = before.equals(lastState) && profiles.equals(lastProfiles)
        ? lastRefusals : refusals(before, profiles, new LinkedHashSet<>());
    Set<Problem> warnings = new LinkedHashSet<>();
    Map<Key, Set<String>> fresh = refusals(after, profiles, warnings);
    lastState = after;
    lastProfiles = profiles;
    lastRefusals = fresh;
    List<Problem> problems = new ArrayList<>();
    // what translation warns of about the resources of the change, such as what proxyless gRPC clients won't do
    Set<String> names = new java.util.HashSet<>();
    changed.forEach(r -> names.add(r.key().toString()));
    warnings.stream().filter(w -> names.contains(w.resource())).forEach(problems::add);
    fresh.forEach((key, clients) -> {
      if (!old.containsKey(key)) {
        Optional<ConfigResource> cause = cause(key, before, after, changed, profiles);
        problems.add(problem(key, clients, cause, changed));
      }
    });
    return problems;
  }

  private Map<Key, Set<String>> refusals(MeshState state, Set<ClientProfile> profiles, Set<Problem> warnings) {
    Map<Key, Set<String>> refusals = new LinkedHashMap<>();
    for (ClientProfile profile : profiles) {
      Translation translation = translator.translate(state, profile);
      warnings.addAll(translation.warnings());
      for (XdsDecoder.Refusal refusal : refusals(translation)) {
        refusals.computeIfAbsent(Key.of(refusal), k -> new TreeSet<>()).add(clients(profile, refusal));
      }
    }
    return refusals;
  }

  /** Who would NACK it, in words. */
  private static String clients(ClientProfile profile, XdsDecoder.Refusal refusal) {
    if (refusal.type().equals("LDS") && refusal.name().startsWith("grpc/server?")) {
      return profile.proxylessGrpc() ? "proxyless gRPC servers" : "Inmesh servers";
    }
    return profile.proxylessGrpc() ? "proxyless gRPC clients" : "Inmesh HTTP clients";
  }

  /**
   * The resource of the change without which the refusal goes away: the only one, or the one whose
   * undoing (its earlier version, or its absence) makes the translation acceptable again.
   */
  private Optional<ConfigResource> cause(Key key, MeshState before, MeshState after, List<ConfigResource> changed,
      Set<ClientProfile> profiles) {
    if (changed.size() <= 1) {
      return changed.stream().findFirst();
    }
    for (ConfigResource candidate : changed) {
      List<ConfigResource> without = new ArrayList<>(after.config().stream().filter(r -> !r.key().equals(candidate.key())).toList());
      before.config().stream().filter(r -> r.key().equals(candidate.key())).forEach(without::add);
      MeshState undone = new MeshState(without, after.workloads());
      boolean gone = profiles.stream().noneMatch(p -> refusals(translator.translate(undone, p)).stream()
          .map(Key::of).anyMatch(key::equals));
      if (gone) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  private static Problem problem(Key key, Set<String> clients, Optional<ConfigResource> cause, List<ConfigResource> changed) {
    String message = String.join(" and ", clients) + " would NACK " + key.type() + " " + key.name() + " ("
        + key.message() + "); refused, so that no client is sent it";
    if (cause.isPresent()) {
      return new Problem(Problem.Severity.ERROR, cause.get().source(), cause.get().key().toString(),
          istioField(cause.get(), key), message);
    }
    String source = changed.stream().map(ConfigResource::source).findFirst().orElse("");
    return new Problem(Problem.Severity.ERROR, source, key.type() + " " + key.name(), key.field(), message);
  }

  /** The Istio field that makes the refused xDS field, as near as the kind of resource tells. */
  private static String istioField(ConfigResource resource, Key key) {
    String field = key.field();
    Object spec = resource.spec();
    if (key.type().equals("CDS") || key.type().equals("EDS")) {
      if (spec instanceof DestinationRule) {
        String subset = subsetOf(key.name());
        String base = subset.isEmpty() ? "spec.trafficPolicy" : "spec.subsets[name=" + subset + "].trafficPolicy";
        if (field.contains("transport_socket")) {
          return base + ".tls";
        }
        if (field.startsWith("lb_policy") || field.contains("lb_config")) {
          return base + ".loadBalancer";
        }
        if (field.startsWith("outlier_detection")) {
          return base + ".outlierDetection";
        }
        if (field.startsWith("circuit_breakers") || field.startsWith("connect_timeout")) {
          return base + ".connectionPool";
        }
        return subset.isEmpty() ? "spec" : "spec.subsets[name=" + subset + "]";
      }
      if (spec instanceof ServiceEntry) {
        return field.equals("type") ? "spec.resolution" : field.contains("endpoint") ? "spec.endpoints" : "spec";
      }
    }
    if (key.type().equals("RDS") && spec instanceof VirtualService) {
      return "spec.http";
    }
    if (key.type().equals("LDS") && spec instanceof AuthorizationPolicy) {
      return "spec.rules";
    }
    if (key.type().equals("LDS") && spec instanceof PeerAuthentication) {
      return "spec.mtls";
    }
    if (key.type().equals("LDS") && spec instanceof RequestAuthentication) {
      return "spec.jwtRules";
    }
    return "spec";
  }

  /**
   * {@code fresh} with every resource in {@code refused} put back as {@code published} has it (or
   * left out, when it was never sent): what a registry change makes, which no apply could refuse,
   * never reaches a client in a form it would NACK.
   */
  public static Translation keepingLastGood(Translation fresh, List<XdsDecoder.Refusal> refused, Optional<Translation> published) {
    Map<String, Set<String>> byType = new LinkedHashMap<>();
    refused.forEach(r -> byType.computeIfAbsent(r.type(), t -> new LinkedHashSet<>()).add(r.name()));
    Optional<Translation> last = published;
    return new Translation(
        replace(fresh.listeners(), byType.get("LDS"), last.map(Translation::listeners), l -> l.getName()),
        replace(fresh.routes(), byType.get("RDS"), last.map(Translation::routes), r -> r.getName()),
        replace(fresh.clusters(), byType.get("CDS"), last.map(Translation::clusters), c -> c.getName()),
        replace(fresh.endpoints(), byType.get("EDS"), last.map(Translation::endpoints), e -> e.getClusterName()),
        fresh.warnings());
  }

  private static <T> List<T> replace(List<T> fresh, Set<String> refused, Optional<List<T>> published,
      java.util.function.Function<T, String> name) {
    if (refused == null) {
      return fresh;
    }
    List<T> kept = new ArrayList<>();
    for (T resource : fresh) {
      String resourceName = name.apply(resource);
      if (!refused.contains(resourceName)) {
        kept.add(resource);
      } else {
        published.flatMap(list -> list.stream().filter(r -> name.apply(r).equals(resourceName)).findFirst())
            .ifPresent(kept::add);
      }
    }
    return kept;
  }

  /** The subset of a cluster named {@code outbound|<port>|<subset>|<host>}; empty for the whole service. */
  private static String subsetOf(String cluster) {
    String[] parts = cluster.split("\\|", -1);
    return parts.length == 4 ? parts[2] : "";
  }
}
