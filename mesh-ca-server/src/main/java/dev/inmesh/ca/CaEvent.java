package dev.inmesh.ca;

import dev.inmesh.identity.SpiffeId;
import java.math.BigInteger;
import java.time.Instant;
import java.util.Objects;

/** What the CA did; metrics and logs subscribe through {@link CertificateAuthority.Builder#listener}. */
public sealed interface CaEvent {

  record Issued(SpiffeId identity, BigInteger serialNumber, Instant notAfter, boolean renewal) implements CaEvent {
    public Issued {
      Objects.requireNonNull(identity, "identity");
      Objects.requireNonNull(serialNumber, "serialNumber");
      Objects.requireNonNull(notAfter, "notAfter");
    }
  }

  record Refused(CaException.Reason reason, String message) implements CaEvent {
    public Refused {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }
  }

  /** A new intermediate now signs leaves: at start, and when the previous one nears its end. */
  record IntermediateRotated(BigInteger serialNumber, Instant notAfter) implements CaEvent {
    public IntermediateRotated {
      Objects.requireNonNull(serialNumber, "serialNumber");
      Objects.requireNonNull(notAfter, "notAfter");
    }
  }

  /** A root rotation began: a new root is in the trust bundle, not signing yet. */
  record RootAdded(BigInteger serialNumber) implements CaEvent {
    public RootAdded {
      Objects.requireNonNull(serialNumber, "serialNumber");
    }
  }

  /** The prepared root now signs leaves; the old one is still trusted until retired. */
  record RootActivated(BigInteger serialNumber) implements CaEvent {
    public RootActivated {
      Objects.requireNonNull(serialNumber, "serialNumber");
    }
  }
}
