package dev.inmesh.control.analyze;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.Problem;
import dev.inmesh.control.config.SpecReader;
import dev.inmesh.control.config.networking.DestinationRule;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.control.config.networking.WorkloadEntry;
import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.config.security.PeerAuthentication;
import dev.inmesh.control.config.security.PolicyTargetReference;
import dev.inmesh.control.config.security.RequestAuthentication;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.translate.HostResolver;
import dev.inmesh.control.translate.MeshModel;
import dev.inmesh.control.translate.MeshState;
import dev.inmesh.control.translate.authz.AuthorizationTranslator;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code meshctl analyze}: looks at the config as a whole — what no single resource's validation
 * can see — and reports what will not work as written. It reads the config through
 * {@link MeshModel}, the translator's own view of services and endpoints, so it judges hosts and
 * subsets by the same rules that decide what clients receive.
 */
public final class Analyzer {
  private final MeshState state;
  private final MeshModel model;
  private final List<Finding> findings = new ArrayList<>();

  private Analyzer(MeshState state, HostResolver resolver) {
    this.state = state;
    this.model = MeshModel.of(state, resolver);
  }

  /**
   * @param problems what validation found in the sources (errors of rejected files, warnings of
   *     accepted ones): they are reported too, under their own codes
   */
  public static List<Finding> analyze(List<ConfigResource> config, List<Workload> workloads, List<Problem> problems,
      HostResolver resolver) {
    Analyzer analyzer = new Analyzer(new MeshState(config, workloads), resolver);
    analyzer.validation(problems);
    for (ConfigResource resource : analyzer.state.ofKind(VirtualService.class)) {
      analyzer.virtualService(resource);
    }
    analyzer.conflictingVirtualServices();
    for (ConfigResource resource : analyzer.state.ofKind(DestinationRule.class)) {
      analyzer.destinationRule(resource);
    }
    for (ConfigResource resource : analyzer.state.config()) {
      analyzer.policySelection(resource);
    }
    return analyzer.findings.stream()
        .sorted(Comparator.comparing(Finding::severity).thenComparing(Finding::resource).thenComparing(Finding::code)
            .thenComparing(Finding::field))
        .distinct()
        .toList();
  }

  private void validation(List<Problem> problems) {
    for (Problem problem : problems) {
      AnalysisCode code = problem.isError() ? AnalysisCode.IST0106
          : problem.message().startsWith(SpecReader.FAILS_CLOSED) ? AnalysisCode.IM0004
          : problem.message().toLowerCase(Locale.ROOT).contains("deprecated") ? AnalysisCode.IST0002
          : AnalysisCode.IM0003;
      findings.add(new Finding(code, problem.resource(), problem.source(), problem.field(), problem.message()));
    }
  }

  private void virtualService(ConfigResource resource) {
    VirtualService vs = resource.spec(VirtualService.class);
    if (!vs.appliesToMesh()) {
      return;
    }
    for (int i = 0; i < vs.hosts().size(); i++) {
      String host = vs.hosts().get(i);
      if (model.servicesFor(host, resource.namespace()).isEmpty()) {
        add(AnalysisCode.IST0101, resource, "spec.hosts[" + i + "]", "host " + MeshModel.resolve(host, resource.namespace())
            + " has no service (no registered workload or ServiceEntry): no client can dial it, so these routes never apply");
      }
    }
    for (int i = 0; i < vs.http().size(); i++) {
      VirtualService.HttpRoute http = vs.http().get(i);
      for (int d = 0; d < http.route().size(); d++) {
        destination(resource, "spec.http[" + i + "].route[" + d + "].destination", http.route().get(d).destination());
      }
      unreachable(resource, vs, i);
    }
  }

  private void destination(ConfigResource resource, String field, VirtualService.Destination destination) {
    String hostname = MeshModel.resolve(destination.host(), resource.namespace());
    if (model.servicesFor(destination.host(), resource.namespace()).isEmpty()) {
      add(AnalysisCode.IST0101, resource, field + ".host", "destination host " + hostname
          + " has no service (no registered workload or ServiceEntry): requests routed here fail with 503");
      return;
    }
    if (destination.subset().isEmpty()) {
      return;
    }
    boolean defined = state.ofKind(DestinationRule.class).stream()
        .filter(dr -> ruleCovers(dr, hostname))
        .anyMatch(dr -> dr.spec(DestinationRule.class).subset(destination.subset()).isPresent());
    if (!defined) {
      add(AnalysisCode.IST0101, resource, field + ".subset", "subset " + destination.subset() + " of host " + hostname
          + " is not defined by any DestinationRule: requests routed to it fail with 503");
    }
  }

  private static boolean ruleCovers(ConfigResource rule, String hostname) {
    String host = MeshModel.resolve(rule.spec(DestinationRule.class).host(), rule.namespace());
    return MeshModel.covers(host, hostname);
  }

