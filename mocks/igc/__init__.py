"""The test PKI as a service, like IGC-Santé's publication point: the CA certificate and its CRL over
HTTP, and revocation on demand (a revoked client or server certificate, a CRL endpoint that fails)."""
