package dev.aggregator.event;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** {@link Timestamps} agrees with {@code java.time} on every RFC 3339 date-time it accepts. */
class TimestampsTest {
  /** 9999-12-31T23:59:59Z less the largest offset, so that the local year keeps four digits. */
  private static final long MAX_EPOCH_SECOND = 253_402_300_799L - 18 * 3600;

  private static final long SAMPLE = Instant.parse("2024-01-15T10:30:00Z").toEpochMilli();

  @Property(tries = 3000)
  void parsesLikeOffsetDateTime(
      @ForAll @LongRange(min = 0, max = MAX_EPOCH_SECOND) long epochSecond,
      @ForAll @IntRange(min = 0, max = 999_999_999) int nanos,
      @ForAll @IntRange(min = -18 * 60, max = 18 * 60) int offsetMinutes,
      @ForAll @IntRange(min = 0, max = 9) int fractionDigits,
      @ForAll boolean zulu) {
    ZoneOffset offset = ZoneOffset.ofTotalSeconds(zulu ? 0 : offsetMinutes * 60);
    String text = rfc3339(epochSecond, nanos, fractionDigits, offset, zulu);
    long want =
        OffsetDateTime.parse(text).toInstant().truncatedTo(ChronoUnit.MILLIS).toEpochMilli();

    assertThat(Timestamps.parseRfc3339(text)).as("parseRfc3339(%s)", text).isEqualTo(want);
  }

  @Example
  void maxEpochSecondIs9999EndLessEighteenHours() {
    assertThat(Instant.ofEpochSecond(MAX_EPOCH_SECOND)).isEqualTo("9999-12-31T05:59:59Z");
  }

  @Property
  void parsesWhatItFormats(
      @ForAll @LongRange(min = 0, max = 253_402_300_799_999L) long epochMillis) {
    String text = Timestamps.format(epochMillis);

    assertThat(Timestamps.parseRfc3339(text)).as("parseRfc3339(%s)", text).isEqualTo(epochMillis);
  }

  @Property
  void countsDaysLikeLocalDate(@ForAll @IntRange(min = 0, max = 3_652_424) int daysSinceYearZero) {
    // 0000-01-01 .. 9999-12-31
    LocalDate date = LocalDate.of(0, 1, 1).plusDays(daysSinceYearZero);

    assertThat(Timestamps.daysFromCivil(date.getYear(), date.getMonthValue(), date.getDayOfMonth()))
        .as("days of %s", date)
        .isEqualTo(date.toEpochDay());
  }

  @Example
  void parsesTheSeedSample() {
    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00Z")).isEqualTo(SAMPLE);
  }

  @Example
  void rejectsDateTimeWithoutOffset() {
    assertInvalid("2024-01-15T10:30:00");
    assertInvalid("2024-01-15T10:30:00.123");
    assertInvalid("2024-01-15T10:30:00.123456789");
  }

  @Example
  void rejectsMonthThirteenAndMonthZero() {
    assertInvalid("2024-13-15T10:30:00Z");
    assertInvalid("2024-00-15T10:30:00Z");
  }

  @Example
  void rejectsDayZeroAndDaysPastTheEndOfTheMonth() {
    assertInvalid("2024-01-00T10:30:00Z");
    assertInvalid("2024-01-32T10:30:00Z");
    assertInvalid("2024-04-31T10:30:00Z");
    assertInvalid("2024-02-30T10:30:00Z");
  }

  @Example
  void rejectsFebruary29InANonLeapYear() {
    assertInvalid("2023-02-29T00:00:00Z");
    assertInvalid("1900-02-29T00:00:00Z"); // divisible by 100, not by 400
    assertInvalid("2100-02-29T00:00:00Z");
  }

  @Example
  void acceptsFebruary29InALeapYear() {
    assertParsesLikeJavaTime("2024-02-29T12:00:00Z");
    assertParsesLikeJavaTime("2000-02-29T00:00:00Z"); // divisible by 400
    assertParsesLikeJavaTime("1972-02-29T23:59:59.999Z");
  }

  @Example
  void rejectsTimeOutOfRange() {
    assertInvalid("2024-01-15T24:00:00Z");
    assertInvalid("2024-01-15T10:60:00Z");
    assertInvalid("2024-01-15T10:30:61Z");
  }

  @Example
  void acceptsLowercaseTAndZ() {
    assertThat(Timestamps.parseRfc3339("2024-01-15t10:30:00z")).isEqualTo(SAMPLE);
    assertThat(Timestamps.parseRfc3339("2024-01-15t10:30:00Z")).isEqualTo(SAMPLE);
    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00z")).isEqualTo(SAMPLE);
  }

  @Example
  void acceptsSpaceAsTheDateTimeSeparator() {
    assertThat(Timestamps.parseRfc3339("2024-01-15 10:30:00Z")).isEqualTo(SAMPLE);
    assertThat(Timestamps.parseRfc3339("2024-01-15 12:30:00.5+02:00")).isEqualTo(SAMPLE + 500);
  }

  @Example
  void rejectsOtherDateTimeSeparators() {
    assertInvalid("2024-01-15_10:30:00Z");
    assertInvalid("2024-01-15X10:30:00Z");
    assertInvalid("2024/01/15T10:30:00Z");
    assertInvalid("2024-01-15T10.30.00Z");
  }

  @Example
  void rejectsTrailingGarbage() {
    assertInvalid("2024-01-15T10:30:00Zx");
    assertInvalid("2024-01-15T10:30:00ZZ");
    assertInvalid("2024-01-15T10:30:00Z ");
    assertInvalid("2024-01-15T10:30:00+02:00x");
    assertInvalid("2024-01-15T10:30:00+02:00:00");
    assertInvalid("2024-01-15T10:30:00.123Zgarbage");
  }

