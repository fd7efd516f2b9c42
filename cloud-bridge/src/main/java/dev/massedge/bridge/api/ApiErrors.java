package dev.massedge.bridge.api;

import dev.massedge.bridge.catalog.ModelCatalog;
import dev.massedge.bridge.fleet.NotFoundException;
import dev.massedge.bridge.rollout.RolloutEngine;
import dev.massedge.sync.pkg.PackageRejectedException;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Error;
import java.util.Map;

/** Every API error as {@code {"code": ..., "message": ...}} with a fitting status. */
@Controller
public final class ApiErrors {
  @Error(global = true, exception = NotFoundException.class)
  public HttpResponse<?> notFound(HttpRequest<?> r, NotFoundException e) {
    return body(HttpStatus.NOT_FOUND, e.code(), e.getMessage());
  }

  @Error(global = true, exception = ModelCatalog.RejectedException.class)
  public HttpResponse<?> rejected(HttpRequest<?> r, ModelCatalog.RejectedException e) {
    return body(
        e.code().equals("version_exists") ? HttpStatus.CONFLICT : HttpStatus.UNPROCESSABLE_ENTITY,
        e.code(),
        e.getMessage());
  }

  @Error(global = true, exception = PackageRejectedException.class)
  public HttpResponse<?> packageRejected(HttpRequest<?> r, PackageRejectedException e) {
    return body(HttpStatus.UNPROCESSABLE_ENTITY, e.code(), e.getMessage());
  }

  @Error(global = true, exception = RolloutEngine.RolloutException.class)
  public HttpResponse<?> rollout(HttpRequest<?> r, RolloutEngine.RolloutException e) {
    return body(HttpStatus.CONFLICT, e.code(), e.getMessage());
  }

  @Error(global = true, exception = IllegalArgumentException.class)
  public HttpResponse<?> badRequest(HttpRequest<?> r, IllegalArgumentException e) {
    return body(HttpStatus.BAD_REQUEST, "bad_request", e.getMessage());
  }

  static HttpResponse<?> body(HttpStatus s, String code, String message) {
    return HttpResponse.status(s).body(Map.of("code", code, "message", String.valueOf(message)));
  }
}
