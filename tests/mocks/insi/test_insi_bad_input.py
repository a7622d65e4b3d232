"""INSi mock: hostile and broken input gets the protocol's answer, and the server keeps serving.

Malformed XML, DTDs (XXE, entity expansion), oversize bodies (413), wrong HTTP methods, invalid
traits (1999-02-30, sex "X"…), then a hypothesis fuzz of the request parser.
"""

from __future__ import annotations

import http.client
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from segur.mocks.insi.models import Refused
from segur.mocks.insi.rules import RULES
from segur.mocks.insi.soap import read_envelope, read_traits, read_vitale
from segur.mocks.insi.testing import post_soap, running_insi, soap_envelope, traits_body, vitale_body

ENV = "{http://www.w3.org/2003/05/soap-envelope}"


@pytest.fixture(scope="module")
def insi():
    with running_insi(max_body=16 * 1024) as running:
        yield running


@pytest.fixture(autouse=True)
def _clean(insi):
    insi.admin("reset", "POST", {})


def still_serving(insi) -> bool:
    status, _, body = post_soap(insi.service_url, soap_envelope(traits_body()))
    return status == 200 and b"<CodeCR>00</CodeCR>" in body


def last(insi):
    return insi.journal.entries()[-1]


def fault_code(body: bytes) -> tuple[str, list[str]]:
    fault = etree.fromstring(body).find(f"{ENV}Body/{ENV}Fault")
    values = [v.text for v in fault.iter(f"{ENV}Value")]
    return values[0], values[1:]


@pytest.mark.parametrize("body", [
    b"<not-xml",
    b"",
    b"\xff\xfe\x00garbage",
    b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>',
    "<?xml version='1.0' encoding='UTF-8'?><a>é</b>".encode(),
])
def test_malformed_xml_gets_a_sender_fault_and_the_server_keeps_serving(insi, body):
    status, headers, answer = post_soap(insi.service_url, body)
    assert status == 500 and headers["Content-Type"].startswith("application/soap+xml")
    assert fault_code(answer) == ("S:Sender", [])
    entry = last(insi)
    assert entry.verdict == "rejected" and entry.rules == ["INSI-SOAP-XML"]
    assert still_serving(insi)


XXE = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
       b'<r:RECSANSVITALE xmlns:r="http://www.cnamts.fr/INSiRecSans"><r:NomNaissance>&xxe;</r:NomNaissance>'
       b"</r:RECSANSVITALE></soap:Body></soap:Envelope>")
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
                     for i in range(1, 10))
          + b"]><lolz>&lol9;</lolz>")
XXE_UTF16 = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
             "<e>&x;</e>").encode("utf-16")


@pytest.mark.parametrize("payload", [XXE, LAUGHS, XXE_UTF16], ids=["xxe", "billion-laughs", "xxe-utf16"])
def test_dtds_and_entities_are_refused_without_being_expanded(insi, payload):
    status, _, answer = post_soap(insi.service_url, payload)
    assert status == 500 and fault_code(answer) == ("S:Sender", [])
    assert b"root:" not in answer and b"lollol" not in answer
    assert last(insi).rules in (["INSI-SOAP-DTD"], ["INSI-SOAP-XML"])
    assert still_serving(insi)


def test_the_dtd_check_also_holds_when_called_directly():
    with pytest.raises(Refused) as raised:
        read_envelope(XXE)
    assert raised.value.rule.id == "INSI-SOAP-DTD"


def test_an_oversize_body_gets_413_and_is_journaled(insi):
    big = soap_envelope(traits_body(birth_name="A" * 20_000))
    status, _, answer = post_soap(insi.service_url, big)
    assert status == 413 and b"limit" in answer
    entry = last(insi)
    assert entry.verdict == "error" and entry.rules == ["INSI-HTTP-SIZE"]
    assert still_serving(insi)


