/**
 * Not API: end-user authentication with JWTs, as Envoy's {@code jwt_authn} filter does it for
 * Istio's RequestAuthentication. {@link dev.inmesh.internal.security.jwt.JwtAuthentication} is the
 * config of one inbound listener (its {@link dev.inmesh.internal.security.jwt.JwtProvider}s, one per
 * issuer), parsed from xDS by {@code dev.inmesh.internal.xds}; its
 * {@link dev.inmesh.internal.security.jwt.JwtAuthentication#authenticate authenticate} finds the
 * tokens in a {@link dev.inmesh.spi.RequestHead}, verifies them with nimbus-jose-jwt and answers a
 * {@link dev.inmesh.internal.security.jwt.JwtOutcome}: no token, a
 * {@link dev.inmesh.internal.security.jwt.VerifiedJwt} whose claims authorization reads, or Envoy's
 * 401 reason. Transport-neutral: the workloads' inbound gate and the gateway call it alike.
 */
package dev.inmesh.internal.security.jwt;
