package dev.inmesh.control.xds;

import dev.inmesh.control.translate.ClientProfile;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The client profiles mesh-control keeps a snapshot for, and so translates at every rebuild: one
 * per profile that a connected client is served, kept a while after its last client left, plus
 * the pinned ones. Peers on the read-only and insecure ports may name any namespace, so how many
 * profiles there may be is bounded ({@link XdsLimits#maxProfiles()}); a stream whose namespace
 * mutual TLS proved is admitted beyond that, in up to {@link #PROVEN_LOCALITIES} localities per
 * namespace and client kind, since a node names its locality itself.
 */
final class Profiles {
  /** What {@link #admit} made of a stream's profile. */
  enum Admission { KNOWN, NEW, FULL }

  /** How many localities one namespace and client kind may have beyond the limit. */
  static final int PROVEN_LOCALITIES = 16;

  private final Clock clock;
  private final XdsLimits limits;
  private final Map<String, Entry> entries = new HashMap<>();

  private static final class Entry {
    boolean pinned;
    int streams;
    Instant lastLeft;
  }

  Profiles(Clock clock, XdsLimits limits) {
    this.clock = clock;
    this.limits = limits;
  }

  /** A profile that stays without a client, such as the one config dumps default to. */
  synchronized boolean pin(String key) {
    Entry entry = entries.get(key);
    boolean added = entry == null;
    if (added) {
      entry = new Entry();
      entries.put(key, entry);
    }
    entry.pinned = true;
    return added;
  }

  /**
   * Counts a stream into its profile, until {@link #release}. {@link Admission#FULL} counts
   * nothing: the profile would be new, the limit is reached and nothing proved the namespace.
   */
  synchronized Admission admit(String key, boolean proven) {
    Entry entry = entries.get(key);
    if (entry == null && entries.size() >= limits.maxProfiles() && (!proven || localitiesLike(key) >= PROVEN_LOCALITIES)) {
      return Admission.FULL;
    }
    Admission admission = entry == null ? Admission.NEW : Admission.KNOWN;
    if (entry == null) {
      entry = new Entry();
      entries.put(key, entry);
    }
    entry.streams++;
    return admission;
  }

  /** How many profiles differ from {@code key} in their locality only. */
  private long localitiesLike(String key) {
    String base = withoutLocality(key);
    return entries.keySet().stream().filter(other -> withoutLocality(other).equals(base)).count();
  }

  private static String withoutLocality(String key) {
    ClientProfile profile = ClientProfile.parse(key);
    return new ClientProfile(profile.namespace(), profile.proxylessGrpc(), profile.meshCertificates(), null,
        profile.gatewayLabels()).key();
  }

  synchronized void release(String key) {
    Entry entry = entries.get(key);
    if (entry != null && entry.streams > 0 && --entry.streams == 0) {
      entry.lastLeft = clock.instant();
    }
  }

  /**
   * Drops every profile whose last client left longer than the idle time ago and that is not
   * pinned, where {@code clear} could clear its snapshot (the cache refuses while a watch of it is
   * still open; the profile is then tried again next time).
   *
   * @return the profiles dropped
   */
  synchronized List<String> evictIdle(Predicate<String> clear) {
    Instant before = clock.instant().minus(limits.profileIdleTime());
    List<String> evicted = new ArrayList<>();
    for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Entry> next = it.next();
      Entry entry = next.getValue();
      if (!entry.pinned && entry.streams == 0 && entry.lastLeft.isBefore(before) && clear.test(next.getKey())) {
        it.remove();
        evicted.add(next.getKey());
      }
    }
    return evicted;
  }

  synchronized Set<String> keys() {
    return Set.copyOf(entries.keySet());
  }

  synchronized int size() {
    return entries.size();
  }

  int max() {
    return limits.maxProfiles();
  }
}
