package dev.inmesh.ca;

import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;

/** {@link JoinTokenStore#inMemory()}: tokens in a map, forgotten once their time is past. */
final class InMemoryJoinTokenStore implements JoinTokenStore {
  private record Kept(Stored token, Instant forgetAfter) {}

  private final ConcurrentMap<String, Kept> tokens = new ConcurrentHashMap<>();

  @Override
  public void add(String digest, Stored token, Instant forgetAfter) {
    tokens.put(digest, new Kept(token, forgetAfter));
  }

  @Override
  public Optional<Stored> get(String digest) {
    return Optional.ofNullable(tokens.get(digest)).map(Kept::token);
  }

  @Override
  public boolean markUsed(String digest, Instant at) {
    AtomicBoolean marked = new AtomicBoolean();
    tokens.computeIfPresent(digest, (key, kept) -> {
      if (kept.token().usedAt().isPresent()) {
        return kept;
      }
      marked.set(true);
      return new Kept(new Stored(kept.token().identity(), kept.token().expiresAt(), Optional.of(at)), kept.forgetAfter());
    });
    return marked.get();
  }

  @Override
  public Counts counts(Instant now) {
    tokens.values().removeIf(kept -> !now.isBefore(kept.forgetAfter()));
    int outstanding = (int) tokens.values().stream()
        .filter(kept -> kept.token().usedAt().isEmpty() && now.isBefore(kept.token().expiresAt()))
        .count();
    return new Counts(tokens.size(), outstanding);
  }
}
