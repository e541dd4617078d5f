package dev.inmesh.grpc.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.inmesh.MeshException;
import dev.inmesh.grpc.spi.XdsBootstraps;
import io.grpc.xds.XdsServerBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Function;

/**
 * grpc-xds's supported configuration, and {@code MeshGrpc}'s default: one bootstrap for the
 * process, the first Mesh's, installed as the system property {@value #CONFIG_PROPERTY} before
 * grpc-xds reads it. Channels dial {@code xds:///host:port}; servers read it as they are.
 *
 * <p>grpc-xds reads the bootstrap once per process ({@code GrpcBootstrapperImpl.defaultBootstrap}
 * keeps the first one it read, and every channel's and server's xDS client is made from it), from
 * the first of: the file named by {@value #PATH_ENV} or {@value #PATH_PROPERTY}, then the JSON in
 * {@value #CONFIG_ENV} or {@value #CONFIG_PROPERTY}. So this refuses, with a {@link MeshException}
 * naming both workloads, a Mesh whose bootstrap is not the one grpc-xds reads or has read: a
 * second workload, or a bootstrap the user set that is not this Mesh's. Had nothing been set,
 * grpc-xds cannot have read a bootstrap before (it fails without one, and keeps nothing).
 */
public final class ProcessXdsBootstrap implements XdsBootstraps {
  public static final String CONFIG_PROPERTY = "io.grpc.xds.bootstrapConfig";
  public static final String CONFIG_ENV = "GRPC_XDS_BOOTSTRAP_CONFIG";
  public static final String PATH_PROPERTY = "io.grpc.xds.bootstrap";
  public static final String PATH_ENV = "GRPC_XDS_BOOTSTRAP";
  private static final String DOCS = "docs/grpc.md, \"One bootstrap per process\"";
  /** The process's: there is one grpc-xds bootstrap per process, so one owner of it. */
  private static final ProcessXdsBootstrap SYSTEM = new ProcessXdsBootstrap(System::getenv, System.getProperties());

  private final Function<String, String> environment;
  private final Properties properties;
  /** The workload whose bootstrap this process's grpc-xds reads, and that bootstrap as installed; guarded by this. */
  private String owner;
  private String installed;

  ProcessXdsBootstrap(Function<String, String> environment, Properties properties) {
    this.environment = environment;
    this.properties = properties;
  }

  /** The one that reads this process's environment and sets its system properties. */
  public static ProcessXdsBootstrap system() {
    return SYSTEM;
  }

  @Override
  public synchronized Binding bind(String workload, Map<String, ?> bootstrap) {
    String json = toJson(bootstrap);
    if (owner != null) {
      throw new MeshException("the Mesh of workload " + workload + " cannot use grpc-xds in this process: grpc-xds"
          + " reads one bootstrap per process and keeps it for the life of the process, and this process's is the"
          + " bootstrap of workload " + owner + ", so this Mesh's channels and servers would speak for that workload"
          + " and present its certificate. Run one workload per JVM, or, for several in one JVM (demos, tests), put"
          + " a dev.inmesh.grpc.spi.XdsBootstraps implementation on the class path; see " + DOCS);
    }
    Optional<Setting> existing = setting();
    if (existing.isPresent() && !sameBootstrap(existing.get(), json)) {
      throw new MeshException(existing.get().name() + " is set in this process, and grpc-xds reads that bootstrap for"
          + " every channel and server; it is not the bootstrap of workload " + workload + ", so MeshGrpc channels and"
          + " servers would not speak for it. Unset " + existing.get().name() + " and let MeshGrpc install the Mesh's"
          + " bootstrap, or keep it for plain grpc-java xds:/// channels and use no MeshGrpc in this process; see "
          + DOCS);
    }
    if (existing.isEmpty()) {
      properties.setProperty(CONFIG_PROPERTY, json);
    }
    owner = workload;
    installed = json;
    return new Process(workload);
  }

