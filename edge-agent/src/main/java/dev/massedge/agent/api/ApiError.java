package dev.massedge.agent.api;

import dev.massedge.inference.InferenceException;
import dev.massedge.inference.InvalidInputException;
import io.micronaut.http.HttpStatus;

/**
 * The JSON body of every error the agent returns: a stable {@code code} and a message that says
 * what was expected. {@code error} carries the message too, as the Open Inference Protocol wants.
 */
public record ApiError(String error, String code) {
  public static ApiError of(InferenceException e) {
    return new ApiError(e.getMessage(), e.code());
  }

  public static HttpStatus statusOf(InferenceException e) {
    if (e instanceof InvalidInputException) {
      return HttpStatus.BAD_REQUEST;
    }
    return switch (e.code()) {
      case "model_not_found", "job_not_found" -> HttpStatus.NOT_FOUND;
      case "job_not_done" -> HttpStatus.CONFLICT;
      case "model_not_ready" -> HttpStatus.SERVICE_UNAVAILABLE;
      case "wrong_task" -> HttpStatus.BAD_REQUEST;
      case "body_too_large" -> HttpStatus.REQUEST_ENTITY_TOO_LARGE;
      case "unsupported_media_type" -> HttpStatus.UNSUPPORTED_MEDIA_TYPE;
      default -> HttpStatus.INTERNAL_SERVER_ERROR;
    };
  }
}
