"""INSi mock over TLS: server-only TLS (`--tls`) and mutual TLS (`--mtls`) as CNAM's service does it —
an organisation certificate whose CN says the access mode (INSI-AUTO / INSI-MANU), issued by the
test CA; another CA is refused at the handshake, another CN gets the service's SOAP fault."""

from __future__ import annotations

import pytest
import requests
import zeep

from segur.kernel.pki import TestPki
from segur.mocks.insi.testing import context_headers, official_client, running_insi


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    pki = TestPki.load_or_create(tmp_path_factory.mktemp("insi-pki"))
    pki.issue_client("stranger", "DR JEAN TEST", "Cabinet de radiologie du test", "10B0000001")
    return pki


@pytest.fixture(scope="module")
def mtls(pki):
    with running_insi(mtls=True, pki=pki) as running:
        yield running


def session(pki, client=None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
    s.verify = str(pki.ca_file)
    if client is not None:
        s.cert = (str(client.cert_file), str(client.key_file))
    return s


def service_for(shared_ref, insi, http_session):
    return official_client(shared_ref / "insi" / "wsdl", insi.service_url, session=http_session)[1]


def search(service, idam="SEGUR-TEST"):
    return service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                   _soapheaders=context_headers(idam))


@pytest.mark.parametrize("name", ["insi-auto", "insi-manu"])
def test_mutual_tls_accepts_the_insi_certificates_of_the_test_ca(pki, mtls, shared_ref, name):
    service = service_for(shared_ref, mtls, session(pki, pki.client(name)))
    assert search(service).CR.CodeCR == "00"
    entry = mtls.journal.entries()[-1]
    assert entry.client["cn"] == name.upper()


def test_a_certificate_of_another_ca_is_refused_at_the_handshake(pki, mtls, shared_ref):
    service = service_for(shared_ref, mtls, session(pki, pki.untrusted_client("insi-auto")))
    with pytest.raises(requests.exceptions.ConnectionError):
        search(service)
    assert search(service_for(shared_ref, mtls, session(pki, pki.client("insi-auto")))).CR.CodeCR == "00"


def test_no_client_certificate_is_refused_at_the_handshake(pki, mtls, shared_ref):
    with pytest.raises(requests.exceptions.ConnectionError):
        search(service_for(shared_ref, mtls, session(pki)))


def test_a_certificate_of_the_ca_with_another_cn_gets_cnams_insufficient_rights_fault(pki, mtls, shared_ref):
    """CNAM's answer as quoted by padoa/tlsi-ins (README, Notes): DESIR_560 and its French text."""
    service = service_for(shared_ref, mtls, session(pki, pki.client("stranger")))
    with pytest.raises(zeep.exceptions.Fault) as raised:
        search(service)
    assert [s.localname for s in raised.value.subcodes] == ["siram_100"]
    erreur = raised.value.detail.find("{urn:siram}Erreur")
    assert erreur.get("code") == "desir_560"
    assert erreur.text == "Vous ne disposez pas des droits suffisants pour accéder à ce service"
    entry = mtls.journal.entries()[-1]
    assert entry.rules == ["INSI-TLS-CN"] and entry.client["cn"] == "DR JEAN TEST"


def test_the_access_mode_comes_from_the_certificate_cn(pki, mtls, shared_ref):
    manual = service_for(shared_ref, mtls, session(pki, pki.client("insi-manu")))
    automatic = service_for(shared_ref, mtls, session(pki, pki.client("insi-auto")))
    assert search(manual, "SEGUR-TEST-MANU").CR.CodeCR == "00"
    with pytest.raises(zeep.exceptions.Fault) as raised:
        search(automatic, "SEGUR-TEST-MANU")
    assert raised.value.detail.find("{urn:siram}Erreur").get("code") == "desir_551"
    assert search(automatic, "SEGUR-TEST-AUTO").CR.CodeCR == "00"


def test_server_only_tls_serves_the_wsdl_and_searches(pki, shared_ref):
    with running_insi(tls=True, pki=pki) as insi:
        assert insi.url.startswith("https://localhost:")
        http = session(pki)
        own = zeep.Client(insi.wsdl_url, transport=zeep.transports.Transport(session=http))
        result = own.service.rechercherInsAvecTraitsIdentite("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26",
                                                             _soapheaders=context_headers())
        assert result.CR.CodeCR == "00"
        assert search(service_for(shared_ref, insi, http)).CR.CodeCR == "00"
        assert insi.admin("health", context=__import__("ssl").create_default_context(
            cafile=str(pki.ca_file)))[1]["endpoints"]["soap"].startswith("https://")
