package dev.aggregator.ingestion;

/**
 * Why one record of a request was rejected.
 *
 * @param index the record's position in its batch (0 for a single event)
 * @param field the offending field as a path ({@code timestamp}, {@code properties.device.os}), or
 *     {@code null} when the record as a whole is wrong (not an object, malformed JSON)
 * @param message a sentence a person can act on
 */
public record FieldError(int index, String field, String message) {}