  /** A route after one that takes every request is dead; so is a match an earlier route already has. */
  private void unreachable(ConfigResource resource, VirtualService vs, int index) {
    VirtualService.HttpRoute route = vs.http().get(index);
    for (int earlier = 0; earlier < index; earlier++) {
      VirtualService.HttpRoute before = vs.http().get(earlier);
      if (catchesAll(before)) {
        add(AnalysisCode.IST0130, resource, "spec.http[" + index + "]", "route #" + index + describe(route)
            + " is never reached: route #" + earlier + describe(before) + " before it matches every request");
        return;
      }
    }
    for (int m = 0; m < route.match().size(); m++) {
      VirtualService.Match match = unnamed(route.match().get(m));
      for (int earlier = 0; earlier < index; earlier++) {
        List<VirtualService.Match> before = vs.http().get(earlier).match();
        for (int n = 0; n < before.size(); n++) {
          if (unnamed(before.get(n)).equals(match)) {
            add(AnalysisCode.IST0131, resource, "spec.http[" + index + "].match[" + m + "]", "route #" + index
                + " match #" + m + " is not used: it duplicates match #" + n + " of route #" + earlier);
            return;
          }
        }
      }
    }
  }

  private static String describe(VirtualService.HttpRoute route) {
    return route.name().isEmpty() ? "" : " (" + route.name() + ")";
  }

  /** No match, or a match on nothing but the whole path space. */
  private static boolean catchesAll(VirtualService.HttpRoute route) {
    if (route.match().isEmpty()) {
      return true;
    }
    return route.match().stream().anyMatch(match -> {
      VirtualService.Match bare = unnamed(match);
      boolean onlyUri = bare.method().isEmpty() && bare.authority().isEmpty() && bare.scheme().isEmpty()
          && bare.headers().isEmpty() && bare.withoutHeaders().isEmpty() && bare.queryParams().isEmpty()
          && bare.port().isEmpty() && bare.sourceLabels().isEmpty() && bare.sourceNamespace().isEmpty();
      return onlyUri && bare.uri().map(Analyzer::matchesEveryPath).orElse(true);
    });
  }

  private static boolean matchesEveryPath(dev.inmesh.control.config.networking.StringMatch uri) {
    return switch (uri.type()) {
      case PREFIX -> uri.value().equals("/") || uri.value().isEmpty();
      case REGEX -> uri.value().equals(".*") || uri.value().equals("/.*");
      case EXACT -> false;
    };
  }

  private static VirtualService.Match unnamed(VirtualService.Match match) {
    return new VirtualService.Match("", match.uri(), match.method(), match.authority(), match.scheme(), match.headers(),
        match.withoutHeaders(), match.queryParams(), match.port(), match.sourceLabels(), match.sourceNamespace(),
        match.ignoreUriCase(), match.gateways());
  }

  /**
   * Istio gives each host one VirtualService: an exact host beats a wildcard, and among equals the
   * first wins (here by namespace and name, as the translator orders them).
   */
  private void conflictingVirtualServices() {
    for (MeshModel.Service service : model.services()) {
      List<ConfigResource> exact = new ArrayList<>();
      List<ConfigResource> wildcard = new ArrayList<>();
      for (ConfigResource resource : state.ofKind(VirtualService.class)) {
        VirtualService vs = resource.spec(VirtualService.class);
        if (!vs.appliesToMesh()) {
          continue;
        }
        for (String host : vs.hosts()) {
          String resolved = MeshModel.resolve(host, resource.namespace());
          if (resolved.equals(service.hostname())) {
            exact.add(resource);
            break;
          }
          if (MeshModel.isWildcard(resolved) && model.servicesFor(host, resource.namespace()).contains(service)) {
            wildcard.add(resource);
            break;
          }
        }
      }
      exact.sort(Comparator.comparing(ConfigResource::key));
      wildcard.sort(Comparator.comparing(ConfigResource::key));
      List<ConfigResource> ordered = new ArrayList<>(exact);
      ordered.addAll(wildcard);
      for (int i = 1; i < ordered.size(); i++) {
        ConfigResource loser = ordered.get(i);
        String why = "host " + service.hostname() + " is already routed by " + ordered.get(0).key()
            + "; this VirtualService does not apply to it (one VirtualService per host)";
        add(i < exact.size() ? AnalysisCode.IST0109 : AnalysisCode.IM0002, loser, "spec.hosts", why);
      }
    }
  }

  private void destinationRule(ConfigResource resource) {
    DestinationRule rule = resource.spec(DestinationRule.class);
    List<MeshModel.Service> services = model.servicesFor(rule.host(), resource.namespace());
    for (int i = 0; i < rule.subsets().size(); i++) {
      DestinationRule.Subset subset = rule.subsets().get(i);
      boolean selects = services.stream().flatMap(s -> s.instances().stream())
          .anyMatch(instance -> MeshModel.selects(subset.labels(), instance.labels()));
      if (!services.isEmpty() && !selects) {
        add(AnalysisCode.IM0001, resource, "spec.subsets[" + i + "]", "subset " + subset.name() + " selects "
            + subset.labels() + ", which none of the endpoints of " + names(services) + " has: requests routed to it fail with 503");
      }
    }
    mtlsConflicts(resource, rule, services);
  }

