"""The VIHF signature's fast path (`mocks/dmp/dsig.py`) accepts the usual VIHF shape with the same result as
signxml, and leaves every other case — each refusal included — to signxml."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from cryptography import x509
from lxml import etree
from signxml import XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException

from segur.kernel.ins import Ins
from segur.kernel.pki import CertFiles, TestPki
from segur.mocks.dmp import dsig, vihf
from segur.mocks.dmp.client.vihf import VihfDefects, VihfIdentity, build_vihf
from segur.mocks.dmp.vihf import SAML, VihfContext, verify_vihf

STRUCTURE = "1750803447"
NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)
DS = dsig.DS


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> TestPki:
    pki = TestPki.load_or_create(tmp_path_factory.mktemp("pki"))
    pki.issue_client("structure", "Cabinet de radiologie", "Cabinet de radiologie", STRUCTURE)
    return pki


@pytest.fixture(scope="module")
def signer(pki):
    return pki.client("structure")


def _assertion(signer, defects=None) -> etree._Element:
    identity = VihfIdentity(structure_id=STRUCTURE, patient=Ins("279035121518989", "1.2.250.1.213.1.4.10"),
                            subject_nameid="810101010101", subject_id="MARTIN Claire")
    return etree.fromstring(etree.tostring(build_vihf(identity, signer, now=NOW, defects=defects)))


def _fast(assertion, ca_file, when=NOW):
    standalone = etree.fromstring(etree.tostring(assertion))
    return dsig.verify_fast(standalone, vihf._ACCEPTED_METHOD_URIS, vihf._ACCEPTED_DIGEST_URIS, ca_file, when)


def _signxml(assertion, ca_file, when=NOW):
    """(the canonical signed bytes, the signing certificate's DER) as signxml verifies them, or None."""
    config = vihf.SignatureConfiguration(
        expect_references=1, signature_methods=vihf._ACCEPTED_SIGNATURE_METHODS,
        digest_algorithms=vihf._ACCEPTED_DIGESTS, verification_time=when)
    try:
        result = XMLVerifier().verify(etree.fromstring(etree.tostring(assertion)), ca_pem_file=str(ca_file),
                                      id_attribute="ID", expect_config=config)
    except (SignXMLException, etree.DocumentInvalid, ValueError):
        return None
    return result.signed_data


def _certificate(files: CertFiles) -> x509.Certificate:
    return x509.load_pem_x509_certificate(files.cert_file.read_bytes())


def _c14n(element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


@pytest.mark.parametrize("defects", [
    None,
    VihfDefects(signature_algorithm=SignatureMethod.RSA_SHA1, digest_algorithm=DigestAlgorithm.SHA1),
    VihfDefects(signature_algorithm=SignatureMethod.RSA_SHA512, digest_algorithm=DigestAlgorithm.SHA384),
], ids=["rsa-sha256", "rsa-sha1 as the ANS sample", "rsa-sha512"])
def test_a_signed_vihf_takes_the_fast_path_with_signxmls_result(pki, signer, defects):
    assertion = _assertion(signer, defects)
    fast = _fast(assertion, pki.ca_file)
    assert fast is not None
    assert _c14n(fast.signed) == _signxml(assertion, pki.ca_file)
    assert fast.signed.find(f"{{{DS}}}Signature") is None and fast.signed.tag == f"{{{SAML}}}Assertion"
    assert fast.certificate == _certificate(signer)


def test_verify_vihf_gives_the_same_claims_by_either_path(pki, signer, monkeypatch):
    header = etree.Element("{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
                           "Security")
    header.append(_assertion(signer))
    context = VihfContext(trusted_ca_files=pki.ca_file, tls_structure_id=STRUCTURE, now=NOW)
    fast_claims, fast_findings = verify_vihf(header, context)
    monkeypatch.setattr(vihf, "verify_fast", lambda *args: None)
    slow_claims, slow_findings = verify_vihf(header, context)
    assert fast_claims is not None and fast_claims == slow_claims and fast_findings == slow_findings == []


def _tampered(assertion):
    value = assertion.find(f".//{{{SAML}}}Attribute[@Name='Identifiant_Structure']/{{{SAML}}}AttributeValue")
    value.text = "1999999999"


def _signature_value_changed(assertion):
    element = assertion.find(f"{{{DS}}}Signature/{{{DS}}}SignatureValue")
    element.text = element.text.strip()[:-8] + ("AAAAAAA=" if not element.text.strip().endswith("AAAAAAA=")
                                                else "BBBBBBB=")


def _wrapped(assertion):
    genuine = etree.fromstring(etree.tostring(assertion))
    _tampered(assertion)
    assertion.remove(assertion.find(f"{{{DS}}}Signature"))
    etree.SubElement(assertion, f"{{{SAML}}}Advice").append(genuine)


def _reference_elsewhere(assertion):
    assertion.find(f".//{{{DS}}}Reference").set("URI", "#another")


def _inclusive_namespaces(assertion):
    transform = assertion.findall(f".//{{{DS}}}Transform")[1]
    etree.SubElement(transform, "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces",
                     PrefixList="saml2")


def _comment_in_signed_info(assertion):
    assertion.find(f".//{{{DS}}}SignedInfo").insert(0, etree.Comment("unexpected"))


def _second_certificate(assertion):
    data = assertion.find(f".//{{{DS}}}X509Data")
    data.append(etree.fromstring(etree.tostring(data[0])))


def _duplicate_id(assertion):
    etree.SubElement(assertion, f"{{{SAML}}}Advice", ID=assertion.get("ID"))


@pytest.mark.parametrize("change", [
    _tampered, _signature_value_changed, _wrapped, _reference_elsewhere, _inclusive_namespaces,
    _comment_in_signed_info, _second_certificate, _duplicate_id])
def test_anything_but_a_valid_usual_signature_is_left_to_signxml(pki, signer, change):
    assertion = _assertion(signer)
    change(assertion)
    assert _fast(assertion, pki.ca_file) is None


def test_a_signer_of_an_untrusted_ca_is_left_to_signxml(pki):
    assert _fast(_assertion(pki.untrusted_client("organisation")), pki.ca_file) is None


def test_the_certificate_validity_is_checked_at_the_verification_time_on_every_call(pki, signer):
    assertion = _assertion(signer)
    assert _fast(assertion, pki.ca_file) is not None  # the trusted CAs are now read and kept
    expiry = _certificate(signer).not_valid_after_utc
    assert _fast(assertion, pki.ca_file, when=expiry + timedelta(days=1)) is None
    assert _fast(assertion, pki.ca_file) is not None


def test_an_expired_signing_certificate_is_left_to_signxml(pki, tmp_path):
    ca = trustme.CA.from_pem(pki.ca_file.read_bytes(), (pki.directory / "ca-key.pem").read_bytes())
    leaf = ca.issue_cert("expired.client.test", common_name="Cabinet", organization_name="Cabinet",
                         organization_unit_name=STRUCTURE, not_before=datetime(2020, 1, 1, tzinfo=UTC),
                         not_after=datetime(2021, 1, 1, tzinfo=UTC), key_type=trustme.KeyType.RSA)
    files = CertFiles(tmp_path / "expired.pem", tmp_path / "expired-key.pem")
    files.cert_file.write_bytes(leaf.cert_chain_pems[0].bytes())
    files.key_file.write_bytes(leaf.private_key_pem.bytes())
    assert _fast(_assertion(files), pki.ca_file) is None


@pytest.mark.fresh_pki  # another CA: its own keys
def test_a_rewritten_ca_file_is_read_again_never_served_from_the_old_one(pki, signer, tmp_path):
    trusted = tmp_path / "trusted.pem"
    trusted.write_bytes(pki.ca_file.read_bytes())
    assertion = _assertion(signer)
    assert _fast(assertion, trusted) is not None
    other = TestPki.load_or_create(tmp_path / "other-pki")
    trusted.write_bytes(other.ca_file.read_bytes() + b"\n")  # another CA in the same file
    assert _fast(assertion, trusted) is None
    context = VihfContext(trusted_ca_files=trusted, tls_structure_id=STRUCTURE, now=NOW)
    header = etree.Element("{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
                           "Security")
    header.append(assertion)
    claims, findings = verify_vihf(header, context)
    assert claims is None and {f.rule for f in findings} == {"VIHF-005"}


def test_single_character_changes_accepted_by_the_fast_path_are_accepted_alike_by_signxml(pki, signer):
    """Differential: 150 one-character edits of a signed VIHF (seeded); whatever the fast path accepts,
    signxml accepts with the same signed bytes (edits in ignorable whitespace may keep a VIHF valid)."""
    source = etree.tostring(_assertion(signer)).decode()
    chooser = random.Random(18)
    accepted = 0
    for _ in range(150):
        at = chooser.randrange(len(source))
        edited = source[:at] + chooser.choice(" \n<>=\"aZ0/") + source[at + 1:]
        try:
            assertion = etree.fromstring(edited.encode())
        except etree.XMLSyntaxError:
            continue
        fast = _fast(assertion, pki.ca_file)
        if fast is not None:
            accepted += 1
            assert _c14n(fast.signed) == _signxml(assertion, pki.ca_file), edited
    assert accepted < 150  # the edits did break signatures: the fast path refused those
