package dev.aggregator.storage;

import dev.aggregator.event.Event;

/**
 * An event as the log holds it.
 *
 * @param sequence its position in the log, unique and increasing; names events without a client id
 * @param arrivalMillis when the server accepted it (drives the dedup window)
 * @param event the event
 */
public record LoggedEvent(long sequence, long arrivalMillis, Event event) {}