  /** TLS DISABLE at the rule, port or subset level toward an endpoint that only accepts mutual TLS. */
  private void mtlsConflicts(ConfigResource resource, DestinationRule rule, List<MeshModel.Service> services) {
    DestinationRule.TrafficPolicy top = rule.trafficPolicy().orElse(DestinationRule.TrafficPolicy.NONE);
    for (MeshModel.Service service : services) {
      for (MeshModel.Instance instance : service.instances()) {
        if (model.mtlsMode(instance) != PeerAuthentication.Mode.STRICT) {
          continue;
        }
        TrafficPolicy policy = new TrafficPolicy(top.forPort(instance.servicePort()), "spec.trafficPolicy");
        for (int i = 0; i < rule.subsets().size(); i++) {
          DestinationRule.Subset subset = rule.subsets().get(i);
          if (subset.trafficPolicy().isPresent() && MeshModel.selects(subset.labels(), instance.labels())) {
            policy = new TrafficPolicy(policy.policy().overriddenBy(subset.trafficPolicy().get().forPort(instance.servicePort())),
                "spec.subsets[" + i + "].trafficPolicy");
          }
        }
        if (policy.policy().tls().map(t -> t.mode() == DestinationRule.TlsMode.DISABLE).orElse(false)) {
          add(AnalysisCode.IST0113, resource, policy.field() + ".tls.mode", "clients send plaintext to " + service.hostname()
              + ":" + instance.servicePort() + ", but its workloads " + instance.labels() + " in namespace "
              + instance.namespace() + " accept only mutual TLS (PeerAuthentication STRICT): every call is refused");
          return;
        }
      }
    }
  }

  private record TrafficPolicy(DestinationRule.TrafficPolicy policy, String field) {}

  private void policySelection(ConfigResource resource) {
    Map<String, String> selector;
    List<PolicyTargetReference> targets = new ArrayList<>();
    if (resource.spec() instanceof AuthorizationPolicy policy) {
      selector = policy.selector();
      policy.targetRef().ifPresent(targets::add);
      targets.addAll(policy.targetRefs());
    } else if (resource.spec() instanceof PeerAuthentication policy) {
      selector = policy.selector();
    } else if (resource.spec() instanceof RequestAuthentication policy) {
      selector = policy.selector();
      policy.targetRef().ifPresent(targets::add);
      targets.addAll(policy.targetRefs());
    } else {
      return;
    }
    if (!selector.isEmpty() && workloadLabels(resource.namespace()).stream().noneMatch(labels -> MeshModel.selects(selector, labels))) {
      add(AnalysisCode.IST0127, resource, "spec.selector.matchLabels", "selects " + selector + ", which no workload in "
          + scope(resource.namespace()) + " has: the policy applies to nothing");
    }
    for (PolicyTargetReference target : targets) {
      if (!targetExists(target, resource.namespace())) {
        add(AnalysisCode.IST0127, resource, "spec.targetRef", target.kind() + " " + target.name() + " does not exist in namespace "
            + resource.namespace() + ": the policy applies to nothing");
      }
    }
  }

  private boolean targetExists(PolicyTargetReference target, String namespace) {
    return switch (target.kind()) {
      case "Service" -> model.service(MeshModel.resolve(target.name(), namespace)).isPresent();
      case "ServiceEntry" -> state.config().stream()
          .anyMatch(r -> r.kind().equals("ServiceEntry") && r.namespace().equals(namespace) && r.name().equals(target.name()));
      default -> true;
    };
  }

  private static String scope(String namespace) {
    return namespace.equals(AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE) ? "the mesh" : "namespace " + namespace;
  }

  /** The labels of every workload a policy in {@code namespace} can select (all of them from the root namespace). */
  private List<Map<String, String>> workloadLabels(String namespace) {
    boolean root = namespace.equals(AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    List<Map<String, String>> labels = new ArrayList<>();
    for (Workload workload : state.workloads()) {
      if (root || workload.metadata().namespace().equals(namespace)) {
        labels.add(workload.metadata().labels());
      }
    }
    for (ConfigResource entry : state.ofKind(WorkloadEntry.class)) {
      if (root || entry.namespace().equals(namespace)) {
        labels.add(entry.spec(WorkloadEntry.class).labels());
      }
    }
    for (MeshModel.Service service : model.services()) {
      for (MeshModel.Instance instance : service.instances()) {
        if (root || instance.namespace().equals(namespace)) {
          labels.add(instance.labels());
        }
      }
    }
    return labels;
  }


  private static String names(List<MeshModel.Service> services) {
    return String.join(", ", services.stream().map(MeshModel.Service::hostname).toList());
  }

  private void add(AnalysisCode code, ConfigResource resource, String field, String message) {
    findings.add(new Finding(code, resource.key().toString(), resource.source(), field, message));
  }

  /** The first finding at or above {@code threshold}, if any: what decides analyze's exit code. */
  public static Optional<Finding> worst(List<Finding> findings, Severity threshold) {
    return findings.stream().filter(f -> f.severity().atLeast(threshold)).findFirst();
  }
}
