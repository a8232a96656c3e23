package dev.aggregator.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Only literal IPs and reserved names: there is no internet (or DNS for outside names) here. */
class WebhookPolicyTest {
  private static final WebhookPolicy DEFAULT = WebhookPolicy.parse(null);

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
    "127.0.0.1, loopback, 127.0.0.0/8",
    "127.255.0.9, loopback, 127.0.0.0/8",
    "[::1], loopback, ::1/128",
    "10.1.2.3, private, 10.0.0.0/8",
    "172.16.0.1, private, 172.16.0.0/12",
    "172.31.255.255, private, 172.16.0.0/12",
    "192.168.1.1, private, 192.168.0.0/16",
    "169.254.169.254, link-local, 169.254.0.0/16",
    "[fe80::1], link-local, fe80::/10",
    "[fc00::1], unique-local, fc00::/7",
    "[fd12:3456::1], unique-local, fc00::/7",
    "0.0.0.0, unspecified, 0.0.0.0/8",
    "[::], unspecified, ::/128",
    "[::ffff:127.0.0.1], loopback, 127.0.0.0/8",
    "[::ffff:10.0.0.1], private, 10.0.0.0/8",
    "[::127.0.0.1], loopback, 127.0.0.0/8",
    "100.64.0.1, carrier-grade NAT, 100.64.0.0/10",
    "100.127.255.254, carrier-grade NAT, 100.64.0.0/10",
    "224.0.0.1, multicast, 224.0.0.0/4",
    "239.255.255.250, multicast, 224.0.0.0/4",
    "[ff02::1], multicast, ff00::/8",
    "255.255.255.255, broadcast, 255.255.255.255/32",
  })
  void nonPublicAddressesAreRefusedByDefaultWithTheHint(String host, String kind, String range) {
    assertThatThrownBy(() -> DEFAULT.check("http://" + host + ":8080/hook"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(kind + " address")
        .hasMessageContaining("allow it with webhookAllow (e.g. " + range + ")");
  }

  @ParameterizedTest(name = "{0} allowed by {1}")
  @CsvSource({
    "127.0.0.1, 127.0.0.0/8",
    "127.0.0.1, 127.0.0.1",
    "[::1], ::1/128",
    "[::1], ::1",
    "10.1.2.3, 10.1.2.3/32",
    "10.1.2.3, 10.0.0.0/8",
    "10.1.2.3, 10.1.2.0/24",
    "172.20.0.5, 172.16.0.0/12",
    "192.168.1.1, 192.168.1.0/25",
    "169.254.169.254, 169.254.0.0/16",
    "[fe80::1], fe80::/10",
    "[fd00::5], fd00::/8",
    "[fc00::1], fc00::/7",
    "0.0.0.0, 0.0.0.0/8",
    "[::ffff:127.0.0.1], 127.0.0.0/8",
    "[::127.0.0.1], 127.0.0.0/8",
    "100.64.0.1, 100.64.0.0/10",
    "224.0.0.1, 224.0.0.0/4",
    "10.1.2.3, ::ffff:10.0.0.0/104",
  })
  void aMatchingCidrAllowsANonPublicAddress(String host, String allow) {
    WebhookPolicy policy = WebhookPolicy.parse("hooks.internal, " + allow);

    URI uri = policy.check("https://" + host + "/hook?x=1");

    assertThat(uri.getHost()).isEqualTo(host);
    assertThat(uri.getPath()).isEqualTo("/hook");
  }

  @ParameterizedTest(name = "{0} not allowed by {1}")
  @CsvSource({
    "127.0.0.2, 127.0.0.1/32",
    "10.1.3.1, 10.1.2.0/24",
    "172.16.0.1, 172.17.0.0/16",
    "192.168.1.200, 192.168.1.0/25",
    "[::1], 127.0.0.0/8",
    "127.0.0.1, ::1/128",
    "[fe80::1], fd00::/8",
    "[fc00::1], fd00::/8",
  })
  void aCidrThatDoesNotMatchDoesNotAllow(String host, String allow) {
    WebhookPolicy policy = WebhookPolicy.parse(allow);

    assertThatThrownBy(() -> policy.check("http://" + host + "/"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("webhookAllow");
  }

  @Test
  void aHostNameInTheListIsAllowedWhateverItResolvesTo() {
    WebhookPolicy policy = WebhookPolicy.parse("Hooks.Invalid,LocalHost");

    // Allowed by name, so not even looked up (it would not resolve).
    assertThat(policy.check("http://hooks.invalid/x").getHost()).isEqualTo("hooks.invalid");
    assertThat(policy.check("http://HOOKS.invalid./x").getHost()).isEqualTo("HOOKS.invalid.");
    assertThat(policy.check("http://localhost:9000/x").getPort()).isEqualTo(9000);
  }

  @Test
  void aHostNameResolvingToLoopbackIsRefusedNamingTheHostAndTheAddress() {
    assertThatThrownBy(() -> DEFAULT.check("http://localhost:9000/x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("webhook host localhost resolves to ")
        .hasMessageContaining("a loopback address; allow it with webhookAllow (e.g. localhost or");
  }

  @Test
  void aHostNameIsMatchedExactlyNotAsASuffix() {
    WebhookPolicy policy = WebhookPolicy.parse("host");

    assertThatThrownBy(() -> policy.check("http://localhost/")).hasMessageContaining("loopback");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "http://93.184.216.34/hook",
        "https://93.184.216.34:8443/hook",
        "http://8.8.8.8",
        "http://[2606:4700::1]/hook",
        "http://172.15.255.255/",
        "http://172.32.0.0/",
        "http://100.63.255.255/",
        "http://100.128.0.0/",
        "http://192.0.2.1/",
        "http://198.18.0.1/",
        "http://[2001:db8::1]/",
        "http://[::ffff:93.184.216.34]/",
      })
  void publicAddressesAreAllowedByDefault(String url) {
    assertThat(DEFAULT.check(url)).isEqualTo(URI.create(url));
  }

  @Test
  void anUnresolvableHostIsRefused() {
    assertThatThrownBy(() -> DEFAULT.check("https://no-such-host.invalid/hook"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("webhook host no-such-host.invalid does not resolve");
  }

  @ParameterizedTest
  @ValueSource(strings = {"ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://a.example/"})
  void onlyHttpAndHttpsAreAllowed(String url) {
    assertThatThrownBy(() -> DEFAULT.check(url))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("webhook URL scheme must be http or https, not ");
  }

  @Test
  void aUrlWithoutSchemeIsRefused() {
    assertThatThrownBy(() -> DEFAULT.check("93.184.216.34/hook"))
        .hasMessage("webhook URL scheme must be http or https, and the URL has none");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "http://user:pass@93.184.216.34/hook",
        "http://user@93.184.216.34/hook",
        "http://user:pa_ss@bad_host/hook",
      })
  void credentialsInTheUrlAreRefused(String url) {
    assertThatThrownBy(() -> DEFAULT.check(url))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must not contain credentials (user:pass@)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"http:///hook", "http:hook", "http://bad_host/hook"})
  void aUrlWithoutAValidHostIsRefused(String url) {
    assertThatThrownBy(() -> DEFAULT.check(url))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("webhook URL has no");
  }

  @Test
  void aMalformedUrlIsRefusedWithoutEchoingIt() {
    assertThatThrownBy(() -> DEFAULT.check("http://93.184.216.34/a b?token=s3cret"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("webhook URL is not a valid URL: ")
        .hasMessageNotContaining("s3cret");
    assertThatThrownBy(() -> DEFAULT.check(" ")).hasMessage("webhook URL is empty");
    assertThatThrownBy(() -> DEFAULT.check(null)).hasMessage("webhook URL is empty");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "10.0.0.0/33",
        "::/129",
        "10.0.0.0/-1",
        "10.0.0.0/",
        "10.0.0.0/x",
        "256.0.0.1",
        "10.0.0/8",
        "10.0.0",
        "fe80::zz/10",
        "[::1]",
        "fe80::1%eth0",
        "*.example.com",
        "http://hooks.internal",
        "hooks_internal",
        "-hooks",
        "::ffff:10.0.0.0/8",
      })
  void aBadAllowListEntryIsRejectedNamingIt(String entry) {
    assertThatThrownBy(() -> WebhookPolicy.parse("hooks.internal," + entry + ",10.0.0.0/8"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("webhookAllow entry '" + entry + "'");
  }

  @Test
  void describeShowsTheAllowListAsConfigured() {
    assertThat(WebhookPolicy.parse(" hooks.internal , 127.0.0.0/8,, fd00::/8 ,").describe())
        .isEqualTo("hooks.internal,127.0.0.0/8,fd00::/8");
    assertThat(WebhookPolicy.parse("").describe()).isEqualTo("(none: public addresses only)");
    assertThat(WebhookPolicy.parse(null).describe()).isEqualTo("(none: public addresses only)");
  }

  @Test
  void theHostBitsOfACidrAreIgnored() {
    WebhookPolicy policy = WebhookPolicy.parse("10.1.2.3/8, 0.0.0.0/0");

    assertThat(policy.check("http://10.200.0.1/").getHost()).isEqualTo("10.200.0.1");
    assertThat(policy.check("http://127.0.0.1/").getHost()).isEqualTo("127.0.0.1");
    assertThatThrownBy(() -> policy.check("http://[::1]/")).hasMessageContaining("loopback");
  }
}
