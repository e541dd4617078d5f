package dev.inmesh.internal.xds;

/**
 * A resource that Inmesh cannot honour: the message names the resource and the field, and becomes
 * the error detail of the NACK, so that mesh-control's status shows it.
 */
public final class XdsParseException extends Exception {
  private final String resource;
  private final String field;

  public XdsParseException(String resource, String field, String message) {
    super(resource + ": " + field + ": " + message);
    this.resource = resource;
    this.field = field;
  }

  public String resource() {
    return resource;
  }

  public String field() {
    return field;
  }
}
