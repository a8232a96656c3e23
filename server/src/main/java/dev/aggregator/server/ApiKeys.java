package dev.aggregator.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The API keys of one data directory (docs/DESIGN.md §11), kept in {@code keys.json} as SHA-256
 * hashes: a secret is shown once, when it is made, and a copy of the file gives no one a key.
 * Secrets are 24 random bytes, so an unsalted hash is as strong as a salted one and a request costs
 * one digest (~1 µs), not a password hash.
 *
 * <pre>{@code
 * try (ApiKeys keys = ApiKeys.open(dataDir, null, 1000)) {
 *   ApiKeys.Created sdk = keys.create("sdk", Set.of(Scope.INGEST), 0, "admin");
 *   keys.authenticate(sdk.secret()); // the key, with its scopes
 * }
 * }</pre>
 *
 * <p>The file is only ever changed by the process holding {@code keys.lock}: the server while it
 * runs, or the {@code keys} command while the server is stopped.
 */
final class ApiKeys implements AutoCloseable {
  static final String FILE = "keys.json";
  static final String ADMIN_FILE = "admin.key";
  static final String LOCK_FILE = "keys.lock";

  /** Keys at most: each costs a little memory and a line on every listing. */
  static final int MAX_KEYS = 1_000;

  static final int MAX_NAME = 64;

