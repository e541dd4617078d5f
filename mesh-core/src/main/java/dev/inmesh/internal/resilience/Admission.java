package dev.inmesh.internal.resilience;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;

/** What a {@link ConnectionLimiter} answers: a {@link Permit} to send, or a {@link Refusal} saying why not. */
public sealed interface Admission {

  /** Which limit refused a request; the pipeline reports each as Envoy's {@code UO} flag. */
  enum Limit { MAX_REQUESTS, MAX_CONNECTIONS, MAX_PENDING_REQUESTS }

  /** Holds one in-flight slot until closed. Closing twice releases once. */
  final class Permit implements Admission, AutoCloseable {
    private static final VarHandle CLOSED;

    static {
      try {
        CLOSED = MethodHandles.lookup().findVarHandle(Permit.class, "closed", boolean.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private final ConnectionLimiter limiter;
    @SuppressWarnings("unused") // through CLOSED
    private volatile boolean closed;

    Permit(ConnectionLimiter limiter) {
      this.limiter = limiter;
    }

    @Override
    public void close() {
      if (CLOSED.compareAndSet(this, false, true)) {
        limiter.release();
      }
    }
  }

  /** @param message names the limit and its value, for the user: "max requests 10 in flight" */
  record Refusal(Limit limit, String message) implements Admission {
    public Refusal {
      Objects.requireNonNull(limit, "limit");
      Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
      return message;
    }
  }
}
