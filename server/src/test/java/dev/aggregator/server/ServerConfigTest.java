package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.aggregation.Granularity;
import dev.aggregator.aggregation.Tier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigTest {
  @TempDir Path dir;

  @Test
  void defaultsToLoopbackPort8080AndDataInTheWorkingDirectory() throws Exception {
    ServerConfig c = ServerConfig.load(new String[0], Map.of());
    assertThat(c.host()).isEqualTo("127.0.0.1");
    assertThat(c.port()).isEqualTo(8080);
    assertThat(c.engine().dataDir()).isEqualTo(Path.of("./data"));
    assertThat(c.engine().tiers()).isEqualTo(Tier.DEFAULTS);
    assertThat(c.engine().limits().maxEventBytes()).isEqualTo(32 * 1024);
  }

  @Test
  void theServersDefaultsAreTheEnginesDefaults() throws Exception {
    // Two tables of defaults (the settings' strings and EngineConfig's builder) must not drift.
    ServerConfig c = ServerConfig.load(new String[0], Map.of());
    assertThat(c.engine())
        .usingRecursiveComparison()
        .ignoringFields("privacy.macs") // a per-thread cache of MACs, not a setting
        .isEqualTo(dev.aggregator.EngineConfig.defaults(Path.of("./data")));
  }

  @Test
  void aggregationThreadsAreASettingAndZeroMeansOnePerCore() throws Exception {
    ServerConfig c = ServerConfig.load(new String[] {"--aggregation-threads", "3"}, Map.of());
    assertThat(c.engine().effectiveAggregationThreads()).isEqualTo(3);
    assertThat(ServerConfig.load(new String[0], Map.of()).engine().effectiveAggregationThreads())
        .isEqualTo(Math.min(Runtime.getRuntime().availableProcessors(), 8));
    assertThatThrownBy(
            () -> ServerConfig.load(new String[] {"--aggregation-threads", "65"}, Map.of()))
        .hasMessageContaining("aggregationThreads");
  }

  @Test
  void flagsWinOverEnvironmentWhichWinsOverTheConfigFile() throws Exception {
    Path file = dir.resolve("aggregator.properties");
    Files.writeString(file, "port=7000\nhost=0.0.0.0\nlateness=2m\n");

    ServerConfig c =
        ServerConfig.load(
            new String[] {"--config", file.toString(), "--port", "9000"},
            Map.of("AGGREGATOR_PORT", "8000", "AGGREGATOR_HOST", "10.0.0.1"));

    assertThat(c.port()).isEqualTo(9000);
    assertThat(c.host()).isEqualTo("10.0.0.1");
    assertThat(c.engine().lateness()).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void acceptsFlagEqualsValue() throws Exception {
    ServerConfig c =
        ServerConfig.load(new String[] {"--data-dir=/tmp/x", "--tiers=1m:1d,1h"}, Map.of());
    assertThat(c.engine().dataDir()).isEqualTo(Path.of("/tmp/x"));
    assertThat(c.engine().tiers())
        .containsExactly(
            new Tier(Granularity.M1, Duration.ofDays(1)), new Tier(Granularity.H1, null));
  }

  @Test
  void refusesUnknownOptionsAndBadValuesWithASentence() throws Exception {
    assertThatThrownBy(() -> ServerConfig.load(new String[] {"--prot", "1"}, Map.of()))
        .hasMessage("unknown option --prot; --help lists them");
    assertThatThrownBy(() -> ServerConfig.load(new String[] {"--port"}, Map.of()))
        .hasMessage("--port needs a value");
    assertThatThrownBy(() -> ServerConfig.load(new String[] {"--port", "99999"}, Map.of()))
        .hasMessage("port: 99999 is outside 0..65535");
    assertThatThrownBy(() -> ServerConfig.load(new String[] {"--lateness", "soon"}, Map.of()))
        .hasMessageContaining("lateness: 'soon' is not a duration");
    assertThatThrownBy(() -> ServerConfig.load(new String[] {"--max-in-flight", "10"}, Map.of()))
        .hasMessageContaining("maxInFlight (10) must be at least maxBatchEvents (10000)");
    Path file = dir.resolve("bad.properties");
    Files.writeString(file, "colour=blue\n");
    assertThatThrownBy(
            () -> ServerConfig.load(new String[] {"--config", file.toString()}, Map.of()))
        .hasMessageContaining("unknown key 'colour'");
  }

  @Test
  void theReadmeDocumentsEverySetting() throws Exception {
    String readme = Files.readString(Path.of("..", "README.md"));
    for (Setting s : Setting.values()) {
      String row =
          "| `"
              + s.key()
              + "` | `"
              + s.flag()
              + "` | `"
              + s.env()
              + "` | "
              + (s.defaultValue().isEmpty() ? "—" : "`" + s.defaultValue() + "`")
              + " | "
              + s.description()
              + " |";
      assertThat(readme).as("README row for %s", s.key()).contains(row);
    }
  }
}
