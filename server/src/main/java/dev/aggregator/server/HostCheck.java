package dev.aggregator.server;

import io.vertx.ext.web.RoutingContext;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Serves only requests whose {@code Host} names this server: the loopback names, the address it
 * binds to, and {@code allowedHosts}. Without it a page on any site could rebind its own name to
 * 127.0.0.1 (DNS rebinding) and then read answers and post writes as a same-origin page. {@code *}
 * serves any host.
 */
final class HostCheck {
  private final Set<String> allowed = new HashSet<>();
  private final boolean any;

  HostCheck(String bindHost, List<String> allowedHosts) {
    allowed.addAll(List.of("localhost", "127.0.0.1", "::1"));
    if (!bindHost.equals("0.0.0.0") && !bindHost.equals("::")) {
      allowed.add(bindHost.toLowerCase(Locale.ROOT));
    }
    for (String h : allowedHosts) {
      allowed.add(h.toLowerCase(Locale.ROOT));
    }
    any = allowed.contains("*");
  }

  /** Answers 421 if the request's Host is not one of ours; true if it did. */
  boolean refuse(RoutingContext ctx) {
    String host = ctx.request().getHeader("Host");
    if (any || host == null || allowed.contains(name(host))) {
      return false; // no Host at all: HTTP/1.0, not a browser
    }
    String shown = host.length() > 100 ? host.substring(0, 100) + "…" : host;
    Http.error(
        ctx,
        421,
        "misdirected_request",
        "Host " + shown + " is not served here; add its name to allowedHosts");
    return true;
  }

  /** True if {@code name} (a bare host name) is one of ours; {@code *} does not count here. */
  boolean names(String name) {
    return name != null && allowed.contains(name.toLowerCase(Locale.ROOT));
  }

  /** The host name of a Host header: without the port, without the brackets of an IPv6 address. */
  static String name(String host) {
    String h = host.strip().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end < 0 ? h : h.substring(1, end);
    }
    int colon = h.indexOf(':');
    return colon >= 0 && colon == h.lastIndexOf(':') ? h.substring(0, colon) : h;
  }
}
