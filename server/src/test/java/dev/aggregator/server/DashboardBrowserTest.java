package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web dashboard in real headless Chromium (Debian's chromium and chromedriver; {@code .ci/run}
 * installs them, and without them this test is skipped): the overview's chart follows ingestion
 * live, and an alert is created, triggered and acknowledged through the page. Screenshots go to
 * {@code target/screenshots/}.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

  @TempDir Path dir;
  private AggregatorServer server;
  private TestClient client;
  private WebDriver browser;
  private WebDriverWait wait;
  private final long now = System.currentTimeMillis();
  private int ids;

  @BeforeEach
  void start() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)");
    server = TestServers.start(dir.resolve("data"));
    client = new TestClient(server.port());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        "--user-data-dir=" + dir.resolve("chromium"));
    ChromeDriverService service =
        new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
    browser = new ChromeDriver(service, options);
    wait = new WebDriverWait(browser, Duration.ofSeconds(20));
  }

  @AfterEach
  void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (server != null) {
      server.close();
    }
  }

  private void signups(int n) {
    StringBuilder body = new StringBuilder();
    for (int i = 0; i < n; i++) {
      body.append("{\"id\":\"b")
          .append(ids++)
          .append("\",\"eventType\":\"signup\",\"timestamp\":")
          .append(now)
          .append("}\n");
    }
    assertThat(client.post("/api/events/batch", "application/x-ndjson", body.toString()).status())
        .isEqualTo(200);
  }

  private void screenshot(String name) throws Exception {
    File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Path out = Path.of("target", "screenshots");
    Files.createDirectories(out);
    Files.copy(shot.toPath(), out.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  /** Signs in on the page's form, as a user pasting a key does. */
  private void signIn(String key) {
    By input = By.cssSelector("#login-form input[name=key]");
    wait.until(ExpectedConditions.presenceOfElementLocated(input));
    browser.findElement(input).clear();
    browser.findElement(input).sendKeys(key);
    browser.findElement(By.cssSelector("#login-form button[type=submit]")).click();
  }

  @Test
  void theChartFollowsIngestionAndAnAlertIsAcknowledgedInThePage() throws Exception {
    String ops =
        client
            .postJson("/api/keys", "{\"name\":\"ops\",\"scopes\":[\"admin\"]}")
            .json()
            .get("key")
            .asText();
    browser.get("http://127.0.0.1:" + server.port() + "/");
    signIn("agg_not-a-key");
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.cssSelector("#login-form .error"), "not known"));
    signIn(ops);
    signups(3);
    By panel = By.cssSelector("section.panel[data-metric='signup_count']");
    // The overview lists the busiest event types once they have events: reload until it does.
    for (int i = 0; i < 50 && browser.findElements(panel).isEmpty(); i++) {
      browser.get("http://127.0.0.1:" + server.port() + "/");
      Thread.sleep(100);
    }
    wait.until(ExpectedConditions.attributeToBe(panel, "data-total", "3"));
    assertThat(browser.findElement(By.id("health-status")).getText()).isEqualTo("up");

    signups(2); // arrives over the WebSocket, no reload
    wait.until(ExpectedConditions.attributeToBe(panel, "data-total", "5"));
    assertThat(browser.findElement(panel).findElements(By.cssSelector("canvas"))).isNotEmpty();
    screenshot("overview");

    browser.findElement(By.id("nav-alerts")).click();
    wait.until(ExpectedConditions.presenceOfElementLocated(By.id("alert-form")));
    browser.findElement(By.cssSelector("#alert-form input[name=name]")).sendKeys("signup burst");
    browser.findElement(By.cssSelector("#alert-form input[name=metric]")).sendKeys("signup_count");
    new Select(browser.findElement(By.cssSelector("#alert-form select[name=condition]")))
        .selectByValue("greater_than");
    browser.findElement(By.cssSelector("#alert-form input[name=threshold]")).sendKeys("5");
    browser.findElement(By.cssSelector("#alert-form button[type=submit]")).click();

    By status = By.cssSelector("#alerts-table tr[data-alert-id] td.status");
    wait.until(ExpectedConditions.textToBe(status, "normal")); // 5 signups are not more than 5
    signups(1);
    wait.until(ExpectedConditions.textToBe(status, "triggered"));
    screenshot("alert-triggered");

    wait.until(
            ExpectedConditions.elementToBeClickable(
                By.cssSelector("#alerts-table button[data-action=acknowledged]")))
        .click();
    wait.until(ExpectedConditions.textToBe(status, "acknowledged"));
    screenshot("alert-acknowledged");

    String id =
        browser
            .findElement(By.cssSelector("#alerts-table tr[data-alert-id]"))
            .getAttribute("data-alert-id");
    assertThat(client.get("/api/alerts/" + id).json().get("acknowledgedBy").asText())
        .as("the key's name, not what the page says")
        .isEqualTo("ops");

    // Edit the rule in the page: 6 signups are far below 100, so it resolves.
    browser.findElement(By.cssSelector("#alerts-table button[data-edit]")).click();
    var threshold = browser.findElement(By.cssSelector("#alert-form input[name=threshold]"));
    threshold.clear();
    threshold.sendKeys("100");
    browser.findElement(By.cssSelector("#alert-form button[type=submit]")).click();
    wait.until(ExpectedConditions.textToBe(status, "resolved"));
    assertThat(client.get("/api/alerts/" + id).json().get("threshold").asDouble()).isEqualTo(100.0);
    screenshot("alert-edited");
  }
}
