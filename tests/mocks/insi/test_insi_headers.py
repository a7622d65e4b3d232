"""INSi mock: the checks on the SOAP envelope, WS-Addressing, the ContexteLPS/ContexteBAM headers,
the software authorisation (IDAM) and the access level — each with a passing and a failing case,
and the fault a client gets (SOAP 1.2 code, `siram_NNN` subcode, `siram:Erreur` detail code)."""

from __future__ import annotations

import pytest
import zeep
from lxml import etree

from segur.mocks.insi.service import InsiConfig, InsiService
from segur.mocks.insi.soap import WSA_FAULT_ACTION
from segur.mocks.insi.testing import (
    BAM_XML,
    LPS_XML,
    context_headers,
    official_client,
    post_soap,
    running_insi,
    soap_envelope,
    traits_body,
    vitale_body,
)

ENV = "{http://www.w3.org/2003/05/soap-envelope}"
WSA = "{http://www.w3.org/2005/08/addressing}"
ADRTROIS = ("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26")
ADRTROIS_TRAITS = dict(zip(("NomNaissance", "Prenom", "Sexe", "DateNaissance"), ADRTROIS, strict=True))
ADRTROIS_CARD = {"MatriculeIndividu": {"NumIdentifiant": "297022A020778", "Cle": "78"},
                 "DateNaissance": "1997-02-26"}


@pytest.fixture(scope="module")
def insi():
    with running_insi() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(insi):
    insi.admin("reset", "POST", {})


def fault_of(body: bytes) -> dict:
    root = etree.fromstring(body)
    fault = root.find(f"{ENV}Body/{ENV}Fault")
    assert fault is not None, body
    subcodes = [v.text for v in fault.iter(f"{ENV}Value")][1:]
    erreur = fault.find(f"{ENV}Detail/{{urn:siram}}Erreur")
    return {
        "code": fault.findtext(f"{ENV}Code/{ENV}Value"),
        "subcodes": subcodes,
        "reason": fault.findtext(f"{ENV}Reason/{ENV}Text"),
        "desir": None if erreur is None else erreur.get("code"),
        "severite": None if erreur is None else erreur.get("severite"),
        "message_id": None if erreur is None else erreur.get("messageID"),
        "text": None if erreur is None else erreur.text,
        "relates_to": root.findtext(f"{ENV}Header/{WSA}RelatesTo"),
        "detail": fault.find(f"{ENV}Detail"),
    }


def call(insi, envelope: bytes, **kwargs):
    status, headers, body = post_soap(insi.service_url, envelope, **kwargs)
    return status, headers, body


def last_rules(insi) -> list[str]:
    return insi.journal.entries()[-1].rules


def test_a_complete_request_is_answered_200(insi):
    status, headers, body = call(insi, soap_envelope(traits_body()))
    assert status == 200 and headers["Content-Type"].startswith("application/soap+xml")
    assert etree.fromstring(body).findtext(".//{http://www.cnamts.fr/INSiResultat}CodeCR") == "00"


# -- SOAP version ----------------------------------------------------------------------------------

def test_a_soap_1_1_envelope_gets_version_mismatch_with_the_upgrade_header(insi):
    status, _, body = call(insi, soap_envelope(traits_body(), namespace="http://schemas.xmlsoap.org/soap/envelope/"),
                           content_type="text/xml; charset=utf-8")
    fault = fault_of(body)
    assert status == 500 and fault["code"] == "S:VersionMismatch"
    upgrade = etree.fromstring(body).find(f"{ENV}Header/{ENV}Upgrade/{ENV}SupportedEnvelope")
    assert upgrade is not None and upgrade.get("qname").endswith(":Envelope")
    assert last_rules(insi) == ["INSI-SOAP-VERSION"]


OTHER_MEDIA_TYPES = ["text/xml; charset=utf-8", "application/xml", "application/x-www-form-urlencoded"]


