package dev.massedge.bridge.api;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import java.util.Map;

/**
 * Every {@code /api/**} call needs {@code Authorization: Bearer <token>}: a viewer token reads, an
 * admin token also changes. The dashboard's page and the health endpoint are open; the dashboard
 * asks for a token before it calls the API.
 */
@ServerFilter("/api/**")
public final class AuthFilter {
  public static final String CALLER = "mass.caller";
  private final Auth auth;

  public AuthFilter(Auth auth) {
    this.auth = auth;
  }

  @RequestFilter
  @Nullable
  public HttpResponse<?> check(HttpRequest<?> request) {
    String h = request.getHeaders().get("Authorization");
    String token =
        h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).trim() : null;
    Auth.Caller c = auth.check(token);
    if (c == null) {
      return HttpResponse.status(HttpStatus.UNAUTHORIZED)
          .header("WWW-Authenticate", "Bearer")
          .body(
              Map.of(
                  "code",
                  token == null ? "token_missing" : "token_invalid",
                  "message",
                  token == null
                      ? "send Authorization: Bearer <token> (an admin or viewer token)"
                      : "the token is not one of this bridge's tokens"));
    }
    if (c.role() == Auth.Role.VIEWER && request.getMethod() != HttpMethod.GET) {
      return HttpResponse.status(HttpStatus.FORBIDDEN)
          .body(Map.of("code", "forbidden", "message", "a viewer token can only read"));
    }
    request.setAttribute(CALLER, c);
    return null;
  }

  /** The caller's loggable name. */
  public static String caller(HttpRequest<?> request) {
    return request.getAttribute(CALLER, Auth.Caller.class).map(Auth.Caller::name).orElse("unknown");
  }
}
