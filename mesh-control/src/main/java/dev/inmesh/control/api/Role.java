package dev.inmesh.control.api;

import java.util.Locale;

/**
 * What a credential may do on mesh-control's operator API. Each role includes the ones before it:
 * a viewer reads config, status and the registry; an editor also applies and deletes config; an
 * admin also creates join tokens and rotates the CA's root.
 */
public enum Role {
  VIEWER, EDITOR, ADMIN;

  /** Whether a caller with this role may do what {@code needed} allows. */
  public boolean includes(Role needed) {
    return compareTo(needed) >= 0;
  }

  /** The lower-case name used in token files and messages: viewer, editor, admin. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @throws IllegalArgumentException quoting the value when it is not viewer, editor or admin
   */
  public static Role parse(String value) {
    for (Role role : values()) {
      if (role.label().equals(value)) {
        return role;
      }
    }
    throw new IllegalArgumentException("role must be viewer, editor or admin, got '" + value + "'");
  }
}
