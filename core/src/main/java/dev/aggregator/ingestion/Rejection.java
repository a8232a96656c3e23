package dev.aggregator.ingestion;

import java.util.List;

/**
 * A record that failed validation: its errors and (a bounded prefix of) the JSON it arrived as, so
 * the dead-letter log can show what was sent.
 */
public record Rejection(int index, List<FieldError> errors, String raw) {}
