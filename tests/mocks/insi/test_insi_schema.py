"""INSi mock: what goes over the wire validates against CNAM's OFFICIAL schemas.

The official XSDs are read at test time from `../shared/ref/insi/wsdl/xsd/` (never copied into the
project). Every answer the mock gives — found, none, several, every rule fault, injected faults —
and every request a conformant client (zeep + CNAM's WSDL) sends are checked element by element:
the SOAP headers (`ContexteLPS`, `ContexteBAM`, WS-Addressing), the body (`RECSANSVITALE`,
`RECVITALE`, `RESULTAT`) and the fault detail (`siram:Erreur`, WS-Addressing problem details).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import zeep
from lxml import etree

from segur.fixtures.world import load_world
from segur.mocks.insi.models import Outcome
from segur.mocks.insi.soap import NS_SOAP12, render_outcome
from segur.mocks.insi.testing import (
    context_headers,
    official_client,
    post_soap,
    running_insi,
    soap_envelope,
    traits_body,
    vitale_body,
)

OFFICIAL = {
    "http://www.cnamts.fr/INSiRecSans": "ServiceIdentiteCertifiee/INSi_RECSANS_INS.xsd",
    "http://www.cnamts.fr/INSiRecVit": "ServiceIdentiteCertifiee/INSi_RECVITALE_INS.xsd",
    "http://www.cnamts.fr/INSiResultat": "ServiceIdentiteCertifiee/INSi_RESULTAT_INS.xsd",
    "urn:siram:lps:ctxlps": "CTX/ROOT_ctxlps_CTXLPS_V01_00.xsd",
    "urn:siram:bam:ctxbam": "CTX/ROOT_ctxbam_CTXBAM_V01_02.xsd",
    "urn:siram": "schema_faultSOAP_V01_01.xsd",
    "http://www.w3.org/2005/08/addressing": "ws-addr.xsd",
}
S = f"{{{NS_SOAP12}}}"
TWICE = '<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">http://127.0.0.1/lps</wsa:To>'
MUST_UNDERSTAND = (f'<x:Trace xmlns:x="urn:example" xmlns:s="{NS_SOAP12}" s:mustUnderstand="true"/>')
#: Traits of world patients searched by the exchanges below (found, homonyms, unknown, lunar date…).
SEARCHED = (("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26"), ("BLANCHET", ["JULIE"], "F", "1981-04-02"),
            ("INCONNU", ["X"], "M", "1970-01-01"), ("ECETINSI", ["PIERRE-ALAIN"], "M", "2009-07-14"),
            ("PROVISOIRE", ["MATRICULE"], "M", "2009-07-01"), ("GAUDIN", ["AUGUSTIN"], "M", "1961-00-00"))
ADRTROIS = {"NomNaissance": "ADRTROIS", "Prenom": ["DOMINIQUE"], "Sexe": "F", "DateNaissance": "1997-02-26"}
ADRTROIS_CARD = {"NumIdentifiant": "297022A020778", "Cle": "78"}
SOAP_TYPE = "application/soap+xml"


@pytest.fixture(scope="module")
def official_schema(shared_ref) -> etree.XMLSchema:
    """One schema importing each official XSD, so any global element of them can be validated."""
    xsd_dir = shared_ref / "insi" / "wsdl" / "xsd"
    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{(xsd_dir / path).as_uri()}"/>'
                      for ns, path in OFFICIAL.items())
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    return etree.XMLSchema(etree.fromstring(wrapper, base_url=Path(xsd_dir).as_uri() + "/"))


def check(schema: etree.XMLSchema, element: etree._Element, where: str) -> None:
    copy = etree.fromstring(etree.tostring(element))
    if not schema.validate(copy):
        raise AssertionError(f"{where}: {etree.QName(element).localname} is not valid against CNAM's XSD: "
                             f"{schema.error_log.filter_from_errors()}")


def check_envelope(schema, text: str, where: str, *, request: bool) -> int:
    """Validate every header and body element of an envelope; returns how many elements were checked."""
    root = etree.fromstring(text.encode())
    assert root.tag == f"{S}Envelope", where
    checked = 0
    header = root.find(f"{S}Header")
    for child in [] if header is None else header:
        qname = etree.QName(child)
        if qname.namespace in OFFICIAL:
            check(schema, child, where)
            checked += 1
        else:
            assert qname.namespace == NS_SOAP12 and qname.localname in ("Upgrade", "NotUnderstood"), where
    payload = root.find(f"{S}Body")[0]
    if payload.tag == f"{S}Fault":
        assert not request
        code = payload.findtext(f"{S}Code/{S}Value")
        assert code in ("S:Sender", "S:Receiver", "S:VersionMismatch", "S:MustUnderstand"), where
        # as CNAM's last recorded fault: xml:lang="en" on a French text (padoa/tlsi-ins insi-helper.test.ts)
        assert payload.find(f"{S}Reason/{S}Text").get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        for detail in payload.findall(f"{S}Detail/*"):
            check(schema, detail, where)
            checked += 1
    else:
        check(schema, payload, where)
        checked += 1
    return checked


@pytest.fixture(scope="module")
def exchanges(shared_ref):
    """Drive a broad set of exchanges through one mock and return its journal."""
    with running_insi() as insi:
        client, service = official_client(shared_ref / "insi" / "wsdl", insi.service_url)
        headers = context_headers()
        for traits in SEARCHED:
            service.rechercherInsAvecTraitsIdentite(*traits, LieuNaissance=None, _soapheaders=headers)
        service.rechercherInsAvecTraitsIdentite("CORSE", ["ANTHONY"], "M", "1980-03-02", "2B020",
                                                _soapheaders=headers)
        child = {"NumIdentifiant": "2090763220834", "Cle": "39"}
        service.rechercherInsAvecCarteVitale(MatriculeIndividu=child, DateNaissance="2009-07-14",
                                             _soapheaders=headers)
        insured = {"MatriculeOD": {"NumIdentifiant": "180032B020401", "Cle": "23"}, "NomNaissance": "CORSE",
                   "DateNaissance": "1980-03-02", "RangNaissance": "1"}
        service.rechercherInsAvecCarteVitale(**insured, _soapheaders=headers)
        for bad in ({"Sexe": "X"}, {"DateNaissance": "1999-02-30"}):
            with pytest.raises(zeep.exceptions.Fault):
                service.rechercherInsAvecTraitsIdentite(**{**ADRTROIS, **bad}, _soapheaders=headers)
        with pytest.raises(zeep.exceptions.Fault):
            service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                    _soapheaders=context_headers("FAKE-IDAM"))
        with pytest.raises(zeep.exceptions.Fault):
            service.rechercherInsAvecCarteVitale(MatriculeIndividu=ADRTROIS_CARD, DateNaissance="1997-02-26",
                                                 _soapheaders=context_headers("SEGUR-TEST-MANU"))
        # hand-built requests the service refuses: every kind of rule fault
        url = insi.service_url
        for body in (
            soap_envelope(traits_body(), action=None),
            soap_envelope(traits_body(), action="urn:ServiceIdentiteCertifiee:1.0.0:supprimerIns"),
            soap_envelope(traits_body(), lps=None),
            soap_envelope(traits_body(), bam=None),
            soap_envelope(traits_body(), namespace="http://schemas.xmlsoap.org/soap/envelope/"),
            soap_envelope(vitale_body(), operation="rechercherInsAvecTraitsIdentite"),
            soap_envelope(vitale_body(nir="12"), operation="rechercherInsAvecCarteVitale"),
            soap_envelope(traits_body(birth_place="ABCDEF")),
            soap_envelope(traits_body(), message_id=None),
            soap_envelope(traits_body(), lps=MUST_UNDERSTAND),
            soap_envelope(traits_body(), lps=TWICE + TWICE),
            b"<not-xml",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        ):
            post_soap(url, body)
        post_soap(url, soap_envelope(traits_body()),
                  content_type='application/soap+xml; action="urn:ServiceIdentiteCertifiee:1.0.0:autre"')
        # injected faults: the catalogue's and a replayed real code
        insi.admin("faults", "POST", {"kind": "soap_fault", "fault": "service_unavailable", "count": 1})
        insi.admin("faults", "POST", {"kind": "soap_fault", "siram": "siram_40", "desir": "desir_1020",
                                      "code": "Receiver", "count": 1})
        for _ in range(2):
            post_soap(url, soap_envelope(traits_body()))
        yield insi.journal.entries()


def test_every_answer_validates_against_the_official_xsds(official_schema, exchanges):
    soap_answers = [e for e in exchanges if e.response["headers"]["Content-Type"].startswith(SOAP_TYPE)]
    assert len(soap_answers) == len(exchanges) == 29
    checked = sum(check_envelope(official_schema, e.response["body"]["text"], f"answer #{e.seq}",
                                 request=False) for e in soap_answers)
    answers = [e for e in soap_answers if e.response["status"] == 200]
    # wsa:Action, MessageID, RelatesTo (when known) and the body of every answer; faults as CNAM writes
    # them carry no WS-Addressing header, only their detail (when they have one)
    assert sum(check_envelope(official_schema, e.response["body"]["text"], f"answer #{e.seq}", request=False)
               for e in answers) > 3 * len(answers)
    assert checked > len(soap_answers)
    verdicts = {e.verdict for e in exchanges}
    assert verdicts == {"accepted", "rejected", "fault-injected"}


def test_every_request_of_a_conformant_client_validates_against_the_official_xsds(official_schema, exchanges):
    from_zeep = [e for e in exchanges if "zeep" in e.request["headers"].get("User-Agent", "").lower()]
    assert len(from_zeep) >= 13
    for entry in from_zeep:
        check_envelope(official_schema, entry.request["body"]["text"], f"request #{entry.seq}", request=True)


def test_the_hand_built_requests_of_the_test_kit_validate_too(official_schema):
    for body in (traits_body(), traits_body(birth_place="2A020"), vitale_body(), vitale_body(od=True)):
        envelope = soap_envelope(body)
        assert check_envelope(official_schema, envelope.decode(), "kit request", request=True) == 5


def test_the_answer_for_every_patient_of_the_world_validates(official_schema):
    for patient in load_world().patients:
        answer = etree.fromstring(render_outcome(Outcome("op", "00", patient, 1)).encode())
        check(official_schema, answer, patient.key)
    for code in ("01", "02"):
        check(official_schema, etree.fromstring(render_outcome(Outcome("op", code)).encode()), code)


def test_the_official_schema_does_reject_a_broken_answer(official_schema):
    """The check has teeth: an answer with a 3-digit key or the elements out of order fails."""
    ns = "http://www.cnamts.fr/INSiResultat"
    bad_key = (f'<RESULTAT xmlns="{ns}"><CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR>'
               "<INDIVIDU><INSACTIF><IdIndividu><NumIdentifiant>297022A020778</NumIdentifiant><Cle>789</Cle></IdIndividu>"
               "<OID>1.2.250.1.213.1.4.8</OID></INSACTIF><TIQ/></INDIVIDU></RESULTAT>")
    with pytest.raises(AssertionError, match="not valid"):
        check(official_schema, etree.fromstring(bad_key), "bad key")
    swapped = f'<RESULTAT xmlns="{ns}"><CR><LibelleCR>OK</LibelleCR><CodeCR>00</CodeCR></CR></RESULTAT>'
    with pytest.raises(AssertionError, match="not valid"):
        check(official_schema, etree.fromstring(swapped), "swapped")
    erreur = '<siram:Erreur xmlns:siram="urn:siram" code="desir_550" severite="fatal">x</siram:Erreur>'
    with pytest.raises(AssertionError, match="not valid"):
        check(official_schema, etree.fromstring(erreur), "recorded 'fatal'")


# -- the mock's own schemas describe the same interface ------------------------------------------

OWN = {
    "http://www.cnamts.fr/INSiRecSans": "insi-recherche-traits.xsd",
    "http://www.cnamts.fr/INSiRecVit": "insi-recherche-vitale.xsd",
    "http://www.cnamts.fr/INSiResultat": "insi-resultat.xsd",
    "urn:siram:lps:ctxlps": "contexte-lps.xsd",
    "urn:siram:bam:ctxbam": "contexte-bam.xsd",
    "urn:siram": "erreur-siram.xsd",
    "http://www.w3.org/2005/08/addressing": "ws-addressing.xsd",
}


def test_every_exchange_validates_against_the_mocks_own_schemas_too(exchanges):
    from segur.mocks.insi.soap import WSDL_DIR

    imports = "".join(f'<xs:import namespace="{ns}" schemaLocation="{(WSDL_DIR / "xsd" / name).as_uri()}"/>'
                      for ns, name in OWN.items())
    own = etree.XMLSchema(etree.fromstring(f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'))
    for entry in exchanges:
        check_envelope(own, entry.response["body"]["text"], f"answer #{entry.seq}", request=False)
        if "zeep" in entry.request["headers"].get("User-Agent", "").lower():
            check_envelope(own, entry.request["body"]["text"], f"request #{entry.seq}", request=True)


def _interface(wsdl: Path) -> dict:
    """Operations → (input parts with their elements, output parts, faults, SOAP action), from a WSDL."""
    tree = etree.parse(str(wsdl))
    w = "{http://schemas.xmlsoap.org/wsdl/}"
    messages = {}
    for message in tree.iterfind(f"{w}message"):
        parts = []
        for part in message.iterfind(f"{w}part"):
            prefix, local = part.get("element").split(":")
            parts.append((part.get("name"), f"{{{part.nsmap[prefix]}}}{local}"))
        messages[message.get("name")] = parts
    out = {}
    for op in tree.iterfind(f"{w}binding/{w}operation"):
        name = op.get("name")
        headers = [h.get("part") for h in op.iterfind(f"{w}input/{{http://schemas.xmlsoap.org/wsdl/soap12/}}header")]
        action = op.find("{http://schemas.xmlsoap.org/wsdl/soap12/}operation").get("soapAction")
        out[name] = (messages[name], messages[name + "Response"], headers, action)
    return out


def test_the_mocks_wsdl_has_the_same_operations_messages_and_headers_as_cnams(shared_ref):
    from segur.mocks.insi.soap import WSDL_FILE

    assert _interface(WSDL_FILE) == _interface(shared_ref / "insi" / "wsdl" / "DESIR_ICIR_EXP_1.5.0.wsdl")
