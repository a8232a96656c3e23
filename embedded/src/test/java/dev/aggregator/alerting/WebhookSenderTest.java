package dev.aggregator.alerting;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.aggregator.alerting.WebhookSender.Options;
import dev.aggregator.alerting.WebhookSender.Result;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Against a real HTTP receiver on 127.0.0.1, with short timeouts and backoffs. */
class WebhookSenderTest {
  private static final Options FAST =
      new Options(Duration.ofMillis(500), 3, Duration.ofMillis(10), Duration.ofMillis(50));
  private static final WebhookPolicy LOOPBACK_ALLOWED = WebhookPolicy.parse("127.0.0.0/8");
  private static final byte[] BODY =
      "{\"alert\":\"error rate\",\"status\":\"firing\",\"value\":0.07}".getBytes(UTF_8);

  private Receiver receiver;
  private WebhookSender sender;

  @BeforeEach
  void start() throws IOException {
    receiver = new Receiver();
    sender = new WebhookSender(LOOPBACK_ALLOWED, FAST);
  }

  @AfterEach
  void stop() {
    sender.close();
    receiver.close();
  }

  @Test
  void deliversTheBodyWithTheHeadersAndAVerifiableSignature() throws Exception {
    Result result = sender.send(delivery("d-1", "s3cret")).get(10, SECONDS);

    assertThat(result).isEqualTo(new Result(true, 1, 200, null));
    assertThat(receiver.requests).hasSize(1);
    Recorded request = receiver.requests.get(0);
    assertThat(request.method).isEqualTo("POST");
    assertThat(request.path).isEqualTo("/hook");
    assertThat(request.body).isEqualTo(BODY);
    assertThat(request.header("Content-Type")).isEqualTo("application/json");
    assertThat(request.header("User-Agent")).isEqualTo("analytics-aggregator");
    assertThat(request.header("X-Aggregator-Delivery")).isEqualTo("d-1");
    String expected = "sha256=" + HexFormat.of().formatHex(hmacSha256("s3cret", request.body));
    assertThat(request.header("X-Aggregator-Signature")).isEqualTo(expected);
    assertThat(
            MessageDigest.isEqual(
                WebhookSender.signature("s3cret", request.body).getBytes(UTF_8),
                request.header("X-Aggregator-Signature").getBytes(UTF_8)))
        .isTrue();
  }

  @Test
  void theSignatureFollowsGithubsConvention() {
    // The example from GitHub's "Validating webhook deliveries".
    assertThat(
            WebhookSender.signature("It's a Secret to Everybody", "Hello, World!".getBytes(UTF_8)))
        .isEqualTo("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    assertThatThrownBy(() -> WebhookSender.signature("", BODY))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void withoutASecretThereIsNoSignatureHeader() throws Exception {
    Result result = sender.send(delivery("d-2", null)).get(10, SECONDS);

    assertThat(result.delivered()).isTrue();
    assertThat(receiver.requests).hasSize(1);
    assertThat(receiver.requests.get(0).header("X-Aggregator-Signature")).isNull();
    assertThat(receiver.requests.get(0).header("X-Aggregator-Delivery")).isEqualTo("d-2");
  }

  @Test
  void serverErrorsAreRetriedWithTheSameDeliveryIdUntilDelivered() throws Exception {
    receiver.statuses.addAll(List.of(500, 500));

    Result result = sender.send(delivery("d-3", "k")).get(10, SECONDS);

    assertThat(result).isEqualTo(new Result(true, 3, 200, null));
    assertThat(receiver.requests).hasSize(3);
    assertThat(receiver.requests)
        .allSatisfy(r -> assertThat(r.header("X-Aggregator-Delivery")).isEqualTo("d-3"))
        .allSatisfy(r -> assertThat(r.body).isEqualTo(BODY));
  }

  @ParameterizedTest
  @ValueSource(ints = {408, 429, 502, 503, 504})
  void transientStatusesAreRetried(int status) throws Exception {
    receiver.statuses.add(status);

    Result result = sender.send(delivery("d-4", null)).get(10, SECONDS);

    assertThat(result).isEqualTo(new Result(true, 2, 200, null));
  }

  @Test
  void aServerThatKeepsFailingIsGivenUpAfterMaxAttempts() throws Exception {
    receiver.statuses.addAll(List.of(503, 503, 503, 503, 503));

    Result result = sender.send(delivery("d-5", null)).get(10, SECONDS);

    assertThat(result).isEqualTo(new Result(false, 3, 503, "HTTP 503"));
    assertThat(receiver.requests).hasSize(3);
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 401, 403, 404, 410, 422})
  void otherClientErrorsAreNotRetried(int status) throws Exception {
    receiver.statuses.add(status);

    Result result = sender.send(delivery("d-6", null)).get(10, SECONDS);

    assertThat(result).isEqualTo(new Result(false, 1, status, "HTTP " + status));
    assertThat(receiver.requests).hasSize(1);
  }

