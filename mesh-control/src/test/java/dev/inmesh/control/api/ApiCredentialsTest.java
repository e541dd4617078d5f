package dev.inmesh.control.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class ApiCredentialsTest {
  private final SecureRandom random = new SecureRandom(new byte[] {1, 2, 3});

  @Test
  void aTokenAuthenticatesAsTheNameAndRoleOfItsLine() {
    String viewer = ApiCredentials.newToken(random);
    String admin = ApiCredentials.newToken(random);
    ApiCredentials credentials = ApiCredentials.parse("tokens", "# operators\n\n"
        + ApiCredentials.line(Role.VIEWER, "alice", viewer) + "\n" + ApiCredentials.line(Role.ADMIN, "root", admin) + "\n");

    assertThat(credentials.size()).isEqualTo(2);
    assertThat(credentials.authenticate(viewer)).contains(new ApiCredentials.Caller("alice", Role.VIEWER));
    assertThat(credentials.authenticate(admin)).contains(new ApiCredentials.Caller("root", Role.ADMIN));
    assertThat(credentials.authenticate(viewer + "x")).isEmpty();
    assertThat(credentials.authenticate("")).isEmpty();
  }

  @Test
  void theFileHoldsTheTokensDigestNeverTheToken() {
    String token = ApiCredentials.newToken(random);
    String line = ApiCredentials.line(Role.EDITOR, "ci", token);
    assertThat(line).startsWith("editor ci sha256:").doesNotContain(token.substring("inmesh-api-".length()));
    assertThat(token).startsWith("inmesh-api-").hasSize("inmesh-api-".length() + 43);
    assertThat(ApiCredentials.newToken(random)).isNotEqualTo(token);
  }

  @Test
  void aBadLineIsNamedByFileAndLineNumber() {
    String digest = "sha256:" + "ab".repeat(32);
    assertThatThrownBy(() -> ApiCredentials.parse("api-tokens", "viewer alice " + digest + "\nviewer alice " + digest))
        .hasMessage("api-tokens:2: the name 'alice' is used twice; names tell callers apart in the audit log");
    assertThatThrownBy(() -> ApiCredentials.parse("api-tokens", "\nviewer bob"))
        .hasMessage("api-tokens:2: expected '<role> <name> sha256:<hex>', got 2 field(s)");
    assertThatThrownBy(() -> ApiCredentials.parse("api-tokens", "root bob " + digest))
        .hasMessage("api-tokens:1: role must be viewer, editor or admin, got 'root'");
    assertThatThrownBy(() -> ApiCredentials.parse("api-tokens", "viewer bob sha256:" + "AB".repeat(32)))
        .hasMessageStartingWith("api-tokens:1: the third field must be sha256: and 64 lower-case hex digits");
    assertThatThrownBy(() -> ApiCredentials.line(Role.VIEWER, "two words", "t"))
        .hasMessageContaining("got 'two words'");
  }

  @Test
  void eachRoleIncludesTheOnesBelowIt() {
    assertThat(Role.ADMIN.includes(Role.EDITOR)).isTrue();
    assertThat(Role.EDITOR.includes(Role.VIEWER)).isTrue();
    assertThat(Role.EDITOR.includes(Role.ADMIN)).isFalse();
    assertThat(Role.VIEWER.includes(Role.EDITOR)).isFalse();
    assertThat(Role.parse("editor")).isEqualTo(Role.EDITOR);
  }

  @Test
  void theRoleEachCallNeedsFailsClosedForCallsItDoesNotList() {
    assertThat(AdminServer.needed("GET", "/healthz")).isEmpty();
    assertThat(AdminServer.needed("GET", "/dashboard")).isEmpty();
    assertThat(AdminServer.needed("POST", "/apis/tokens")).contains(Role.ADMIN);
    assertThat(AdminServer.needed("POST", "/apis/ca/rotate")).contains(Role.ADMIN);
    assertThat(AdminServer.needed("POST", "/apis/apply")).contains(Role.EDITOR);
    assertThat(AdminServer.needed("DELETE", "/apis/VirtualService/default/x")).contains(Role.EDITOR);
    assertThat(AdminServer.needed("DELETE", "/healthz")).contains(Role.EDITOR);
    assertThat(AdminServer.needed("GET", "/debug/clients")).contains(Role.VIEWER);
    assertThat(AdminServer.needed("PUT", "/apis/apply")).as("an unlisted call needs a credential").isNotEqualTo(Optional.empty());
    assertThat(AdminServer.needed("POST", "/healthz")).isNotEqualTo(Optional.empty());
  }
}
