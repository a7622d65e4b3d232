"""The test PKI's publication point: a CRL a TLS client can check, revocation on demand, faults."""

from __future__ import annotations

import socket
import ssl

import pytest
import requests
from cryptography import x509
from cryptography.x509.oid import NameOID

from segur.kernel.server import TlsSettings, WsgiServer
from segur.mocks.igc.testing import running_igc


@pytest.fixture(scope="module")
def stack_data(tmp_path_factory):
    """One PKI for the module: RSA keys take seconds to make."""
    return tmp_path_factory.mktemp("igc")


@pytest.fixture
def igc(stack_data):
    with running_igc(stack_data) as service:
        yield service
        service.reset()


def _crl(igc) -> x509.CertificateRevocationList:
    answer = requests.get(igc.endpoints()["crl"], timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pkix-crl"
    return x509.load_der_x509_crl(answer.content)


def _serial(path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def test_the_crl_is_signed_by_the_test_ca_and_lists_the_revoked_server_only(igc):
    pki = igc.authority.pki
    crl = _crl(igc)
    assert crl.is_signature_valid(pki.ca_certificate().public_key())
    assert crl.next_update_utc > crl.last_update_utc
    assert crl.get_revoked_certificate_by_serial_number(_serial(pki.revoked_server.cert_file)) is not None
    assert crl.get_revoked_certificate_by_serial_number(_serial(pki.server.cert_file)) is None


def test_a_revoked_client_certificate_appears_in_the_next_crl_with_a_new_crl_number(igc):
    before = _crl(igc)
    answer = requests.post(igc.base_url + "/_admin/revoke",
                           json={"certificate": "client:mssante", "reason": "keyCompromise"}, timeout=5)
    assert answer.status_code == 201
    after = _crl(igc)
    mssante_client = igc.authority.pki.client("mssante").cert_file
    revoked = after.get_revoked_certificate_by_serial_number(_serial(mssante_client))
    assert revoked is not None and revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason \
        == x509.ReasonFlags.key_compromise
    number = after.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > before.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


@pytest.mark.parametrize("body, status, rule", [
    ({"certificate": "client:nobody"}, 404, "IGC-001"),
    ({"certificate": "server", "reason": "tired"}, 404, "IGC-002"),
    ({"reason": "keyCompromise"}, 400, None),
    ("server", 400, None),
])
def test_a_revocation_the_pki_cannot_honour_is_refused_and_the_crl_still_served(igc, body, status, rule):
    answer = requests.post(igc.base_url + "/_admin/revoke", json=body, timeout=5)
    assert answer.status_code == status
    assert answer.json().get("rule") == rule
    assert len(list(_crl(igc))) == 1  # only the revoked server, nothing half revoked


def test_an_injected_failure_makes_the_crl_endpoint_fail_then_it_recovers(igc):
    fault = {"kind": "http_error", "operation": "crl", "count": 2}
    requests.post(igc.base_url + "/_admin/faults", json=fault, timeout=5)
    statuses = [requests.get(igc.endpoints()["crl"], timeout=5).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    journal = requests.get(igc.base_url + "/_admin/journal", timeout=5).json()["entries"]
    verdicts = [entry["verdict"] for entry in journal]
    assert verdicts == ["fault-injected", "fault-injected", "ok"]


def test_reset_lifts_revocations_but_the_revoked_server_stays_revoked(igc):
    requests.post(igc.base_url + "/_admin/revoke", json={"certificate": "client:mssante"}, timeout=5)
    requests.post(igc.base_url + "/_admin/reset", timeout=5)
    crl = _crl(igc)
    assert len(list(crl)) == 1
    assert crl.get_revoked_certificate_by_serial_number(
        _serial(igc.authority.pki.revoked_server.cert_file)) is not None


def _handshake(pki, server_files, crl_file) -> None:
    """A TLS client that checks the leaf against the CRL, as MSS/va1.05 asks of a product."""
    tls = TlsSettings(server_files.cert_file, server_files.key_file)
    with WsgiServer(lambda environ, start: (start("200 OK", []), [b""])[1], tls=tls) as server:
        context = ssl.create_default_context(cafile=str(pki.ca_file))
        context.load_verify_locations(cafile=str(crl_file))  # OpenSSL reads CRLs from a PEM "CA file"
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, \
                context.wrap_socket(raw, server_hostname="localhost"):
            pass


def test_a_client_checking_the_crl_refuses_the_revoked_server_and_accepts_the_valid_one(igc, tmp_path):
    pki = igc.authority.pki
    crl_file = tmp_path / "ca.crl.pem"
    crl_file.write_bytes(requests.get(igc.endpoints()["crl_pem"], timeout=5).content)
    _handshake(pki, pki.server, crl_file)
    with pytest.raises(ssl.SSLCertVerificationError, match="revoked"):
        _handshake(pki, pki.revoked_server, crl_file)


def test_the_org_auth_cli_certificate_names_a_service_of_a_structure(igc):
    cert = x509.load_pem_x509_certificate(igc.authority.pki.client("org-auth-cli").cert_file.read_bytes())
    subject = {attribute.oid: attribute.value for attribute in cert.subject}
    assert subject[NameOID.COMMON_NAME] == "CLIENT_TEST_RIS"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "10B0000001"


def test_health_lists_the_crl_and_ca_endpoints(igc):
    health = requests.get(igc.base_url + "/_admin/health", timeout=5).json()
    assert health["service"] == "igc" and health["endpoints"]["crl"].endswith("/crl/ca.crl")
    assert health["revoked"] == 1
