"""The reference RIS's configuration: where the services are and with which credentials.

A real RIS is configured by its administrator with URLs, an INSi software authorisation (IDAM), a
structure certificate for the DMP's VIHF, and MSSanté mailbox credentials. Three sources, later ones
winning: a TOML file (`reference-ris.example.toml`), the harness's endpoints (the JSON file named by
`SEGUR_ENDPOINTS`, or the dict a plugin receives), and `REFERENCE_RIS_*` environment variables.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import ConfigError

#: The MSSanté mock's password for every world mailbox (docs/mssante.md, "Credentials").
MOCK_MAILBOX_PASSWORD = "mssante-test"
#: The IDAM the INSi mock knows out of the box (docs/insi.md).
MOCK_IDAM = "SEGUR-TEST"


@dataclass(frozen=True)
class Config:
    # INSi: the service's WSDL (the mock serves it at <service>?wsdl), the software's IDAM and name.
    insi_wsdl: str | None = None
    insi_service_url: str | None = None  # overrides the WSDL's address when set
    insi_idam: str = MOCK_IDAM
    insi_software_name: str = "REFERENCE-RIS"
    insi_software_version: str = "1.0"
    insi_emitter: str = "ris@radiologie.example"
    # DMP: one URL per service (repository = ITI-41/43, registry = ITI-18/57, patients = TD0.2, habilitations
    # = TD0.3).
    dmp_endpoints: dict = field(default_factory=dict)
    # The test PKI: its CA, and the structure certificate that signs the VIHF (issued on first use when
    # missing).
    pki_dir: str | None = None
    signing_certificate: str | None = None  # client name in the PKI; default structure-<IDNST of the author>
    # MSSanté: SMTP submission with STARTTLS and AUTH as the sending mailbox.
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_starttls: bool = True
    ca_file: str | None = None
    sender: str | None = None  # used when the task names no sender
    mailbox_password: str = MOCK_MAILBOX_PASSWORD
    mailbox_passwords: dict = field(default_factory=dict)  # per address, overrides mailbox_password
    mailbox_tenant: str = ""  # a shared harness's tenant: the login is <local part>+<tenant>@<domain>
    nil: str = "1234"  # X-MSS-NIL: the product's 4-digit reference (convergence.esante.gouv.fr)
    imap_host: str | None = None  # reading the mailbox (IMAP4rev1 with STARTTLS)
    imap_port: int | None = None
    # the highest TLS version its MSSanté connections offer ("": the ssl module's, TLS 1.3; "1.2": capped)
    mss_tls_max: str = ""
    # Annuaire santé (FHIR API v2): where a recipient's MSSanté address is checked before sending.
    annuaire_fhir_base: str | None = None
    annuaire_api_key: str = "segur-test"  # the mock accepts any non-empty ESANTE-API-KEY
    # The test PKI's CRL (DER), checked on the MSSanté operator's certificate (the endpoints' igc.crl).
    crl_url: str | None = None
    # The harness's endpoints: a task may name one (extra['smtp'] of send-mss-operator).
    endpoints: dict = field(default_factory=dict)
    # IHE PAM (the reference RI): the MLLP listeners its identity feed goes to (mllp://host:port)
    pam_mllp: tuple = ()
    # Pro Santé Connect: the personal mailbox's XOAUTH2 token (code flow with the test login, docs/psc.md).
    psc_authorization_url: str | None = None
    psc_token_url: str | None = None
    psc_client_id: str = "segur-test-client"
    psc_client_secret: str = "segur-test-secret"
    psc_redirect_uri: str = "http://127.0.0.1/callback"
    # Local state: documents sent (for replacements), the outbox of reports that could not be sent.
    state_dir: str = ".reference-ris"
    timeout: float = 30.0

    def password_for(self, address: str) -> str:
        return self.mailbox_passwords.get(address.lower(), self.mailbox_password)

    def login_for(self, address: str) -> str:
        """The SMTP login of a mailbox: its address, tagged with the harness's tenant when there is one."""
        if not self.mailbox_tenant:
            return address
        local, _, domain = address.rpartition("@")
        return f"{local}+{self.mailbox_tenant}@{domain}"

    def require(self, *names: str) -> None:
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError("missing configuration: " + ", ".join(missing)
                              + " (set them in the TOML file, or run under the harness: SEGUR_ENDPOINTS)")