  @Example
  void rejectsLeadingGarbage() {
    assertInvalid(" 2024-01-15T10:30:00Z");
    assertInvalid("+2024-01-15T10:30:00Z");
    assertInvalid("12024-01-15T10:30:00Z");
  }

  @Example
  void rejectsMalformedFractionsAndOffsets() {
    assertInvalid("2024-01-15T10:30:00.Z");
    assertInvalid("2024-01-15T10:30:00,5Z");
    assertInvalid("2024-01-15T10:30:00.5x5Z");
    assertInvalid("2024-01-15T10:30:00+0200");
    assertInvalid("2024-01-15T10:30:00+02");
    assertInvalid("2024-01-15T10:30:00+2:00");
    assertInvalid("2024-01-15T10:30:00+24:00");
    assertInvalid("2024-01-15T10:30:00+02:60");
    assertInvalid("2024-01-15T10:30:00 +02:00");
    assertInvalid("2024-01-15T10:30:00UTC");
  }

  @Example
  void rejectsShortAndNonNumericText() {
    assertInvalid("");
    assertInvalid("2024-01-15");
    assertInvalid("2024-01-15T10:30Z");
    assertInvalid("2024-01-15T10:30:0Z");
    assertInvalid("yyyy-mm-ddThh:mm:ssZ");
    assertInvalid("2024-01-15T1a:30:00Z");
    assertInvalid("2024-0١-15T10:30:00Z"); // a non-ASCII digit
  }

  @Example
  void acceptsOffsetsUpTo23Hours59Minutes() {
    long offset = (23 * 3600 + 59 * 60) * 1000L;

    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00+23:59")).isEqualTo(SAMPLE - offset);
    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00-23:59")).isEqualTo(SAMPLE + offset);
  }

  @Example
  void acceptsNegativeZeroOffset() {
    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00-00:00")).isEqualTo(SAMPLE);
  }

  @Example
  void fractionOfAnyLengthIsTruncatedToMilliseconds() {
    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00.9999999999999999999999Z"))
        .isEqualTo(SAMPLE + 999);
    assertThat(Timestamps.parseRfc3339("2024-01-15T10:30:00.0009Z")).isEqualTo(SAMPLE);
  }

  @Example
  void leapSecondLandsOnTheNextMinutesFirstSecond() {
    assertThat(Timestamps.parseRfc3339("2016-12-31T23:59:60Z"))
        .isEqualTo(Instant.parse("2017-01-01T00:00:00Z").toEpochMilli());
    assertThat(Timestamps.parseRfc3339("2016-12-31T23:59:60.5Z"))
        .isEqualTo(Instant.parse("2017-01-01T00:00:00.500Z").toEpochMilli());
    assertThat(Timestamps.parseRfc3339("2016-12-31T18:59:60-05:00"))
        .isEqualTo(Instant.parse("2017-01-01T00:00:00Z").toEpochMilli());
  }

  @Example
  void parsesDatesBefore1970AsNegativeMillis() {
    assertParsesLikeJavaTime("1969-12-31T23:59:59.999Z");
    assertParsesLikeJavaTime("0000-01-01T00:00:00Z");
    assertParsesLikeJavaTime("1970-01-01T00:30:00+01:00");
  }

  @Example
  void parsesTheLastRepresentableSecond() {
    assertParsesLikeJavaTime("9999-12-31T23:59:59.999999999Z");
    assertParsesLikeJavaTime("9999-12-31T23:59:59-18:00");
  }

  @Example
  void formatsUtcMilliseconds() {
    assertThat(Timestamps.format(SAMPLE)).isEqualTo("2024-01-15T10:30:00Z");
    assertThat(Timestamps.format(SAMPLE + 120)).isEqualTo("2024-01-15T10:30:00.120Z");
    assertThat(Timestamps.format(0)).isEqualTo("1970-01-01T00:00:00Z");
  }

  private static void assertInvalid(String text) {
    assertThat(Timestamps.parseRfc3339(text))
        .as("parseRfc3339(\"%s\"): want INVALID", text)
        .isEqualTo(Timestamps.INVALID);
  }

  private static void assertParsesLikeJavaTime(String text) {
    // java.time has no leap seconds and takes neither lowercase nor a space; these tests avoid them
    long want =
        OffsetDateTime.parse(text).toInstant().truncatedTo(ChronoUnit.MILLIS).toEpochMilli();

    assertThat(Timestamps.parseRfc3339(text)).as("parseRfc3339(%s)", text).isEqualTo(want);
  }

  /** The RFC 3339 text of an instant at an offset, with {@code fractionDigits} of its nanos. */
  private static String rfc3339(
      long epochSecond, int nanos, int fractionDigits, ZoneOffset offset, boolean zulu) {
    LocalDateTime local = LocalDateTime.ofEpochSecond(epochSecond, 0, offset);
    StringBuilder s =
        new StringBuilder(
            String.format(
                "%04d-%02d-%02dT%02d:%02d:%02d",
                local.getYear(),
                local.getMonthValue(),
                local.getDayOfMonth(),
                local.getHour(),
                local.getMinute(),
                local.getSecond()));
    if (fractionDigits > 0) {
      s.append('.').append(String.format("%09d", nanos), 0, fractionDigits);
    }
    s.append(zulu ? "Z" : offset.getTotalSeconds() == 0 ? "+00:00" : offset.getId());
    return s.toString();
  }
}
