package dev.inmesh.control.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The scripts the dashboard loads besides its page, served by mesh-control from its own jar so
 * that the dashboard works with no network: dagre, the layered graph layout, from its WebJar. Each
 * is one fixed path mapped to one fixed resource; no part of a request path names a file.
 */
final class DashboardAssets {
  /** The path the dashboard loads dagre from. */
  static final String LAYOUT = "/dashboard/assets/dagre.min.js";
  static final String JAVASCRIPT = "text/javascript; charset=utf-8";
  private static final String WEBJAR = "META-INF/maven/org.webjars.npm/dagre/pom.properties";

  private DashboardAssets() {}

  /** dagre's bundled, minified script (graphlib and lodash inside), read once. */
  static byte[] layout() {
    return Layout.SCRIPT;
  }

  private static final class Layout {
    static final byte[] SCRIPT = read();

    private static byte[] read() {
      ClassLoader loader = DashboardAssets.class.getClassLoader();
      try {
        Properties webjar = new Properties();
        try (InputStream in = loader.getResourceAsStream(WEBJAR)) {
          if (in == null) {
            throw new IOException(WEBJAR + " is missing: the dagre WebJar is not on the class path");
          }
          webjar.load(in);
        }
        String script = "META-INF/resources/webjars/dagre/" + webjar.getProperty("version") + "/dist/dagre.min.js";
        try (InputStream in = loader.getResourceAsStream(script)) {
          if (in == null) {
            throw new IOException(script + " is missing from the dagre WebJar");
          }
          return in.readAllBytes();
        }
      } catch (IOException e) {
        throw new UncheckedIOException("the dashboard's graph layout cannot be served: " + e.getMessage(), e);
      }
    }
  }
}
