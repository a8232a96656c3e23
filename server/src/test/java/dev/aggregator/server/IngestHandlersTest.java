package dev.aggregator.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class IngestHandlersTest {
  private static long lines(String body) {
    return IngestHandlers.lines(body.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void countsTheNonBlankLinesOfAnNdjsonBody() {
    assertThat(lines("{}")).isEqualTo(1);
    assertThat(lines("{}\n")).isEqualTo(1);
    assertThat(lines("{}\r\n{}\r\n")).isEqualTo(2);
    assertThat(lines("{}\n\n  \n\t\n{}")).isEqualTo(2);
    assertThat(lines("\n\n")).isZero();
    assertThat(lines("")).isZero();
  }
}
