package dev.inmesh.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** What the connected clients hold: {@code status}, {@code config-dump}, {@code explain}. */
final class ClientCommands {
  private static final List<String> TYPES = List.of("LDS", "RDS", "CDS", "EDS");

  private ClientCommands() {}

  @Command(name = "status", description = "Every connected client: node, service, the version it ACKed per type, its last NACK.")
  static final class Status implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Override
    public Integer call() {
      JsonNode clients = root.client().get("/debug/clients");
      if (Printer.structured(root.output, clients, root.out())) {
        return Meshctl.OK;
      }
      List<List<String>> rows = new ArrayList<>();
      for (JsonNode client : clients) {
        List<String> row = new ArrayList<>(List.of(client.path("node").asText(), or(client.path("service").asText(), "-"),
            client.path("profile").asText()));
        JsonNode newest = null;
        String newestType = "";
        for (String type : TYPES) {
          JsonNode status = client.path("types").path(type);
          row.add(version(status));
          JsonNode nack = status.path("lastNack");
          if (!nack.isMissingNode() && (newest == null || nack.path("at").asText().compareTo(newest.path("at").asText()) > 0)) {
            newest = nack;
            newestType = type;
          }
        }
        row.add(newest == null ? "-" : newestType + " " + shortVersion(newest.path("version").asText()) + " at "
            + newest.path("at").asText() + ": " + newest.path("error").asText());
        rows.add(row);
      }
      Printer.table(root.out(), List.of("NODE", "SERVICE", "PROFILE", "LDS", "RDS", "CDS", "EDS", "LAST NACK"), rows);
      return Meshctl.OK;
    }

    /** The ACKed version; with the version sent after it when the client has not ACKed that one. */
    private static String version(JsonNode status) {
      if (status.isMissingNode()) {
        return "-";
      }
      String acked = shortVersion(status.path("acked").asText());
      String sent = shortVersion(status.path("sent").asText());
      String shown = acked.isEmpty() ? "none" : acked;
      return sent.equals(acked) ? shown : shown + " (sent " + sent + ")";
    }
  }

  @Command(name = "config-dump", description = "What one client holds (the versions it ACKed), as JSON.")
  static final class ConfigDump implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Parameters(paramLabel = "CLIENT", description = "a node id, or a unique prefix of one")
    String client;

    @Override
    public Integer call() {
      JsonNode dump = root.client().get("/debug/config_dump?client=" + URLEncoder.encode(client, StandardCharsets.UTF_8));
      if (!Printer.structured(root.output == Meshctl.Format.table ? Meshctl.Format.json : root.output, dump, root.out())) {
        throw new IllegalStateException("unreachable");
      }
      return Meshctl.OK;
    }
  }

  @Command(name = "explain", description = {
      "How a client would route one request, over the config it holds, and why the other routes did not match;",
      "then what each destination's authorization decides (the policy and rule), over the listener it holds.",
      "  meshctl explain productpage GET http://reviews:9080/reviews/1 -H 'end-user: jason'",
      "  meshctl explain client grpc://greeter:9000/helloworld.Greeter/SayHello"})
  static final class Explain implements Callable<Integer> {
    @ParentCommand
    Meshctl root;

    @Parameters(index = "0", paramLabel = "CLIENT", description = "a node id, or a unique prefix of one")
    String client;

    @Parameters(index = "1..2", arity = "1..2", paramLabel = "[METHOD] URL",
        description = "GET http://reviews:9080/path?q=1, or grpc://greeter:9000/pkg.Service/Method")
    List<String> request;

    @Option(names = {"-H", "--header"}, paramLabel = "NAME:VALUE", description = "repeatable")
    List<String> headers = new ArrayList<>();

    @Option(names = "--from-principal", paramLabel = "PRINCIPAL", description = {
        "the caller's identity the destinations' authorization sees over mutual TLS, as Istio writes principals"
            + " (cluster.local/ns/default/sa/sleep); default: the client's own certificate"})
    String fromPrincipal;

    @Override
    public Integer call() {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("client", client);
      body.put("method", request.size() == 2 ? request.get(0) : "");
      body.put("url", request.get(request.size() - 1));
      body.put("headers", headers);
      if (fromPrincipal != null) {
        body.put("fromPrincipal", fromPrincipal);
      }
      JsonNode explanation = root.client().postJson("/debug/explain", body);
      if (!Printer.structured(root.output, explanation, root.out())) {
        print(root.out(), explanation);
      }
      return Meshctl.OK;
    }

    private static void print(PrintStream out, JsonNode e) {
      out.println("Request:   " + e.path("request").asText());
      out.println("Client:    " + e.path("client").asText());
      out.println("Listener:  " + or(e.path("listener").asText(""), "<none>")
          + (e.path("routeConfiguration").isTextual() ? "  (routes " + e.path("routeConfiguration").asText() + ")" : ""));
      if (e.path("notTaken").size() > 0) {
        out.println("Not taken:");
        e.path("notTaken").forEach(n -> out.println("  " + n.path("route").asText() + ": " + n.path("reason").asText()));
      }
      out.println("Route:     " + or(e.path("route").asText(""), "<none>"));
      String status = e.path("status").asInt() == 0 ? "" : " " + e.path("status").asInt();
      out.println("Outcome:   " + e.path("outcome").asText() + status + ": " + e.path("detail").asText());
      for (JsonNode cluster : e.path("clusters")) {
        out.printf("Cluster:   %s  weight %d (%.1f%%), subset %s%n", cluster.path("cluster").asText(),
            cluster.path("weight").asInt(), cluster.path("percent").asDouble(), cluster.path("subset").asText());
        List<String> endpoints = new ArrayList<>();
        cluster.path("endpoints").forEach(ep -> endpoints.add(ep.asText()));
        out.println("  endpoints: " + (endpoints.isEmpty() ? "<none>" : String.join(", ", endpoints)));
        cluster.path("policies").forEach(p -> out.println("  " + p.asText()));
      }
      if (e.path("policies").size() > 0) {
        out.println("Policies:");
        e.path("policies").forEach(p -> out.println("  " + p.asText()));
      }
      for (JsonNode authz : e.path("authorization")) {
        out.println("Authz:     " + authz.path("endpoint").asText() + " (" + authz.path("destination").asText() + "): "
            + authz.path("detail").asText());
        List<String> seen = new ArrayList<>();
        if (authz.path("mtls").isTextual()) {
          seen.add("mTLS " + authz.path("mtls").asText());
        }
        seen.add(authz.path("principal").isTextual() ? "principal " + authz.path("principal").asText()
            : "no principal (plaintext)");
        out.println("  " + String.join(", ", seen) + (authz.path("listener").isTextual()
            ? ", listener " + authz.path("listener").asText() : ""));
        authz.path("notes").forEach(note -> out.println("  " + note.asText()));
      }
    }
  }

  private static String or(String value, String fallback) {
    return value == null || value.isEmpty() ? fallback : value;
  }

  private static String shortVersion(String version) {
    return version.length() > 8 ? version.substring(0, 8) : version;
  }
}
