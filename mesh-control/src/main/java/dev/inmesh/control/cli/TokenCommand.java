package dev.inmesh.control.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inmesh.control.config.SpecReader;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code meshctl token create}: a join token a workload pays the CA with for its first certificate. */
@Command(name = "token", description = "CA join tokens.", subcommands = TokenCommand.Create.class)
final class TokenCommand {
  @ParentCommand
  Meshctl root;

  @Command(name = "create", description = "Create a join token bound to a namespace and service account.")
  static final class Create implements Callable<Integer> {
    @ParentCommand
    TokenCommand token;

    @Option(names = "--namespace", required = true)
    String namespace;

    @Option(names = "--service-account", required = true)
    String serviceAccount;

    @Option(names = "--ttl", defaultValue = "1h", description = "how long the token is valid: 30m, 1h, 24h (default 1h)")
    String ttl;

    @Override
    public Integer call() {
      Meshctl root = token.root;
      Duration duration = SpecReader.parseDuration(ttl)
          .orElseThrow(() -> new Meshctl.UsageException("--ttl must be a duration such as 1h, got '" + ttl + "'"));
      Map<String, Object> request = new LinkedHashMap<>();
      request.put("namespace", namespace);
      request.put("serviceAccount", serviceAccount);
      request.put("ttlSeconds", Math.max(1, duration.toSeconds()));
      JsonNode reply = root.client().postJson("/apis/tokens", request);
      if (!Printer.structured(root.output, reply, root.out())) {
        root.out().println(reply.path("token").asText());
        root.err().println("for " + reply.path("identity").asText() + ", valid until " + reply.path("expiresAt").asText());
      }
      return Meshctl.OK;
    }
  }
}
