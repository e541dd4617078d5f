/**
 * The mesh certificate authority: it signs SPIFFE X.509 SVIDs for workloads that prove their
 * right to the identity in their CSR.
 *
 * <p>The front door is {@link dev.inmesh.ca.CertificateAuthority}, built from a
 * {@link dev.inmesh.ca.CaConfig}; {@link dev.inmesh.ca.CaServer} serves it over gRPC (Istio's
 * {@code IstioCertificateService/CreateCertificate}) and as JSON over HTTPS; {@link
 * dev.inmesh.ca.Main} is the standalone jar. BouncyCastle is used only inside this module and
 * never appears in its public API.
 */
package dev.inmesh.ca;
