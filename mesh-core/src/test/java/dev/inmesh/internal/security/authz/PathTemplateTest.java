package dev.inmesh.internal.security.authz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PathTemplateTest {
  @Test
  void aStarIsExactlyOneSegment() {
    PathTemplate template = PathTemplate.of("/path/template/*");

    assertThat(template.matches("/path/template/x")).isTrue();
    assertThat(template.matches("/path/template/")).isFalse();
    assertThat(template.matches("/path/template/x/y")).isFalse();
  }

  @Test
  void aDoubleStarIsAnyNumberOfSegments() {
    PathTemplate template = PathTemplate.of("/**/path/template");

    assertThat(template.matches("/a/b/c/path/template")).isTrue();
    assertThat(template.matches("/a/path/template")).isTrue();
    assertThat(template.matches("/a/path/template/x")).isFalse();
  }

  @Test
  void aSuffixMayFollowTheLastGlob() {
    PathTemplate template = PathTemplate.of("/**.mpd");

    assertThat(template.matches("/content/123/india/dash/55/manifest.mpd")).isTrue();
    assertThat(template.matches("/content/manifest.m3u8")).isFalse();
    assertThat(PathTemplate.of("/videos/*/*/*.m4s").matches("/videos/123414/hls/1080p5000_00001.m4s")).isTrue();
  }

  @Test
  void variablesAreGlobsWithNames() {
    assertThat(PathTemplate.of("/videos/{file}").matches("/videos/a.mp4")).isTrue();
    assertThat(PathTemplate.of("/videos/{file}").matches("/videos/a/b.mp4")).isFalse();
    assertThat(PathTemplate.of("/{dir=videos/*}/x").matches("/videos/1/x")).isTrue();
    assertThat(PathTemplate.of("/api/{rest=**}").matches("/api/a/b/c")).isTrue();
  }

  @Test
  void literalsAreNotRegexes() {
    PathTemplate template = PathTemplate.of("/a.b/*");

    assertThat(template.matches("/a.b/c")).isTrue();
    assertThat(template.matches("/axb/c")).isFalse();
  }

  @Test
  void refusesTemplatesEnvoyRefuses() {
    assertThatThrownBy(() -> PathTemplate.of("no/slash")).hasMessageContaining("must start with '/'");
    assertThatThrownBy(() -> PathTemplate.of("/**/a/*")).hasMessageContaining("no glob may follow '**'");
    assertThatThrownBy(() -> PathTemplate.of("/{a}/{a}")).hasMessageContaining("unique");
    assertThatThrownBy(() -> PathTemplate.of("/{1a}")).hasMessageContaining("bad variable name '1a'");
    assertThatThrownBy(() -> PathTemplate.of("/a//b")).hasMessageContaining("not a valid path literal");
    assertThatThrownBy(() -> PathTemplate.of("/{a")).hasMessageContaining("unmatched '{'");
    assertThatThrownBy(() -> PathTemplate.of("/*x/y")).hasMessageContaining("not a valid path literal");
  }
}
