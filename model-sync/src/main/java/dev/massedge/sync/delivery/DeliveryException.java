package dev.massedge.sync.delivery;

/**
 * A delivery that could not finish, with a stable code: {@code link_down}, {@code timeout}, {@code
 * unknown_manifest} and other codes the server gives, or {@code chunk_truncated}. Transport
 * failures are {@link #retryable()}: what was stored stays, and a later attempt resumes.
 */
public class DeliveryException extends RuntimeException {
  private final String code;
  private final boolean retryable;

  public DeliveryException(String code, String message, boolean retryable) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }

  public String code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }
}
