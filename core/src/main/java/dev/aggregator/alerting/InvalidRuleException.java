package dev.aggregator.alerting;

import java.util.List;

/** A rule the API refused, with every problem found (not just the first). */
public final class InvalidRuleException extends Exception {
  private static final long serialVersionUID = 1L;

  /**
   * @param field the offending field as a path ({@code threshold}, {@code notify[0].url})
   * @param message a sentence a person can act on
   */
  public record Problem(String field, String message) {}

  private final transient List<Problem> problems;

  public InvalidRuleException(List<Problem> problems) {
    super(
        problems.size() == 1
            ? problems.get(0).field() + ": " + problems.get(0).message()
            : problems.size() + " problems with the rule, the first: " + problems.get(0).message());
    this.problems = List.copyOf(problems);
  }

  public List<Problem> problems() {
    return problems;
  }
}
