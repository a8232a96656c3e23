package dev.aggregator.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.aggregator.storage.RollupStore;
import dev.aggregator.storage.StaleWriteException;
import dev.aggregator.storage.StoreBatch;
import java.io.IOException;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The {@link RollupStore} contract on a real PostgreSQL, and what partitions look like in it. */
class PostgresRollupStoreTest {
  /** Small partitions, so that short bucket ranges cross several. */
  private static final long[] SMALL = {4, 7, 1};

  private LocalPostgres pg;
  private String schema;
  private PostgresRollupStore store;

  @BeforeEach
  void open() throws Exception {
    pg = LocalPostgres.shared();
    schema = pg.newSchema();
    store = PostgresRollupStore.open(pg.jdbcUrl(), pg.properties(), schema, SMALL);
  }

  @AfterEach
  void close() {
    if (store != null) { // null when the test was skipped: no PostgreSQL here
      store.close();
    }
  }

  @Test
  void rowsAreReadBackByGetMultiGetAndScanInBucketOrderAcrossPartitions() throws IOException {
    write(
        b -> {
          for (long bucket : new long[] {9, 0, 3, 4, 5, 17}) {
            b.putRow(0, 42, bucket, bytes("r" + bucket));
          }
          b.putRow(0, 43, 5, bytes("other series"));
          b.putRow(1, 42, 5, bytes("other tier"));
        });

    assertThat(store.get(0, 42, 5)).isEqualTo(bytes("r5"));
    assertThat(store.get(0, 42, 6)).isNull();
    assertThat(store.multiGet(0, new int[] {42, 42, 43, 42}, new long[] {17, 6, 5, 0}, 4))
        .containsExactly(bytes("r17"), null, bytes("other series"), bytes("r0"));
    assertThat(scan(0, 42, 3, 17)).containsExactly("3=r3", "4=r4", "5=r5", "9=r9");
    assertThat(scan(0, 42, 0, Long.MAX_VALUE)).hasSize(6);
    assertThat(scan(1, 42, 0, 10)).containsExactly("5=other tier");
  }

  @Test
  void aScanCanReadJustTheLeadOfEachValue() throws IOException {
    write(b -> b.putRow(2, 1, 3, bytes("0123456789")));
    List<String> got = new ArrayList<>();
    store.scan(null, 2, 1, 0, 10, 4, (bucket, value) -> got.add(new String(value, UTF_8)));
    assertThat(got).containsExactly("0123");
  }

  @Test
  void aLaterPutOfTheSameRowInOneBatchWinsAndABatchIsAllOrNothing() throws IOException {
    write(
        b -> {
          b.putRow(0, 1, 1, bytes("first"));
          b.putRow(0, 1, 1, bytes("second"));
          b.putMeta("k", bytes("v"));
        });
    assertThat(store.get(0, 1, 1)).isEqualTo(bytes("second"));

    try (StoreBatch b = store.batch()) {
      b.putRow(0, 1, 1, bytes("third"));
      b.putMeta("k", bytes("w"));
      assertThatThrownBy(() -> b.putRow(7, 1, 1, bytes("x")))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> b.putRow(0, -1, 1, bytes("x")))
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(store.get(0, 1, 1))
        .as("a batch not written changes nothing")
        .isEqualTo(bytes("second"));
  }

  @Test
  void aConditionalWriteHappensOnlyOverTheValueItRequiresAlsoFromAnotherConnection()
      throws IOException {
    try (PostgresRollupStore other =
        PostgresRollupStore.open(pg.jdbcUrl(), pg.properties(), schema, SMALL)) {
      write(
          b -> {
            b.requireMeta("checkpoint", null);
            b.putMeta("checkpoint", bytes("1"));
            b.putRow(0, 1, 5, bytes("first"));
          });
      try (StoreBatch b = other.batch()) { // a second process, following checkpoint 1
        b.requireMeta("checkpoint", bytes("1"));
        b.putMeta("checkpoint", bytes("2"));
        b.putRow(0, 1, 5, bytes("second"));
        other.write(b);
      }
      for (byte[] stale : new byte[][] {bytes("1"), null}) {
        assertThatThrownBy(
                () ->
                    write(
                        b -> {
                          b.requireMeta("checkpoint", stale);
                          b.putMeta("checkpoint", bytes("3"));
                          b.putMeta("other", bytes("x"));
                          b.putRow(0, 1, 5, bytes("stale"));
                          b.putRow(0, 1, 900, bytes("in a new partition"));
                        }))
            .isInstanceOf(StaleWriteException.class)
            .hasMessageContaining("another writer committed");
      }
      assertThat(store.getMeta("checkpoint")).isEqualTo(bytes("2"));
      assertThat(store.getMeta("other")).isNull();
      assertThat(store.get(0, 1, 5)).isEqualTo(bytes("second"));
      assertThat(store.get(0, 1, 900)).isNull();
      write(b -> b.putRow(0, 1, 900, bytes("after"))); // its partition is made again
      assertThat(store.get(0, 1, 900)).isEqualTo(bytes("after"));
    }
  }

