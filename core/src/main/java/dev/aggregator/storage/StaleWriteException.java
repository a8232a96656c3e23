package dev.aggregator.storage;

import java.io.IOException;

/**
 * A conditional write was refused: a key it {@linkplain MetaBatch#requireMeta required} held
 * something else, because another writer committed in between. Retrying the same batch cannot
 * succeed; the writer must reload what the store holds.
 */
public final class StaleWriteException extends IOException {
  public StaleWriteException(String message) {
    super(message);
  }
}
