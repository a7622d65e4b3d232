"""Finding a professional's MSSanté mailbox in the Annuaire santé, checking the operator's certificate against
the CRL (kept when the CRL point fails), and ending an exchange with a patient (X-MSS-MES: FIN).

- Annuaire santé (REM MSS/CONF.20, ANN/va1.05): the FHIR API v2 (docs/annuaire.md) is searched for the
  professional, `Practitioner?identifier=https://rpps.esante.gouv.fr|<RPPS>` with
  `_revinclude=PractitionerRole:practitioner`, and for the practice, `Organization?identifier=
  https://finess.esante.gouv.fr|<FINESS>`; the mailbox is the MSSanté `telecom` of the professional's
  PractitionerRole at that practice, else of the Practitioner (ANS, annuaire-sante-fhir-documentation,
  `docs/pages/use-cases/bal-mss/index.md`: personal mailboxes through the practice's PractitionerRoles and
  their Practitioner, organisational ones on the Organization; docs/annuaire.md for the IG's slices).
- CRL (REM MSS/va1.05, MSS/CONF.22): before each MSSanté connection the CRL is downloaded from the test PKI
  (`igc.crl`, DER, RFC 5280), its signature checked against the CA with `cryptography`, and kept in the
  state folder; when the download fails, the last CRL kept is used while it has not expired (its
  nextUpdate). OpenSSL then refuses a server certificate the CRL lists (`VERIFY_CRL_CHECK_LEAF`).
- End of exchange (REM MSS/CONF.21): `X-MSS-MES: FIN` on the message to the patient's Mon espace santé
  mailbox (référentiel #2 MSSanté clients: the header, the value "FIN" in capital letters).
"""

from __future__ import annotations

import dataclasses
import ssl
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from . import annuaire
from .errors import ConfigError, Refused, ServiceUnavailable

RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"
#: OpenSSL's X509_V_ERR_CERT_REVOKED (the verify code of a certificate the CRL lists)
CERT_REVOKED = 23


# --- Annuaire santé -----------------------------------------------------------------------------------------
def _mailbox(resource: dict) -> str | None:
    return next((t["value"] for t in resource.get("telecom") or []
                 if t.get("system") == "email" and t.get("value")), None)


def _reference_id(resource: dict, field: str) -> str:
    return str((resource.get(field) or {}).get("reference") or "").rpartition("/")[2]


def find_mailbox(config, professional: dict, step, defect: str | None = None) -> str:
    """The MSSanté address of the professional at their practice, as the Annuaire santé publishes it."""
    rpps = professional["rpps"]
    if defect == "lookup-skipped":  # the address book of the RIS, never checked against the directory
        from segur.fixtures.world import load_world

        address = next(p.mailbox for p in load_world().professionals if p.rpps == rpps)
        step(f"Annuaire santé not searched: {address} from the local address book (defect lookup-skipped)")
        return address
    found = annuaire.search(config, "Practitioner", {"identifier": f"{RPPS_SYSTEM}|{rpps}",
                                              "_revinclude": "PractitionerRole:practitioner"})
    practitioner = next((r for r in found if r.get("resourceType") == "Practitioner"), None)
    if practitioner is None:
        raise Refused(f"the Annuaire santé has no professional with RPPS {rpps}: not sent")
    finess = (professional.get("organisation") or {}).get("finess")
    by_finess = {"identifier": f"{FINESS_SYSTEM}|{finess}"}
    practices = annuaire.search(config, "Organization", by_finess) if finess else []
    practice = practices[0].get("id") if practices else None
    if defect == "lookup-wrong-professional" and practice:
        listed = annuaire.search(config, "PractitionerRole", {"organization": practice})
        address = next(_mailbox(r) for r in listed if _mailbox(r)
                       and _reference_id(r, "practitioner") != practitioner.get("id"))
        step(f"Annuaire santé: {address}, the next row of the practice's list "
             "(defect lookup-wrong-professional)")
        return address
    roles = [r for r in found if r.get("resourceType") == "PractitionerRole" and _mailbox(r)]
    at_practice = [r for r in roles if practice and _reference_id(r, "organization") == practice]
    address = next((_mailbox(r) for r in at_practice + roles), None) or _mailbox(practitioner)
    if not address:
        raise Refused(f"the Annuaire santé publishes no MSSanté mailbox for RPPS {rpps}: not sent")
    where = f"at {practice}" if at_practice else "(no role at the practice: the professional's own)"
    step(f"Annuaire santé: RPPS {rpps} → {address} {where}")
    return address


# --- CRL ----------------------------------------------------------------------------------------------------
def crl_url(config) -> str | None:
    return config.crl_url or ((config.endpoints or {}).get("igc") or {}).get("crl")


def _ca_certificate(config) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(Path(config.ca_file).read_bytes())
    except (OSError, TypeError, ValueError) as exc:
        raise ConfigError(f"cannot read the CA certificate {config.ca_file}: {exc}") from exc


