package dev.inmesh.control.analyze;

/**
 * What {@code meshctl analyze} can report. Codes follow Istio's {@code istioctl analyze} where
 * Istio has a message for the same problem ({@code ISTxxxx}, with Istio's name and level); the
 * {@code IMxxxx} codes are Inmesh's own. docs/meshctl.md lists them all.
 */
public enum AnalysisCode {
  IST0002("Deprecated", Severity.WARNING, "a field the config uses is deprecated"),
  IST0101("ReferencedResourceNotFound", Severity.ERROR,
      "a host or subset that the resource names does not exist"),
  IST0106("SchemaValidationError", Severity.ERROR, "the resource fails validation and is rejected"),
  IST0109("ConflictingMeshGatewayVirtualServiceHosts", Severity.ERROR,
      "several VirtualServices claim one host; only the first applies"),
  IST0113("MTLSPolicyConflict", Severity.ERROR,
      "a DestinationRule disables TLS toward workloads whose PeerAuthentication is STRICT"),
  IST0127("NoMatchingWorkloadsFound", Severity.WARNING, "a policy's selector or targetRef selects no workload"),
  IST0130("VirtualServiceUnreachableRule", Severity.WARNING,
      "an HTTP route is never reached because an earlier one matches every request"),
  IST0131("VirtualServiceIneffectiveMatch", Severity.INFO,
      "a match repeats a match of an earlier route, so it never takes a request"),
  IM0001("SubsetSelectsNoEndpoint", Severity.WARNING,
      "a DestinationRule subset selects none of the host's endpoints"),
  IM0002("VirtualServiceShadowed", Severity.WARNING,
      "a wildcard VirtualService loses a host to an exact one and does not apply to it"),
  IM0003("AcceptedNotEnforced", Severity.WARNING,
      "a field is accepted but Inmesh clients do not enforce it"),
  IM0004("EnforcedFailClosed", Severity.WARNING,
      "Inmesh cannot evaluate a policy or field, so it enforces it on the safe side: it denies more, or allows"
          + " less, than written");

  private final String title;
  private final Severity severity;
  private final String meaning;

  AnalysisCode(String title, Severity severity, String meaning) {
    this.title = title;
    this.severity = severity;
    this.meaning = meaning;
  }

  /** Istio's message name, such as {@code ReferencedResourceNotFound}. */
  public String title() {
    return title;
  }

  public Severity severity() {
    return severity;
  }

  public String meaning() {
    return meaning;
  }
}
