"""Run the INSi mock in-process, on a free loopback port, for tests and scripts.

    with running_insi() as insi:                        # an InsiService (RunningInsi), started
        client = zeep.Client(insi.wsdl_url)             # the mock's own WSDL
        insi.admin("faults", "POST", {"kind": "http_error", "status": 503, "count": 1})
        insi.journal.entries()

The keywords are the settings of `InsiConfig` (the `[insi]` section of `segur up`): `tls=True` serves
HTTPS with the test PKI's server certificate; `mtls=True` also requires a client certificate of the
test CA whose CN says INSI-AUTO or INSI-MANU (as CNAM's service does).
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import zeep
import zeep.wsa
from zeep.transports import Transport

from segur.kernel.pki import TestPki
from segur.kernel.service import StackContext
from segur.mocks.insi.models import SERVICE_PATH
from segur.mocks.insi.service import InsiConfig, InsiService


class RunningInsi(InsiService):
    """An `InsiService` with the addresses and the admin calls a test needs."""

    @property
    def url(self) -> str:
        return self.base_url

    @property
    def service_url(self) -> str:
        return self.base_url + SERVICE_PATH

    @property
    def wsdl_url(self) -> str:
        return self.base_url + SERVICE_PATH + "?wsdl"

    @property
    def pki(self) -> TestPki | None:
        return self.context.pki

    def admin(self, path: str, method: str = "GET", body=None, context=None) -> tuple[int, dict]:
        """Call the admin API (JSON); returns (status, decoded body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_admin/{path.lstrip('/')}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10, context=context) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")


@contextmanager
def running_insi(world=None, *, pki: TestPki | None = None, pki_dir: Path | None = None,
                 host: str = "127.0.0.1", sleep=None, seed: int = 0, **settings) -> Iterator[RunningInsi]:
    """Start an INSi mock on a free port (`settings`: fields of `InsiConfig`); stop it on exit.

    The test PKI is `pki`, else the one in `pki_dir`, else a temporary one made when TLS asks for it.
    Like `segur serve insi`, a lone mock: an unknown IDAM is refused unless `any_idam=True`."""
    context = StackContext.for_tests(world=world, pki=pki, host=host)
    if pki is None and pki_dir is not None:
        context.pki = TestPki.load_or_create(pki_dir)
    extra = {} if sleep is None else {"sleep": sleep}
    with RunningInsi(lone_config(InsiConfig, port=0, **settings), context, seed=seed, **extra) as service:
        yield service


def lone_config(cls, **settings):
    """A config as `segur serve NAME` builds it for a lone mock: its `serve_default`s (e.g. an unknown
    IDAM refused), then `settings`."""
    defaults = {item.name: item.metadata["serve_default"] for item in dataclasses.fields(cls)
                if item.metadata.get("serve_default", dataclasses.MISSING) is not dataclasses.MISSING}
    return cls(**{**defaults, **settings})


# -- clients ------------------------------------------------------------------------------------

OFFICIAL_WSDL = "DESIR_ICIR_EXP_1.5.0.wsdl"
WS_ADDR_URL = "http://www.w3.org/2006/03/addressing/ws-addr.xsd"
BINDING = "{http://www.cnamts.fr/webservice}ICIRServiceBinding"


def official_client(insi_wsdl_dir: Path, service_url: str, session=None, ws_addressing: bool = True):
    """A zeep client generated from CNAM's own WSDL (`../shared/ref/insi/wsdl/`), pointed at `service_url`.

    Two things only differ from a client of the real service: the endpoint address, and the W3C
    `ws-addr.xsd` the WSDL imports from its web address, read from the local copy. CNAM's WSDL
    declares its actions in the 2006/02 `wsaw` namespace, which zeep does not read, so the client
    turns WS-Addressing on explicitly (as it must against the real service); `ws_addressing=False`
    gives the plain generated client, which sends no wsa:Action.
    """
    local_ws_addr = Path(insi_wsdl_dir) / "xsd" / "ws-addr.xsd"

    class _OfflineWsAddressing(Transport):
        def load(self, url):
            if url == WS_ADDR_URL:
                return local_ws_addr.read_bytes()
            return super().load(url)

    transport = _OfflineWsAddressing(session=session) if session is not None else _OfflineWsAddressing()
    client = zeep.Client(str(Path(insi_wsdl_dir) / OFFICIAL_WSDL), transport=transport,
                         plugins=[zeep.wsa.WsAddressingPlugin()] if ws_addressing else [])
    return client, client.create_service(BINDING, service_url)


def context_headers(idam: str = "SEGUR-TEST", *, emitter: str = "medecin@exemple.test",
                    when: str = "2026-11-23T10:00:00.000Z") -> dict:
    """`_soapheaders` for zeep: a ContexteLPS (v01_00) naming the software's IDAM and a ContexteBAM
    (v01_02)."""
    return {
        "NO1_ContexteLPS": {
            "Id": str(uuid.uuid4()), "Temps": when, "Emetteur": emitter,
            "LPS": {"IDAM": {"_value_1": idam, "R": "4"}, "Version": "1.0", "Instance": str(uuid.uuid4()),
                    "Nom": "urn:lps:segur-harness:1.0"},
            "Nature": "CTXLPS", "Version": "01_00"},
        "NO1_ContexteBAM": {"Id": str(uuid.uuid4()), "Temps": when, "Emetteur": emitter, "COUVERTURE": {},
                            "Version": "01_02"},
    }


