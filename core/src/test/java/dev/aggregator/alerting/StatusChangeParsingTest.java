package dev.aggregator.alerting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.aggregator.aggregation.Tier;
import org.junit.jupiter.api.Test;

/** The body of {@code PUT /api/alerts/{id}} with a {@code status}, as the server parses it. */
class StatusChangeParsingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final AlertRuleParser parser =
      new AlertRuleParser(WebhookPolicy.parse(null), Tier.DEFAULTS);

  @Test
  void anAcknowledgementWithEveryField() throws Exception {
    JsonNode body =
        JSON.readTree(
            "{\"status\":\"acknowledged\",\"by\":\"ops\",\"comment\":\"on it\",\"expiresIn\":\"1h\"}");
    assertThat(AlertRuleParser.isStatusChange(body)).isTrue();
    assertThat(parser.statusChange(body))
        .isEqualTo(new StatusChange(AlertStatus.ACKNOWLEDGED, "ops", "on it", 3_600_000));
    assertThat(parser.statusChange(JSON.readTree("{\"status\":\"resolved\"}")))
        .isEqualTo(new StatusChange(AlertStatus.RESOLVED, null, null, -1));
    assertThat(AlertRuleParser.isStatusChange(JSON.readTree("{\"threshold\":3}"))).isFalse();
  }

  @Test
  void everyProblemOfTheBodyIsReportedAtOnce() throws Exception {
    JsonNode body =
        JSON.readTree(
            "{\"status\":\"sleeping\",\"threshold\":3,\"by\":7,\"comment\":\""
                + "x".repeat(2_001)
                + "\",\"expiresIn\":\"1h\"}");
    assertThatThrownBy(() -> parser.statusChange(body))
        .isInstanceOfSatisfying(
            InvalidRuleException.class,
            e ->
                assertThat(e.problems())
                    .extracting(InvalidRuleException.Problem::field)
                    .containsExactly("threshold", "status", "by", "comment", "expiresIn"));
  }
}
