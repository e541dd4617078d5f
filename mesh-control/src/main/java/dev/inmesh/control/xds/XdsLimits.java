package dev.inmesh.control.xds;

import java.time.Duration;
import java.util.Objects;

/**
 * The bounds on what xDS peers can make mesh-control hold (docs/security.md, "Bounds").
 *
 * @param maxProfiles how many client profiles (a namespace, a client kind, certificates or not,
 *     a locality; one snapshot each) may exist at once. A stream that would add one more is refused with
 *     {@code RESOURCE_EXHAUSTED}, unless mutual TLS proved its namespace: the certificates the
 *     mesh CA issued bound those
 * @param profileIdleTime how long a profile is kept after its last client left, so that a client
 *     that reconnects finds its snapshot; then it is translated no more
 * @param maxLoadReportEdges how many client-to-cluster load entries are kept; reports of a new
 *     one beyond that are dropped
 * @param loadReportRetention how long the load entries of a client that stopped reporting are kept
 * @param warningInterval how often a warning of one kind is logged at most (refused streams of one
 *     status, dropped load entries, one client's NACKs); the ones in between are counted
 */
public record XdsLimits(int maxProfiles, Duration profileIdleTime, int maxLoadReportEdges, Duration loadReportRetention,
    Duration warningInterval) {
  public XdsLimits {
    if (maxProfiles < 1) {
      throw new IllegalArgumentException("maxProfiles must be at least 1, not " + maxProfiles);
    }
    if (maxLoadReportEdges < 1) {
      throw new IllegalArgumentException("maxLoadReportEdges must be at least 1, not " + maxLoadReportEdges);
    }
    positive("profileIdleTime", profileIdleTime);
    positive("loadReportRetention", loadReportRetention);
    positive("warningInterval", warningInterval);
  }

  /**
   * 512 profiles (a namespace has up to four per locality its clients run in), kept 5 minutes after their last client; 10,000 load
   * entries, kept 10 s (five report intervals) after their client's last report; a warning of a
   * kind at most once a minute.
   */
  public static XdsLimits defaults() {
    return new XdsLimits(512, Duration.ofMinutes(5), 10_000, Duration.ofSeconds(10), Duration.ofMinutes(1));
  }

  public XdsLimits withMaxProfiles(int max) {
    return new XdsLimits(max, profileIdleTime, maxLoadReportEdges, loadReportRetention, warningInterval);
  }

  public XdsLimits withProfileIdleTime(Duration idle) {
    return new XdsLimits(maxProfiles, idle, maxLoadReportEdges, loadReportRetention, warningInterval);
  }

  public XdsLimits withMaxLoadReportEdges(int max) {
    return new XdsLimits(maxProfiles, profileIdleTime, max, loadReportRetention, warningInterval);
  }

  public XdsLimits withLoadReportRetention(Duration retention) {
    return new XdsLimits(maxProfiles, profileIdleTime, maxLoadReportEdges, retention, warningInterval);
  }

  private static void positive(String name, Duration value) {
    Objects.requireNonNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, not " + value);
    }
  }
}
