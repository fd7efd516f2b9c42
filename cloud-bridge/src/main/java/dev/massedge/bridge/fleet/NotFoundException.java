package dev.massedge.bridge.fleet;

/** Something the request names does not exist; the API answers 404 with {@code code}. */
public final class NotFoundException extends RuntimeException {
  private final String code;

  public NotFoundException(String code, String message) {
    super(message);
    this.code = code;
  }

  public String code() {
    return code;
  }
}
