package dev.aggregator.alerting;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSTs {@link WebhookDelivery webhook deliveries}, retrying with exponential backoff, so that an
 * alert survives a receiver's restart or a network blip instead of being lost on the first error.
 *
 * <p>Retries are for errors that may pass: no connection, a timeout, 408, 429 and 5xx. Anything
 * else (4xx, and 3xx since redirects are not followed: a redirect could point anywhere, past the
 * {@link WebhookPolicy}) will fail the same way again, so it ends the delivery at once. Before each
 * attempt the URL is checked against the policy again, because what a name resolves to can change
 * between attempts; a refusal is final.
 *
 * <p>Deliveries are at least once: a receiver whose response is lost gets the retry too, with the
 * same {@code X-Aggregator-Delivery} header to recognise it by. With a secret, each request carries
 * {@code X-Aggregator-Signature: sha256=<hex HMAC-SHA256 of the body>} (GitHub's convention, so
 * existing receiver code can verify it), proving the alert came from someone holding the secret.
 *
 * <p>Nothing blocks the caller: DNS lookups and requests run on a daemon pool (idle threads exit),
 * and backoff waits on one {@code webhook-retry} thread. Thread-safe. {@link #close()} stops both
 * and ends any unfinished delivery as not delivered.
 */
public final class WebhookSender implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookSender.class);
  private static final String SIGNATURE_ALGORITHM = "HmacSHA256";

  /**
   * How patient the sender is.
   *
   * @param timeout for connecting, and for the whole request (a receiver that accepts and never
   *     answers must not hold a delivery forever)
   * @param maxAttempts attempts in all, the first included
   * @param firstBackoff the wait after the first failure; it doubles after each further one
   * @param maxBackoff the longest wait between attempts
   */
  public record Options(
      Duration timeout, int maxAttempts, Duration firstBackoff, Duration maxBackoff) {
    public Options {
      Objects.requireNonNull(timeout, "timeout");
      Objects.requireNonNull(firstBackoff, "firstBackoff");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
      if (timeout.toMillis() <= 0) {
        throw new IllegalArgumentException("timeout must be at least 1 ms, not " + timeout);
      }
      if (maxAttempts < 1) {
        throw new IllegalArgumentException("maxAttempts must be at least 1, not " + maxAttempts);
      }
      if (firstBackoff.isNegative() || maxBackoff.compareTo(firstBackoff) < 0) {
        throw new IllegalArgumentException(
            "backoff must satisfy 0 <= firstBackoff <= maxBackoff, not "
                + firstBackoff
                + " and "
                + maxBackoff);
      }
    }

    /**
     * 5 s timeout, 8 attempts, backoff from 500 ms doubling up to 60 s: about a minute and a half
     * of retries (0.5+1+2+4+8+16+32 s of waits), long enough to ride out a receiver's restart.
     */
    public static Options defaults() {
      return new Options(Duration.ofSeconds(5), 8, Duration.ofMillis(500), Duration.ofSeconds(60));
    }
  }

  /**
   * How a delivery ended.
   *
   * @param delivered a 2xx answer was received
   * @param attempts attempts made, including one refused by the policy
   * @param lastStatus the last HTTP status received, or -1 if the last attempt got no response
   * @param error why the last attempt failed, for logs and the UI; null if delivered
   */
  public record Result(boolean delivered, int attempts, int lastStatus, String error) {}

  private final WebhookPolicy policy;
  private final Options options;
  private final ExecutorService workers;
  private final ScheduledThreadPoolExecutor scheduler;
  private final HttpClient client;
  private final Set<Run> running = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  public WebhookSender(WebhookPolicy policy, Options options) {
    this.policy = Objects.requireNonNull(policy, "policy");
    this.options = Objects.requireNonNull(options, "options");
    this.workers = Executors.newCachedThreadPool(daemonThreads("webhook-send-"));
    this.scheduler = new ScheduledThreadPoolExecutor(1, daemonThreads("webhook-retry"));
    // Every request arms a timeout watchdog that is usually cancelled: do not let them pile up.
    this.scheduler.setRemoveOnCancelPolicy(true);
    this.client =
        HttpClient.newBuilder()
            .followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(options.timeout())
            .executor(workers)
            .build();
  }

  /**
   * Starts delivering {@code delivery} and returns at once.
   *
   * @return completes with the {@link Result} once delivered or given up; never completes
   *     exceptionally, and this method never throws
   */
  public CompletableFuture<Result> send(WebhookDelivery delivery) {
    if (delivery == null) {
      return CompletableFuture.completedFuture(new Result(false, 0, -1, "no delivery given"));
    }
    Run run = new Run(delivery);
    running.add(run);
    if (closed) {
      run.finish(false, -1, "the webhook sender is closed");
    } else {
      run.startAttempt();
    }
    return run.result;
  }

  /**
   * The {@code X-Aggregator-Signature} header value for {@code body}: {@code sha256=} and the
   * lower-case hex HMAC-SHA256 of the exact bytes, keyed with the UTF-8 bytes of {@code secret}.
   * Public so that receivers (and tests) compute it the same way; compare it in constant time, e.g.
   * with {@link java.security.MessageDigest#isEqual}.
   */
  public static String signature(String secret, byte[] body) {
    Objects.requireNonNull(body, "body");
    if (secret == null || secret.isEmpty()) {
      throw new IllegalArgumentException("a webhook signature needs a non-empty secret");
    }
    try {
      Mac mac = Mac.getInstance(SIGNATURE_ALGORITHM);
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), SIGNATURE_ALGORITHM));
      return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every JDK, but failed", e);
    }
  }

  /** Stops the threads; deliveries still waiting or in flight complete as not delivered. */
  @Override
  public void close() {
    closed = true;
    for (Run run : running) {
      run.finish(false, -1, "the webhook sender was closed before the delivery finished");
    }
    scheduler.shutdownNow();
    workers.shutdownNow();
  }

  /**
   * The wait after failed attempt number {@code failedAttempt} (1-based): {@code firstBackoff *
   * 2^(failedAttempt-1)}, capped at {@code maxBackoff}, times a jitter factor from 0.8 to 1.2 (from
   * {@code random01} in [0, 1)) so that many deliveries failing together do not retry in lockstep;
   * never more than {@code maxBackoff}.
   */
  static long backoffMillis(Options options, int failedAttempt, double random01) {
    long first = options.firstBackoff().toMillis();
    long max = options.maxBackoff().toMillis();
    int doublings = Math.max(0, failedAttempt - 1);
    long base = doublings >= 62 || first > (max >> doublings) ? max : first << doublings;
    long jittered = Math.round(Math.min(base, max) * (0.8 + 0.4 * random01));
    return Math.min(jittered, max);
  }

  /** One delivery's progress through its attempts. */
  private final class Run {
    final WebhookDelivery delivery;
    final CompletableFuture<Result> result = new CompletableFuture<>();
    final AtomicInteger attempts = new AtomicInteger();

    Run(WebhookDelivery delivery) {
      this.delivery = delivery;
    }

    /** Runs the next attempt on a worker: it starts with a DNS lookup, which may block. */
    void startAttempt() {
      try {
        workers.execute(this::attempt);
      } catch (RejectedExecutionException e) {
        finish(false, -1, "the webhook sender is closed");
      }
    }

    private void attempt() {
      if (result.isDone()) {
        return;
      }
      int attempt = attempts.incrementAndGet();
      try {
        URI uri;
        try {
          uri = policy.check(delivery.url().toString());
        } catch (IllegalArgumentException e) {
          failed(attempt, -1, "refused: " + e.getMessage(), false);
          return;
        }
        HttpRequest request = request(uri);
        CompletableFuture<HttpResponse<Void>> response =
            client.sendAsync(request, HttpResponse.BodyHandlers.discarding());
        // HttpRequest.timeout may stop counting at the headers; this bounds the body as well.
        AtomicBoolean settled = new AtomicBoolean();
        ScheduledFuture<?> watchdog =
            scheduler.schedule(
                () -> {
                  if (settled.compareAndSet(false, true)) {
                    response.cancel(true);
                    failed(attempt, -1, timedOut(), true);
                  }
                },
                options.timeout().toMillis(),
                TimeUnit.MILLISECONDS);
        // On our pool: the JDK otherwise runs these on a fresh thread each time on small machines.
        response.whenCompleteAsync(
            (answer, error) -> {
              watchdog.cancel(false);
              if (settled.compareAndSet(false, true)) {
                if (error == null) {
                  answered(attempt, answer.statusCode());
                } else {
                  Throwable cause = unwrap(error);
                  failed(attempt, -1, describe(cause), cause instanceof IOException);
                }
              }
            },
            workers);
      } catch (RejectedExecutionException e) {
        finish(false, -1, "the webhook sender is closed");
      } catch (RuntimeException e) {
        // e.g. a URL the HTTP client will not take; it will not take it next time either.
        failed(attempt, -1, "could not send: " + describe(e), false);
      }
    }

    private HttpRequest request(URI uri) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri)
              .timeout(options.timeout())
              .header("Content-Type", "application/json")
              .header("User-Agent", "analytics-aggregator")
              .header("X-Aggregator-Delivery", delivery.deliveryId())
              .POST(HttpRequest.BodyPublishers.ofByteArray(delivery.body()));
      if (delivery.secret() != null) {
        request.header("X-Aggregator-Signature", signature(delivery.secret(), delivery.body()));
      }
      return request.build();
    }

    private void answered(int attempt, int status) {
      if (status >= 200 && status < 300) {
        LOG.info(
            "Webhook delivery {} to {} delivered on attempt {} (HTTP {})",
            delivery.deliveryId(),
            origin(),
            attempt,
            status);
        finish(true, status, null);
      } else if (status == 408 || status == 429 || status >= 500) {
        failed(attempt, status, "HTTP " + status, true);
      } else if (status >= 300 && status < 400) {
        failed(attempt, status, "HTTP " + status + " (redirects are not followed)", false);
      } else {
        failed(attempt, status, "HTTP " + status, false);
      }
    }

    private void failed(int attempt, int status, String reason, boolean retryable) {
      int max = options.maxAttempts();
      if (!retryable || attempt >= max) {
        LOG.warn(
            "Webhook delivery {} to {} attempt {}/{} failed: {}",
            delivery.deliveryId(),
            origin(),
            attempt,
            max,
            reason);
        LOG.warn(
            "Webhook delivery {} to {} given up after {} attempt(s){}: {}",
            delivery.deliveryId(),
            origin(),
            attempt,
            retryable ? "" : " (not retryable)",
            reason);
        finish(false, status, reason);
        return;
      }
      long delay = backoffMillis(options, attempt, ThreadLocalRandom.current().nextDouble());
      LOG.warn(
          "Webhook delivery {} to {} attempt {}/{} failed: {}; retrying in {} ms",
          delivery.deliveryId(),
          origin(),
          attempt,
          max,
          reason,
          delay);
      try {
        scheduler.schedule(this::startAttempt, delay, TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        finish(false, status, reason + "; then the webhook sender was closed");
      }
    }

    void finish(boolean delivered, int status, String error) {
      running.remove(this);
      result.complete(new Result(delivered, attempts.get(), status, error));
    }

    private String timedOut() {
      return "no complete response within the timeout of " + options.timeout().toMillis() + " ms";
    }

    private String describe(Throwable error) {
      if (error instanceof HttpTimeoutException) {
        // HttpConnectTimeoutException is one too; its message says which.
        return error.getMessage() + " (timeout " + options.timeout().toMillis() + " ms)";
      }
      String name = error.getClass().getSimpleName();
      for (Throwable t = error; t != null; t = t.getCause()) {
        if (t.getMessage() != null) {
          return name + ": " + t.getMessage();
        }
      }
      // HttpClient's ConnectException for a refused connection carries no message at all.
      return error instanceof ConnectException
          ? "could not connect (" + name + ")"
          : name + " (no detail given)";
    }

    /**
     * Scheme, host and port only: webhook URLs often carry their token in the path (Slack's do),
     * and logs are read by more people than the alert configuration.
     */
    private String origin() {
      URI url = delivery.url();
      return url.getScheme()
          + "://"
          + url.getHost()
          + (url.getPort() < 0 ? "" : ":" + url.getPort());
    }
  }

  private static Throwable unwrap(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static ThreadFactory daemonThreads(String name) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      String threadName = name.endsWith("-") ? name + count.incrementAndGet() : name;
      Thread thread = new Thread(runnable, threadName);
      thread.setDaemon(true);
      return thread;
    };
  }
}
