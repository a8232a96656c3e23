package dev.aggregator.server;

import java.util.Locale;

/**
 * Every configuration setting, with its default and what it means.
 *
 * <p>Each is settable in three ways, strongest first: a flag ({@code --data-dir DIR}), an
 * environment variable ({@code AGGREGATOR_DATA_DIR}), or a line of the config file ({@code
 * dataDir=DIR}). The README's configuration table is this enum.
 */
enum Setting {
  HOST("host", "127.0.0.1", "Address to listen on; 0.0.0.0 for every interface"),
  PORT("port", "8080", "HTTP port; 0 picks a free one"),
  DATA_DIR("dataDir", "./data", "Where the event log, the rollup store and dead letters live"),
  CONFIG("config", "", "A config file of key=value lines (keys as in this table)"),
  MAX_EVENT_BYTES("maxEventBytes", "32768", "Largest event, in bytes of JSON"),
  MAX_BATCH_EVENTS("maxBatchEvents", "10000", "Most events in one batch"),
  MAX_BATCH_BYTES("maxBatchBytes", "5242880", "Largest batch body, in bytes"),
  MAX_FUTURE_SKEW("maxFutureSkew", "5m", "How far ahead of the server clock a timestamp may be"),
  MAX_ERRORS_PER_EVENT(
      "maxErrorsPerEvent",
      "10",
      "Field errors reported per invalid event; the rest are counted in one \"… and N more\""),
  MAX_ERRORS_PER_RESPONSE(
      "maxErrorsPerResponse",
      "100",
      "Field errors listed in one ingest answer; the rest are counted (dead letters keep them)"),
  LATENESS("lateness", "1m", "How far behind the newest event time an event counts as late"),
  TIERS(
      "tiers",
      "1s:6h:totals,1m:30d,1h,1d",
      "Rollup tiers: resolution[:retention[:totals]]; no retention keeps forever; totals keeps exact totals only"),
  MAX_MEMORY_ROWS(
      "maxMemoryRows",
      "2000000",
      "Rollup rows held in memory between checkpoints; half of it calls a checkpoint early"),
  MAX_MEMORY_BYTES(
      "maxMemoryBytes",
      "0",
      "Heap those rows may take with their sketches (estimated), 0 for a quarter of -Xmx; half of it"
          + " calls a checkpoint early, all of it holds aggregation (and so ingestion: 429) back until"
          + " one is done"),
  AGGREGATION_THREADS(
      "aggregationThreads",
      "0",
      "Threads updating rollup rows in parallel, each owning the series of one shard; 0 for one per"
          + " core (at most 8)"),
  CHECKPOINT_INTERVAL(
      "checkpointInterval",
      "10s",
      "How often rollups are made durable; a restart replays at most this much"),
  MAX_EVENT_TYPES("maxEventTypes", "10000", "Event types at most; events of further types fail"),
  MAX_DIMENSIONS(
      "maxDimensions",
      "32",
      "Dimension keys per event type (at most 64); further keys are ignored"),
  ROLLUPS(
      "rollups",
      "",
      "Declared combinations kept as rollups besides one series per dimension value, e.g."
          + " country+device,page+country; queries on other key sets read the raw events"),
  MAX_DIMENSION_VALUES(
      "maxDimensionValues",
      "100000",
      "Values per dimension of an event type kept as rollup series; queries that need later"
          + " values are answered from the raw events"),
  MAX_DIMENSION_VALUE_BYTES(
      "maxDimensionValueBytes",
      "8388608",
      "Bytes (UTF-8) of the values kept per dimension of an event type, a second bound besides"
          + " maxDimensionValues"),
  MAX_CATALOG_BYTES(
      "maxCatalogBytes",
      "268435456",
      "Estimated memory of every dimension key, field name and value kept for the rollups, across"
          + " event types; past it new ones are left out of the rollups (answers stay exact from"
          + " the raw events) and health says degraded"),
  MAX_SERIES_PER_EVENT_TYPE(
      "maxSeriesPerEventType",
      "100000",
      "Series per declared combination of an event type; queries that need later ones are"
          + " answered from the raw events"),
  EVENT_RETENTION(
      "eventRetention",
      "forever",
      "How long raw events are kept (by event time, whole days); queries that need them refuse"
          + " older ranges"),
  EVENT_DISK_BUDGET(
      "eventDiskBudget",
      "10737418240",
      "Bytes of raw event files at most; the oldest days are dropped first (0: no bound)"),
  MAX_FIELDS(
      "maxFields", "256", "Numeric fields per event type; further fields are not summarized"),
  DEDUP_WINDOW("dedupWindow", "24h", "How long a client event id is remembered"),
  DEDUP_MAX_IDS("dedupMaxIds", "5000000", "Client ids remembered at most (~22 bytes each)"),
  MAX_INGEST_REQUESTS(
      "maxIngestRequests", "64", "Ingest requests being read at once, at most; then 429"),
  MAX_QUERIES("maxQueries", "64", "Queries waiting or running at once, at most; then 429"),
  BODY_TIMEOUT(
      "bodyTimeout", "10s", "How long a request body may take to arrive; then 408 and closed"),
  IDLE_TIMEOUT("idleTimeout", "60s", "How long a connection may stay idle; then closed"),
  MAX_CONNECTIONS(
      "maxConnections", "4096", "Open connections at most; further ones get 503 and are closed"),
  MAX_CONNECTIONS_PER_ADDRESS(
      "maxConnectionsPerAddress",
      "512",
      "Open connections from one client address at most; further ones get 503 and are closed"),
  MAX_IN_FLIGHT(
      "maxInFlight", "200000", "Events accepted but not yet aggregated, at most; then 429"),
  DEAD_LETTER_CAPACITY("deadLetterCapacity", "10000", "Dead letters kept"),
  WAL_SEGMENT_BYTES("walSegmentBytes", "67108864", "Size of one write-ahead log segment"),
  WAL_RETENTION_BYTES(
      "walRetentionBytes",
      "8589934592",
      "Log kept behind the last checkpoint (for dedup after a restart), at most"),
  MAX_QUERY_POINTS("maxQueryPoints", "11000", "Output buckets one query may span, at most"),
  MAX_ALERTS("maxAlerts", "10000", "Alert rules at most"),
  MAX_LIVE_POINTS_PER_CONNECTION(
      "maxLivePointsPerConnection",
      "250000",
      "Points (series × buckets) the live subscriptions of one WebSocket connection may keep, at most; a subscription past it is refused"),
  MAX_LIVE_POINTS(
      "maxLivePoints",
      "2000000",
      "Points the live subscriptions of every connection may keep together (~70 bytes each), at most; a subscription past it is refused"),
  ALLOWED_HOSTS(
      "allowedHosts",
      "",
      "Host names requests may address besides localhost, 127.0.0.1, ::1 and the bind address (comma list, or *); others get 421"),
  ALLOWED_ORIGINS(
      "allowedOrigins",
      "",
      "Web origins allowed to open /ws/analytics (comma list, e.g. https://dash.example.com, or *); empty: the server's own origin only"),
  ADMIN_KEY(
      "adminKey",
      "",
      "An admin API key for automation (16 characters at least); empty: the stored keys, and on"
          + " the first start an admin key generated into admin.key (0600) in the data directory"),
  KEY_RATE_LIMIT(
      "keyRateLimit",
      "1000",
      "Requests per second an API key may make, unless it was created with its own rateLimit"
          + " (0: no limit); then 429 with Retry-After"),
  TLS_CERT("tlsCert", "", "PEM certificate (chain) file; with tlsKey the server speaks HTTPS only"),
  TLS_KEY("tlsKey", "", "PEM private key file of tlsCert"),
  USER_ID_SECRET(
      "userIdSecret",
      "",
      "A secret (16 characters at least) to replace every userId at ingest by its keyed pseudonym"
          + " (HMAC-SHA256); unique counts do not change; empty: ids kept as sent"),
  DENY_PROPERTIES(
      "denyProperties",
      "",
      "Property names dropped at ingest wherever they are part of a key, with everything nested"
          + " under them, any case (comma list,"
          + " e.g. email,ip,phone)"),
  MODE(
      "mode",
      "embedded",
      "embedded: the whole product in this process; cluster: a stateless server of a cluster (ingest"
          + " into Kafka, rollups from the Flink job in PostgreSQL; README, Cluster mode)"),
  KAFKA("kafka", "", "Cluster mode: Kafka bootstrap servers, host:port,..."),
  KAFKA_TOPIC("kafkaTopic", "events", "Cluster mode: the events topic the Flink job reads"),
  POSTGRES_URL(
      "postgresUrl",
      "",
      "Cluster mode: JDBC URL of the PostgreSQL the Flink job writes rollups to"),
  POSTGRES_USER("postgresUser", "", "Cluster mode: PostgreSQL user (the job's --jdbc-user)"),
  POSTGRES_PASSWORD(
      "postgresPassword", "", "Cluster mode: PostgreSQL password (the job's --jdbc-password)"),
  ROLLUP_PARTITIONS(
      "rollupPartitions", "32", "Cluster mode: the job's --partitions, one PostgreSQL schema each"),
  SCHEMA_PREFIX(
      "schemaPrefix",
      "rollups_p",
      "Cluster mode: the job's --schema-prefix (partition p: prefix+p)"),
  WEBHOOK_ALLOW(
      "webhookAllow",
      "",
      "Private, loopback or link-local hosts and CIDRs that alert webhooks may call (e.g. 127.0.0.0/8); others are refused");

  private final String key;
  private final String defaultValue;
  private final String description;

  Setting(String key, String defaultValue, String description) {
    this.key = key;
    this.defaultValue = defaultValue;
    this.description = description;
  }

  /** The config file key, e.g. {@code dataDir}. */
  String key() {
    return key;
  }

  /** The flag, e.g. {@code --data-dir}. */
  String flag() {
    return "--" + key.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  /** The environment variable, e.g. {@code AGGREGATOR_DATA_DIR}. */
  String env() {
    return "AGGREGATOR_" + key.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
  }

  String defaultValue() {
    return defaultValue;
  }

  String description() {
    return description;
  }

  static Setting byFlag(String flag) {
    for (Setting s : values()) {
      if (s.flag().equals(flag)) {
        return s;
      }
    }
    return null;
  }

  static Setting byKey(String key) {
    for (Setting s : values()) {
      if (s.key.equals(key)) {
        return s;
      }
    }
    return null;
  }
}
