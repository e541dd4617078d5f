package dev.inmesh.control.cli;

import dev.inmesh.control.api.ApiCredentials;
import dev.inmesh.control.api.Role;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code meshctl credential new}: a new operator API token and the line that grants it, for
 * mesh-control's {@code --api-tokens} file. Made here, offline: the server only ever holds the
 * token's digest.
 */
@Command(name = "credential", description = "Operator API credentials.", subcommands = CredentialCommand.New.class)
final class CredentialCommand {
  @ParentCommand
  Meshctl root;

  @Command(name = "new", description = "Make a token and print it with the --api-tokens line that grants it a role.")
  static final class New implements Callable<Integer> {
    @ParentCommand
    CredentialCommand credential;

    @Option(names = "--role", required = true, description = "viewer (read), editor (apply and delete) or admin (also"
        + " join tokens and root rotation)")
    String role;

    @Option(names = "--name", required = true, description = "who holds it, as the audit log names them")
    String name;

    @Override
    public Integer call() {
      Meshctl root = credential.root;
      Role parsed;
      try {
        parsed = Role.parse(role);
      } catch (IllegalArgumentException e) {
        throw new Meshctl.UsageException("--role: " + e.getMessage());
      }
      String token = ApiCredentials.newToken(new SecureRandom());
      String line;
      try {
        line = ApiCredentials.line(parsed, name, token);
      } catch (IllegalArgumentException e) {
        throw new Meshctl.UsageException("--name: " + e.getMessage());
      }
      Map<String, Object> reply = new LinkedHashMap<>();
      reply.put("name", name);
      reply.put("role", parsed.label());
      reply.put("token", token);
      reply.put("apiTokensLine", line);
      if (!Printer.structured(root.output, reply, root.out())) {
        root.out().println(token);
        root.err().println("add this line to mesh-control's --api-tokens file on every replica: " + line);
        root.err().println("give the token to " + name + " (a credential file's 'token:', or $MESHCTL_TOKEN)");
      }
      return Meshctl.OK;
    }
  }
}
