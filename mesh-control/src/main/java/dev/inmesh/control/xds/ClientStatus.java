package dev.inmesh.control.xds;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * What one ADS client holds, as {@code /debug/clients} shows it: its node, the version it ACKed per
 * type, the version last sent, and its last NACK with the client's own error text. {@code profile}
 * names the snapshot it is served ({@link dev.inmesh.control.translate.ClientProfile#key()}).
 * {@code identity} is the SPIFFE ID its certificate proved (the mutual TLS port only), and
 * {@code address} the IP address its connection comes from.
 */
public record ClientStatus(
    long streamId,
    String nodeId,
    String namespace,
    String profile,
    String userAgent,
    Instant connectedAt,
    Map<String, TypeStatus> types,
    Optional<String> registrationError,
    Optional<String> identity,
    Optional<String> address) {

  public ClientStatus {
    types = Map.copyOf(types);
  }

  /**
   * Per resource type (short name: LDS, RDS, CDS, EDS). {@code responses} counts what was sent on
   * this stream, which shows at a glance that a NACK did not start a resend loop.
   */
  public record TypeStatus(String sentVersion, String ackedVersion, Optional<Nack> lastNack, int responses) {
    static final TypeStatus NONE = new TypeStatus("", "", Optional.empty(), 0);
  }

  public record Nack(String version, String message, Instant at) {}
}