def test_an_oversize_chunked_body_gets_413_too(insi):
    url = urllib.parse.urlsplit(insi.service_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        chunks = iter([b"<x>" + b"a" * 10_000, b"b" * 10_000, b"</x>"])
        connection.request("POST", url.path, body=chunks, encode_chunked=True,
                           headers={"Content-Type": "application/soap+xml", "Transfer-Encoding": "chunked"})
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    assert still_serving(insi)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_http_methods_get_405(insi, method):
    url = urllib.parse.urlsplit(insi.service_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    try:
        connection.request(method, url.path, body=b"x")
        response = connection.getresponse()
        assert response.status == 405 and "POST" in response.getheader("Allow")
    finally:
        connection.close()
    assert last(insi).rules == ["INSI-HTTP-METHOD"]


def test_get_without_wsdl_says_where_the_wsdl_is(insi):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(insi.service_url, timeout=5)
    assert raised.value.code == 405 and b"?wsdl" in raised.value.read()


@pytest.mark.parametrize(("traits", "rule"), [
    ({"birth_date": "1999-02-30"}, "INSI-TRAITS-DATE"),
    ({"birth_date": "1999-13-01"}, "INSI-TRAITS-DATE"),
    ({"birth_date": "26/02/1997"}, "INSI-TRAITS-DATE"),
    ({"birth_date": "2999-01-01"}, "INSI-TRAITS-DATE"),
    ({"sex": "X"}, "INSI-TRAITS-SEX"),
    ({"sex": "f"}, "INSI-TRAITS-SEX"),
    ({"sex": None}, "INSI-TRAITS-MISSING"),
    ({"birth_date": None}, "INSI-TRAITS-MISSING"),
    ({"birth_name": None}, "INSI-TRAITS-MISSING"),
    ({"first_names": ()}, "INSI-TRAITS-MISSING"),
    ({"first_names": ("  ",)}, "INSI-TRAITS-MISSING"),
    ({"birth_name": "ADR3TROIS"}, "INSI-TRAITS-NAME"),
    ({"birth_name": "A" * 101}, "INSI-TRAITS-NAME"),
    ({"birth_place": "7511"}, "INSI-TRAITS-PLACE"),
    ({"birth_place": "2C020"}, "INSI-TRAITS-PLACE"),
])
def test_invalid_traits_get_the_request_invalid_fault(insi, traits, rule):
    status, _, answer = post_soap(insi.service_url, soap_envelope(traits_body(**traits)))
    assert status == 500 and fault_code(answer) == ("S:Sender", ["S:siram_10"])
    assert etree.fromstring(answer).find(".//{urn:siram}Erreur").get("code") == "insi_101"
    assert last(insi).rules == [rule]


@pytest.mark.parametrize(("traits", "code"), [
    ({"birth_date": "2000-02-29", "birth_name": "INCONNU"}, "01"),  # a leap day is a date
    ({"birth_date": "1961-00-00", "birth_name": "GAUDIN", "first_names": ("AUGUSTIN",), "sex": "M"}, "00"),
    ({"birth_place": "2a020"}, "00"),  # Corsica in lower case
    ({"birth_name": "D'ARTAGNAN-DE LA TOUR"}, "01"),  # apostrophes, hyphens and spaces are fine
])
def test_valid_edge_values_are_searched(insi, traits, code):
    status, _, answer = post_soap(insi.service_url, soap_envelope(traits_body(**traits)))
    assert status == 200 and f"<CodeCR>{code}</CodeCR>".encode() in answer


def test_a_request_in_iso_8859_1_is_read_with_its_accents(insi):
    text = soap_envelope(traits_body(birth_name="Adrtroïs", first_names=("Dominiqué",))).decode()
    latin1 = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    status, _, answer = post_soap(insi.service_url, latin1)
    assert status == 200 and b"<CodeCR>00</CodeCR>" in answer


def test_a_dtd_in_an_iso_8859_1_request_is_refused_too(insi):
    body = XXE.replace(b'<?xml version="1.0"?>', b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    status, _, _ = post_soap(insi.service_url, body)
    assert status == 500 and last(insi).rules == ["INSI-SOAP-DTD"]


@pytest.mark.parametrize(("card", "rule"), [
    ({"nir": "12"}, "INSI-VITALE-MATRICULE"),
    ({"nir": "2970A2A020778"}, "INSI-VITALE-MATRICULE"),
    ({"key": "7"}, "INSI-VITALE-MATRICULE"),
    ({"birth_date": None}, "INSI-TRAITS-MISSING"),
    ({"birth_date": "2009-02-30"}, "INSI-TRAITS-DATE"),
])
def test_invalid_vitale_card_data_gets_the_request_invalid_fault(insi, card, rule):
    envelope = soap_envelope(vitale_body(**card), operation="rechercherInsAvecCarteVitale")
    status, _, _ = post_soap(insi.service_url, envelope)
    assert status == 500 and last(insi).rules == [rule]


def test_an_unexpected_element_in_the_request_is_refused(insi):
    body = traits_body().replace("</r:RECSANSVITALE>", "<r:NIR>297022A020778</r:NIR></r:RECSANSVITALE>")
    status, _, _ = post_soap(insi.service_url, soap_envelope(body))
    assert status == 500 and last(insi).rules == ["INSI-BODY-OPERATION"]


# -- fuzzing -------------------------------------------------------------------------------------

FUZZ_EXAMPLES = 300
VALID = soap_envelope(traits_body()).decode()


def _mutations():
    """Text that looks like INSi requests: valid envelopes cut, spliced, with random characters."""
    cut = st.builds(lambda i: VALID[:i], st.integers(0, len(VALID)))
    position = st.integers(0, len(VALID))
    spliced = st.builds(lambda i, text: VALID[:i] + text + VALID[i:], position, st.text(max_size=40))
    traits = st.builds(lambda n, p, s, d, lieu: soap_envelope(traits_body(n, (p,), s, d, lieu)).decode(),
                       st.text(max_size=30), st.text(max_size=30), st.text(max_size=3), st.text(max_size=12),
                       st.one_of(st.none(), st.text(max_size=6)))
    def card(n, k, d):
        return soap_envelope(vitale_body(n, k, d), operation="rechercherInsAvecCarteVitale").decode()

    cards = st.builds(card, st.text(alphabet="0123456789AB<&x", max_size=15),
                      st.one_of(st.none(), st.text(max_size=3)), st.one_of(st.none(), st.text(max_size=12)))
    return st.one_of(cut, spliced, traits, cards, st.text(max_size=200))


def test_the_request_parser_never_fails_other_than_with_a_rule(insi):
    """Fuzz: every input either parses or raises Refused naming a declared rule (no crash)."""

    tried = []

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(_mutations())
    def parse(text):
        tried.append(text)
        try:
            request = read_envelope(text.encode("utf-8", "surrogatepass"))
            if request.body.tag.endswith("RECVITALE"):
                query = read_vitale(request.body)
                insi.model.search_vitale(query)
            else:
                insi.model.search_traits(read_traits(request.body))
        except Refused as problem:
            assert problem.rule in RULES

    parse()
    assert len(tried) == FUZZ_EXAMPLES  # hypothesis tried exactly this many inputs


def test_the_server_answers_every_fuzzed_request_with_a_protocol_answer(insi):
    """Fuzz over HTTP (fewer inputs: each is a round trip): 200 with a RESULTAT or a SOAP fault, never 5xx."""
    tried = []

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.function_scoped_fixture])
    @given(_mutations())
    def post(text):
        tried.append(text)
        status, headers, answer = post_soap(insi.service_url, text.encode("utf-8", "surrogatepass"))
        assert status in (200, 400, 500), status
        assert headers["Content-Type"].startswith("application/soap+xml")
        root = etree.fromstring(answer)
        payload = root.find(f"{ENV}Body")[0]
        if status == 200:
            assert payload.tag == "{http://www.cnamts.fr/INSiResultat}RESULTAT"
        else:
            assert payload.tag == f"{ENV}Fault"

    post()
    assert len(tried) == 60
    assert still_serving(insi)
