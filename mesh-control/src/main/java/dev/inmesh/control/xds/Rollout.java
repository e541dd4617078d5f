package dev.inmesh.control.xds;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How far one config change has reached the clients: {@code meshctl apply}'s wait and the
 * dashboard read it. A change is a <em>generation</em>: the number an apply or delete that changed
 * something is given. Its <em>target</em> is the snapshot of every profile that the first
 * translation holding the change published; the clients it waits for are those connected then
 * whose profile's snapshot differs from what was served before the change, in a type they
 * subscribe to. Clients that connect later are served the new config from their first response;
 * clients that leave drop out of the count ({@code disconnected}).
 *
 * @param builtAt when the change was translated and published; empty while it is not yet
 * @param clients the affected clients, each ACKed, NACKed or pending
 * @param unaffected connected clients whose config the change did not touch
 * @param disconnected affected clients that left before they answered
 */
public record Rollout(long generation, Instant appliedAt, Optional<Instant> builtAt, List<Client> clients,
    int unaffected, int disconnected) {

  public Rollout {
    clients = List.copyOf(clients);
  }

  /**
   * What every profile was served, per type (LDS, RDS, CDS, EDS), just before a change: taken
   * before the change is stored ({@link XdsServer#rolloutBaseline}) and handed back when it is
   * numbered ({@link XdsServer#beginRollout}).
   */
  public record Baseline(Map<String, Map<String, String>> versions) {
    public Baseline {
      versions = Rollouts.copy(versions);
    }
  }

  /** Where one client is with the change. */
  public enum State { ACKED, NACKED, PENDING }

  /**
   * One affected client.
   *
   * @param types per affected type (LDS, RDS, CDS, EDS), the version that holds the change
   * @param nacks the client's own error text per type it NACKed the change (or a later version) in
   */
  public record Client(ClientStatus status, State state, Map<String, String> types, Map<String, String> nacks) {
    public Client {
      types = Map.copyOf(types);
      nacks = Map.copyOf(nacks);
    }
  }

  public boolean built() {
    return builtAt.isPresent();
  }

  public long count(State state) {
    return clients.stream().filter(c -> c.state() == state).count();
  }

  /** Translated, and every affected client still connected has answered. */
  public boolean settled() {
    return built() && count(State.PENDING) == 0;
  }
}
