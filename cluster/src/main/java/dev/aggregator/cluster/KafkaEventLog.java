package dev.aggregator.cluster;

import dev.aggregator.storage.EventCodec;
import dev.aggregator.storage.EventLog;
import dev.aggregator.storage.LogFullException;
import dev.aggregator.storage.LogStats;
import dev.aggregator.storage.RecordBuffer;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event log as a Kafka topic, for cluster mode: what ingest servers append to and the Flink job
 * reads. An append completes once Kafka has the records on every in-sync replica ({@code
 * acks=all}), so a client's 2xx means Kafka acknowledged.
 *
 * <p><b>Group commit onto Kafka transactions.</b> One writer thread takes every append waiting (up
 * to {@link Options#maxGroupBytes}) and sends them in one Kafka transaction: all of a group is in
 * the topic or none of it, exactly as a failed fsync fails a whole group of the embedded log. So an
 * append answered with an error is never counted later (readers use {@code
 * isolation.level=read_committed}), and a producer that Kafka has fenced (another server started
 * with the same transactional id) fails instead of writing beside it. The producer is idempotent,
 * as transactions require.
 *
 * <p><b>Records.</b> Value: the event's {@link EventCodec} payload, the same bytes the embedded log
 * holds. Key: the 8-byte hash of the client's id (so a client's retries land in one partition,
 * where the job's dedup state for that id lives); null for ids the server assigned, which Kafka's
 * sticky partitioner spreads.
 *
 * <p><b>Budget.</b> At most {@link Options#maxInFlightBytes} wait or are being sent; an append past
 * it fails at once with {@link LogFullException} (the server answers 429), never blocking an event
 * loop. There is no single order across partitions: appends complete with {@link #NO_SEQUENCE};
 * positions are per partition ({@code LogPosition}).
 */
public final class KafkaEventLog implements EventLog {
  private static final Logger LOG = LoggerFactory.getLogger(KafkaEventLog.class);

  /** What an append completes with: a partitioned log has no one sequence of records. */
  public static final long NO_SEQUENCE = -1;

  /**
   * @param bootstrapServers the brokers, {@code host:port,...}
   * @param topic the events topic (created by the operator or {@code cluster/local.sh})
   * @param transactionalId unique per running server; a second producer with the same id fences the
   *     first
   * @param maxInFlightBytes bytes waiting or being sent, at most
   * @param maxGroupBytes bytes sent in one transaction, at most (one append may exceed it alone)
   * @param deliveryTimeout how long a group may take before it fails (Kafka's {@code
   *     delivery.timeout.ms} and the transaction's timeouts)
   * @param producer further producer settings (security, compression), applied last
   */
  public record Options(
      String bootstrapServers,
      String topic,
      String transactionalId,
      long maxInFlightBytes,
      int maxGroupBytes,
      Duration deliveryTimeout,
      Map<String, Object> producer) {

    public static Options defaults(String bootstrapServers, String topic, String transactionalId) {
      return new Options(
          bootstrapServers,
          topic,
          transactionalId,
          64L << 20,
          4 << 20,
          Duration.ofSeconds(30),
          Map.of());
    }
  }

  private record Append(byte[] records, int length, int count, CompletableFuture<Long> done) {}

  private final Options options;
  private final Producer<byte[], byte[]> producer;
  private final BlockingQueue<Append> queue = new LinkedBlockingQueue<>();
  private final AtomicLong inFlightBytes = new AtomicLong();
  private final AtomicLong records = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicLong commits = new AtomicLong();
  private final Thread writer;
  private volatile boolean closed;
  private volatile Throwable failure;

  private KafkaEventLog(Options options, Producer<byte[], byte[]> producer) {
    this.options = options;
    this.producer = producer;
    this.writer = new Thread(this::writeLoop, "kafka-log-writer");
    this.writer.setDaemon(true);
  }

  /**
   * Connects, registers the transactional id (fencing an older producer with it) and starts the
   * writer.
   */
  public static KafkaEventLog open(Options options) {
    Map<String, Object> config = new HashMap<>();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, options.bootstrapServers());
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, options.transactionalId());
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.LINGER_MS_CONFIG, 0); // the group is the batch
    config.put(
        ProducerConfig.BUFFER_MEMORY_CONFIG, Math.max(32L << 20, 2 * options.maxInFlightBytes()));
    int timeout = (int) options.deliveryTimeout().toMillis();
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeout);
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(timeout, 30_000));
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
    config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, Math.max(timeout, 60_000));
    config.putAll(options.producer());
    KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
    try {
      producer.initTransactions();
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
    KafkaEventLog log = new KafkaEventLog(options, producer);
    log.writer.start();
    return log;
  }

  @Override
  public CompletableFuture<Long> append(byte[] records, int length, int count) {
    CompletableFuture<Long> done = new CompletableFuture<>();
    if (closed || failure != null) {
      done.completeExceptionally(
          new IllegalStateException(
              "the Kafka event log is " + (closed ? "closed" : "failed: " + failure)));
      return done;
    }
    if (inFlightBytes.addAndGet(length) > options.maxInFlightBytes() && length > 0) {
      inFlightBytes.addAndGet(-length);
      done.completeExceptionally(
          new LogFullException(
              "the Kafka event log has "
                  + options.maxInFlightBytes()
                  + " bytes in flight (its budget); retry shortly"));
      return done;
    }
    queue.add(new Append(records, length, count, done));
    return done;
  }

  private void writeLoop() {
    List<Append> group = new ArrayList<>();
    while (!closed || !queue.isEmpty()) {
      try {
        Append first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        group.add(first);
        long groupBytes = first.length();
        Append next;
        while (groupBytes < options.maxGroupBytes() && (next = queue.peek()) != null) {
          group.add(queue.poll());
          groupBytes += next.length();
        }
        commit(group, groupBytes);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        closed = true;
      } finally {
        group.clear();
      }
    }
  }

  private void commit(List<Append> group, long groupBytes) {
    Throwable error = failure;
    if (error == null) {
      try {
        int n = 0;
        producer.beginTransaction();
        for (Append a : group) {
          n += send(a);
        }
        producer.commitTransaction(); // flushes; returns once every record is acknowledged
        records.addAndGet(n);
        bytes.addAndGet(groupBytes);
        commits.incrementAndGet();
      } catch (ProducerFencedException
          | InvalidProducerEpochException
          | OutOfOrderSequenceException
          | AuthorizationException e) {
        // Fatal for this producer: another server took its transactional id (fenced: Kafka says
        // so as either exception, depending on which request noticed), or it may not write.
        failure = e;
        LOG.error("the Kafka event log can no longer write: {}", e.toString());
        error = e;
      } catch (KafkaException e) {
        error = e;
        try {
          producer.abortTransaction();
        } catch (KafkaException abortFailed) {
          failure = abortFailed;
          LOG.error("aborting a Kafka transaction failed: {}", abortFailed.toString());
        }
      }
    }
    for (Append a : group) {
      inFlightBytes.addAndGet(-a.length());
      if (error == null) {
        a.done().complete(NO_SEQUENCE);
      } else {
        a.done().completeExceptionally(error);
      }
    }
  }

  /** Sends an append's records (framed as {@link RecordBuffer} writes them); returns how many. */
  private int send(Append a) {
    ByteBuffer in = ByteBuffer.wrap(a.records(), 0, a.length());
    int n = 0;
    while (in.remaining() >= RecordBuffer.HEADER_BYTES) {
      int length = in.getInt();
      in.getInt(); // the frame's CRC: Kafka checksums its own batches
      byte[] payload = new byte[length];
      in.get(payload);
      producer.send(new ProducerRecord<>(options.topic(), keyOf(payload), payload));
      n++;
    }
    return n;
  }

  /** The client id's hash, big-endian, or null for an id the server assigned (or none). */
  static byte[] keyOf(byte[] payload) {
    long[] hash = {0};
    boolean[] has = {false};
    EventCodec.readIdAndArrival(
        0,
        ByteBuffer.wrap(payload),
        (sequence, arrival, hasId, idHash) -> {
          has[0] = hasId;
          hash[0] = idHash;
        });
    return has[0] ? ByteBuffer.allocate(8).putLong(hash[0]).array() : null;
  }

  /** Always {@link #NO_SEQUENCE}: positions in a topic are per partition. */
  @Override
  public long nextSequence() {
    return NO_SEQUENCE;
  }

  /** Records and bytes committed, transactions as syncs; no segments or disk of its own. */
  @Override
  public LogStats stats() {
    return new LogStats(
        NO_SEQUENCE, records.get(), bytes.get(), commits.get(), 0, 0, 0, failure != null);
  }

  /** Commits what was appended, then closes the producer. */
  @Override
  public void close() {
    closed = true;
    try {
      writer.join(options.deliveryTimeout().toMillis() + 5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.close(options.deliveryTimeout());
  }
}