@pytest.mark.parametrize("content_type", OTHER_MEDIA_TYPES)
def test_a_soap_1_2_envelope_sent_with_another_media_type_gets_415(insi, content_type):
    status, headers, body = call(insi, soap_envelope(traits_body()), content_type=content_type)
    assert status == 415 and headers["Content-Type"].startswith("application/soap+xml")
    assert fault_of(body)["code"] == "S:Sender" and "application/soap+xml" in fault_of(body)["reason"]
    assert last_rules(insi) == ["INSI-HTTP-CONTENT-TYPE"]
    assert call(insi, soap_envelope(traits_body()), content_type="Application/SOAP+XML")[0] == 200


def test_a_root_that_is_not_an_envelope_is_a_version_mismatch(insi):
    status, _, body = call(insi, traits_body().encode())
    assert status == 500 and fault_of(body)["code"] == "S:VersionMismatch"
    assert last_rules(insi) == ["INSI-SOAP-VERSION"]


def test_an_envelope_without_body_or_with_stray_elements_is_a_sender_fault(insi):
    no_body = b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header/></soap:Envelope>'
    stray = soap_envelope(traits_body()).replace(b"</soap:Envelope>", b"<soap:Trailer/></soap:Envelope>")
    for envelope in (no_body, stray):
        status, _, body = call(insi, envelope)
        assert status == 500 and fault_of(body)["code"] == "S:Sender"
        assert last_rules(insi) == ["INSI-SOAP-ENVELOPE"]


def test_a_body_with_two_requests_is_refused(insi):
    envelope = soap_envelope(traits_body() + traits_body())
    assert call(insi, envelope)[0] == 500 and last_rules(insi) == ["INSI-SOAP-ENVELOPE"]


TRACE = '<x:Trace xmlns:x="urn:example" xmlns:s="http://www.w3.org/2003/05/soap-envelope" {attrs}>1</x:Trace>'


def test_an_unknown_header_marked_must_understand_gets_a_must_understand_fault(insi):
    header = TRACE.format(attrs='s:mustUnderstand="true"')
    envelope = soap_envelope(traits_body(), bam=BAM_XML.format(id="b") + header)
    status, _, body = call(insi, envelope)
    assert status == 500 and fault_of(body)["code"] == "S:MustUnderstand"
    not_understood = etree.fromstring(body).find(f"{ENV}Header/{ENV}NotUnderstood")
    assert not_understood is not None and not_understood.get("qname").endswith(":Trace")
    assert last_rules(insi) == ["INSI-SOAP-MUSTUNDERSTAND"]


@pytest.mark.parametrize("attrs", ["", 's:mustUnderstand="false"',
                                   's:mustUnderstand="true" s:role="http://www.w3.org/2003/05/soap-envelope/role/none"'])
def test_unknown_headers_the_service_need_not_understand_are_ignored(insi, attrs):
    envelope = soap_envelope(traits_body(), bam=BAM_XML.format(id="b") + TRACE.format(attrs=attrs))
    assert call(insi, envelope)[0] == 200


def test_a_wsse_security_header_with_a_saml_assertion_is_accepted(insi):
    security = ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
                '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a1" Version="2.0" '
                'IssueInstant="2026-11-23T10:00:00Z"><saml:Issuer>CPS</saml:Issuer></saml:Assertion></wsse:Security>')
    assert call(insi, soap_envelope(traits_body(), bam=BAM_XML.format(id="b") + security))[0] == 200


# -- WS-Addressing -------------------------------------------------------------------------------

def test_a_missing_wsa_action_is_a_message_addressing_header_required_fault(insi):
    status, _, body = call(insi, soap_envelope(traits_body(), action=None))
    fault = fault_of(body)
    assert status == 500 and fault["code"] == "S:Sender"
    assert fault["subcodes"] == ["wsa:MessageAddressingHeaderRequired"]
    assert fault["detail"].findtext(f"{WSA}ProblemHeaderQName") == "wsa:Action"
    assert last_rules(insi) == ["INSI-WSA-ACTION-MISSING"]


