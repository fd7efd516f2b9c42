package dev.massedge.sync.contract;

/** An inbound message that cannot be used; {@link #code()} is stable, the message says why. */
public class MessageRejectedException extends RuntimeException {
  private final String code;

  public MessageRejectedException(String code, String message) {
    super(message);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
