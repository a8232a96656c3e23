package dev.aggregator.ingestion;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * What ingestion removes before an event is written anywhere (docs/DESIGN.md §11): a {@code userId}
 * replaced by a keyed pseudonym, and properties on a deny-list dropped. Both happen in the decoder,
 * so neither the log, the event store, a dead letter nor an export ever holds the original.
 *
 * <pre>{@code
 * Privacy p = Privacy.of("a long random secret", Set.of("email", "ip"));
 * p.pseudonym("user123"); // "p_5c0f…" (32 hex digits), the same for every event of user123
 * p.denies("email");      // true, and so do "email.work" and "contact.email"
 * }</pre>
 *
 * <p>The pseudonym is HMAC-SHA256 of the id under the secret, cut to 128 bits: stable, so unique
 * user counts stay what they were (two ids share a pseudonym with probability ~n²/2¹²⁹), and not
 * reversible or recomputable without the secret. Changing the secret splits every user in two.
 */
public final class Privacy {
  private static final Privacy NONE = new Privacy(null, Set.of());

  private final SecretKeySpec key;
  private final Set<String> denied;
  private final ThreadLocal<Mac> macs; // Mac is not thread-safe; decoders run on every event loop

  private Privacy(byte[] secret, Set<String> deniedProperties) {
    this.key = secret == null ? null : new SecretKeySpec(secret, "HmacSHA256");
    this.denied =
        deniedProperties.stream()
            .map(s -> s.strip().toLowerCase(Locale.ROOT))
            .filter(s -> !s.isEmpty())
            .collect(Collectors.toUnmodifiableSet());
    this.macs =
        ThreadLocal.withInitial(
            () -> {
              try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(key);
                return mac;
              } catch (GeneralSecurityException e) {
                throw new IllegalStateException("every JVM has HmacSHA256", e);
              }
            });
  }

  /** Keeps user ids and every property as sent. */
  public static Privacy none() {
    return NONE;
  }

  /**
   * @param userIdSecret the pseudonymisation secret (16 characters at least), or null to keep ids
   * @param deniedProperties property names dropped at ingest wherever they occur in a key, with
   *     everything nested under them; matched without regard to case
   */
  public static Privacy of(String userIdSecret, Set<String> deniedProperties) {
    if (userIdSecret != null && userIdSecret.length() < 16) {
      throw new IllegalArgumentException(
          "userIdSecret needs 16 characters at least, or pseudonyms could be guessed");
    }
    return new Privacy(
        userIdSecret == null ? null : userIdSecret.getBytes(StandardCharsets.UTF_8),
        deniedProperties);
  }

  /** What a dead letter of a rejected record keeps instead of its text while this is on. */
  public static final String WITHHELD =
      "(withheld: userIdSecret or denyProperties is set, so rejected records are not kept as sent)";

  public boolean pseudonymises() {
    return key != null;
  }

  /** True if ingestion changes anything: then rejected records' text is not kept either. */
  public boolean removesAnything() {
    return key != null || !denied.isEmpty();
  }

  /** The id as stored: its pseudonym when a secret is set, else the id itself. */
  public String pseudonym(String userId) {
    if (key == null || userId == null) {
      return userId;
    }
    byte[] h = macs.get().doFinal(userId.getBytes(StandardCharsets.UTF_8));
    return "p_" + HexFormat.of().formatHex(h, 0, 16);
  }

  /**
   * True if a property of this (flattened, dotted) key is dropped: when a denied name is one of its
   * parts ({@code email} drops {@code email}, {@code email.work} and {@code contact.email}) or a
   * leading path of it ({@code contact.email} drops {@code contact.email.work}).
   */
  public boolean denies(String key) {
    if (denied.isEmpty()) {
      return false;
    }
    String k = key.toLowerCase(Locale.ROOT);
    if (denied.contains(k)) {
      return true;
    }
    int from = 0;
    for (int dot = k.indexOf('.'); dot >= 0; dot = k.indexOf('.', dot + 1)) {
      if (denied.contains(k.substring(0, dot)) || denied.contains(k.substring(from, dot))) {
        return true;
      }
      from = dot + 1;
    }
    return denied.contains(k.substring(from));
  }
}
