package dev.massedge.bridge.api;

import dev.massedge.bridge.BridgeConfig;
import dev.massedge.sync.io.Durable;
import dev.massedge.sync.pkg.Hashes;
import io.micronaut.context.annotation.Context;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * API tokens and their roles: {@code admin} (everything) and {@code viewer} (read only). Tokens
 * come from {@code mass.bridge.admin-tokens} / {@code viewer-tokens}; with no admin token
 * configured, one is made on first start and kept in {@code <data>/admin-token} (owner-only) for
 * the CLI and the dashboard's login. Tokens are compared by hash in constant time and never logged:
 * a caller is named by the first characters of its token's hash.
 */
@Context
public final class Auth {
  private static final Logger log = LoggerFactory.getLogger(Auth.class);

  public enum Role {
    ADMIN,
    VIEWER
  }

  /** Who called: a role and a name safe to log and store. */
  public record Caller(Role role, String name) {}

  private record Token(byte[] sha, Role role) {}

  private final List<Token> tokens = new ArrayList<>();

  public Auth(BridgeConfig config) throws IOException {
    if (config.adminTokens() != null) {
      config.adminTokens().forEach(t -> add(t, Role.ADMIN));
    }
    if (config.viewerTokens() != null) {
      config.viewerTokens().forEach(t -> add(t, Role.VIEWER));
    }
    if (config.adminTokens() == null || config.adminTokens().isEmpty()) {
      Path file = Path.of(config.dataDir()).resolve("admin-token");
      if (!Files.exists(file)) {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        Files.createDirectories(file.getParent());
        Durable.replaceSecret(
            file, (HexFormat.of().formatHex(b) + "\n").getBytes(StandardCharsets.UTF_8));
        log.info("made an admin API token in {} (mass.bridge.admin-tokens replaces it)", file);
      }
      add(Files.readString(file).trim(), Role.ADMIN);
    }
  }

  private void add(String token, Role role) {
    if (token == null || token.length() < 16) {
      throw new IllegalArgumentException(
          "mass.bridge."
              + role.name().toLowerCase()
              + "-tokens: each token needs at least 16 characters");
    }
    tokens.add(new Token(sha(token), role));
  }

  private static byte[] sha(String token) {
    return HexFormat.of().parseHex(Hashes.sha256(token.getBytes(StandardCharsets.UTF_8)));
  }

  /** The caller for a bearer token, or null when it is not a token of this bridge. */
  public Caller check(String token) {
    if (token == null || token.isEmpty()) {
      return null;
    }
    byte[] h = sha(token);
    Caller found = null;
    for (Token t : tokens) {
      if (MessageDigest.isEqual(h, t.sha()) && found == null) {
        found =
            new Caller(
                t.role(), t.role().name().toLowerCase() + "-" + HexFormat.of().formatHex(h, 0, 3));
      }
    }
    return found;
  }
}
