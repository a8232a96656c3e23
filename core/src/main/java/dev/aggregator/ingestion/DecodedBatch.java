package dev.aggregator.ingestion;

import dev.aggregator.event.Event;
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

  /** All field errors of all rejected records, in request order. */
  public List<FieldError> errors() {
    return rejections.stream().flatMap(r -> r.errors().stream()).toList();
  }
}
