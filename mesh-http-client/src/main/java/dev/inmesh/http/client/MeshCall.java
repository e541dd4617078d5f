package dev.inmesh.http.client;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Per-method hints for an annotated client. {@code idempotent = TRUE} lets the mesh retry a
 * method it would not retry by default (a POST, say); {@code timeout} replaces the route's
 * timeout for this method ({@code "2s"}, {@code "500ms"}).
 */
@Documented
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
public @interface MeshCall {
  enum Idempotence { DEFAULT, TRUE, FALSE }

  Idempotence idempotent() default Idempotence.DEFAULT;

  String timeout() default "";
}
