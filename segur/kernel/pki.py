"""A test PKI for the mocks: a CA, a server certificate and client certificates an editor can load.

The real services accept only IGC-Santé certificates; locally the mocks trust this CA instead.
Client certificates carry what the real services read from them: the INSi teleservice reads the
access mode from the CN (``INSI-AUTO`` / ``INSI-MANU``), the DMP the organisation (O/OU) that
signs the VIHF. Built with trustme (a maintained library made for exactly this) on RSA keys, so
that XML-DSig signers such as signxml can use them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme

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
}


@dataclass(frozen=True)
class CertFiles:
    cert_file: Path
    key_file: Path


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

    def server_tls(self, require_client_cert: bool = False) -> TlsSettings:
        return TlsSettings(self.server.cert_file, self.server.key_file, client_ca=self.ca_file,
                           require_client_cert=require_client_cert)

    @classmethod
    def load_or_create(cls, directory: Path, clients: dict[str, ClientName] | None = None) -> TestPki:
        pki = cls(directory)
        if not pki.ca_file.exists():
            pki._create(clients or DEFAULT_CLIENTS)
        return pki

    def issue_client(self, name: str, common_name: str, organization: str | None = None,
                     unit: str | None = None) -> CertFiles:
        """Issue (or reissue) a client certificate from this PKI's CA."""
        ca = trustme.CA.from_pem(self.ca_file.read_bytes(), (self.directory / "ca-key.pem").read_bytes())
        return self._write_leaf(ca, self.client(name), common_name, organization, unit)

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