def test_a_plain_zeep_client_without_ws_addressing_is_refused_by_default(insi, shared_ref):
    _, plain = official_client(shared_ref / "insi" / "wsdl", insi.service_url, ws_addressing=False)
    with pytest.raises(zeep.exceptions.Fault) as raised:
        plain.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                              _soapheaders=context_headers())
    assert [s.localname for s in raised.value.subcodes] == ["MessageAddressingHeaderRequired"]


def test_in_lenient_mode_the_soap_action_stands_in_for_a_missing_wsa_action(shared_ref):
    with running_insi(wsa_action_required=False) as lenient:
        _, plain = official_client(shared_ref / "insi" / "wsdl", lenient.service_url, ws_addressing=False)
        result = plain.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                       _soapheaders=context_headers())
        assert result.CR.CodeCR == "00"
        assert "INSI-WSA-ACTION-FALLBACK" in lenient.journal.entries()[-1].rules
        # no action anywhere: still refused
        status, _, _ = post_soap(lenient.service_url, soap_envelope(traits_body(), action=None))
        assert status == 500 and lenient.journal.entries()[-1].rules == ["INSI-WSA-ACTION-MISSING"]
        assert lenient.admin("health")[1]["wsa_action_required"] is False


def test_an_unknown_action_is_an_action_not_supported_fault(insi):
    action = "urn:ServiceIdentiteCertifiee:1.0.0:supprimerIns"
    status, _, body = call(insi, soap_envelope(traits_body(), action=action))
    fault = fault_of(body)
    assert fault["subcodes"] == ["wsa:ActionNotSupported"]
    assert fault["detail"].findtext(f"{WSA}ProblemAction/{WSA}Action") == action
    assert last_rules(insi) == ["INSI-WSA-ACTION-UNKNOWN"]


def test_a_soap_action_that_differs_from_wsa_action_is_refused(insi):
    envelope = soap_envelope(traits_body())
    soap12 = 'application/soap+xml; charset=utf-8; action="urn:ServiceIdentiteCertifiee:1.0.0:{}"'
    ok = soap12.format("rechercherInsAvecTraitsIdentite")
    assert call(insi, envelope, content_type=ok)[0] == 200
    wrong = soap12.format("rechercherInsAvecCarteVitale")
    status, _, body = call(insi, envelope, content_type=wrong)
    assert status == 500
    assert fault_of(body)["subcodes"] == ["wsa:InvalidAddressingHeader", "wsa:ActionMismatch"]
    assert last_rules(insi) == ["INSI-WSA-ACTION-MISMATCH"]


def test_a_body_that_belongs_to_the_other_operation_is_refused(insi):
    status, _, body = call(insi, soap_envelope(vitale_body(), operation="rechercherInsAvecTraitsIdentite"))
    fault = fault_of(body)
    assert status == 500 and fault["subcodes"] == ["S:siram_10"] and fault["desir"] == "insi_101"
    assert last_rules(insi) == ["INSI-BODY-OPERATION"]
    assert call(insi, soap_envelope(vitale_body(), operation="rechercherInsAvecCarteVitale"))[0] == 200


@pytest.mark.parametrize("header", ["Action", "MessageID", "To"])
def test_a_ws_addressing_header_sent_twice_is_an_invalid_cardinality_fault(insi, header):
    value = {"Action": "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite",
             "MessageID": "uuid:twice", "To": "http://127.0.0.1/lps"}[header]
    extra = f'<wsa:{header} xmlns:wsa="http://www.w3.org/2005/08/addressing">{value}</wsa:{header}>'
    twice = extra + (extra if header == "To" else "")  # soap_envelope already sends Action and MessageID
    envelope = soap_envelope(traits_body(), bam=BAM_XML.format(id="b") + twice)
    status, _, body = call(insi, envelope)
    fault = fault_of(body)
    assert status == 500 and fault["subcodes"] == ["wsa:InvalidAddressingHeader", "wsa:InvalidCardinality"]
    assert fault["detail"].findtext(f"{WSA}ProblemHeaderQName") == f"wsa:{header}"
    assert last_rules(insi) == ["INSI-WSA-CARDINALITY"]