  @ParameterizedTest
  @ValueSource(ints = {301, 302, 307, 308})
  void redirectsAreNeitherFollowedNorRetried(int status) throws Exception {
    receiver.statuses.add(status);

    Result result = sender.send(delivery("d-7", null)).get(10, SECONDS);

    assertThat(result.delivered()).isFalse();
    assertThat(result.attempts()).isEqualTo(1);
    assertThat(result.lastStatus()).isEqualTo(status);
    assertThat(result.error()).contains("redirects are not followed");
    assertThat(receiver.requests).extracting(r -> r.path).containsExactly("/hook");
  }

  @Test
  void aReceiverSlowerThanTheTimeoutIsRetriedThenGivenUp() throws Exception {
    receiver.hold = true;

    Result result = sender.send(delivery("d-8", null)).get(10, SECONDS);

    assertThat(result.delivered()).isFalse();
    assertThat(result.attempts()).isEqualTo(FAST.maxAttempts());
    assertThat(result.lastStatus()).isEqualTo(-1);
    assertThat(result.error()).contains("timeout");
  }

  @Test
  void aUrlThePolicyRefusesIsNotCalledNorRetried() throws Exception {
    try (WebhookSender strict = new WebhookSender(WebhookPolicy.parse(null), FAST)) {
      Result result = strict.send(delivery("d-9", "k")).get(10, SECONDS);

      assertThat(result.delivered()).isFalse();
      assertThat(result.attempts()).isEqualTo(1);
      assertThat(result.lastStatus()).isEqualTo(-1);
      assertThat(result.error())
          .startsWith("refused: ")
          .contains("loopback")
          .contains("webhookAllow");
      assertThat(receiver.requests).isEmpty();
    }
  }

