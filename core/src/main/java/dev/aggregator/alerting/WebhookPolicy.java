package dev.aggregator.alerting;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Decides which webhook URLs the aggregator may call.
 *
 * <p>Webhook URLs are typed in by users, and the server calls them from inside the network, so
 * without a check anyone who can configure an alert could make the server reach internal services
 * (server-side request forgery): the cloud metadata endpoint on 169.254.169.254, an admin port on
 * localhost, a database on 10.x. By default only public addresses are allowed; operators who run a
 * receiver inside the network allow it explicitly with {@code webhookAllow}, by host name or CIDR.
 *
 * <p>The check is on the addresses the host resolves to, not on its name, so a public name that
 * points at 127.0.0.1 is refused too; every address must pass, since the client may connect to any
 * of them. The sender re-checks before each attempt because DNS answers change. What remains is the
 * short window between this lookup and the HTTP client's own (which the JVM's DNS cache usually
 * answers with the same addresses); closing it fully would need pinning the connection to the
 * checked address, which {@code java.net.http} cannot do.
 *
 * <p>Immutable and thread-safe.
 */
public final class WebhookPolicy {
  /** The name operators know the allow list by; every refusal tells them to use it. */
  static final String SETTING = "webhookAllow";

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern HOST_NAME =
      Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");

  /**
   * Addresses that are not public, with the word that explains each in an error. IPv4 addresses
   * embedded in IPv6 ones are unwrapped first (see {@link #embeddedIpv4}), so these cover the
   * mapped and compatible forms too. Documentation and benchmark ranges are left out: nothing
   * listens there, so they are no way in.
   */
  private static final List<Range> NOT_PUBLIC =
      List.of(
          new Range(Cidr.parse("0.0.0.0/8"), "unspecified"),
          new Range(Cidr.parse("10.0.0.0/8"), "private"),
          new Range(Cidr.parse("100.64.0.0/10"), "carrier-grade NAT"),
          new Range(Cidr.parse("127.0.0.0/8"), "loopback"),
          new Range(Cidr.parse("169.254.0.0/16"), "link-local"),
          new Range(Cidr.parse("172.16.0.0/12"), "private"),
          new Range(Cidr.parse("192.168.0.0/16"), "private"),
          new Range(Cidr.parse("224.0.0.0/4"), "multicast"),
          new Range(Cidr.parse("255.255.255.255/32"), "broadcast"),
          new Range(Cidr.parse("::/128"), "unspecified"),
          new Range(Cidr.parse("::1/128"), "loopback"),
          new Range(Cidr.parse("fe80::/10"), "link-local"),
          new Range(Cidr.parse("fec0::/10"), "site-local"),
          new Range(Cidr.parse("fc00::/7"), "unique-local"),
          new Range(Cidr.parse("ff00::/8"), "multicast"));

  /**
   * IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at: IPv4-mapped
   * (::ffff:0:0/96), IPv4-compatible (::/96, deprecated but still parsed) and NAT64 (64:ff9b::/96).
   * Without unwrapping them, {@code [::ffff:127.0.0.1]} would be a way around the loopback rule.
   */
  private static final List<Cidr> IPV4_EMBEDDING =
      List.of(Cidr.parse("::ffff:0:0/96"), Cidr.parse("::/96"), Cidr.parse("64:ff9b::/96"));

  /** :: and ::1 are IPv6's own unspecified and loopback, not IPv4 0.0.0.0 and 0.0.0.1. */
  private static final Cidr NOT_EMBEDDING = Cidr.parse("::/127");

  private final List<String> entries;
  private final Set<String> hostNames;
  private final List<Cidr> cidrs;

  private WebhookPolicy(List<String> entries, Set<String> hostNames, List<Cidr> cidrs) {
    this.entries = List.copyOf(entries);
    this.hostNames = Set.copyOf(hostNames);
    this.cidrs = List.copyOf(cidrs);
  }