def test_a_zeep_client_that_also_passes_a_message_id_header_is_told_so(insi, shared_ref):
    _, service = official_client(shared_ref / "insi" / "wsdl", insi.service_url)
    headers = {**context_headers(), "NO1_MessageID": "uuid:mine"}
    with pytest.raises(zeep.exceptions.Fault) as raised:
        service.rechercherInsAvecTraitsIdentite(*ADRTROIS, _soapheaders=headers)
    assert [s.localname for s in raised.value.subcodes] == ["InvalidAddressingHeader", "InvalidCardinality"]


def test_without_message_id_the_answer_comes_with_a_warning_and_no_relates_to(insi):
    status, _, body = call(insi, soap_envelope(traits_body(), message_id=None))
    assert status == 200
    assert etree.fromstring(body).find(f"{ENV}Header/{WSA}RelatesTo") is None
    assert "INSI-WSA-MESSAGEID" in last_rules(insi)


def test_faults_echo_the_request_message_id_in_the_detail_as_cnam_does(insi):
    _, _, body = call(insi, soap_envelope(traits_body(), lps=None, message_id="uuid:abc-123"))
    fault = fault_of(body)
    assert fault["message_id"] == "uuid:abc-123" and fault["relates_to"] is None


def test_strict_faults_answer_sender_faults_with_400_and_ws_addressing_headers():
    with running_insi(fault_style="strict") as strict:
        status, _, body = call(strict, soap_envelope(traits_body(), lps=None, message_id="uuid:abc-123"))
        assert status == 400 and strict.admin("health")[1]["fault_style"] == "strict"
    fault = fault_of(body)
    assert fault["relates_to"] == "uuid:abc-123" and fault["message_id"] == "uuid:abc-123"
    assert etree.fromstring(body).findtext(f"{ENV}Header/{WSA}Action") == WSA_FAULT_ACTION


def test_receiver_faults_keep_http_500_in_the_strict_style():
    with running_insi(fault_style="strict") as strict:
        strict.admin("faults", "POST", {"kind": "soap_fault", "fault": "technical_error", "count": 1})
        assert call(strict, soap_envelope(traits_body()))[0] == 500


def test_an_unknown_fault_style_is_refused():
    with pytest.raises(ValueError, match="fault_style"):
        InsiService(InsiConfig(fault_style="lenient"))


# -- ContexteLPS / ContexteBAM -----------------------------------------------------------------------

LPS_NO_IDAM = LPS_XML.replace('<ctxlps:IDAM R="4">{idam}</ctxlps:IDAM>', "").format(id="i1", idam="")
LPS_BAD_TIME = LPS_XML.replace("2026-11-23T10:00:00.000Z", "hier").format(id="i1", idam="SEGUR-TEST")
LPS_NO_VERSION = LPS_XML.replace(' Version="01_00"', "").format(id="i1", idam="SEGUR-TEST")
LPS_BAD_NATURE = LPS_XML.replace('Nature="CTXLPS"', 'Nature="CTXBAM"').format(id="i1", idam="SEGUR-TEST")
BAM_NO_COUVERTURE = BAM_XML.replace("<ctxbam:COUVERTURE/>", "").format(id="b1")
BAM_NO_ID = BAM_XML.replace("<ctxbam:Id>{id}</ctxbam:Id>", "")
BAM_BAD_TIME = BAM_XML.replace("2026-11-23T10:00:00.000Z", "2026-11-23").format(id="b1")


