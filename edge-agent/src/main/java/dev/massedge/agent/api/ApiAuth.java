package dev.massedge.agent.api;

import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.exceptions.ConfigurationException;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may call the agent's HTTP API. {@code mass.agent.api-auth}: {@code token} (the default) wants
 * {@code Authorization: Bearer <token>} on every call but the liveness and readiness probes ({@code
 * /v2/health/live}, {@code /v2/health/ready}); {@code loopback} (development, opt-in) lets callers
 * on this machine in without one and still wants it from anyone else. Tokens come from {@code
 * mass.agent.api-tokens}, or else from {@code mass.agent.api-token-file} ({@code data/api-token},
 * made with a random token on first start, mode 600). Tokens are kept and compared as SHA-256
 * hashes and never logged.
 */
@Context // at start: a bad setting stops the agent, the token file exists before the first call
public final class ApiAuth {
  private static final Logger log = LoggerFactory.getLogger(ApiAuth.class);
  private static final List<String> OPEN = List.of("/v2/health/live", "/v2/health/ready");
  private final boolean loopbackOpen;
  private final List<byte[]> hashes = new ArrayList<>();

  public ApiAuth(
      @Value("${mass.agent.api-auth:token}") String mode,
      @Nullable @Value("${mass.agent.api-tokens}") List<String> tokens,
      @Value("${mass.agent.api-token-file:data/api-token}") String tokenFile) {
    if (!mode.equals("token") && !mode.equals("loopback")) {
      throw new ConfigurationException(
          "mass.agent.api-auth must be 'token' or 'loopback' (development), got '" + mode + "'");
    }
    this.loopbackOpen = mode.equals("loopback");
    if (tokens != null && !tokens.isEmpty()) {
      for (int i = 0; i < tokens.size(); i++) {
        if (tokens.get(i) == null || tokens.get(i).length() < 16) {
          throw new ConfigurationException(
              "mass.agent.api-tokens[" + i + "] is shorter than 16 characters");
        }
        hashes.add(sha256(tokens.get(i)));
      }
      log.info("agent API: {} token(s) from mass.agent.api-tokens{}", tokens.size(), modeNote());
    } else {
      Path file = Path.of(tokenFile);
      try {
        hashes.add(sha256(readOrMake(file)));
      } catch (IOException e) {
        throw new ConfigurationException(
            "mass.agent.api-token-file: cannot read or make " + file + ": " + e.getMessage(), e);
      }
      log.info("agent API: token in {}{}", file.toAbsolutePath(), modeNote());
    }
  }

  private String modeNote() {
    return loopbackOpen
        ? "; callers on this machine need none (mass.agent.api-auth: loopback)"
        : "";
  }

  private static String readOrMake(Path file) throws IOException {
    if (Files.exists(file)) {
      String t = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (t.length() < 16) {
        throw new IOException("the token in it is shorter than 16 characters");
      }
      return t;
    }
    byte[] raw = new byte[24];
    new SecureRandom().nextBytes(raw);
    String t = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    Files.createDirectories(file.toAbsolutePath().getParent());
    dev.massedge.sync.io.Durable.replaceSecret(file, (t + "\n").getBytes(StandardCharsets.UTF_8));
    return t;
  }

  static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  boolean valid(@Nullable String token) {
    if (token == null) {
      return false;
    }
    byte[] h = sha256(token);
    boolean ok = false;
    for (byte[] k : hashes) {
      ok |= MessageDigest.isEqual(h, k);
    }
    return ok;
  }

  /** Null when the call may go on; else the refusal. */
  @Nullable
  HttpResponse<ApiError> check(HttpRequest<?> request) {
    if (OPEN.contains(request.getPath())) {
      return null;
    }
    String h = request.getHeaders().get("Authorization");
    String token =
        h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).trim() : null;
    if (valid(token)) {
      return null;
    }
    if (token == null && loopbackOpen && loopback(request.getRemoteAddress())) {
      return null;
    }
    return HttpResponse.<ApiError>status(HttpStatus.UNAUTHORIZED)
        .header("WWW-Authenticate", "Bearer")
        .body(
            token == null
                ? new ApiError(
                    "send Authorization: Bearer <token> (mass.agent.api-tokens, or the agent's"
                        + " api-token file)",
                    "token_missing")
                : new ApiError("the token is not one of this agent's tokens", "token_invalid"));
  }

  private static boolean loopback(@Nullable InetSocketAddress a) {
    return a != null && a.getAddress() != null && a.getAddress().isLoopbackAddress();
  }

  /** The filter in front of every endpoint. */
  @ServerFilter("/**")
  public static final class Filter {
    private final ApiAuth auth;

    public Filter(ApiAuth auth) {
      this.auth = auth;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> check(HttpRequest<?> request) {
      return auth.check(request);
    }
  }
}
