package dev.inmesh.control.translate;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;

/** Resolves ServiceEntry DNS names to addresses; injected so that tests don't need DNS. */
@FunctionalInterface
public interface HostResolver {
  List<String> resolve(String host);

  static HostResolver system() {
    return host -> {
      try {
        return Arrays.stream(InetAddress.getAllByName(host)).map(InetAddress::getHostAddress).distinct().toList();
      } catch (UnknownHostException e) {
        return List.of();
      }
    };
  }
}
