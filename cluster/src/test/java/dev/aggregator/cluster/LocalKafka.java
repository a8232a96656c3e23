package dev.aggregator.cluster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real Kafka broker for tests: KRaft, broker and controller in this JVM, on free loopback ports,
 * started once per test JVM. Topics are created with {@link #createTopic}, which waits until every
 * partition's leader answers (creating returns before: an idempotent producer sending at once can
 * fail for good).
 */
public final class LocalKafka {
  private static LocalKafka shared;

  private final KafkaRaftServer server;
  private final String bootstrap;
  private final Path dir;

  private LocalKafka(KafkaRaftServer server, String bootstrap, Path dir) {
    this.server = server;
    this.bootstrap = bootstrap;
    this.dir = dir;
  }

  public static synchronized LocalKafka shared() throws IOException {
    if (shared == null) {
      shared = start();
      LocalKafka k = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(k::stop, "kafka-stop"));
    }
    return shared;
  }

  private static LocalKafka start() throws IOException {
    Path dir = Files.createTempDirectory("aggregator-kafka");
    int broker = freePort();
    int controller = freePort();
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controller);
    p.put("listeners", "PLAINTEXT://127.0.0.1:" + broker + ",CONTROLLER://127.0.0.1:" + controller);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + broker);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", dir.resolve("data").toString());
    p.put("offsets.topic.replication.factor", "1");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("num.partitions", "1");
    Path config = dir.resolve("server.properties");
    try (Writer w = Files.newBufferedWriter(config)) {
      p.store(w, null);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc =
        kafka.tools.StorageTool$.MODULE$.execute(
            new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", config.toString()},
            new PrintStream(out));
    if (rc != 0) {
      throw new IOException("formatting Kafka's storage failed: " + out);
    }
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(p, false), Time.SYSTEM);
    server.startup();
    return new LocalKafka(server, "127.0.0.1:" + broker, dir);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  public String bootstrap() {
    return bootstrap;
  }

  public Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap));
  }

  /** Creates {@code topic} and returns once each of its partitions answers an offset request. */
  public void createTopic(String topic, int partitions) throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
      for (int attempt = 0; ; attempt++) {
        try {
          Map<TopicPartition, OffsetSpec> all = new java.util.HashMap<>();
          for (int i = 0; i < partitions; i++) {
            all.put(new TopicPartition(topic, i), OffsetSpec.latest());
          }
          admin.listOffsets(all).all().get();
          return;
        } catch (java.util.concurrent.ExecutionException notYet) {
          if (attempt == 100) {
            throw notYet;
          }
          Thread.sleep(100);
        }
      }
    }
  }

  private void stop() {
    server.shutdown();
    server.awaitShutdown();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temp dir left behind
    }
  }
}
