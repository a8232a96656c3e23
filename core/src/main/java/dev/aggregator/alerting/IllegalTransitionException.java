package dev.aggregator.alerting;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A person asked for a status change the lifecycle does not allow (the API answers 409). The
 * message names what is allowed instead, so the caller can fix the request without reading docs.
 */
public final class IllegalTransitionException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final AlertStatus from;
  private final AlertStatus to;
  private final List<AlertStatus> allowed;

  public IllegalTransitionException(AlertStatus from, AlertStatus to, List<AlertStatus> allowed) {
    super(message(from, to, allowed));
    this.from = from;
    this.to = to;
    this.allowed = List.copyOf(allowed);
  }

  private static String message(AlertStatus from, AlertStatus to, List<AlertStatus> allowed) {
    String head = "cannot move an alert from " + wire(from) + " to " + wire(to) + "; ";
    if (allowed.isEmpty()) {
      return head + "nothing can be requested from " + wire(from);
    }
    return head
        + "allowed from "
        + wire(from)
        + ": "
        + allowed.stream().map(AlertStatus::wire).collect(Collectors.joining(", "));
  }

  private static String wire(AlertStatus s) {
    return s == null ? "null" : s.wire();
  }

  /** The alert's current status. */
  public AlertStatus from() {
    return from;
  }

  /** The status asked for. */
  public AlertStatus to() {
    return to;
  }

  /** The targets a request would accept from {@link #from()}, in enum order; may be empty. */
  public List<AlertStatus> allowed() {
    return allowed;
  }
}
