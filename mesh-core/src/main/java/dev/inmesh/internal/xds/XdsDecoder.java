package dev.inmesh.internal.xds;

import dev.inmesh.internal.model.ClusterConfig;
import dev.inmesh.internal.model.Endpoint;
import dev.inmesh.internal.model.ListenerConfig;
import dev.inmesh.internal.routing.RouteTable;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes xDS resources with the ADS client's own parsers, so that a tool (meshctl explain) sees
 * the outbound config exactly as an Inmesh client holds it. Server listeners are left out: each
 * workload keeps only its own. A resource the client would NACK is reported, not decoded.
 */
public final class XdsDecoder {
  private XdsDecoder() {}

  /** The decoded resources, and one line per resource a client would refuse. */
  public record Decoded(XdsResources resources, List<String> errors) {
    public Decoded {
      errors = List.copyOf(errors);
    }
  }

  /**
   * One resource an Inmesh client would NACK: its xDS type ({@code LDS}, {@code RDS}, {@code CDS},
   * {@code EDS}), name, the field and why. {@link #toString} is the NACK's own wording.
   */
  public record Refusal(String type, String name, String field, String message) {
    @Override
    public String toString() {
      return type + ": " + message;
    }
  }

  /**
   * Every resource an Inmesh client would NACK, server listeners included (each workload parses
   * its own), so that mesh-control can refuse a change before it sends it.
   */
  public static List<Refusal> refusals(Collection<Listener> listeners, Collection<RouteConfiguration> routes,
      Collection<Cluster> clusters, Collection<ClusterLoadAssignment> endpoints) {
    List<Refusal> refusals = new ArrayList<>();
    for (Listener listener : listeners) {
      try {
        if (listener.getName().startsWith(AdsClient.INBOUND_LISTENER_PREFIX)) {
          InboundListenerParser.parse(listener);
        } else if (GatewayListenerParser.isGatewayListener(listener)) {
          GatewayListenerParser.parse(listener);
        } else {
          ListenerParser.parse(listener);
        }
      } catch (XdsParseException e) {
        refusals.add(new Refusal("LDS", listener.getName(), e.field(), e.getMessage()));
      }
    }
    for (RouteConfiguration route : routes) {
      try {
        RouteParser.parse(route);
      } catch (XdsParseException e) {
        refusals.add(new Refusal("RDS", route.getName(), e.field(), e.getMessage()));
      }
    }
    for (Cluster cluster : clusters) {
      try {
        ClusterParser.parse(cluster);
      } catch (XdsParseException e) {
        refusals.add(new Refusal("CDS", cluster.getName(), e.field(), e.getMessage()));
      }
    }
    for (ClusterLoadAssignment assignment : endpoints) {
      try {
        ClusterParser.endpoints(assignment);
      } catch (XdsParseException e) {
        refusals.add(new Refusal("EDS", assignment.getClusterName(), e.field(), e.getMessage()));
      }
    }
    return refusals;
  }

  public static Decoded decode(Collection<Listener> listeners, Collection<RouteConfiguration> routes,
      Collection<Cluster> clusters, Collection<ClusterLoadAssignment> endpoints) {
    List<String> errors = new ArrayList<>();
    Map<String, ListenerConfig> listenerConfigs = new LinkedHashMap<>();
    for (Listener listener : listeners) {
      if (listener.getName().startsWith(AdsClient.INBOUND_LISTENER_PREFIX)) {
        continue;
      }
      try {
        listenerConfigs.put(listener.getName(), GatewayListenerParser.isGatewayListener(listener)
            ? GatewayListenerParser.parse(listener) : ListenerParser.parse(listener));
      } catch (XdsParseException e) {
        errors.add("LDS: " + e.getMessage());
      }
    }
    Map<String, RouteTable> routeTables = new LinkedHashMap<>();
    for (RouteConfiguration route : routes) {
      try {
        routeTables.put(route.getName(), RouteParser.parse(route));
      } catch (XdsParseException e) {
        errors.add("RDS: " + e.getMessage());
      }
    }
    Map<String, ClusterConfig> clusterConfigs = new LinkedHashMap<>();
    for (Cluster cluster : clusters) {
      try {
        clusterConfigs.put(cluster.getName(), ClusterParser.parse(cluster));
      } catch (XdsParseException e) {
        errors.add("CDS: " + e.getMessage());
      }
    }
    Map<String, List<Endpoint>> endpointLists = new LinkedHashMap<>();
    for (ClusterLoadAssignment assignment : endpoints) {
      try {
        endpointLists.put(assignment.getClusterName(), ClusterParser.endpoints(assignment));
      } catch (XdsParseException e) {
        errors.add("EDS: " + e.getMessage());
      }
    }
    XdsResources resources = new XdsResources(listenerConfigs, Map.of(), routeTables, clusterConfigs, endpointLists,
        Map.of(), Map.of(), errors.isEmpty());
    return new Decoded(resources, errors);
  }

  /**
   * A server listener ({@code grpc/server?…}) read as an in-process server reads it: its mutual TLS
   * mode and the authorization engine that decides its requests. For explanations, so that they
   * decide with the engine the servers run.
   *
   * @throws XdsParseException naming the field a server would refuse
   */
  public static dev.inmesh.inbound.InboundPolicy inbound(Listener listener) throws XdsParseException {
    return InboundListenerParser.parse(listener);
  }
}
