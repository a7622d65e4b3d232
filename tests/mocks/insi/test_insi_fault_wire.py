"""INSi mock: faults as CNAM's service sends them, so that clients written against CNAM read them.

The facts come from CNAM answers recorded in padoa/tlsi-ins (MIT): `siram_100`/`desir_550`
(`src/ins/fixtures/service-errors/siram_100-desir_500-fake-idam.fixtures.ts`, read by its client
because the answer's HTTP status is 500, `src/ins/insi-client.service.ts`), `siram_40`/`desir_1020`
(`src/ins/test/insi-client.test.ts` before commit 8c889e5) and the last recorded layout,
`siram_40`/`insi_102` (`src/ins/utils/insi-helper.test.ts`, commit e9d5c48 "changes in INSi
reponse"). Only the structure is compared here (element names with their prefixes, in order), and
the two patterns tlsi-ins runs on the raw text (`InsiHelper.getServiceErrorFromXML`).
"""

from __future__ import annotations

import re

import pytest
from lxml import etree

from segur.mocks.insi.testing import post_soap, running_insi, soap_envelope, traits_body

#: The element skeleton of CNAM's last recorded fault: prefix:name of each element, document order.
RECORDED_SKELETON = ["soap:Envelope", "env:Body", "S:Fault", "S:Code", "S:Value", "S:Subcode", "S:Value",
                     "S:Reason", "S:Text", "S:Detail", "siram:Erreur"]
#: What padoa/tlsi-ins looks for in the raw text of a fault (siramCode, text, desirCode).
SIRAM_CODE = re.compile(r"<S:Subcode><S:Value>S:(.*)</S:Value>")
REASON_TEXT = re.compile(r'<S:Text xml:lang="en">([\s\S]*?)</S:Text>')
DESIR_CODE = re.compile(r'code="(.*?)"')


@pytest.fixture(scope="module")
def insi():
    with running_insi() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(insi):
    insi.admin("reset", "POST", {})


def skeleton(body: bytes) -> list[str]:
    root = etree.fromstring(body)
    return [f"{e.prefix}:{etree.QName(e).localname}" for e in root.iter() if isinstance(e.tag, str)]


def test_an_unknown_idam_gets_siram_100_desir_550_with_http_500_as_from_cnam(insi):
    status, headers, body = post_soap(insi.service_url, soap_envelope(traits_body(), idam="FAKE-IDAM",
                                                                         message_id="uuid:b3549edd"))
    assert status == 500 and headers["Content-Type"].startswith("application/soap+xml")
    assert skeleton(body) == RECORDED_SKELETON
    text = body.decode()
    assert SIRAM_CODE.search(text).group(1) == "siram_100" and DESIR_CODE.search(text).group(1) == "desir_550"
    reason = REASON_TEXT.search(text).group(1)
    assert reason.startswith("L'accès par ce progiciel au service n'est pas autorisé")
    erreur = etree.fromstring(body).find(".//{urn:siram}Erreur")
    assert list(erreur.attrib) == ["code", "messageID", "severite"]  # the recorded desir_550 order
    recorded = ("uuid:b3549edd", "Numéro d'autorisation du logiciel inconnu.")
    assert (erreur.get("messageID"), erreur.text) == recorded


def test_the_service_unavailable_fault_is_sender_siram_40_desir_1020_with_http_500(insi):
    insi.admin("faults", "POST", {"kind": "soap_fault", "fault": "service_unavailable", "count": 1})
    status, _, body = post_soap(insi.service_url, soap_envelope(traits_body()))
    assert status == 500 and skeleton(body) == RECORDED_SKELETON
    text = body.decode()
    assert re.search(r"<S:Code><S:Value>S:Sender</S:Value>", text)
    assert SIRAM_CODE.search(text).group(1) == "siram_40" and DESIR_CODE.search(text).group(1) == "desir_1020"
    assert REASON_TEXT.search(text).group(1).startswith("Le service est temporairement inaccessible")


def test_a_request_fault_has_the_recorded_layout_and_no_header(insi):
    status, _, body = post_soap(insi.service_url, soap_envelope(traits_body(), lps=None))
    assert status == 500 and skeleton(body) == RECORDED_SKELETON
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope ')


def test_a_fault_without_detail_still_has_the_prefixes_clients_look_for(insi):
    status, _, body = post_soap(insi.service_url, b"<not-xml")
    assert status == 500 and skeleton(body) == RECORDED_SKELETON[:5] + RECORDED_SKELETON[7:9]
    assert REASON_TEXT.search(body.decode()) is not None


def test_the_strict_style_keeps_the_layout_but_answers_400(insi):
    with running_insi(fault_style="strict") as strict:
        status, _, body = post_soap(strict.service_url, soap_envelope(traits_body(), idam="FAKE-IDAM"))
    assert status == 400
    assert [name for name in skeleton(body) if not name.startswith("wsa:")] == [
        "soap:Envelope", "soap:Header", *RECORDED_SKELETON[1:]]
