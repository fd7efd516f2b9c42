package dev.massedge.agent.api;

import dev.massedge.inference.InferenceException;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.convert.exceptions.ConversionErrorException;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.exceptions.ContentLengthExceededException;
import io.micronaut.http.server.exceptions.ContentLengthExceededHandler;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Maps every failure to a JSON {@link ApiError} with the right status. */
final class ErrorHandlers {
  private static final Logger log = LoggerFactory.getLogger(ErrorHandlers.class);

  private ErrorHandlers() {}

  @Produces
  @Singleton
  @Requires(classes = {InferenceException.class, ExceptionHandler.class})
  static class Inference implements ExceptionHandler<InferenceException, HttpResponse<ApiError>> {
    @Override
    public HttpResponse<ApiError> handle(HttpRequest request, InferenceException e) {
      HttpStatus status = ApiError.statusOf(e);
      if (status.getCode() >= 500 && status != HttpStatus.SERVICE_UNAVAILABLE) {
        log.error("{} {} failed: {}", request.getMethod(), request.getPath(), e.getMessage(), e);
      }
      return HttpResponse.<ApiError>status(status).body(ApiError.of(e));
    }
  }

  @Produces
  @Singleton
  @Requires(classes = {ContentLengthExceededException.class, ExceptionHandler.class})
  @Replaces(ContentLengthExceededHandler.class)
  static class TooLarge
      implements ExceptionHandler<ContentLengthExceededException, HttpResponse<ApiError>> {
    @Override
    public HttpResponse<ApiError> handle(HttpRequest request, ContentLengthExceededException e) {
      return HttpResponse.<ApiError>status(HttpStatus.REQUEST_ENTITY_TOO_LARGE)
          .body(
              new ApiError(
                  "the request body is larger than the limit (micronaut.server.max-request-size): "
                      + e.getMessage(),
                  "body_too_large"));
    }
  }

  @Produces
  @Singleton
  @Requires(classes = {ConversionErrorException.class, ExceptionHandler.class})
  static class BadParameter
      implements ExceptionHandler<ConversionErrorException, HttpResponse<ApiError>> {
    @Override
    public HttpResponse<ApiError> handle(HttpRequest request, ConversionErrorException e) {
      return HttpResponse.<ApiError>status(HttpStatus.BAD_REQUEST)
          .body(new ApiError(e.getMessage(), "invalid_parameter"));
    }
  }
}
