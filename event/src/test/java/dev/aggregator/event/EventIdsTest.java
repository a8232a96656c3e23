package dev.aggregator.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class EventIdsTest {
  private static final long NOW = Timestamps.parseRfc3339("2026-12-03T12:00:00.123Z");

  @Test
  void isAVersion7UuidHoldingItsMillisecond() {
    UUID id = EventIds.newId(NOW);
    assertThat(id.version()).isEqualTo(7);
    assertThat(id.variant()).isEqualTo(2); // RFC 9562
    assertThat(EventIds.millisOf(id)).isEqualTo(NOW);
    assertThat(id.toString())
        .matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    assertThat(id.toString()).startsWith(String.format("%08x", NOW >>> 16));
  }

  @Test
  void idsOfOneMillisecondDifferAndLaterOnesSortAfter() {
    Set<UUID> ids = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      ids.add(EventIds.newId(NOW));
    }
    assertThat(ids).hasSize(100_000);
    assertThat(EventIds.newId(NOW + 1).toString()).isGreaterThan(EventIds.newId(NOW).toString());
  }
}
