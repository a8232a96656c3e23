package dev.aggregator.ingestion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.event.Event;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PrivacyTest {
  private static final String SECRET = "0123456789abcdef-secret";

  private static DecodedBatch decode(Privacy privacy, String ndjson) throws Exception {
    return new EventDecoder(
            IngestLimits.defaults(), () -> 1705314600000L, EventTypeAdmission.unbounded(), privacy)
        .decodeBatch(ndjson.getBytes(StandardCharsets.UTF_8), BodyFormat.NDJSON, "http");
  }

  @Test
  void pseudonymsAreStablePerUserDistinctAcrossUsersAndDependOnTheSecret() {
    Privacy p = Privacy.of(SECRET, Set.of());
    assertThat(p.pseudonym("user123")).isEqualTo(p.pseudonym("user123")).startsWith("p_");
    assertThat(p.pseudonym("user123")).hasSize(34).isNotEqualTo(p.pseudonym("user124"));
    assertThat(Privacy.of(SECRET + "x", Set.of()).pseudonym("user123"))
        .isNotEqualTo(p.pseudonym("user123"));
    assertThat(p.pseudonym(null)).isNull();
    assertThat(Privacy.none().pseudonym("user123")).isEqualTo("user123");
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      seen.add(p.pseudonym("u" + i));
    }
    assertThat(seen).as("unique counts stay exact").hasSize(100_000);
  }

  @Test
  void aShortSecretIsRefused() {
    assertThatThrownBy(() -> Privacy.of("short", Set.of())).hasMessageContaining("16 characters");
  }

  @Test
  void theDecoderStoresPseudonymsAndDropsDeniedPropertiesWithWhatIsNestedUnderThem()
      throws Exception {
    Privacy p = Privacy.of(SECRET, Set.of("email", " IP "));
    DecodedBatch b =
        decode(
            p,
            "{\"eventType\":\"buy\",\"userId\":\"alice\",\"timestamp\":1705314600000,"
                + "\"properties\":{\"Email\":\"a@example.com\",\"ip\":\"10.0.0.1\","
                + "\"email\":{\"work\":\"a@corp.example\"},\"emailed\":true,\"value\":3,"
                + "\"contact\":{\"Email\":\"b@corp.example\",\"ip\":{\"v4\":\"10.0.0.1\"},\"city\":\"Oslo\"}}}\n");
    assertThat(b.rejections()).isEmpty();
    Event e = b.events().get(0);
    assertThat(e.userId()).isEqualTo(p.pseudonym("alice")).doesNotContain("alice");
    assertThat(e.properties().toMap()).containsOnlyKeys("emailed", "value", "contact.city");
  }

  @Test
  void aDeniedNameMatchesAnyPartOfAKeyAndADeniedPathItsLeadingParts() {
    Privacy p = Privacy.of(null, Set.of("email", "billing.card"));
    assertThat(p.denies("EMAIL")).isTrue();
    assertThat(p.denies("email.work")).isTrue();
    assertThat(p.denies("contact.email")).isTrue();
    assertThat(p.denies("a.email.b")).isTrue();
    assertThat(p.denies("emailed")).isFalse();
    assertThat(p.denies("my_email")).isFalse();
    assertThat(p.denies("billing.card")).isTrue();
    assertThat(p.denies("billing.card.last4")).isTrue();
    assertThat(p.denies("billing.country")).isFalse();
    assertThat(p.denies("card")).isFalse();
    assertThat(Privacy.none().denies("email")).isFalse();
  }

  @Test
  void aRejectedRecordIsNotKeptAsSentWhilePrivacyIsOn() throws Exception {
    String bad = "{\"eventType\":\"bad type!\",\"userId\":\"alice\",\"timestamp\":1705314600000}\n";
    assertThat(decode(Privacy.of(SECRET, Set.of()), bad).rejections().get(0).raw())
        .isEqualTo(Privacy.WITHHELD);
    assertThat(decode(Privacy.of(null, Set.of("email")), bad).rejections().get(0).raw())
        .isEqualTo(Privacy.WITHHELD);
    assertThat(decode(Privacy.none(), bad).rejections().get(0).raw()).contains("alice");
  }
}
