package dev.inmesh.http.client;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a Retrofit interface as a client of a mesh service; {@link MeshHttp#create} turns it into
 * one. The base URL is {@code scheme://value:port/}.
 */
@Documented
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
public @interface MeshService {
  /** The service as clients dial it: {@code reviews}, {@code reviews.default} or a full name. */
  String value();

  int port() default 80;

  String scheme() default "http";
}
