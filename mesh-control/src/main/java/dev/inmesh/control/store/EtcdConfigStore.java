package dev.inmesh.control.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.inmesh.control.config.ConfigParser;
import dev.inmesh.control.config.ConfigResource;
import dev.inmesh.control.config.ParseResult;
import dev.inmesh.control.config.ResourceKey;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.ConcurrentModificationException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Config resources in etcd, one key per resource: {@code <prefix>config/<kind>/<namespace>/<name>}
 * holding {@code {"source": …, "yaml": …}}, the document as the user wrote it and who owns it.
 * Every replica mirrors the keys through a watch and parses them again, so all replicas translate
 * the same config. An update is one etcd transaction that also checks that no key it touches has
 * changed since this replica last saw it: two replicas cannot both pass validation against the
 * same stale state.
 */
public final class EtcdConfigStore implements ConfigStore, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EtcdConfigStore.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Client client;
  private final EtcdPrefix<ConfigResource> mirror;
  private final Duration timeout;

  private EtcdConfigStore(Client client, String prefix, Duration timeout) {
    this.client = client;
    this.timeout = timeout;
    this.mirror = new EtcdPrefix<>(client, prefix + "config/", EtcdConfigStore::decode);
  }

  /** Loads what etcd holds under {@code prefix} and keeps watching it. */
  public static EtcdConfigStore start(Client client, String prefix, Duration timeout) {
    EtcdConfigStore store = new EtcdConfigStore(client, prefix, timeout);
    store.mirror.start(timeout);
    return store;
  }

  @Override
  public List<ConfigResource> list() {
    return mirror.values().stream().sorted(java.util.Comparator.comparing(ConfigResource::key)).toList();
  }

  @Override
  public Optional<ConfigResource> get(ResourceKey key) {
    return mirror.get(keyOf(key)).map(EtcdPrefix.Entry::value);
  }

  /**
   * @throws ConcurrentModificationException when another replica changed one of these keys since
   *     this one saw it; nothing was written, and the mirror has caught up by the time it is thrown
   */
  @Override
  public void update(Collection<ConfigResource> upserts, Collection<ResourceKey> deletes) {
    List<Cmp> unchanged = new ArrayList<>();
    List<Op> ops = new ArrayList<>();
    Map<String, ResourceKey> touched = new LinkedHashMap<>();
    for (ResourceKey key : deletes) {
      String etcdKey = keyOf(key);
      Optional<EtcdPrefix.Entry<ConfigResource>> current = mirror.get(etcdKey);
      if (current.isPresent()) {
        unchanged.add(new Cmp(EtcdPrefix.bytes(etcdKey), Cmp.Op.EQUAL, CmpTarget.modRevision(current.get().modRevision())));
        ops.add(Op.delete(EtcdPrefix.bytes(etcdKey), DeleteOption.DEFAULT));
        touched.put(etcdKey, key);
      }
    }
    for (ConfigResource resource : upserts) {
      String etcdKey = keyOf(resource.key());
      Optional<EtcdPrefix.Entry<ConfigResource>> current = mirror.get(etcdKey);
      if (current.isPresent() && same(current.get().value(), resource)) {
        continue;
      }
      touched.put(etcdKey, resource.key());
      unchanged.add(new Cmp(EtcdPrefix.bytes(etcdKey), Cmp.Op.EQUAL,
          CmpTarget.modRevision(current.map(EtcdPrefix.Entry::modRevision).orElse(0L))));
      ops.add(Op.put(EtcdPrefix.bytes(etcdKey), EtcdPrefix.bytes(encode(resource)), PutOption.DEFAULT));
    }
    if (ops.isEmpty()) {
      return;
    }
    TxnResponse response = await(client.getKVClient().txn()
        .If(unchanged.toArray(Cmp[]::new))
        .Then(ops.toArray(Op[]::new))
        .commit(), "writing " + touched.values());
    mirror.awaitRevision(response.getHeader().getRevision(), timeout);
    if (!response.isSucceeded()) {
      throw new ConcurrentModificationException("another mesh-control replica changed " + touched.values()
          + " meanwhile; nothing was written");
    }
  }

  @Override
  public void addListener(Runnable listener) {
    mirror.addListener(listener);
  }

  private String keyOf(ResourceKey key) {
    return mirror.prefix() + key.kind() + "/" + key.namespace() + "/" + key.name();
  }

  private static boolean same(ConfigResource a, ConfigResource b) {
    return a.source().equals(b.source()) && a.yaml().equals(b.yaml());
  }

  private static String encode(ConfigResource resource) {
    return JSON.createObjectNode().put("source", resource.source()).put("yaml", resource.yaml()).toString();
  }

  private static Optional<ConfigResource> decode(KeyValue kv) {
    String key = kv.getKey().toString(StandardCharsets.UTF_8);
    try {
      JsonNode value = JSON.readTree(kv.getValue().toString(StandardCharsets.UTF_8));
      String[] parts = key.split("/");
      String namespace = parts.length >= 3 ? parts[parts.length - 2] : "default";
      ParseResult parsed = new ConfigParser(namespace).parse(value.path("source").asText(), value.path("yaml").asText());
      if (parsed.hasErrors() || parsed.resources().size() != 1) {
        log.error("etcd key {} does not hold one valid resource, ignoring it: {}", key, parsed.errors());
        return Optional.empty();
      }
      return Optional.of(parsed.resources().get(0));
    } catch (JsonProcessingException e) {
      log.error("etcd key {} is not JSON, ignoring it: {}", key, e.getOriginalMessage());
      return Optional.empty();
    }
  }

  static <R> R await(java.util.concurrent.CompletableFuture<R> future, String what) {
    try {
      return future.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted " + what + " in etcd", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("etcd failed " + what + ": " + (e.getCause() == null ? e : e.getCause()), e);
    }
  }

  @Override
  public void close() {
    mirror.close();
  }
}