@pytest.mark.parametrize(("headers", "desir", "problem"), [
    ({"lps": None}, "desir_510", "is missing"),
    ({"lps": LPS_NO_IDAM}, "desir_510", "IDAM"),
    ({"lps": LPS_BAD_TIME}, "desir_510", "Temps"),
    ({"lps": LPS_NO_VERSION}, "desir_510", "Version"),
    ({"lps": LPS_BAD_NATURE}, "desir_510", "Nature"),
    ({"bam": None}, "desir_511", "is missing"),
    ({"bam": BAM_NO_COUVERTURE}, "desir_511", "COUVERTURE"),
    ({"bam": BAM_NO_ID}, "desir_511", "Id"),
    ({"bam": BAM_BAD_TIME}, "desir_511", "Temps"),
])
def test_missing_or_malformed_context_headers_get_a_siram_fault(insi, headers, desir, problem):
    status, _, body = call(insi, soap_envelope(traits_body(), **headers))
    fault = fault_of(body)
    assert status == 500 and fault["code"] == "S:Sender" and fault["subcodes"] == ["S:siram_10"]
    assert fault["desir"] == desir and fault["severite"] == "erreur" and problem in fault["text"]
    assert last_rules(insi) == ["INSI-CTX-LPS" if desir == "desir_510" else "INSI-CTX-BAM"]


# -- IDAM and access level -----------------------------------------------------------------------

def test_an_unknown_idam_gets_cnams_recorded_siram_100_desir_550_fault(insi, shared_ref):
    _, service = official_client(shared_ref / "insi" / "wsdl", insi.service_url)
    with pytest.raises(zeep.exceptions.Fault) as raised:
        service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                _soapheaders=context_headers("FAKE-IDAM"))
    fault = raised.value
    assert fault.code == "S:Sender" and [s.localname for s in fault.subcodes] == ["siram_100"]
    assert fault.message.startswith("L'accès par ce progiciel au service n'est pas autorisé.")
    erreur = fault.detail.find("{urn:siram}Erreur")
    assert (erreur.get("code"), erreur.get("severite"), erreur.text) == (
        "desir_550", "erreur", "Numéro d'autorisation du logiciel inconnu.")
    assert last_rules(insi) == ["INSI-IDAM-UNKNOWN"]


def test_with_any_idam_an_unknown_idam_is_answered_but_journalled_as_a_warning():
    """`segur up` accepts any IDAM by default: a product sending the wrong one must still see it."""
    with running_insi(any_idam=True) as lenient:
        status, _, _ = call(lenient, soap_envelope(traits_body(), idam="FAKE-IDAM"))
        assert status == 200
        entry = lenient.journal.entries()[-1]
        assert entry.verdict == "accepted" and "INSI-IDAM-ACCEPTED-ANY" in entry.rules
        warning = next(f for f in entry.findings if f["rule"] == "INSI-IDAM-ACCEPTED-ANY")
        assert "'FAKE-IDAM'" in warning["message"]
        assert call(lenient, soap_envelope(traits_body(), idam="SEGUR-TEST"))[0] == 200
        assert "INSI-IDAM-ACCEPTED-ANY" not in lenient.journal.entries()[-1].rules


def test_an_idam_declared_through_the_admin_api_is_accepted_then_removed(insi):
    envelope = soap_envelope(traits_body(), idam="EDITEUR-42")
    assert call(insi, envelope)[0] == 500
    status, added = insi.admin("idams", "POST", {"idam": "EDITEUR-42", "name": "RIS X"})
    assert status == 201 and added["added"]["modes"] == ["INSI-AUTO", "INSI-MANU"]
    assert call(insi, envelope)[0] == 200
    assert insi.admin("idams/EDITEUR-42", "DELETE")[0] == 200
    assert call(insi, envelope)[0] == 500
    assert insi.admin("idams", "POST", {"idam": "X", "modes": ["INSI-ROOT"]})[0] == 400
    assert insi.admin("idams", "POST", {"name": "no idam"})[0] == 400
    assert insi.admin("idams/NOPE", "DELETE")[0] == 404


def test_reset_forgets_idams_declared_at_run_time(insi):
    insi.admin("idams", "POST", {"idam": "EDITEUR-43"})
    insi.admin("reset", "POST", {})
    idams = [s["idam"] for s in insi.admin("idams")[1]["software"]]
    assert "EDITEUR-43" not in idams and "SEGUR-TEST" in idams


