package dev.aggregator.cluster.flink;

import java.io.Serializable;
import java.time.Duration;
import java.util.Properties;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.ParameterTool;

/**
 * Cluster mode's aggregation: the {@code events} topic that ingest servers write ({@code
 * KafkaEventLog}) into rollups in PostgreSQL that query servers read ({@code StoredRollups}).
 *
 * <pre>
 * events (Kafka, read_committed)
 *   → keyBy(eventType) → RollupFunction: clients' retries dropped (keyed state, TTL = dedup
 *                        window); one RollupEngine per key group = rollup partition, committed
 *                        to PostgreSQL schema {prefix}{partition} at each checkpoint
 * </pre>
 *
 * <p>Run on a Flink cluster with the job jar ({@code aggregator-cluster-*-job.jar}):
 *
 * <pre>
 * flink run -c dev.aggregator.cluster.flink.RollupJob aggregator-cluster-0.1.0-SNAPSHOT-job.jar \
 *   --bootstrap kafka:9092 --topic events --jdbc jdbc:postgresql://pg:5432/aggregator \
 *   --jdbc-user aggregator --jdbc-password ... --partitions 32 --parallelism 4
 * </pre>
 *
 * {@code --partitions} is the job's maximum parallelism and the number of rollup schemas: a
 * savepoint fixes it for good (Flink cannot change a job's maximum parallelism from a savepoint),
 * and query servers must be told the same number. Parallelism may change at any restart from a
 * savepoint, up to it.
 */
public final class RollupJob {
  private RollupJob() {}

  /** A clock Flink can ship to the task managers. */
  @FunctionalInterface
  public interface Clock extends LongSupplier, Serializable {}

  /** What the job needs; shipped to every subtask. */
  public static final class Options implements Serializable {
    private static final long serialVersionUID = 1L;

    public String bootstrapServers;
    public String topic = "events";
    public String groupId = "aggregator-rollups"; // offsets committed for monitoring only
    public String jdbcUrl;
    public Properties jdbcProperties = new Properties();
    public String schemaPrefix = "rollups_p";
    public int partitions = 32;
    public int parallelism = 1;
    public Duration checkpointInterval = Duration.ofSeconds(5);
    public Duration dedupWindow = Duration.ofHours(24);
    public Duration lateness = Duration.ofMinutes(1);
    public String combinations = "";
    public long maxMemoryRows = 2_000_000;
    public boolean bounded; // stop at the offsets the topic had at start (tests, backfills)
    public Clock clock = System::currentTimeMillis;

    /** The PostgreSQL schema rollup partition {@code p} writes. */
    public String schema(int p) {
      return schemaPrefix + p;
    }
  }

  public static void main(String[] args) throws Exception {
    ParameterTool params = ParameterTool.fromArgs(args);
    Options o = new Options();
    o.bootstrapServers = params.getRequired("bootstrap");
    o.topic = params.get("topic", o.topic);
    o.groupId = params.get("group", o.groupId);
    o.jdbcUrl = params.getRequired("jdbc");
    if (params.has("jdbc-user")) {
      o.jdbcProperties.setProperty("user", params.get("jdbc-user"));
    }
    if (params.has("jdbc-password")) {
      o.jdbcProperties.setProperty("password", params.get("jdbc-password"));
    }
    o.schemaPrefix = params.get("schema-prefix", o.schemaPrefix);
    o.partitions = params.getInt("partitions", o.partitions);
    o.parallelism = params.getInt("parallelism", o.parallelism);
    o.checkpointInterval =
        Duration.ofMillis(params.getLong("checkpoint-ms", o.checkpointInterval.toMillis()));
    o.dedupWindow = Duration.ofMillis(params.getLong("dedup-ms", o.dedupWindow.toMillis()));
    o.lateness = Duration.ofMillis(params.getLong("lateness-ms", o.lateness.toMillis()));
    o.combinations = params.get("rollups", o.combinations);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    build(env, o, UnaryOperator.identity());
    env.execute("aggregator rollups");
  }

  /**
   * Adds the job to {@code env}.
   *
   * @param tap applied to the source's stream before it is keyed by type, chained to the source so
   *     that each Kafka partition's order holds (tests inject a failure there; identity otherwise)
   */
  public static void build(
      StreamExecutionEnvironment env, Options o, UnaryOperator<DataStream<LogRecord>> tap) {
    if (o.partitions < 1 || o.partitions > dev.aggregator.aggregation.SeriesIds.MAX_PARTITIONS) {
      throw new IllegalArgumentException("partitions: 1 to 1024, got " + o.partitions);
    }
    env.setMaxParallelism(o.partitions);
    env.setParallelism(Math.min(o.parallelism, o.partitions));
    env.enableCheckpointing(o.checkpointInterval.toMillis(), CheckpointingMode.EXACTLY_ONCE);

    var source =
        KafkaSource.<LogRecord>builder()
            .setBootstrapServers(o.bootstrapServers)
            .setTopics(o.topic)
            .setGroupId(o.groupId)
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setProperty("isolation.level", "read_committed") // never an aborted append's records
            .setDeserializer(new LogRecordDeserializer());
    if (o.bounded) {
      source.setBounded(OffsetsInitializer.latest());
    }
    DataStream<LogRecord> records =
        env.fromSource(source.build(), WatermarkStrategy.noWatermarks(), "events").uid("events");
    tap.apply(records)
        .keyBy(r -> r.eventType)
        .process(new RollupFunction(o))
        .uid("rollups")
        .name("rollups")
        .sinkTo(new DiscardingSink<>())
        .name("committed in PostgreSQL");
  }
}
