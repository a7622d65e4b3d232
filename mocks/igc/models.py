"""The certificate authority of the test PKI: which certificates it issued, which it revoked, its CRL.

State lives in the PKI directory (`revoked.json` beside the CA), so a product and the harness restarted
see the same revocations.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from segur.kernel.pki import TestPki
from segur.mocks.igc import rules

#: where the publication point serves the CRL and the CA certificate
CRL_PATH = "/crl/ca.crl"
CRL_PEM_PATH = "/crl/ca.crl.pem"
CA_PATH = "/ca.pem"


class PkiRefusal(ValueError):
    """A request the authority cannot honour; carries the rule finding."""

    def __init__(self, finding):
        super().__init__(finding.message)
        self.finding = finding


class Authority:
    """The test CA: resolve certificate names, revoke, publish the CRL."""

    def __init__(self, pki: TestPki):
        self.pki = pki
        self.revoked_server = pki.revoked_server  # issued and revoked now: the first CRL lists it

    def certificate_file(self, name: str) -> Path:
        """'server', 'revoked-server' or 'client:NAME' → the certificate's file."""
        if name == "server":
            return self.pki.server.cert_file
        if name == "revoked-server":
            return self.pki.revoked_server.cert_file
        if name.startswith("client:") and self.pki.client(name[7:]).cert_file.exists():
            return self.pki.client(name[7:]).cert_file
        clients = sorted(p.stem for p in (self.pki.directory / "clients").glob("*.pem")
                         if not p.stem.endswith("-key"))
        raise PkiRefusal(rules.UNKNOWN_CERTIFICATE.finding(name=name, clients=", ".join(clients)))

    def revoke(self, name: str, reason: str = "unspecified") -> dict:
        reasons = sorted(flag.value for flag in x509.ReasonFlags)
        if reason not in reasons:
            raise PkiRefusal(rules.UNKNOWN_REASON.finding(reason=reason, reasons=", ".join(reasons)))
        return self.pki.revoke(self.certificate_file(name), reason)

    def revocations(self) -> dict:
        return self.pki.revocations()

    def reset(self) -> None:
        self.pki.clear_revocations()

    def crl_der(self) -> bytes:
        return self.pki.crl().public_bytes(serialization.Encoding.DER)

    def crl_pem(self) -> bytes:
        return self.pki.crl().public_bytes(serialization.Encoding.PEM)

    def ca_pem(self) -> bytes:
        return self.pki.ca_file.read_bytes()
