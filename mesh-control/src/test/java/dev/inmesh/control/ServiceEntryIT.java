package dev.inmesh.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.inmesh.testing.Greeter;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Workloads that do not register themselves join through ServiceEntry and WorkloadEntry. */
class ServiceEntryIT {
  @TempDir
  Path configDir;
  MeshFixture mesh;
  Server legacyV1;
  Server legacyV2;
  final java.util.List<ManagedChannel> channels = new java.util.ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    mesh = new MeshFixture(configDir, Duration.ofSeconds(1));
    legacyV1 = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(Greeter.service("legacy-v1", Duration.ZERO)).build().start();
    legacyV2 = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(Greeter.service("legacy-v2", Duration.ZERO)).build().start();
  }

  @AfterEach
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    mesh.close();
    legacyV1.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    legacyV2.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void staticServiceEntryEndpointsAreRoutedBySubset() {
    mesh.write("legacy.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: legacy
        spec:
          hosts:
          - legacy.example.com
          location: MESH_INTERNAL
          ports:
          - number: 7000
            name: grpc
            protocol: GRPC
          resolution: STATIC
          endpoints:
          - address: 127.0.0.1
            ports:
              grpc: %d
            labels:
              version: v1
          - address: 127.0.0.1
            ports:
              grpc: %d
            labels:
              version: v2
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: legacy
        spec:
          host: legacy.example.com
          subsets:
          - name: v2
            labels:
              version: v2
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata:
          name: legacy
        spec:
          hosts:
          - legacy.example.com
          http:
          - route:
            - destination:
                host: legacy.example.com
                subset: v2
        """.formatted(legacyV1.getPort(), legacyV2.getPort()));
    ManagedChannel client = client("legacy.example.com:7000");
    MeshFixture.awaitAnswerFrom(client, "legacy-v2", Map.of());

    assertThat(MeshFixture.split(client, 50, Map.of())).containsOnly(Map.entry("legacy-v2", 50));
  }

  @Test
  void dnsServiceEntryResolvesItsHostAndWorkloadEntriesJoinBySelector() {
    mesh.write("legacy.yaml", """
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: by-dns
        spec:
          hosts:
          - by-dns.example.com
          ports:
          - number: 7001
            name: grpc
            targetPort: %d
          resolution: DNS
          endpoints:
          - address: localhost
        ---
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: by-selector
        spec:
          hosts:
          - by-selector.example.com
          ports:
          - number: 7002
            name: grpc
          workloadSelector:
            labels:
              app: legacy
        ---
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata:
          name: legacy-vm
        spec:
          address: 127.0.0.1
          ports:
            grpc: %d
          labels:
            app: legacy
        """.formatted(legacyV1.getPort(), legacyV2.getPort()));

    ManagedChannel byDns = client("by-dns.example.com:7001");
    MeshFixture.awaitAnswerFrom(byDns, "legacy-v1", Map.of());
    ManagedChannel bySelector = client("by-selector.example.com:7002");
    MeshFixture.awaitAnswerFrom(bySelector, "legacy-v2", Map.of());

    assertThat(MeshFixture.split(byDns, 20, Map.of())).containsOnly(Map.entry("legacy-v1", 20));
    assertThat(MeshFixture.split(bySelector, 20, Map.of())).containsOnly(Map.entry("legacy-v2", 20));
  }

  private ManagedChannel client(String authority) {
    ManagedChannel channel = XdsClients.channel(mesh.readOnlyAddress(), "client-" + authority, "default", authority);
    channels.add(channel);
    return channel;
  }
}
