"""A test PKI for the mocks: a CA, a server certificate and client certificates an editor can load.

The real services accept only IGC-Santé certificates; locally the mocks trust this CA instead.
Client certificates carry what the real services read from them: the INSi teleservice reads the
access mode from the CN (``INSI-AUTO`` / ``INSI-MANU``), the DMP the organisation (O/OU) that
signs the VIHF. Built with trustme (a maintained library made for exactly this) on RSA keys, so
that XML-DSig signers such as signxml can use them too.
"""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from segur.kernel.server import TlsSettings

SERVER_NAMES = ("localhost", "127.0.0.1", "::1")

#: A client certificate's subject: (CN, O, OU).
ClientName = tuple[str, str, str]

#: Client certificates every PKI holds: name → (CN, O, OU).
DEFAULT_CLIENTS: dict[str, ClientName] = {
    "insi-auto": ("INSI-AUTO", "Cabinet de radiologie du test", "10B0000001"),
    "insi-manu": ("INSI-MANU", "Cabinet de radiologie du test", "10B0000001"),
    "organisation": ("Cabinet de radiologie du test", "Cabinet de radiologie du test", "10B0000001"),
    "mssante": ("mssante-client", "Cabinet de radiologie du test", "10B0000001"),
    # an IGC-Santé "ORG AUTH_CLI" certificate names a service of a structure: CN the service, OU the
    # structure's national id, O its name (ANS's example subject DN: CN=CLIENT_TEST_RORN,OU=33333333333,
    # O=GIP - TEST3012,ST=Paris (75),C=FR — gnius.esante.gouv.fr, "je commande mon certificat")
    "org-auth-cli": ("CLIENT_TEST_RIS", "Cabinet de radiologie du test", "10B0000001"),
}
#: How long a CRL is valid: IGC-Santé publishes its CRLs daily [assumption: the test CRL lives one day].
CRL_VALIDITY = timedelta(days=1)
_REVOCATION_LOCK = threading.Lock()