  /**
   * Reads the {@code webhookAllow} setting: a comma-separated list of host names (matched exactly,
   * ignoring case) and CIDRs, IPv4 or IPv6 (a bare address means just that address). Null or blank
   * allows nothing beyond public addresses.
   *
   * @throws IllegalArgumentException naming the first entry that is neither
   */
  public static WebhookPolicy parse(String allowList) {
    List<String> entries = new ArrayList<>();
    Set<String> hostNames = new LinkedHashSet<>();
    List<Cidr> cidrs = new ArrayList<>();
    if (allowList != null) {
      for (String raw : allowList.split(",", -1)) {
        String entry = raw.strip();
        if (entry.isEmpty()) {
          continue; // "a,b," and "a, ,b" are harmless typos
        }
        entries.add(entry);
        if (entry.contains("://")) {
          throw new IllegalArgumentException(
              SETTING + " entry '" + entry + "' is a URL; list its host name or a CIDR instead");
        }
        if (entry.indexOf('/') >= 0 || looksLikeIpLiteral(entry)) {
          cidrs.add(Cidr.parse(entry));
        } else {
          hostNames.add(hostName(entry));
        }
      }
    }
    return new WebhookPolicy(entries, hostNames, cidrs);
  }

  /**
   * Parses {@code url} and checks the server may call it.
   *
   * @return the parsed URL, to send to
   * @throws IllegalArgumentException with a sentence for the user saying why it may not, and for
   *     internal addresses how to allow it
   */
  public URI check(String url) {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("webhook URL is empty");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      // The reason, not the message: the message repeats the URL, which may carry a token.
      throw new IllegalArgumentException(
          "webhook URL is not a valid URL: " + e.getReason() + " at index " + e.getIndex(), e);
    }
    String scheme = uri.getScheme();
    if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))) {
      throw new IllegalArgumentException(
          "webhook URL scheme must be http or https"
              + (scheme == null ? ", and the URL has none" : ", not " + scheme));
    }
    String authority = uri.getRawAuthority();
    if (uri.getRawUserInfo() != null || (authority != null && authority.indexOf('@') >= 0)) {
      throw new IllegalArgumentException(
          "webhook URL must not contain credentials (user:pass@); "
              + "set a webhook secret to sign the deliveries instead");
    }
    String host = uri.getHost();
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException(
          authority == null ? "webhook URL has no host" : "webhook URL has no valid host");
    }
    checkHost(normalize(host));
    return uri;
  }

  /** The allow list as configured, for logs. */
  public String describe() {
    return entries.isEmpty() ? "(none: public addresses only)" : String.join(",", entries);
  }

  @Override
  public String toString() {
    return "WebhookPolicy[" + describe() + "]";
  }

  private void checkHost(String host) {
    if (hostNames.contains(host)) {
      return; // allowed by name: the operator vouches for whatever it resolves to
    }
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("webhook host " + host + " does not resolve", e);
    }
    boolean literal = looksLikeIpLiteral(host);
    for (InetAddress address : addresses) {
      byte[] bytes = address.getAddress();
      Range range = notPublic(bytes);
      if (range == null || allowed(bytes)) {
        continue;
      }
      String shown = address.getHostAddress();
      String what =
          literal
              ? "webhook address " + shown + " is"
              : "webhook host " + host + " resolves to " + shown + ",";
      String example = literal ? range.cidr.text : host + " or " + range.cidr.text;
      throw new IllegalArgumentException(
          what
              + " "
              + article(range.kind)
              + " "
              + range.kind
              + " address; allow it with "
              + SETTING
              + " (e.g. "
              + example
              + ")");
    }
  }

  private boolean allowed(byte[] address) {
    byte[] ipv4 = embeddedIpv4(address);
    for (Cidr cidr : cidrs) {
      if (cidr.contains(address) || (ipv4 != null && cidr.contains(ipv4))) {
        return true;
      }
    }
    return false;
  }

  /** The range that makes {@code address} not public, or null if it is public. */
  private static Range notPublic(byte[] address) {
    for (Range range : NOT_PUBLIC) {
      if (range.cidr.contains(address)) {
        return range;
      }
    }
    byte[] ipv4 = embeddedIpv4(address);
    return ipv4 == null ? null : notPublic(ipv4);
  }

  /** The IPv4 address inside an IPv6 one that only wraps it, else null. */
  private static byte[] embeddedIpv4(byte[] address) {
    if (address.length != 16 || NOT_EMBEDDING.contains(address)) {
      return null;
    }
    for (Cidr prefix : IPV4_EMBEDDING) {
      if (prefix.contains(address)) {
        return Arrays.copyOfRange(address, 12, 16);
      }
    }
    return null;
  }

  private static boolean looksLikeIpLiteral(String s) {
    return s.indexOf(':') >= 0 || IPV4.matcher(s).matches();
  }

  private static String hostName(String entry) {
    String name = normalize(entry);
    if (name.startsWith("*.")) {
      throw new IllegalArgumentException(
          SETTING + " entry '" + entry + "': wildcards are not supported; list each host name");
    }
    if (!HOST_NAME.matcher(name).matches()
        || name.length() > 253
        || name.substring(name.lastIndexOf('.') + 1).chars().allMatch(Character::isDigit)) {
      throw new IllegalArgumentException(
          SETTING
              + " entry '"
              + entry
              + "' is neither a host name, an IP address nor a CIDR (e.g. hooks.internal,"
              + " 10.1.2.3, 10.0.0.0/8, fd00::/8)");
    }
    return name;
  }

  /** Lower case, without IPv6 brackets or the root's trailing dot, so equal names compare equal. */
  private static String normalize(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
  }

  private static String article(String word) {
    return "aeiou".indexOf(word.charAt(0)) >= 0 ? "an" : "a";
  }

  private record Range(Cidr cidr, String kind) {}

  /** An address block, matched bit by bit on the address bytes (4 for IPv4, 16 for IPv6). */
  private static final class Cidr {
    final byte[] network;
    final int prefix;
    final String text;

    private Cidr(byte[] network, int prefix, String text) {
      this.network = network;
      this.prefix = prefix;
      this.text = text;
    }

    /** {@code addr/prefix} or a bare address; host bits are ignored, as routers do. */
    static Cidr parse(String entry) {
      int slash = entry.indexOf('/');
      String addressText = slash < 0 ? entry : entry.substring(0, slash).strip();
      byte[] address = literal(entry, addressText);
      // [::ffff:a.b.c.d] parses to the IPv4 address; its prefix counts the 96 bits in front.
      int offset = addressText.indexOf(':') >= 0 && address.length == 4 ? 96 : 0;
      int bits = address.length * 8 + offset;
      int prefix = bits;
      if (slash >= 0) {
        String prefixText = entry.substring(slash + 1).strip();
        try {
          prefix = Integer.parseInt(prefixText);
        } catch (NumberFormatException e) {
          prefix = -1;
        }
        if (prefix < offset || prefix > bits || !prefixText.matches("\\d{1,3}")) {
          throw new IllegalArgumentException(
              SETTING
                  + " entry '"
                  + entry
                  + "': the prefix length must be a number from "
                  + offset
                  + " to "
                  + bits);
        }
      }
      return new Cidr(address, prefix - offset, entry);
    }

    /** Parses an IP literal without ever asking DNS (a typo must not turn into a lookup). */
    private static byte[] literal(String entry, String text) {
      String problem = SETTING + " entry '" + entry + "': " + text + " is not an IP address";
      if (text.indexOf(':') >= 0) {
        if (text.indexOf('%') >= 0 || text.indexOf('[') >= 0 || text.indexOf(']') >= 0) {
          throw new IllegalArgumentException(problem + " (write IPv6 without brackets or zone)");
        }
        try {
          // Brackets make the JDK parse it as an IPv6 literal or fail; it never looks it up.
          return InetAddress.getByName("[" + text + "]").getAddress();
        } catch (UnknownHostException e) {
          throw new IllegalArgumentException(problem, e);
        }
      }
      if (!IPV4.matcher(text).matches()) {
        throw new IllegalArgumentException(problem);
      }
      String[] parts = text.split("\\.");
      byte[] bytes = new byte[4];
      for (int i = 0; i < 4; i++) {
        int octet = Integer.parseInt(parts[i]);
        if (octet > 255) {
          throw new IllegalArgumentException(problem + " (" + octet + " is over 255)");
        }
        bytes[i] = (byte) octet;
      }
      return bytes;
    }

    boolean contains(byte[] address) {
      if (address.length != network.length) {
        return false;
      }
      int full = prefix / 8;
      for (int i = 0; i < full; i++) {
        if (address[i] != network[i]) {
          return false;
        }
      }
      int rest = prefix % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (address[full] & mask) == (network[full] & mask);
    }
  }
}