  /** Checks, before each channel and server, that the bootstrap grpc-xds will read is still {@code workload}'s. */
  private synchronized void verify(String workload) {
    Optional<Setting> current = setting();
    if (current.isEmpty() || !sameBootstrap(current.get(), installed)) {
      throw new MeshException(current.map(Setting::name).orElse(CONFIG_PROPERTY)
          + (current.isEmpty() ? " was removed" : " was changed") + " after MeshGrpc installed the bootstrap of workload "
          + workload + "; grpc-xds reads one bootstrap per process, and a channel or server made now may read"
          + " another. Leave the grpc-xds bootstrap settings to MeshGrpc; see " + DOCS);
    }
  }

  /** Where grpc-xds would take its bootstrap from, in its order, and what it holds. */
  private Optional<Setting> setting() {
    for (String[] file : new String[][] {{PATH_ENV, environment.apply(PATH_ENV)},
        {PATH_PROPERTY, properties.getProperty(PATH_PROPERTY)}}) {
      if (file[1] != null) {
        try {
          return Optional.of(new Setting(file[0] + "=" + file[1], Files.readString(Path.of(file[1]))));
        } catch (IOException | RuntimeException e) {
          throw new MeshException(file[0] + " names the grpc-xds bootstrap file " + file[1] + ", which cannot be read ("
              + e + "); grpc-xds would fail on it too. Fix or unset it; see " + DOCS, e);
        }
      }
    }
    String fromEnvironment = environment.apply(CONFIG_ENV);
    if (fromEnvironment != null) {
      return Optional.of(new Setting("the environment variable " + CONFIG_ENV, fromEnvironment));
    }
    String fromProperty = properties.getProperty(CONFIG_PROPERTY);
    return Optional.ofNullable(fromProperty).map(json -> new Setting("the system property " + CONFIG_PROPERTY, json));
  }

  /** Equal as JSON (whitespace and key order aside); a setting that is no JSON object is not a Mesh's. */
  private static boolean sameBootstrap(Setting setting, String json) {
    try {
      return parse(setting.json()).equals(parse(json));
    } catch (InvalidProtocolBufferException e) {
      return false;
    }
  }

  private static Struct parse(String json) throws InvalidProtocolBufferException {
    Struct.Builder struct = Struct.newBuilder();
    JsonFormat.parser().merge(json, struct);
    return struct.build();
  }

  /** {@code bootstrap} as JSON: maps, lists, strings and booleans are all a bootstrap holds. */
  static String toJson(Map<String, ?> bootstrap) {
    try {
      return JsonFormat.printer().print(value(bootstrap));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a bootstrap of maps, lists and strings always prints", e);
    }
  }

  private static Value value(Object object) {
    if (object instanceof Map<?, ?> map) {
      Struct.Builder struct = Struct.newBuilder();
      map.forEach((key, value) -> struct.putFields(key.toString(), value(value)));
      return Value.newBuilder().setStructValue(struct).build();
    }
    if (object instanceof List<?> list) {
      ListValue.Builder values = ListValue.newBuilder();
      list.forEach(value -> values.addValues(value(value)));
      return Value.newBuilder().setListValue(values).build();
    }
    if (object instanceof Boolean bool) {
      return Value.newBuilder().setBoolValue(bool).build();
    }
    if (object instanceof String string) {
      return Value.newBuilder().setStringValue(string).build();
    }
    throw new IllegalArgumentException("a grpc-xds bootstrap holds maps, lists, strings and booleans; got "
        + (object == null ? "null" : object.getClass().getName()));
  }

  private record Setting(String name, String json) {}

  private final class Process implements Binding {
    private final String workload;

    Process(String workload) {
      this.workload = workload;
    }

    @Override
    public String channelTarget(String authority) {
      verify(workload);
      return "xds:///" + authority;
    }

    @Override
    public XdsServerBuilder configure(XdsServerBuilder builder) {
      verify(workload);
      return builder;
    }
  }
}