def test_an_access_mode_the_software_was_not_authorised_for_is_refused(insi):
    """Without mutual TLS the mock assumes INSI-AUTO; SEGUR-TEST-MANU is authorised for manual access only."""
    status, _, body = call(insi, soap_envelope(traits_body(), idam="SEGUR-TEST-MANU"))
    fault = fault_of(body)
    assert status == 500 and fault["subcodes"] == ["S:siram_100"] and fault["desir"] == "desir_551"
    assert last_rules(insi) == ["INSI-ACCESS-LEVEL"]
    assert call(insi, soap_envelope(traits_body(), idam="SEGUR-TEST-AUTO"))[0] == 200


def test_an_operation_the_software_was_not_authorised_for_is_refused(insi):
    vitale = soap_envelope(vitale_body(), operation="rechercherInsAvecCarteVitale", idam="SEGUR-TEST-TRAITS")
    assert call(insi, vitale)[0] == 500 and last_rules(insi) == ["INSI-ACCESS-LEVEL"]
    assert call(insi, soap_envelope(traits_body(), idam="SEGUR-TEST-TRAITS"))[0] == 200


def test_the_fault_catalogue_says_which_codes_are_confirmed_by_a_recording(insi):
    status, catalogue = insi.admin("fault-catalogue")
    assert status == 200
    assert catalogue["idam_unknown"]["confirmed"] and catalogue["idam_unknown"]["detail_code"] == "desir_550"
    assert catalogue["service_unavailable"]["subcode"] == "siram_40"
    assert not catalogue["context_lps"]["confirmed"]


# -- the same refusals, as a zeep client generated from CNAM's WSDL sees them ------------------------

def _without(headers: dict, part: str) -> dict:
    return {k: v for k, v in headers.items() if k != part}


@pytest.mark.parametrize(("idam", "operation", "traits", "drop", "subcode", "desir", "rule"), [
    ("FAKE-IDAM", "traits", {}, None, "siram_100", "desir_550", "INSI-IDAM-UNKNOWN"),
    ("SEGUR-TEST-MANU", "traits", {}, None, "siram_100", "desir_551", "INSI-ACCESS-LEVEL"),
    ("SEGUR-TEST-TRAITS", "vitale", {}, None, "siram_100", "desir_551", "INSI-ACCESS-LEVEL"),
    ("SEGUR-TEST", "traits", {"Sexe": "X"}, None, "siram_10", "insi_101", "INSI-TRAITS-SEX"),
    ("SEGUR-TEST", "traits", {"DateNaissance": "1999-02-30"}, None, "siram_10", "insi_101",
     "INSI-TRAITS-DATE"),
    ("SEGUR-TEST", "traits", {"Prenom": []}, None, "siram_10", "insi_101", "INSI-TRAITS-MISSING"),
    ("SEGUR-TEST", "traits", {}, "NO1_ContexteLPS", "siram_10", "desir_510", "INSI-CTX-LPS"),
    ("SEGUR-TEST", "traits", {}, "NO1_ContexteBAM", "siram_10", "desir_511", "INSI-CTX-BAM"),
    ("SEGUR-TEST", "vitale", {"MatriculeIndividu": {"NumIdentifiant": "123"}}, None, "siram_10", "insi_101",
     "INSI-VITALE-MATRICULE"),
])
def test_refusals_reach_a_zeep_client_of_cnams_wsdl_as_soap_faults(insi, shared_ref, idam, operation, traits,
                                                                   drop, subcode, desir, rule):
    _, service = official_client(shared_ref / "insi" / "wsdl", insi.service_url)
    headers = context_headers(idam)
    if drop:
        headers = _without(headers, drop)
    with pytest.raises(zeep.exceptions.Fault) as raised:
        if operation == "traits":
            service.rechercherInsAvecTraitsIdentite(**{**ADRTROIS_TRAITS, **traits}, _soapheaders=headers)
        else:
            service.rechercherInsAvecCarteVitale(**{**ADRTROIS_CARD, **traits}, _soapheaders=headers)
    fault = raised.value
    assert fault.code == "S:Sender" and [s.localname for s in fault.subcodes] == [subcode]
    assert fault.detail.find("{urn:siram}Erreur").get("code") == desir
    assert last_rules(insi) == [rule]
