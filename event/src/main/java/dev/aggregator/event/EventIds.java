package dev.aggregator.event;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ids the server gives events that came without one: UUIDv7 (RFC 9562) — 48 bits of the arrival
 * time in ms, then 74 random bits. Any server, any partition, any process assigns them without
 * coordination (a log sequence number would repeat across Kafka partitions), they sort by arrival,
 * and two collide with probability ~2^-74 within one millisecond.
 */
public final class EventIds {
  private EventIds() {}

  /** A new UUIDv7 for an event that arrived at {@code epochMillis}. */
  public static UUID newId(long epochMillis) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long msb = (epochMillis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL); // version 7
    long lsb = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L; // variant
    return new UUID(msb, lsb);
  }

  /** The arrival time a {@link #newId} holds. */
  public static long millisOf(UUID id) {
    return id.getMostSignificantBits() >>> 16;
  }
}