def _read_crl(data: bytes) -> x509.CertificateRevocationList:
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _valid(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> str | None:
    """Why the CRL cannot be used (None: it can): its signature, its issuer, its nextUpdate."""
    if crl.issuer != ca.subject or not crl.is_signature_valid(ca.public_key()):
        return "not signed by the CA"
    if crl.next_update_utc is None or crl.next_update_utc <= datetime.now(UTC):
        return f"expired at {crl.next_update_utc}"
    return None


def current_crl(config, step, keep: bool = True) -> Path:
    """A CRL file (PEM) valid now: downloaded, else the last one kept (`keep`), else ServiceUnavailable."""
    url = crl_url(config)
    ca = _ca_certificate(config)
    kept = Path(config.state_dir) / "crl.pem"
    try:
        with urllib.request.urlopen(url, timeout=config.timeout) as response:
            crl = _read_crl(response.read())
        why = _valid(crl, ca)
        if why:
            raise ValueError(f"the CRL downloaded from {url} is {why}")
    except (OSError, ValueError) as exc:
        if keep and kept.is_file():
            last = _read_crl(kept.read_bytes())
            if _valid(last, ca) is None:
                step(f"CRL download failed ({exc}); the last CRL kept is used (valid until "
                     f"{last.next_update_utc:%Y-%m-%d %H:%M}Z)")
                return kept
        raise ServiceUnavailable(f"no valid CRL to check the MSSanté operator's certificate: {exc}") from exc
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    step(f"CRL downloaded ({len(list(crl))} revoked, valid until {crl.next_update_utc:%Y-%m-%d %H:%M}Z)")
    return kept


def tls_context(config, step, defect: str | None = None) -> ssl.SSLContext:
    """The TLS context of an MSSanté connection: the test CA, and the CRL checked on the server's certificate
    when the PKI publishes one."""
    try:
        context = ssl.create_default_context(cafile=config.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the CA file {config.ca_file}: {exc}") from exc
    if not crl_url(config):
        return context
    crl = current_crl(config, step, keep=defect != "crl-not-kept")
    context.load_verify_locations(cafile=str(crl))  # OpenSSL reads a CRL from a PEM file
    if defect == "crl-ignored":
        step("CRL loaded but not applied to the server's certificate (defect crl-ignored)")
    else:
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


def revoked(exc: BaseException) -> bool:
    """The error (or its cause) is OpenSSL refusing a certificate the CRL lists."""
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_code == CERT_REVOKED:
            return True
        exc = exc.__cause__
    return False


# --- end of exchange ----------------------------------------------------------------------------------------
def end_exchange(message, task, defect: str | None = None) -> None:
    """`X-MSS-MES: FIN` on the message when the task ends the exchange with the patient."""
    if task.extra.get("end_exchange") and defect != "no-fin-header":
        message["X-MSS-MES"] = "FIN"


# --- the tasks ----------------------------------------------------------------------------------------------
def send_to_professional(run):
    """send-mss-lookup: the mailbox found in the Annuaire santé, then the report as for send-mss."""
    professional = run.task.extra.get("professional") or {}
    if not professional.get("rpps"):
        raise ConfigError(f"task {run.task.id}: extra['professional'] names no RPPS")
    address = find_mailbox(run.config, professional, run.step, run.defect)
    run.task = dataclasses.replace(run.task, action="send-mss", recipient=address)
    return run.run()


def send_through_operator(run):
    """send-mss-operator: the SMTP server the task names (an endpoint key such as `igc.revoked_smtp`)."""
    service, _, key = str(run.task.extra.get("smtp") or "").partition(".")
    smtp = ((run.config.endpoints or {}).get(service) or {}).get(key) or {}
    if not smtp.get("port"):
        raise ConfigError(f"task {run.task.id}: the endpoints have no SMTP server "
                          f"{run.task.extra.get('smtp')!r}")
    run.config = dataclasses.replace(run.config, smtp_host=smtp["host"], smtp_port=int(smtp["port"]),
                                     smtp_starttls=smtp.get("starttls", True))
    run.task = dataclasses.replace(run.task, action="send-mss")
    try:
        return run.run()
    except ServiceUnavailable as exc:
        if revoked(exc):
            raise Refused(f"not sent: the operator's server certificate at {smtp['host']}:{smtp['port']} is "
                          "revoked (listed in the CRL)") from exc
        raise


def send_to_citizen_ending(run):
    """send-citizen-fin: the report to the patient's mailbox, with X-MSS-MES: FIN (see `end_exchange`)."""
    run.task = dataclasses.replace(run.task, action="send-citizen",
                                   extra={**run.task.extra, "end_exchange": True})
    return run.run()


#: the task actions this module does (registered in handlers.py)
ACTIONS = {"send-mss-lookup": send_to_professional, "send-mss-operator": send_through_operator,
           "send-citizen-fin": send_to_citizen_ending}
