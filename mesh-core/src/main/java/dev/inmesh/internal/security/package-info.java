/**
 * Not API: workload identity and TLS. {@link CertificateManager} keeps this workload's SPIFFE
 * certificate fresh (the key is made in process; only the CSR, built by {@link CertificateRequest},
 * goes to the CA through {@link CaClient}); {@link SpiffeTrustManager} trusts mesh peers by SPIFFE
 * ID, {@link RootsTrustManager} control servers by name, and {@link OriginatedTls} checks servers
 * outside the mesh as a DestinationRule's SIMPLE or MUTUAL mode says. Authorization is in
 * {@code authz}; end-user authentication (JWTs) in {@code jwt}.
 */
package dev.inmesh.internal.security;
