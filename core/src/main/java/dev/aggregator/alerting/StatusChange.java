package dev.aggregator.alerting;

/**
 * A request to move an alert through its lifecycle ({@code PUT /api/alerts/{id}} with a {@code
 * status}), parsed by {@link AlertRuleParser#statusChange}.
 *
 * @param target the status asked for
 * @param by who asks (the API key's name; null: {@code api})
 * @param comment why, or null
 * @param expiresInMillis for {@code acknowledged}: how long the acknowledgement holds, or -1
 */
public record StatusChange(AlertStatus target, String by, String comment, long expiresInMillis) {}