@dataclass(frozen=True)
class CertFiles:
    cert_file: Path
    key_file: Path

    def private_key(self):
        """The key, parsed once per file version: loading an RSA PEM checks the key (~50 ms), which every
        VIHF signature paid again before."""
        stat = self.key_file.stat()
        return _load_private_key(str(self.key_file), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _load_private_key(path: str, mtime_ns: int, size: int):
    """Keyed on the file's version, so a regenerated key file is read anew."""
    return serialization.load_pem_private_key(Path(path).read_bytes(), None)


class TestPki:
    """Files of a test PKI in one directory, created on first use and reused afterwards."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def server(self) -> CertFiles:
        return CertFiles(self.directory / "server.pem", self.directory / "server-key.pem")

    def client(self, name: str) -> CertFiles:
        clients = self.directory / "clients"
        return CertFiles(clients / f"{name}.pem", clients / f"{name}-key.pem")

    def untrusted_client(self, name: str) -> CertFiles:
        """The same client certificate issued by another CA the mocks do not trust (for negative tests)."""
        return CertFiles(self.directory / "untrusted" / f"{name}.pem",
                         self.directory / "untrusted" / f"{name}-key.pem")

    @property
    def revoked_server(self) -> CertFiles:
        """A server certificate for localhost that the CA has revoked (issued on first use)."""
        revoked = self.directory / "revoked"
        files = CertFiles(revoked / "server.pem", revoked / "server-key.pem")
        if not files.cert_file.exists():
            server = self._ca().issue_cert(*SERVER_NAMES, common_name="localhost",
                                           key_type=trustme.KeyType.RSA)
            files.cert_file.parent.mkdir(parents=True, exist_ok=True)
            _write(files.cert_file, b"".join(blob.bytes() for blob in server.cert_chain_pems))
            _write(files.key_file, server.private_key_pem.bytes(), secret=True)
            self.revoke(files.cert_file, "keyCompromise")
        return files

    # --- revocation -----------------------------------------------------------------------------
    @property
    def revocations_file(self) -> Path:
        return self.directory / "revoked.json"

    def revocations(self) -> dict:
        """`{"crl_number": N, "revoked": [{"serial", "name", "reason", "revoked_at"}]}` (kept on disk)."""
        if not self.revocations_file.exists():
            return {"crl_number": 1, "revoked": []}
        return json.loads(self.revocations_file.read_text(encoding="utf-8"))

    def revoke(self, cert_file: Path, reason: str = "unspecified") -> dict:
        """Revoke a certificate this CA issued; the next CRL lists it. Returns the revocation entry."""
        certificate = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
        if certificate.issuer != self.ca_certificate().subject:
            raise ValueError(f"{cert_file} was not issued by this test CA")
        if reason not in {flag.value for flag in x509.ReasonFlags}:
            raise ValueError(f"unknown revocation reason {reason!r}")
        with _REVOCATION_LOCK:
            state = self.revocations()
            serial = format(certificate.serial_number, "x")
            entry = next((e for e in state["revoked"] if e["serial"] == serial), None)
            if entry is None:
                entry = {"serial": serial, "name": certificate.subject.rfc4514_string(), "reason": reason,
                         "revoked_at": datetime.now(UTC).isoformat(timespec="seconds")}
                state["revoked"].append(entry)
                state["crl_number"] += 1
                self.revocations_file.write_text(json.dumps(state, indent=2), encoding="utf-8")
        return entry

    def clear_revocations(self) -> None:
        with _REVOCATION_LOCK:
            state = self.revocations()
            kept = [e for e in state["revoked"] if e["serial"] == self._revoked_server_serial()]
            state = {"crl_number": state["crl_number"] + 1, "revoked": kept}
            self.revocations_file.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def crl(self, now: datetime | None = None,
            validity: timedelta = CRL_VALIDITY) -> x509.CertificateRevocationList:
        """The CA's current CRL (RFC 5280 §5), signed now, valid `validity`."""
        now = now or datetime.now(UTC)
        key = CertFiles(self.ca_file, self.directory / "ca-key.pem").private_key()
        state = self.revocations()
        builder = (x509.CertificateRevocationListBuilder()
                   .issuer_name(self.ca_certificate().subject)
                   .last_update(now).next_update(now + validity)
                   .add_extension(x509.CRLNumber(state["crl_number"]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                                  critical=False))
        for entry in state["revoked"]:
            revoked = (x509.RevokedCertificateBuilder().serial_number(int(entry["serial"], 16))
                       .revocation_date(datetime.fromisoformat(entry["revoked_at"]))
                       .add_extension(x509.CRLReason(x509.ReasonFlags(entry["reason"])), critical=False)
                       .build())
            builder = builder.add_revoked_certificate(revoked)
        return builder.sign(key, hashes.SHA256())

    def ca_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_file.read_bytes())

    def _revoked_server_serial(self) -> str | None:
        """The revoked server certificate stays revoked: a reset must not make it valid again."""
        path = self.directory / "revoked" / "server.pem"
        if not path.exists():
            return None
        return format(x509.load_pem_x509_certificate(path.read_bytes()).serial_number, "x")

    def _ca(self) -> trustme.CA:
        return trustme.CA.from_pem(self.ca_file.read_bytes(), (self.directory / "ca-key.pem").read_bytes())

    def server_tls(self, require_client_cert: bool = False) -> TlsSettings:
        return TlsSettings(self.server.cert_file, self.server.key_file, client_ca=self.ca_file,
                           require_client_cert=require_client_cert)

    @classmethod
    def load_or_create(cls, directory: Path, clients: dict[str, ClientName] | None = None) -> TestPki:
        pki = cls(directory)
        wanted = clients or DEFAULT_CLIENTS
        if not pki.ca_file.exists():
            pki._create(wanted)
        else:  # a PKI written by an older harness lacks the client certificates added since
            for name, (cn, org, unit) in wanted.items():
                if not pki.client(name).cert_file.exists():
                    pki.issue_client(name, cn, org, unit)
        return pki

    def issue_client(self, name: str, common_name: str, organization: str | None = None,
                     unit: str | None = None) -> CertFiles:
        """Issue (or reissue) a client certificate from this PKI's CA."""
        return self._write_leaf(self._ca(), self.client(name), common_name, organization, unit)

    def _create(self, clients: dict[str, ClientName]) -> None:
        (self.directory / "clients").mkdir(parents=True, exist_ok=True)
        (self.directory / "untrusted").mkdir(exist_ok=True)
        ca = trustme.CA(organization_name="Segur harness test CA", key_type=trustme.KeyType.RSA)
        _write(self.ca_file, ca.cert_pem.bytes())
        _write(self.directory / "ca-key.pem", ca.private_key_pem.bytes(), secret=True)
        server = ca.issue_cert(*SERVER_NAMES, common_name="localhost", key_type=trustme.KeyType.RSA)
        _write(self.server.cert_file, b"".join(blob.bytes() for blob in server.cert_chain_pems))
        _write(self.server.key_file, server.private_key_pem.bytes(), secret=True)
        other = trustme.CA(organization_name="Untrusted CA", key_type=trustme.KeyType.RSA)
        _write(self.directory / "untrusted" / "ca.pem", other.cert_pem.bytes())
        for name, (cn, org, unit) in clients.items():
            self._write_leaf(ca, self.client(name), cn, org, unit)
            self._write_leaf(other, self.untrusted_client(name), cn, org, unit)

    @staticmethod
    def _write_leaf(ca: trustme.CA, files: CertFiles, cn: str, org: str | None,
                    unit: str | None) -> CertFiles:
        identity = "".join(c if c.isalnum() else "-" for c in cn.lower()).strip("-") + ".client.test"
        leaf = ca.issue_cert(identity, common_name=cn, organization_name=org, organization_unit_name=unit,
                             key_type=trustme.KeyType.RSA)
        files.cert_file.parent.mkdir(parents=True, exist_ok=True)
        _write(files.cert_file, leaf.cert_chain_pems[0].bytes())
        _write(files.key_file, leaf.private_key_pem.bytes(), secret=True)
        return files


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    path.write_bytes(data)
    if secret:
        path.chmod(0o600)
