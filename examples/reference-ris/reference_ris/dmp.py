"""Feeding the patient's DMP: TD0.2 (does the DMP exist, may I feed it), then ITI-41 with a signed VIHF;
for a new version of a report, TD0.3 (authorisation, needed to consult), ITI-18 to find the earlier
entry, and ITI-41 with an RPLC association to it. The wire work is `segur.mocks.dmp.client`'s."""

from __future__ import annotations

import requests

from segur.kernel.ins import Ins
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client import CallerIdentity, Defects, DmpClient, SoapFault

from . import volets
from .errors import ConfigError, Refused, ServiceUnavailable

#: IHE error codes that say the service is busy or down rather than that the submission is wrong
#: (ITI TF-3 Table 4.2.4.1-2: XDSRegistryBusy, XDSRepositoryBusy, …OutOfResources, XDSRegistryNotAvailable).
OUTAGE_CODES = {"XDSRegistryBusy", "XDSRepositoryBusy", "XDSRegistryOutOfResources",
                "XDSRepositoryOutOfResources", "XDSRegistryNotAvailable"}


def client_for(config, professional, organisation) -> DmpClient:
    config.require("dmp_endpoints", "pki_dir")
    caller = CallerIdentity.of(professional, organisation)
    caller.lps_name, caller.lps_version = config.insi_software_name, config.insi_software_version
    pki = TestPki(config.pki_dir)
    if not pki.ca_file.exists():
        raise ConfigError(f"no test PKI in {config.pki_dir} (ca.pem missing): run `segur pki --out DIR`")
    name = config.signing_certificate or f"structure-{caller.structure_id}"
    # a structure certificate of the test CA, OU = the structure id
    if not pki.client(name).cert_file.exists():
        pki.issue_client(name, f"Structure {caller.structure_id}", organisation.name, caller.structure_id)
    endpoints = {k: v for k, v in config.dmp_endpoints.items()
                 if k in ("repository", "registry", "patients", "habilitations")}
    ca_file = pki.ca_file if any(str(u).startswith("https") for u in endpoints.values()) else None
    return DmpClient(endpoints, signer=pki.client(name), caller=caller, ca_file=ca_file,
                     timeout=config.timeout)


def _describe(fault: SoapFault) -> str:
    if fault.code == "(none)":  # not a SOAP answer at all (a proxy's or server's HTTP error)
        return f"HTTP {fault.http_status}: {fault.reason}"
    return str(fault)


def _call(what: str, function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except SoapFault as fault:
        if fault.http_status >= 500 or fault.code.endswith("Receiver") or fault.code == "(none)":
            raise ServiceUnavailable(f"DMP {what}: {_describe(fault)}") from fault
        raise Refused(f"DMP {what} refused: {_describe(fault)}", fault.rules) from fault
    except (requests.RequestException, OSError) as exc:
        raise ServiceUnavailable(f"DMP {what}: unreachable: {exc}") from exc


def _check_result(what: str, result) -> None:
    if result.ok:
        return
    if result.fault is not None:
        fault = result.fault
        if fault.http_status >= 500 or fault.code.endswith("Receiver") or fault.code == "(none)":
            raise ServiceUnavailable(f"DMP {what}: {_describe(fault)}")
        raise Refused(f"DMP {what} refused: {_describe(fault)}", fault.rules)
    if result.codes and set(result.codes) <= OUTAGE_CODES:
        raise ServiceUnavailable(f"DMP {what}: {', '.join(result.codes)}")
    details = "; ".join(f"{e.code}: {e.context}" for e in result.errors) or str(result.status)
    raise Refused(f"DMP {what} refused: {details}", result.rules)


def check_dmp(client: DmpClient, ins: Ins) -> dict:
    """TD0.2: the patient must have an open DMP that this caller is not forbidden to feed."""
    answer = _call("TD0.2", client.td02, ins)
    if answer.get("dmp") != "OUVERT":
        raise Refused(f"the patient has no open DMP (TD0.2: dmp={answer.get('dmp')})")
    if answer.get("autorisation") == "INTERDIT":
        raise Refused("the patient opposed this professional's access to the DMP (TD0.2: INTERDIT)")
    return answer


def authorise(client: DmpClient, ins: Ins, action: str = "AJOUT") -> dict:
    """TD0.3: add (AJOUT) or remove (SUPPRESSION) this caller's authorisation on the patient's DMP; the
    DMP's answer (its `resultat` says whether it took it)."""
    return _call("TD0.3", client.td03, ins, action)


def send(client: DmpClient, document: bytes, defects: Defects | None = None) -> None:
    """ITI-41 (TD2.1)."""
    result = _call("ITI-41", client.provide_and_register, document, defects=defects)
    _check_result("ITI-41", result)


def send_relayed(client: DmpClient, document: bytes, defects: Defects | None = None) -> None:
    """ITI-41 as the faulty relay `relay-drops-ins` makes it (`volets.send_relayed`)."""
    result = _call("ITI-41", volets.send_relayed, client, document, defects or Defects())
    _check_result("ITI-41", result)


def find_entry(client: DmpClient, ins: Ins, unique_id: str, status: dict | None = None):
    """The registered entry of an earlier report: the TD0.3 authorisation consulting needs, then ITI-18."""
    status = status or _call("TD0.2", client.td02, ins)
    if status.get("autorisation") != "VALIDE":
        answer = authorise(client, ins)
        if answer.get("resultat", "OK") != "OK":
            raise Refused(f"DMP TD0.3 refused the authorisation: {answer.get('raison', answer)}")
    found = _call("ITI-18", client.get_documents, ins, unique_ids=[unique_id])
    if not found.ok:
        _check_result("ITI-18", found)
    entry = next((e for e in found.entries if e.unique_id == unique_id), None)
    if entry is None:
        raise Refused(f"the earlier report {unique_id} is not in the patient's DMP")
    return entry


def replace(client: DmpClient, ins: Ins, previous_unique_id: str, document: bytes,
            defects: Defects | None = None, status: dict | None = None) -> None:
    """TD2.2: find the earlier version (consulting needs the TD0.3 authorisation), then RPLC it."""
    entry = find_entry(client, ins, previous_unique_id, status)
    result = _call("ITI-41 (RPLC)", client.replace, entry, document, defects=defects)
    _check_result("ITI-41 (RPLC)", result)


def update_status(client: DmpClient, entry, new_status: str) -> None:
    """TD3.3: ITI-57 UpdateAvailabilityStatus of a registered entry (e.g. to Deleted)."""
    result = _call("ITI-57", client.update_status, entry, new_status)
    _check_result("ITI-57", result)