  @Test
  void aSnapshotDoesNotSeeLaterWrites() throws IOException {
    write(b -> b.putRow(0, 1, 1, bytes("old")));
    try (RollupStore.Snapshot s = store.snapshot()) {
      write(
          b -> {
            b.putRow(0, 1, 1, bytes("new"));
            b.putRow(0, 1, 2, bytes("added"));
          });
      List<String> seen = new ArrayList<>();
      store.scan(s, 0, 1, 0, 10, (bucket, v) -> seen.add(bucket + "=" + new String(v, UTF_8)));
      assertThat(seen).containsExactly("1=old");
    }
    assertThat(scan(0, 1, 0, 10)).containsExactly("1=new", "2=added");
  }

  @Test
  void metadataIsListedByPrefixInByteOrderAndDeleted() throws IOException {
    write(
        b -> {
          for (String k :
              List.of(
                  "catalog/0000000000000002",
                  "catalog/000000000000000a",
                  "catalog/0000000000000001",
                  "cataloh",
                  "alert/a/x",
                  "catalog/Zz",
                  "catalog/é")) {
            b.putMeta(k, bytes(k));
          }
        });
    write(b -> b.deleteMeta("catalog/Zz"));
    Map<String, byte[]> got = store.metaWithPrefix("catalog/");
    assertThat(got.keySet())
        .containsExactly(
            "catalog/0000000000000001",
            "catalog/0000000000000002",
            "catalog/000000000000000a",
            "catalog/é");
    assertThat(store.metaWithPrefix("catalog/", "catalog/0000000000000002").keySet())
        .as("from a key on: what a reader of the journal has not seen yet")
        .containsExactly("catalog/0000000000000002", "catalog/000000000000000a", "catalog/é");
  }

  @Test
  void retentionDropsWholePartitionsOfOneTier() throws Exception {
    write(
        b -> {
          for (long bucket = 0; bucket < 20; bucket++) {
            b.putRow(0, 1, bucket, bytes("t0/" + bucket));
            b.putRow(1, 1, bucket, bytes("t1/" + bucket));
          }
        });
    assertThat(partitions(0)).hasSize(5); // 4 buckets each
    long before = store.diskBytes();

    store.deleteBefore(0, 10); // partitions 0 and 1 (buckets 0-7) go; 8 and 9 stay with theirs

    assertThat(partitions(0)).hasSize(3);
    assertThat(scan(0, 1, 0, 20)).hasSize(12).first().isEqualTo("8=t0/8");
    assertThat(scan(1, 1, 0, 20)).as("another tier").hasSize(20);
    assertThat(store.diskBytes()).isPositive().isLessThan(before);
    store.deleteBefore(0, 10); // nothing more to drop
    assertThat(partitions(0)).hasSize(3);
  }

  private List<String> partitions(int tier) throws Exception {
    List<String> out = new ArrayList<>();
    try (var c = pg.connect();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    + " JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n"
                    + " ON n.oid = p.relnamespace WHERE n.nspname = '"
                    + schema
                    + "' AND p.relname = 'rollup_rows_t"
                    + tier
                    + "'")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  @FunctionalInterface
  private interface Filler {
    void fill(StoreBatch b);
  }

  private void write(Filler filler) throws IOException {
    try (StoreBatch b = store.batch()) {
      filler.fill(b);
      store.write(b);
    }
  }

  private List<String> scan(int tier, int series, long from, long to) throws IOException {
    List<String> out = new ArrayList<>();
    store.scan(tier, series, from, to, (bucket, v) -> out.add(bucket + "=" + new String(v, UTF_8)));
    return out;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(UTF_8);
  }
}