  /** A key given with {@code adminKey} must be at least this long to be worth its name. */
  static final int MIN_CONFIGURED_KEY = 16;

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}");
  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * One key as stored: never its secret.
   *
   * @param rateLimit requests per second this key may make (bursts of as many); 0: no limit
   * @param configured given with {@code adminKey}: in memory only, not listed as deletable
   */
  record Key(
      String id,
      String name,
      Set<Scope> scopes,
      String sha256,
      long createdAt,
      String createdBy,
      int rateLimit,
      boolean configured) {
    boolean allows(Scope s) {
      return scopes.contains(Scope.ADMIN) || scopes.contains(s);
    }

    List<String> scopeLabels() {
      return scopes.stream().map(Scope::label).toList();
    }
  }

  /** A key just made, with the only copy of its secret. */
  record Created(Key key, String secret) {}

  /** Why a key cannot be made or deleted, as a sentence for a 4xx. */
  static final class KeyException extends Exception {
    private static final long serialVersionUID = 1L;
    final int status;
    final String field;

    KeyException(int status, String field, String message) {
      super(message);
      this.status = status;
      this.field = field;
    }
  }

  private final Path file;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final int defaultRate;
  private final Map<String, Key> byId = new LinkedHashMap<>(); // guarded by this
  private final Map<String, Key> byHash = new ConcurrentHashMap<>();
  private final Map<String, RateLimiter> limits = new ConcurrentHashMap<>();
  private final Path generatedAdminFile;

  private ApiKeys(
      Path dir, FileChannel lockChannel, FileLock lock, int defaultRate, String configured)
      throws IOException {
    this.file = dir.resolve(FILE);
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.defaultRate = defaultRate;
    if (Files.exists(file)) {
      for (JsonNode k : Http.JSON.readTree(file.toFile()).path("keys")) {
        Set<Scope> scopes = EnumSet.noneOf(Scope.class);
        k.path("scopes").forEach(s -> scopes.add(Scope.parse(s.asText())));
        add(
            new Key(
                k.path("id").asText(),
                k.path("name").asText(),
                scopes,
                k.path("sha256").asText(),
                k.path("createdAt").asLong(),
                k.path("createdBy").asText(),
                k.path("rateLimit").asInt(),
                false));
      }
    }
    Path adminFile = dir.resolve(ADMIN_FILE);
    if (configured != null) {
      add(
          new Key(
              "configured",
              "admin",
              EnumSet.of(Scope.ADMIN),
              sha256(configured),
              System.currentTimeMillis(),
              "adminKey",
              0,
              true));
      generatedAdminFile = null;
    } else if (!Files.exists(file)) {
      // First start without a configured key: make one an operator can read, and only they.
      // An admin.key without keys.json holds a secret no longer valid: replace it.
      Files.deleteIfExists(adminFile);
      Created admin = createLocked("admin", EnumSet.of(Scope.ADMIN), 0, "first start");
      writePrivate(adminFile, admin.secret() + "\n");
      generatedAdminFile = adminFile;
    } else {
      generatedAdminFile = Files.exists(adminFile) ? adminFile : null;
    }
  }

  /**
   * Opens the keys of {@code dir}, holding its lock until {@link #close()}.
   *
   * @param configuredAdmin a key that has admin scope while given ({@code adminKey}); null: the
   *     stored keys, and on the first start an admin key generated into {@code admin.key}
   * @param defaultRate requests per second of a key made without {@code rateLimit}; 0: none
   * @throws IOException if another process holds the lock, or the file cannot be read
   */
  static ApiKeys open(Path dir, String configuredAdmin, int defaultRate) throws IOException {
    if (configuredAdmin != null && configuredAdmin.length() < MIN_CONFIGURED_KEY) {
      throw new IOException("adminKey must be at least " + MIN_CONFIGURED_KEY + " characters long");
    }
    Files.createDirectories(dir);
    FileChannel ch =
        FileChannel.open(
            dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = ch.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException heldHere) {
      lock = null; // this JVM holds it already: a server in the same process
    } catch (IOException e) {
      ch.close();
      throw e;
    }
    if (lock == null) {
      ch.close();
      throw new IOException(
          "the keys of this data directory are held by another process (a running server?)");
    }
    try {
      return new ApiKeys(dir, ch, lock, defaultRate, configuredAdmin);
    } catch (IOException | RuntimeException e) {
      lock.release();
      ch.close();
      throw e instanceof IOException io ? io : new IOException("keys.json cannot be read", e);
    }
  }

  /** The file an admin key was generated into on the first start, if that is how it was made. */
  Optional<Path> generatedAdminFile() {
    return Optional.ofNullable(generatedAdminFile);
  }

  /** The key whose secret this is, or empty. */
  Optional<Key> authenticate(String secret) {
    return secret == null || secret.isEmpty()
        ? Optional.empty()
        : Optional.ofNullable(byHash.get(sha256(secret)));
  }

  /**
   * Takes one request from the key's budget.
   *
   * @return 0 if the request may go on, else the milliseconds until it may (for Retry-After)
   */
  long throttle(Key key, long nowNanos) {
    if (key.rateLimit() <= 0) {
      return 0;
    }
    return limits
        .computeIfAbsent(key.id(), id -> new RateLimiter(key.rateLimit()))
        .acquire(nowNanos);
  }

  synchronized List<Key> list() {
    return List.copyOf(byId.values());
  }

  /**
   * Makes a key and writes it (fsync) before answering.
   *
   * @param rateLimit requests per second; negative: the server's default
   */
  synchronized Created create(String name, Set<Scope> scopes, int rateLimit, String createdBy)
      throws KeyException, IOException {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new KeyException(
          400,
          "name",
          "a key needs a name of 1 to "
              + MAX_NAME
              + " letters, digits, spaces or ._@- (it names the key in the audit log)");
    }
    if (scopes == null || scopes.isEmpty()) {
      throw new KeyException(400, "scopes", "a key needs at least one of ingest, read, admin");
    }
    if (byId.size() >= MAX_KEYS) {
      throw new KeyException(
          409, "name", "there are " + MAX_KEYS + " keys already; delete one first");
    }
    return createLocked(name, scopes, rateLimit < 0 ? defaultRate : rateLimit, createdBy);
  }

  private Created createLocked(String name, Set<Scope> scopes, int rateLimit, String createdBy)
      throws IOException {
    byte[] random = new byte[24];
    RANDOM.nextBytes(random);
    String secret = "agg_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    byte[] idBytes = new byte[6];
    RANDOM.nextBytes(idBytes);
    Key key =
        new Key(
            "k_" + HexFormat.of().formatHex(idBytes),
            name,
            EnumSet.copyOf(scopes),
            sha256(secret),
            System.currentTimeMillis(),
            createdBy,
            rateLimit,
            false);
    add(key);
    try {
      save();
    } catch (IOException e) {
      remove(key);
      throw e;
    }
    return new Created(key, secret);
  }

  /**
   * Deletes a stored key; its requests get 401 from now on.
   *
   * @return false if there is no such key
   */
  synchronized boolean delete(String id) throws KeyException, IOException {
    Key key = byId.get(id);
    if (key == null) {
      return false;
    }
    if (key.configured()) {
      throw new KeyException(
          409, "id", "this key is given by the adminKey setting; restart without it instead");
    }
    boolean anotherAdmin =
        byId.values().stream().anyMatch(k -> k != key && k.scopes().contains(Scope.ADMIN));
    if (key.scopes().contains(Scope.ADMIN) && !anotherAdmin) {
      throw new KeyException(
          409, "id", "this is the last admin key; make another admin key before deleting it");
    }
    remove(key);
    try {
      save();
    } catch (IOException e) {
      add(key);
      throw e;
    }
    return true;
  }

  private void add(Key key) {
    byId.put(key.id(), key);
    byHash.put(key.sha256(), key);
  }

  private void remove(Key key) {
    byId.remove(key.id());
    byHash.remove(key.sha256());
    limits.remove(key.id());
  }

  /** keys.json, replaced atomically: a crash leaves the old file or the new one, never half. */
  private void save() throws IOException {
    ObjectNode root = Http.JSON.createObjectNode();
    ArrayNode list = root.putArray("keys");
    for (Key k : byId.values()) {
      if (k.configured()) {
        continue;
      }
      ObjectNode n = list.addObject();
      n.put("id", k.id());
      n.put("name", k.name());
      ArrayNode scopes = n.putArray("scopes");
      k.scopeLabels().forEach(scopes::add);
      n.put("sha256", k.sha256());
      n.put("createdAt", k.createdAt());
      n.put("createdBy", k.createdBy());
      n.put("rateLimit", k.rateLimit());
    }
    Path tmp = file.resolveSibling(FILE + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(Http.JSON.writeValueAsBytes(root)));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    }
  }

  /** Writes a file only its owner can read (0600), failing if it exists. */
  static void writePrivate(Path path, String text) throws IOException {
    try {
      Files.createFile(
          path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException notPosix) {
      Files.createFile(path);
    } catch (FileAlreadyExistsException e) {
      throw new IOException(path.getFileName() + " exists already; remove it or keep using it");
    }
    Files.writeString(path, text, StandardCharsets.UTF_8, StandardOpenOption.WRITE);
  }

  static String sha256(String secret) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** The key fields an API answer shows: never the hash. */
  static Map<String, Object> describe(Key k) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", k.id());
    m.put("name", k.name());
    m.put("scopes", new ArrayList<>(k.scopeLabels()));
    m.put("createdAt", java.time.Instant.ofEpochMilli(k.createdAt()).toString());
    m.put("createdBy", k.createdBy());
    m.put("rateLimit", k.rateLimit());
    m.put("configured", k.configured());
    return m;
  }

  @Override
  public void close() {
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      // the lock goes with the process anyway
    }
  }

  /**
   * A token bucket: {@code rate} requests a second, bursts of {@code rate}. One per key, shared by
   * every event loop, so a key's budget does not grow with the number of cores.
   */
  static final class RateLimiter {
    private final double perNano;
    private final double capacity;
    private double tokens;
    private long last = Long.MIN_VALUE;

    RateLimiter(int rate) {
      this.perNano = rate / 1e9;
      this.capacity = Math.max(1, rate);
      this.tokens = capacity;
    }

    synchronized long acquire(long now) {
      if (last != Long.MIN_VALUE) {
        tokens = Math.min(capacity, tokens + (now - last) * perNano);
      }
      last = now;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, (long) Math.ceil((1 - tokens) / perNano / 1e6));
    }
  }
}