LPS_XML = ('<ctxlps:ContexteLPS xmlns:ctxlps="urn:siram:lps:ctxlps" Nature="CTXLPS" Version="01_00">'
           "<ctxlps:Id>{id}</ctxlps:Id><ctxlps:Temps>2026-11-23T10:00:00.000Z</ctxlps:Temps>"
           "<ctxlps:Emetteur>medecin@exemple.test</ctxlps:Emetteur><ctxlps:LPS>"
           '<ctxlps:IDAM R="4">{idam}</ctxlps:IDAM><ctxlps:Version>1.0</ctxlps:Version>'
           "<ctxlps:Instance>{id}</ctxlps:Instance><ctxlps:Nom>urn:lps:segur-harness:1.0</ctxlps:Nom>"
           "</ctxlps:LPS></ctxlps:ContexteLPS>")
BAM_XML = ('<ctxbam:ContexteBAM xmlns:ctxbam="urn:siram:bam:ctxbam" Version="01_02">'
           "<ctxbam:Id>{id}</ctxbam:Id><ctxbam:Temps>2026-11-23T10:00:00.000Z</ctxbam:Temps>"
           "<ctxbam:Emetteur>medecin@exemple.test</ctxbam:Emetteur><ctxbam:COUVERTURE/></ctxbam:ContexteBAM>")
ACTION_PREFIX = "urn:ServiceIdentiteCertifiee:1.0.0:"


def traits_body(birth_name="ADRTROIS", first_names=("DOMINIQUE",), sex="F", birth_date="1997-02-26",
                birth_place=None) -> str:
    """A RECSANSVITALE element (values escaped; None leaves a trait out)."""
    parts = [] if birth_name is None else [f"<r:NomNaissance>{escape(birth_name)}</r:NomNaissance>"]
    parts += [f"<r:Prenom>{escape(p)}</r:Prenom>" for p in first_names]
    for name, value in (("Sexe", sex), ("DateNaissance", birth_date), ("LieuNaissance", birth_place)):
        if value is not None:
            parts.append(f"<r:{name}>{escape(value)}</r:{name}>")
    return f'<r:RECSANSVITALE xmlns:r="http://www.cnamts.fr/INSiRecSans">{"".join(parts)}</r:RECSANSVITALE>'


def vitale_body(nir="2090763220834", key="39", birth_date="2009-07-14", birth_name=None, od=False) -> str:
    matricule = "MatriculeOD" if od else "MatriculeIndividu"
    key_xml = "" if key is None else f"<v:Cle>{key}</v:Cle>"
    name = "" if birth_name is None else f"<v:NomNaissance>{escape(birth_name)}</v:NomNaissance>"
    date_xml = "" if birth_date is None else f"<v:DateNaissance>{birth_date}</v:DateNaissance>"
    return (f'<v:RECVITALE xmlns:v="http://www.cnamts.fr/INSiRecVit"><v:{matricule}><v:NumIdentifiant>{nir}'
            f"</v:NumIdentifiant>{key_xml}</v:{matricule}>{name}{date_xml}</v:RECVITALE>")


def soap_envelope(body: str, *, operation: str = "rechercherInsAvecTraitsIdentite", idam: str = "SEGUR-TEST",
                  action: str | None = "default", message_id: str | None = "default",
                  lps: str | None = "default", bam: str | None = "default",
                  namespace: str = "http://www.w3.org/2003/05/soap-envelope") -> bytes:
    """A hand-built INSi request, each header replaceable or removable (None), for negative tests."""
    token = str(uuid.uuid4())
    headers = []
    if lps is not None:
        headers.append(LPS_XML.format(id=token, idam=escape(idam)) if lps == "default" else lps)
    if bam is not None:
        headers.append(BAM_XML.format(id=token) if bam == "default" else bam)
    if action is not None:
        value = ACTION_PREFIX + operation if action == "default" else action
        headers.append(f'<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">{escape(value)}</wsa:Action>')
    if message_id is not None:
        value = f"uuid:{token}" if message_id == "default" else message_id
        headers.append(f'<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">{escape(value)}'
                       "</wsa:MessageID>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{namespace}">'
            f"<soap:Header>{''.join(headers)}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>").encode()


def post_soap(url: str, body: bytes, *, content_type: str = "application/soap+xml; charset=utf-8",
              context=None, timeout: float = 10) -> tuple[int, dict, bytes]:
    """POST raw bytes; returns (status, headers, body) whatever the status."""
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def search_first_name_by_first_name(service, birth_name: str, first_names: str, sex: str, birth_date: str,
                                    birth_place: str | None = None, soapheaders: dict | None = None):
    """Search as real INSi clients do: once per first name in turn, then with the whole list, until one
    identity is found (00). `padoa/tlsi-ins` records this loop (OLA → 01, CATARINA → 00; after a 02 it
    goes on with the next first name) and the regional INS guides advise adding the other first
    names after a 02.

    Returns (last result, [(first name tried, CodeCR), ...]).
    """
    names = first_names.split()
    tries = names + ([" ".join(names)] if len(names) > 1 else [])
    attempts = []
    result = None
    place = {"LieuNaissance": birth_place} if birth_place else {}
    for name in tries:
        headers = soapheaders or context_headers()  # fresh message ids for each call
        result = service.rechercherInsAvecTraitsIdentite(NomNaissance=birth_name, Prenom=[name], Sexe=sex,
                                                         DateNaissance=birth_date, _soapheaders=headers,
                                                         **place)
        attempts.append((name, result.CR.CodeCR))
        if result.CR.CodeCR == "00":
            break
    return result, attempts
