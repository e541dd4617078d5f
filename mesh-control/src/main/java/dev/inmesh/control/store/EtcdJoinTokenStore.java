package dev.inmesh.control.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.ca.IdentityRules;
import dev.inmesh.ca.JoinTokenStore;
import dev.inmesh.identity.SpiffeId;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Join tokens in etcd under {@code <prefix>join-tokens/<digest>}, so that every replica's CA
 * redeems the tokens any replica minted. A token is marked used by a transaction that compares its
 * revision, so of two replicas redeeming it at once exactly one succeeds. Each key lives on a lease
 * that ends when the token is forgotten, so etcd itself removes old tokens.
 */
final class EtcdJoinTokenStore implements JoinTokenStore {
  private static final Logger log = LoggerFactory.getLogger(EtcdJoinTokenStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int ATTEMPTS = 5;

  private final Client client;
  private final String prefix;
  private final Clock clock;

  EtcdJoinTokenStore(Client client, String prefix, Clock clock) {
    this.client = client;
    this.prefix = prefix + "join-tokens/";
    this.clock = clock;
  }

  @Override
  public void add(String digest, Stored token, Instant forgetAfter) {
    long ttl = Math.max(1, Duration.between(clock.instant(), forgetAfter).toSeconds());
    long lease = EtcdConfigStore.await(client.getLeaseClient().grant(ttl), "granting a join token's lease").getID();
    ByteSequence key = EtcdPrefix.bytes(prefix + digest);
    TxnResponse response = EtcdConfigStore.await(client.getKVClient().txn()
        .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0)))
        .Then(Op.put(key, EtcdPrefix.bytes(encode(token)), PutOption.builder().withLeaseId(lease).build()))
        .commit(), "storing a join token");
    if (!response.isSucceeded()) {
      throw new IllegalStateException("a join token with the same digest is already stored");
    }
  }

  @Override
  public Optional<Stored> get(String digest) {
    return read(digest).map(found -> found.token);
  }

  @Override
  public boolean markUsed(String digest, Instant at) {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      Optional<Found> found = read(digest);
      if (found.isEmpty() || found.get().token.usedAt().isPresent()) {
        return false;
      }
      Stored used = new Stored(found.get().token.identity(), found.get().token.expiresAt(), Optional.of(at));
      ByteSequence key = EtcdPrefix.bytes(prefix + digest);
      TxnResponse response = EtcdConfigStore.await(client.getKVClient().txn()
          .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(found.get().modRevision)))
          .Then(Op.put(key, EtcdPrefix.bytes(encode(used)), PutOption.builder().withLeaseId(found.get().lease).build()))
          .commit(), "marking a join token used");
      if (response.isSucceeded()) {
        return true;
      }
      // the key changed under us: read it again, and it is most likely used now
    }
    return false;
  }

  @Override
  public Counts counts(Instant now) {
    List<KeyValue> all = EtcdConfigStore.await(client.getKVClient().get(EtcdPrefix.bytes(prefix),
        GetOption.builder().isPrefix(true).build()), "counting join tokens").getKvs();
    int outstanding = 0;
    for (KeyValue kv : all) {
      Optional<Stored> token = decode(kv);
      if (token.isPresent() && token.get().usedAt().isEmpty() && now.isBefore(token.get().expiresAt())) {
        outstanding++;
      }
    }
    return new Counts(all.size(), outstanding);
  }

  private record Found(Stored token, long modRevision, long lease) {}

  private Optional<Found> read(String digest) {
    List<KeyValue> kvs = EtcdConfigStore.await(client.getKVClient().get(EtcdPrefix.bytes(prefix + digest)),
        "reading a join token").getKvs();
    if (kvs.isEmpty()) {
      return Optional.empty();
    }
    KeyValue kv = kvs.get(0);
    return decode(kv).map(token -> new Found(token, kv.getModRevision(), kv.getLease()));
  }

  private static String encode(Stored token) {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("identity", token.identity().toString());
    json.put("expiresAt", token.expiresAt().toString());
    token.usedAt().ifPresent(used -> json.put("usedAt", used.toString()));
    try {
      return JSON.writeValueAsString(json);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode a join token", e);
    }
  }

  private static Optional<Stored> decode(KeyValue kv) {
    try {
      JsonNode json = JSON.readTree(kv.getValue().getBytes());
      String used = json.path("usedAt").asText("");
      return Optional.of(new Stored(IdentityRules.parse(json.path("identity").asText()),
          Instant.parse(json.path("expiresAt").asText()), used.isEmpty() ? Optional.empty() : Optional.of(Instant.parse(used))));
    } catch (java.io.IOException | RuntimeException e) {
      // a token that cannot be read is refused as unknown, never honoured
      log.warn("join token {} in etcd cannot be read: {}", kv.getKey(), e.getMessage());
      return Optional.empty();
    }
  }
}
