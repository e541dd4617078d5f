package dev.inmesh.control.analyze;

import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.networking.DestinationRule;
import dev.inmesh.control.config.networking.ServiceEntry;
import dev.inmesh.control.config.networking.VirtualService;
import dev.inmesh.control.config.security.AuthorizationPolicy;
import dev.inmesh.control.config.security.PeerAuthentication;
import dev.inmesh.control.config.security.RequestAuthentication;
import dev.inmesh.control.registry.Workload;
import dev.inmesh.control.translate.MeshModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * What a resource affects, for {@code meshctl describe}: the route configurations and clusters it
 * shapes (Istio's names, as config dumps show them) and the workloads or endpoints it selects.
 */
public final class Impact {
  private Impact() {}

  /** {@code routes}, {@code clusters} and {@code workloads}, each sorted; empty lists when it affects none. */
  public static Map<String, List<String>> of(ConfigResource resource, MeshModel model, List<Workload> workloads) {
    TreeSet<String> routes = new TreeSet<>();
    TreeSet<String> clusters = new TreeSet<>();
    TreeSet<String> selected = new TreeSet<>();
    String namespace = resource.namespace();
    if (resource.spec() instanceof VirtualService vs && vs.appliesToMesh()) {
      for (String host : vs.hosts()) {
        for (MeshModel.Service service : model.servicesFor(host, namespace)) {
          service.ports().forEach(port -> routes.add(MeshModel.routeName(service.hostname(), port)));
        }
      }
      for (VirtualService.HttpRoute http : vs.http()) {
        for (VirtualService.RouteDestination route : http.route()) {
          VirtualService.Destination destination = route.destination();
          for (MeshModel.Service service : model.servicesFor(destination.host(), namespace)) {
            List<Integer> ports = destination.port().map(List::of).orElse(service.ports());
            ports.forEach(port -> clusters.add(MeshModel.clusterName(port, destination.subset(), service.hostname())));
          }
        }
      }
    } else if (resource.spec() instanceof DestinationRule rule) {
      for (MeshModel.Service service : model.servicesFor(rule.host(), namespace)) {
        for (int port : service.ports()) {
          clusters.add(MeshModel.clusterName(port, "", service.hostname()));
          rule.subsets().forEach(subset -> clusters.add(MeshModel.clusterName(port, subset.name(), service.hostname())));
        }
        for (MeshModel.Instance instance : service.instances()) {
          for (DestinationRule.Subset subset : rule.subsets()) {
            if (MeshModel.selects(subset.labels(), instance.labels())) {
              selected.add("subset " + subset.name() + ": " + instance.labels() + " port " + instance.targetPort());
            }
          }
        }
      }
    } else if (resource.spec() instanceof ServiceEntry entry) {
      for (String host : entry.hosts()) {
        model.service(host).ifPresent(service -> {
          service.ports().forEach(port -> clusters.add(MeshModel.clusterName(port, "", service.hostname())));
          service.instances().forEach(i -> selected.add(i.namespace() + " " + i.labels() + " port " + i.targetPort()));
        });
      }
    } else {
      Map<String, String> selector = selector(resource);
      if (selector != null) {
        for (Workload workload : workloads) {
          var meta = workload.metadata();
          if (meta.namespace().equals(namespace) && MeshModel.selects(selector, meta.labels())) {
            selected.add(workload.nodeId() + " (" + meta.service() + " " + meta.labels() + ")");
          }
        }
      }
    }
    Map<String, List<String>> impact = new LinkedHashMap<>();
    impact.put("routes", new ArrayList<>(routes));
    impact.put("clusters", new ArrayList<>(clusters));
    impact.put("workloads", new ArrayList<>(selected));
    return impact;
  }

  private static Map<String, String> selector(ConfigResource resource) {
    if (resource.spec() instanceof AuthorizationPolicy policy) {
      return policy.selector();
    }
    if (resource.spec() instanceof PeerAuthentication policy) {
      return policy.selector();
    }
    if (resource.spec() instanceof RequestAuthentication policy) {
      return policy.selector();
    }
    return null;
  }

}