def from_toml(path: str | os.PathLike, base: Config | None = None) -> Config:
    """Read `[insi]`, `[dmp]`, `[pki]`, `[mssante]`, `[annuaire]`, `[psc]`, `[state]` tables (see
    reference-ris.example.toml)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc}") from exc
    insi, dmp, pki = data.get("insi", {}), data.get("dmp", {}), data.get("pki", {})
    mss, state, annuaire = data.get("mssante", {}), data.get("state", {}), data.get("annuaire", {})
    psc = data.get("psc", {})
    base = base or Config()
    values = {
        "insi_wsdl": insi.get("wsdl"), "insi_service_url": insi.get("service_url"),
        "insi_idam": insi.get("idam"), "insi_software_name": insi.get("software_name"),
        "insi_software_version": insi.get("software_version"),
        "insi_emitter": insi.get("emitter"),
        "dmp_endpoints": _dmp_endpoints(dmp) or None,
        "pki_dir": pki.get("dir"), "signing_certificate": pki.get("signing_certificate"),
        "smtp_host": mss.get("smtp_host"), "smtp_port": mss.get("smtp_port"),
        "smtp_starttls": mss.get("starttls"),
        "imap_host": mss.get("imap_host"), "imap_port": mss.get("imap_port"),
        "ca_file": mss.get("ca_file") or pki.get("ca_file"), "sender": mss.get("sender"),
        "mailbox_password": mss.get("password"),
        "mailbox_passwords": {k.lower(): v for k, v in mss.get("passwords", {}).items()} or None,
        "nil": mss.get("nil"), "state_dir": state.get("dir"), "timeout": data.get("timeout"),
        "annuaire_fhir_base": annuaire.get("fhir_base"), "annuaire_api_key": annuaire.get("api_key"),
        "psc_authorization_url": psc.get("authorization"), "psc_token_url": psc.get("token"),
        "psc_client_id": psc.get("client_id"), "psc_client_secret": psc.get("client_secret"),
    }
    return replace(base, **{k: v for k, v in values.items() if v is not None})


#: the DMP's services, one URL each
DMP_SERVICES = ("repository", "registry", "patients", "habilitations")


def _dmp_endpoints(dmp: Mapping) -> dict:
    urls = {name: dmp[name] for name in DMP_SERVICES if dmp.get(name)}
    if dmp.get("base_url"):
        base = str(dmp["base_url"]).rstrip("/")
        for name in ("repository", "registry", "patients", "habilitations"):
            urls.setdefault(name, f"{base}/si-dmp-server/v2/services/{name}")
    return urls


def from_endpoints(endpoints: Mapping, base: Config | None = None) -> Config:
    """The harness's endpoints dict (`stack.endpoints()`, see docs/sut.md) → configuration."""
    base = base or Config()
    insi = endpoints.get("insi") or {}
    dmp = endpoints.get("dmp") or {}
    mss = endpoints.get("mssante") or {}
    smtp = mss.get("smtp") if isinstance(mss.get("smtp"), Mapping) else {}
    imap = mss.get("imap") if isinstance(mss.get("imap"), Mapping) else {}
    pki = endpoints.get("pki")
    if isinstance(pki, Mapping):  # segur up: {"dir": …, "ca_file": …}
        pki = pki.get("dir") or (str(Path(pki["ca_file"]).parent) if pki.get("ca_file") else None)
    pki_dir = pki or (str(Path(mss["ca_file"]).parent) if mss.get("ca_file") else None)
    psc = endpoints.get("psc") or {}
    values = {
        "insi_wsdl": insi.get("wsdl"),
        "dmp_endpoints": _dmp_endpoints(dmp) or None,
        "pki_dir": pki_dir,
        "smtp_host": smtp.get("host") or mss.get("smtp_host"),
        "smtp_port": smtp.get("port") or mss.get("smtp_port"),
        "smtp_starttls": smtp.get("starttls") if smtp.get("starttls") is not None else None,
        "imap_host": imap.get("host"), "imap_port": imap.get("port"),
        "ca_file": mss.get("ca_file") or (str(Path(pki_dir) / "ca.pem") if pki_dir else None),
        "annuaire_fhir_base": (endpoints.get("annuaire") or {}).get("fhir_base"),
        "crl_url": (endpoints.get("igc") or {}).get("crl"), "endpoints": dict(endpoints),
        "mailbox_tenant": mss.get("tenant"),
        "pam_mllp": tuple((endpoints.get("pam") or {}).get("mllp") or ()) or None,
        "psc_authorization_url": psc.get("authorization"), "psc_token_url": psc.get("token"),
        "psc_client_id": psc.get("client_id"), "psc_client_secret": psc.get("client_secret"),
    }
    return replace(base, **{k: v for k, v in values.items() if v is not None})


ENV = {
    "REFERENCE_RIS_INSI_IDAM": "insi_idam", "REFERENCE_RIS_SENDER": "sender",
    "REFERENCE_RIS_MSS_PASSWORD": "mailbox_password", "REFERENCE_RIS_NIL": "nil",
    "REFERENCE_RIS_STATE_DIR": "state_dir", "REFERENCE_RIS_SIGNING_CERTIFICATE": "signing_certificate",
    "REFERENCE_RIS_ANNUAIRE_API_KEY": "annuaire_api_key",
}


def from_env(environ: Mapping[str, str] | None = None, base: Config | None = None) -> Config:
    """`SEGUR_ENDPOINTS` (the harness's JSON file), then the `REFERENCE_RIS_*` variables."""
    environ = os.environ if environ is None else environ
    config = base or Config()
    if environ.get("SEGUR_ENDPOINTS"):
        try:
            endpoints = json.loads(Path(environ["SEGUR_ENDPOINTS"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read SEGUR_ENDPOINTS={environ['SEGUR_ENDPOINTS']}: {exc}") from exc
        config = from_endpoints(endpoints, config)
    given = {field_name: environ[name] for name, field_name in ENV.items() if environ.get(name)}
    return replace(config, **given)


def load(config_file: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration a run uses: the TOML file when given, then the environment."""
    config = from_toml(config_file) if config_file else Config()
    return from_env(environ, config)