  @Test
  void aRefusedConnectionIsRetriedThenGivenUp() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      closedPort = socket.getLocalPort();
    }
    URI url = URI.create("http://127.0.0.1:" + closedPort + "/hook");

    Result result = sender.send(new WebhookDelivery("d-10", url, null, BODY)).get(10, SECONDS);

    assertThat(result.delivered()).isFalse();
    assertThat(result.attempts()).isEqualTo(FAST.maxAttempts());
    assertThat(result.lastStatus()).isEqualTo(-1);
    assertThat(result.error()).contains("ConnectException");
  }

  @Test
  void closingEndsDeliveriesInFlight() throws Exception {
    receiver.hold = true;
    WebhookSender patient =
        new WebhookSender(
            LOOPBACK_ALLOWED,
            new Options(Duration.ofSeconds(30), 3, Duration.ofMillis(10), Duration.ofMillis(10)));
    CompletableFuture<Result> pending = patient.send(delivery("d-11", null));
    assertThat(receiver.entered.await(10, SECONDS)).as("the request reached the receiver").isTrue();

    patient.close();

    Result result = pending.get(10, SECONDS);
    assertThat(result.delivered()).isFalse();
    assertThat(result.error()).contains("closed");
    Result afterwards = patient.send(delivery("d-12", null)).get(10, SECONDS);
    assertThat(afterwards).isEqualTo(new Result(false, 0, -1, "the webhook sender is closed"));
  }

  @Test
  void sendNeverThrows() throws Exception {
    assertThat(sender.send(null).get(10, SECONDS).delivered()).isFalse();
  }

  @Test
  void backoffDoublesFromTheFirstUpToTheMaximumWithTwentyPercentJitter() {
    Options defaults = Options.defaults();
    assertThat(defaults)
        .isEqualTo(
            new Options(Duration.ofSeconds(5), 8, Duration.ofMillis(500), Duration.ofSeconds(60)));

    assertThat(WebhookSender.backoffMillis(defaults, 1, 0.5)).isEqualTo(500);
    assertThat(WebhookSender.backoffMillis(defaults, 2, 0.5)).isEqualTo(1_000);
    assertThat(WebhookSender.backoffMillis(defaults, 3, 0.5)).isEqualTo(2_000);
    assertThat(WebhookSender.backoffMillis(defaults, 7, 0.5)).isEqualTo(32_000);
    assertThat(WebhookSender.backoffMillis(defaults, 8, 0.5)).isEqualTo(60_000);
    assertThat(WebhookSender.backoffMillis(defaults, 1_000, 0.5)).isEqualTo(60_000);
    assertThat(WebhookSender.backoffMillis(defaults, 1, 0.0)).isEqualTo(400);
    assertThat(WebhookSender.backoffMillis(defaults, 1, 0.999_999)).isEqualTo(600);
    assertThat(WebhookSender.backoffMillis(defaults, 6, 0.999_999)).isEqualTo(19_200);
    assertThat(WebhookSender.backoffMillis(defaults, 7, 0.999_999)).isEqualTo(38_400);
    assertThat(WebhookSender.backoffMillis(defaults, 7, 0.0)).isEqualTo(25_600);
    assertThat(WebhookSender.backoffMillis(defaults, 8, 0.999_999)).isEqualTo(60_000);
    assertThat(WebhookSender.backoffMillis(defaults, 8, 0.0)).isEqualTo(48_000);
  }

  @Test
  void optionsAreValidated() {
    Duration ms = Duration.ofMillis(1);
    assertThatThrownBy(() -> new Options(Duration.ZERO, 1, ms, ms))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Options(ms, 0, ms, ms))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Options(ms, 1, ms.negated(), ms))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Options(ms, 1, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aDeliveryHidesItsSecretAndComparesItsBodyByContent() {
    URI url = URI.create("https://hooks.example/T0/B1/token");
    WebhookDelivery delivery = new WebhookDelivery("d", url, "s3cret", BODY);

    assertThat(delivery)
        .hasToString(
            "WebhookDelivery[id=d, host=hooks.example, signed=true, body="
                + BODY.length
                + " bytes]");
    assertThat(delivery).isEqualTo(new WebhookDelivery("d", url, "s3cret", BODY.clone()));
    assertThat(delivery.hashCode())
        .isEqualTo(new WebhookDelivery("d", url, "s3cret", BODY.clone()).hashCode());
    assertThatThrownBy(() -> new WebhookDelivery("d", url, "", BODY))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new WebhookDelivery("d\r\nX-Injected: 1", url, null, BODY))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private WebhookDelivery delivery(String id, String secret) {
    return new WebhookDelivery(id, receiver.url("/hook"), secret, BODY);
  }

  private static byte[] hmacSha256(String key, byte[] data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key.getBytes(UTF_8), "HmacSHA256"));
    return mac.doFinal(data);
  }

  private record Recorded(
      String method, String path, Map<String, List<String>> headers, byte[] body) {
    String header(String name) {
      List<String> values = headers.get(name);
      return values == null ? null : values.get(0);
    }
  }

  /**
   * Answers each request with the next status queued (200 once the queue is empty), or, while
   * {@code hold} is set, not at all until the test ends.
   */
  private static final class Receiver implements AutoCloseable {
    final Queue<Integer> statuses = new ConcurrentLinkedQueue<>();
    final List<Recorded> requests = new CopyOnWriteArrayList<>();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    volatile boolean hold;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final HttpServer server;

    Receiver() throws IOException {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 0);
      server.setExecutor(threads);
      server.createContext(
          "/",
          exchange -> {
            try (exchange;
                InputStream in = exchange.getRequestBody()) {
              // Headers is case-insensitive; a TreeMap copy keeps that for lookups in the test.
              Map<String, List<String>> headers =
                  new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
              headers.putAll(exchange.getRequestHeaders());
              requests.add(
                  new Recorded(
                      exchange.getRequestMethod(),
                      exchange.getRequestURI().getPath(),
                      headers,
                      in.readAllBytes()));
              if (hold) {
                entered.countDown();
                release.await();
                return;
              }
              Integer queued = statuses.poll();
              int status = queued == null ? 200 : queued;
              if (status >= 300 && status < 400) {
                exchange.getResponseHeaders().add("Location", "/elsewhere");
              }
              exchange.sendResponseHeaders(status, -1);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          });
      server.start();
    }

    URI url(String path) {
      return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    @Override
    public void close() {
      release.countDown();
      server.stop(0);
      threads.shutdownNow();
    }
  }
}
