package dev.aggregator.ingestion;

import dev.aggregator.event.Event;
import java.util.ArrayList;
import java.util.List;

/**
 * The outcome of decoding one request body.
 *
 * @param events the valid events, in request order
 * @param indexes the request index of each valid event ({@code indexes[i]} for {@code events[i]})
 * @param rejections the invalid records with their errors
 * @param received how many records the body held
 */
public record DecodedBatch(
    List<Event> events, int[] indexes, List<Rejection> rejections, int received) {

  /** {@link #errors(int)} with the default cap, {@link IngestLimits#MAX_ERRORS_PER_RESPONSE}. */
  public List<FieldError> errors() {
    return errors(IngestLimits.MAX_ERRORS_PER_RESPONSE);
  }

  /**
   * The field errors of the rejected records in request order, at most {@code max} ({@link
   * IngestLimits#maxErrorsPerResponse()}); past that, one last error counts the rest (each rejected
   * record is still in the dead letters with all of its reported errors).
   */
  public List<FieldError> errors(int max) {
    List<FieldError> out = new ArrayList<>();
    long more = 0;
    int firstOmitted = -1;
    for (Rejection r : rejections) {
      for (FieldError e : r.errors()) {
        if (out.size() < max) {
          out.add(e);
        } else if (more++ == 0) {
          firstOmitted = e.index();
        }
      }
    }
    if (more > 0) {
      out.add(
          new FieldError(
              firstOmitted,
              null,
              "… and "
                  + more
                  + " more errors from this event on ("
                  + rejections.size()
                  + " events rejected in all; GET /api/events/deadletters lists them)"));
    }
    return out;
  }
}
