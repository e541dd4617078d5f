package dev.inmesh.internal.balancing;

/** A cluster's balancing policy, as its CDS resource gives it. */
public record BalancerConfig(Policy policy, long minimumRingSize, int choiceCount) {
  public enum Policy { ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH }

  public static final BalancerConfig ROUND_ROBIN = new BalancerConfig(Policy.ROUND_ROBIN, 1024, 2);

  public BalancerConfig {
    if (minimumRingSize < 1 || minimumRingSize > 8_388_608) {
      throw new IllegalArgumentException("minimumRingSize must be between 1 and 8388608, got " + minimumRingSize);
    }
    if (choiceCount < 2) {
      throw new IllegalArgumentException("choiceCount must be at least 2, got " + choiceCount);
    }
  }
}
