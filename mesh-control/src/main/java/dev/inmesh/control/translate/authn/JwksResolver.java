package dev.inmesh.control.translate.authn;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys behind a RequestAuthentication's {@code jwksUri}, as istiod gets them: fetched by
 * mesh-control on first use (waiting at most the rule's {@code timeout}, 5 s by default), cached,
 * refreshed in the background every {@link #REFRESH_INTERVAL} (a failed fetch is retried every
 * {@link #RETRY_INTERVAL}), and inlined in the listener, so that workloads never reach out.
 *
 * <p>When a URI cannot be fetched and nothing was fetched before, {@link #UNAVAILABLE} keys stand
 * in for it: a public key whose private half was never kept, so that every token of that issuer is
 * rejected (401) while requests without a token still pass authentication, which is what Istio
 * documents. A refresh that fails keeps the keys last fetched.
 *
 * <p>This is an outbound surface of mesh-control: only {@code http} and {@code https} URIs (the
 * parser refuses others), https verified against the JDK trust store, no redirects followed, a
 * response of at most {@link #MAX_BYTES} held, the whole of it within the rule's timeout (a server
 * dripping its body is cut off), and at most {@link #MAX_URIS} URIs cached.
 */
public final class JwksResolver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JwksResolver.class);
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  /** The longest a fetch may take, whatever a rule's {@code timeout} says: translation waits for the first one. */
  public static final Duration MAX_TIMEOUT = Duration.ofSeconds(30);
  public static final Duration REFRESH_INTERVAL = Duration.ofMinutes(20);
  public static final Duration RETRY_INTERVAL = Duration.ofMinutes(1);
  /** A URI not asked for in this long is dropped from the cache (its policy is gone). */
  static final Duration UNUSED_FOR = Duration.ofHours(1);
  public static final int MAX_BYTES = 256 * 1024;
  public static final int MAX_URIS = 256;
  /** Keys no token can match. */
  public static final String UNAVAILABLE = unavailableKeys();

  /** What is known of one URI. */
  public sealed interface Keys {
    /** The JWKS as fetched. */
    record Fetched(String jwks, Instant at) implements Keys {}

    /** It could not be fetched; {@link #UNAVAILABLE} stands in. */
    record Failed(String reason, Instant at) implements Keys {}
  }

  private record Entry(Keys keys, Optional<String> lastGood, Duration timeout, Instant lastUsed) {}

  private final HttpClient http;
  private final Clock clock;
  private final Map<String, Entry> cache = new ConcurrentHashMap<>();
  private final Runnable onChange;
  private final Optional<ScheduledExecutorService> refresher;

  JwksResolver(Clock clock, Runnable onChange, Optional<ScheduledExecutorService> refresher) {
    this.http = HttpClient.newBuilder()
        .connectTimeout(DEFAULT_TIMEOUT)
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
    this.clock = clock;
    this.onChange = onChange;
    this.refresher = refresher;
  }

  /** Fetches on first use and caches, without background refresh: for translators in tools and tests. */
  public static JwksResolver onDemand() {
    return new JwksResolver(Clock.systemUTC(), () -> {}, Optional.empty());
  }

  /**
   * Fetches on first use, then refreshes on {@code executor} (which it owns and closes) and calls
   * {@code onChange} when keys changed, so that the new keys reach the workloads.
   */
  public static JwksResolver refreshing(Clock clock, ScheduledExecutorService executor, Runnable onChange) {
    JwksResolver resolver = new JwksResolver(clock, onChange, Optional.of(executor));
    executor.scheduleWithFixedDelay(resolver::refreshSafely, RETRY_INTERVAL.toMillis(), RETRY_INTERVAL.toMillis(),
        TimeUnit.MILLISECONDS);
    return resolver;
  }

  /** The keys for {@code uri}, fetching them now (for at most {@code timeout}) the first time. */
  public Keys keys(String uri, Optional<Duration> timeout) {
    Instant now = clock.instant();
    Entry entry = cache.get(uri);
    if (entry == null) {
      Duration wait = timeout.filter(t -> t.compareTo(MAX_TIMEOUT) <= 0).orElse(timeout.isPresent() ? MAX_TIMEOUT : DEFAULT_TIMEOUT);
      Keys keys = fetch(uri, wait);
      entry = new Entry(keys, keys instanceof Keys.Fetched f ? Optional.of(f.jwks()) : Optional.empty(), wait, now);
      if (cache.size() >= MAX_URIS) {
        cache.entrySet().stream().min(Comparator.comparing(e -> e.getValue().lastUsed()))
            .ifPresent(oldest -> cache.remove(oldest.getKey()));
      }
    } else {
      entry = new Entry(entry.keys(), entry.lastGood(), entry.timeout(), now);
    }
    cache.put(uri, entry);
    return entry.lastGood().<Keys>map(jwks -> new Keys.Fetched(jwks, clock.instant())).orElse(entry.keys());
  }

  /** What is known of each URI now, for {@code /apis/status}: the JWKS's key count or why it failed. */
  public Map<String, String> status() {
    Map<String, String> status = new LinkedHashMap<>();
    cache.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
      Keys keys = e.getValue().keys();
      status.put(e.getKey(), keys instanceof Keys.Failed f
          ? "failed at " + f.at() + ": " + f.reason()
              + (e.getValue().lastGood().isPresent() ? " (the keys fetched before stay in use)" : "")
          : "fetched at " + ((Keys.Fetched) keys).at());
    });
    return status;
  }

  private void refreshSafely() {
    try {
      refresh();
    } catch (RuntimeException e) {
      log.warn("refreshing JWKS failed", e);
    }
  }

  /** Fetches again what failed, and what was fetched longer than {@link #REFRESH_INTERVAL} ago. */
  void refresh() {
    Instant now = clock.instant();
    boolean changed = false;
    for (Map.Entry<String, Entry> each : cache.entrySet()) {
      Entry entry = each.getValue();
      if (entry.lastUsed().plus(UNUSED_FOR).isBefore(now)) {
        cache.remove(each.getKey());
        continue;
      }
      Instant at = entry.keys() instanceof Keys.Fetched f ? f.at() : ((Keys.Failed) entry.keys()).at();
      boolean due = entry.keys() instanceof Keys.Failed || at.plus(REFRESH_INTERVAL).isBefore(now);
      if (!due) {
        continue;
      }
      Keys keys = fetch(each.getKey(), entry.timeout());
      Optional<String> good = keys instanceof Keys.Fetched f ? Optional.of(f.jwks()) : entry.lastGood();
      changed |= !good.equals(entry.lastGood());
      cache.put(each.getKey(), new Entry(keys, good, entry.timeout(), entry.lastUsed()));
    }
    if (changed) {
      onChange.run();
    }
  }

  /**
   * One GET of {@code uri}: the whole response, headers and body, within {@code timeout} (a server
   * that drips its body is cut off at the deadline), and at most {@link #MAX_BYTES} of body held.
   */
  private Keys fetch(String uri, Duration timeout) {
    Instant now = clock.instant();
    CompletableFuture<HttpResponse<byte[]>> exchange = null;
    try {
      HttpRequest request = HttpRequest.newBuilder(URI.create(uri)).timeout(timeout).GET()
          .header("accept", "application/json").build();
      exchange = http.sendAsync(request, info -> info.statusCode() == 200
          ? new BoundedBody(MAX_BYTES)
          : HttpResponse.BodySubscribers.replacing(new byte[0]));
      HttpResponse<byte[]> response = exchange.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (response.statusCode() != 200) {
        return failed(uri, "HTTP " + response.statusCode(), now);
      }
      JWKSet keys = JWKSet.parse(new String(response.body(), StandardCharsets.UTF_8));
      if (keys.getKeys().isEmpty()) {
        return failed(uri, "the JWKS holds no key", now);
      }
      return new Keys.Fetched(keys.toString(true), now);
    } catch (TimeoutException e) {
      exchange.cancel(true);
      return failed(uri, "no whole response within " + timeout.toMillis() + " ms", now);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      return failed(uri, cause.getClass().getSimpleName() + ": " + cause.getMessage(), now);
    } catch (IllegalArgumentException | java.text.ParseException e) {
      return failed(uri, e.getClass().getSimpleName() + ": " + e.getMessage(), now);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (exchange != null) {
        exchange.cancel(true);
      }
      return failed(uri, "interrupted", now);
    }
  }

  /** Collects a body of at most {@code limit} bytes; past it, cancels the exchange and fails. */
  private static final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {
    private final int limit;
    private final CompletableFuture<byte[]> body = new CompletableFuture<>();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private Flow.Subscription subscription;

    BoundedBody(int limit) {
      this.limit = limit;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return body;
    }

    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      this.subscription = subscription;
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      for (ByteBuffer buffer : buffers) {
        if (bytes.size() + buffer.remaining() > limit) {
          subscription.cancel();
          body.completeExceptionally(new IOException("the response is larger than " + limit + " bytes"));
          return;
        }
        byte[] chunk = new byte[buffer.remaining()];
        buffer.get(chunk);
        bytes.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable error) {
      body.completeExceptionally(error);
    }

    @Override
    public void onComplete() {
      body.complete(bytes.toByteArray());
    }
  }

  private static Keys failed(String uri, String reason, Instant now) {
    log.warn("cannot fetch the JWKS at {}: {}; tokens of its issuer are rejected until it can be fetched", uri, reason);
    return new Keys.Failed(reason, now);
  }

  private static String unavailableKeys() {
    try {
      JWK key = new RSAKeyGenerator(2048).keyID("inmesh-jwks-unavailable").generate().toPublicJWK();
      return new JWKSet(key).toString(true);
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new IllegalStateException("cannot make the placeholder JWKS", e);
    }
  }

  @Override
  public void close() {
    refresher.ifPresent(ScheduledExecutorService::shutdownNow);
  }
}
