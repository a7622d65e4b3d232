"""The DMP mock checks the caller's VIHF: a signed SAML 2.0 assertion with the DMP's attributes.

Signatures are real (signxml) with certificates of the project's test PKI; every check has a case where
it fails and names its rule id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod

from segur.kernel.findings import Severity
from segur.kernel.ins import Ins
from segur.kernel.pki import TestPki
from segur.mocks.dmp import rules as dmp_rules
from segur.mocks.dmp.client.vihf import (
    VihfDefects,
    VihfIdentity,
    build_vihf,
    certificate_subject,
    security_header,
)
from segur.mocks.dmp.vihf import (
    MANDATORY_ATTRIBUTES,
    NS,
    SAML,
    CodedValue,
    VihfContext,
    _normalised_dn,
    verify_vihf,
)

PATIENT = Ins("279035121518989", "1.2.250.1.213.1.4.10")  # the test INS of the ANS CDA examples
STRUCTURE = "1750803447"  # "1" + FINESS of a world organisation
NOW = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> TestPki:
    pki = TestPki.load_or_create(tmp_path_factory.mktemp("pki"))
    pki.issue_client("structure", "Cabinet de radiologie", "Cabinet de radiologie", STRUCTURE)
    return pki


@pytest.fixture(scope="module")
def signer(pki):
    return pki.client("structure")


def identity(**changes) -> VihfIdentity:
    values = dict(
        structure_id=STRUCTURE, patient=PATIENT, subject_nameid="810101010101", subject_id="MARTIN Claire")
    values.update(changes)
    return VihfIdentity(**values)


def context(pki, **changes) -> VihfContext:
    values = dict(trusted_ca_files=pki.ca_file, tls_structure_id=STRUCTURE, now=NOW)
    values.update(changes)
    return VihfContext(**values)


def on_the_wire(assertion) -> etree._Element:
    """The Security header as the mock receives it: serialised inside a SOAP envelope, then parsed."""
    envelope = etree.Element("{http://www.w3.org/2003/05/soap-envelope}Envelope")
    header = etree.SubElement(envelope, "{http://www.w3.org/2003/05/soap-envelope}Header")
    header.append(security_header(assertion))
    parsed = etree.fromstring(etree.tostring(envelope))
    return parsed.find(
        ".//{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security")


def check(pki, signer, *, ident=None, defects=None, now=NOW, **ctx):
    assertion = build_vihf(ident or identity(), signer, now=now, defects=defects)
    return verify_vihf(on_the_wire(assertion), context(pki, **ctx))


def rule_ids(findings) -> set[str]:
    return {f.rule for f in findings}


# --- the accepted case ------------------------------------------------------------------------------
def test_a_signed_complete_vihf_is_accepted_and_its_claims_read(pki, signer):
    claims, findings = check(pki, signer)
    assert findings == []
    assert claims.structure_id == STRUCTURE
    assert claims.patient == PATIENT
    assert claims.resource_id == "279035121518989^^^&1.2.250.1.213.1.4.10&ISO^NH"
    assert claims.profession == CodedValue("10", "1.2.250.1.71.1.2.7", "Médecin")
    assert claims.version == "3.0" and claims.resource_urn == "urn:dmp"
    assert claims.signer_structure_id == STRUCTURE
    assert claims.issuer == certificate_subject(signer)
    assert claims.caller == "810101010101"


def test_the_signature_sits_right_after_the_issuer_as_the_saml_schema_orders_it(signer):
    assertion = build_vihf(identity(), signer, now=NOW)
    assert [etree.QName(child).localname for child in assertion][:3] == ["Issuer", "Signature", "Subject"]


def test_an_rsa_sha1_signature_as_in_the_ans_sample_is_still_accepted(pki, signer):
    defects = VihfDefects(signature_algorithm=SignatureMethod.RSA_SHA1, digest_algorithm=DigestAlgorithm.SHA1)
    claims, findings = check(pki, signer, defects=defects)
    assert findings == [] and claims is not None


def test_a_nurse_needs_no_specialty(pki, signer):
    nurse = identity(profession=CodedValue("60", "1.2.250.1.71.1.2.7", "Infirmier"), specialty=None)
    claims, findings = check(pki, signer, ident=nurse)
    assert findings == [] and claims.profession.code == "60"


def test_without_mtls_the_structure_is_only_compared_with_the_signing_certificate(pki, signer):
    claims, findings = check(pki, signer, tls_structure_id=None)
    assert findings == []


# --- presence and shape -----------------------------------------------------------------------------------
def test_no_security_header_is_vihf_001(pki):
    claims, findings = verify_vihf(None, context(pki))
    assert claims is None and rule_ids(findings) == {"VIHF-001"}


def test_an_empty_security_header_is_vihf_001(pki):
    claims, findings = verify_vihf(security_header(None), context(pki))
    assert claims is None and rule_ids(findings) == {"VIHF-001"}


def test_two_assertions_are_vihf_002(pki, signer):
    header = on_the_wire(build_vihf(identity(), signer, now=NOW))
    header.append(build_vihf(identity(), signer, now=NOW))
    claims, findings = verify_vihf(header, context(pki))
    assert claims is None and rule_ids(findings) == {"VIHF-002"}


def test_a_saml_1_version_is_vihf_002(pki, signer):
    header = on_the_wire(build_vihf(identity(), signer, now=NOW, defects=VihfDefects(unsigned=True)))
    header.find("saml2:Assertion", NS).set("Version", "1.1")
    _, findings = verify_vihf(header, context(pki))
    assert "VIHF-002" in rule_ids(findings)


# --- the signature ----------------------------------------------------------------------------------
def test_an_unsigned_vihf_is_vihf_003_and_yields_no_claims(pki, signer):
    claims, findings = check(pki, signer, defects=VihfDefects(unsigned=True))
    assert claims is None
    assert rule_ids(findings) == {"VIHF-003"}


def test_a_vihf_changed_after_signing_is_vihf_004(pki, signer):
    header = on_the_wire(build_vihf(identity(), signer, now=NOW))
    value = header.find(".//saml2:Attribute[@Name='urn:oasis:names:tc:xacml:2.0:resource:resource-id']/"
                        "saml2:AttributeValue", NS)
    value.text = "180032B020401^^^&1.2.250.1.213.1.4.8&ISO^NH"  # another patient
    claims, findings = verify_vihf(header, context(pki))
    assert claims is None
    assert "VIHF-004" in rule_ids(findings)
    assert "changed after it was signed" in next(f for f in findings if f.rule == "VIHF-004").message


def test_a_vihf_signed_by_a_ca_the_dmp_does_not_trust_is_vihf_005(pki):
    claims, findings = check(pki, pki.untrusted_client("organisation"), tls_structure_id=None,
                             ident=identity(structure_id="10B0000001"))
    assert claims is None
    assert rule_ids(findings) == {"VIHF-005"}


def test_a_wrapped_signature_does_not_lend_its_validity_to_another_assertion(pki, signer):
    genuine = build_vihf(identity(), signer, now=NOW)
    forged = etree.fromstring(etree.tostring(genuine))
    structure = forged.find(".//saml2:Attribute[@Name='Identifiant_Structure']/saml2:AttributeValue", NS)
    structure.text = "1999999999"
    advice = etree.SubElement(forged, f"{{{SAML}}}Advice")
    advice.append(genuine)  # the genuine, signed assertion hidden inside the forged one
    claims, findings = verify_vihf(on_the_wire(forged), context(pki))
    assert claims is None
    assert "VIHF-004" in rule_ids(findings)


# --- issuer, subject, authentication, validity ------------------------------------------------------------
def test_an_issuer_that_is_not_the_certificate_dn_is_vihf_006(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(issuer="CN=Someone else,O=Other"))
    assert rule_ids(findings) == {"VIHF-006"}


def test_issuer_dns_compare_whatever_their_order_and_spacing():
    assert _normalised_dn("CN=DRIMbox, OU=499700367909006, O=CABINET M") == _normalised_dn(
        "O=CABINET M,OU=499700367909006,CN=DRIMbox")
    assert _normalised_dn("CN=a\\,b,O=c") != _normalised_dn("CN=a,O=c")


def test_no_nameid_is_vihf_007(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(no_nameid=True))
    assert rule_ids(findings) == {"VIHF-007"}


def test_no_authn_statement_is_vihf_008(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(no_authn_statement=True))
    assert rule_ids(findings) == {"VIHF-008"}


def test_an_expired_vihf_is_vihf_009(pki, signer):
    claims, findings = check(pki, signer, now=NOW - timedelta(hours=1))
    assert rule_ids(findings) == {"VIHF-009"}
    assert "expired" in findings[0].message


def test_a_vihf_not_yet_valid_is_vihf_009(pki, signer):
    _, findings = check(pki, signer, now=NOW + timedelta(hours=1))
    assert rule_ids(findings) == {"VIHF-009"}


def test_a_few_minutes_of_clock_skew_are_tolerated(pki, signer):
    _, findings = check(pki, signer, now=NOW - timedelta(minutes=13))  # valid 10 min, 5 min of skew
    assert findings == []


# --- the attributes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("attribute", MANDATORY_ATTRIBUTES)
def test_each_mandatory_attribute_missing_is_vihf_010(pki, signer, attribute):
    _, findings = check(pki, signer, defects=VihfDefects(omit_attributes=(attribute,)))
    missing = [f for f in findings if f.rule == "VIHF-010"]
    assert len(missing) == 1 and attribute in missing[0].message


def test_lps_id_is_optional(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(omit_attributes=("LPS_ID",)))
    assert findings == []


def test_an_empty_mandatory_attribute_is_vihf_010(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(attribute_values={"LPS_Nom": ""}))
    assert rule_ids(findings) == {"VIHF-010"}


def test_another_vihf_version_is_vihf_011(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(attribute_values={"VIHF_Version": "2.0"}))
    assert rule_ids(findings) == {"VIHF-011"}


def test_a_resource_urn_other_than_urn_dmp_is_vihf_012(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(attribute_values={"Ressource_URN": "urn:dp"}))
    assert rule_ids(findings) == {"VIHF-012"}


@pytest.mark.parametrize("resource_id, why", [
    ("279035121518989", "not written"),
    ("279035121518988^^^&1.2.250.1.213.1.4.10&ISO^NH", "key"),
    ("279035121518989^^^&1.2.250.1.999&ISO^NH", "not an INS OID"),
])
def test_a_resource_id_that_is_not_a_valid_ins_is_vihf_013(pki, signer, resource_id, why):
    _, findings = check(pki, signer, ident=identity(patient=resource_id))
    assert rule_ids(findings) == {"VIHF-013"}
    assert why in findings[0].message


def test_a_test_ins_oid_is_refused_outside_test_mode(pki, signer):
    _, findings = check(pki, signer, test_mode=False)
    assert rule_ids(findings) == {"VIHF-013"}
    assert "test OID" in findings[0].message


def test_an_unknown_authentication_mode_is_vihf_014(pki, signer):
    _, findings = check(pki, signer, ident=identity(authentication_mode="CPS"))
    assert rule_ids(findings) == {"VIHF-014"}


@pytest.mark.parametrize("sector, why", [("SA99", "not in"), ("SA07^1.2.3", "code system")])
def test_a_sector_outside_the_dmp_value_set_is_vihf_015(pki, signer, sector, why):
    defects = VihfDefects(
        attribute_values={"Secteur_Activite": sector if "^" in sector else f"{sector}^1.2.250.1.71.4.2.4"})
    _, findings = check(pki, signer, defects=defects)
    assert rule_ids(findings) == {"VIHF-015"} and why in findings[0].message


def test_a_physician_without_specialty_is_vihf_016(pki, signer):
    _, findings = check(pki, signer, ident=identity(specialty=None))
    assert rule_ids(findings) == {"VIHF-016"}
    assert "specialty" in findings[0].message


def test_a_purpose_of_use_from_another_code_system_is_vihf_017(pki, signer):
    _, findings = check(pki, signer, ident=identity(purpose=CodedValue("normal", "2.16.840.1.113883.5.8")))
    assert rule_ids(findings) == {"VIHF-017"}


def test_a_structure_other_than_the_tls_certificate_is_vihf_018(pki, signer):
    _, findings = check(pki, signer, tls_structure_id="1310734629")
    assert rule_ids(findings) == {"VIHF-018"}
    assert "TLS client certificate" in findings[0].message


def test_a_structure_other_than_the_signing_certificate_is_vihf_018(pki, signer):
    _, findings = check(pki, signer, ident=identity(structure_id="1310734629"), tls_structure_id=None)
    assert rule_ids(findings) == {"VIHF-018"}
    assert "signing certificate" in findings[0].message


def test_the_tls_identity_is_read_from_the_wsgi_environ(pki, signer):
    pem = signer.cert_file.read_text()
    from_pem = VihfContext.from_wsgi_environ({"SSL_CLIENT_CERT": pem}, pki.ca_file)
    from_dn = VihfContext.from_wsgi_environ(
        {"SSL_CLIENT_S_DN_OU": "X1", "SSL_CLIENT_S_DN_O": "Org"}, pki.ca_file)
    assert from_pem.tls_structure == STRUCTURE
    assert (from_dn.tls_structure_id, from_dn.tls_organisation) == ("X1", "Org")
    assert VihfContext.from_wsgi_environ({}, pki.ca_file).tls_structure is None


def test_several_trusted_ca_files_are_bundled(pki, signer, tmp_path):
    other = tmp_path / "other.pem"
    other.write_bytes((pki.directory / "untrusted" / "ca.pem").read_bytes())
    claims, findings = check(pki, signer, trusted_ca_files=(other, pki.ca_file))
    assert findings == [] and claims is not None


def test_every_vihf_finding_carries_its_xds_and_wss_fault_codes(pki, signer):
    _, findings = check(pki, signer, defects=VihfDefects(unsigned=True))
    finding = findings[0]
    assert finding.extra["xds_code"] == "XDSRegistryError"
    assert finding.extra["soap_fault"].startswith("wsse:")
    assert finding.severity == Severity.ERROR and finding.hint
    assert dmp_rules.VIHF_003.message_fr


def test_the_ans_sample_vihf_has_every_attribute_but_its_placeholder_certificate_fails(pki, shared_ref):
    """The ANS ITI-41 sample (DRIM-M) carries the full VIHF 3.0 shape; its certificate was blanked out."""
    envelope = etree.parse(str(shared_ref / "xds" / "DRIM-M_ITI-41_KOS_DMP.xml")).getroot()
    header = envelope.find(
        ".//{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Security")
    claims, findings = verify_vihf(header, context(pki, now=datetime(2023, 11, 3, 15, 18, tzinfo=UTC)))
    assert claims is None
    ids = rule_ids(findings)
    assert ids & {"VIHF-004", "VIHF-005"}
    assert "VIHF-010" not in ids  # every mandatory attribute is there
    assert "VIHF-016" not in ids  # physician with specialty SM26
    x509.load_pem_x509_certificate(pki.ca_file.read_bytes())  # the trusted CA itself is sound


def test_a_vihf_signed_with_an_expired_certificate_is_vihf_005(pki, tmp_path):
    import trustme

    from segur.kernel.pki import CertFiles

    ca = trustme.CA.from_pem(pki.ca_file.read_bytes(), (pki.directory / "ca-key.pem").read_bytes())
    leaf = ca.issue_cert("expired.client.test", common_name="Cabinet", organization_name="Cabinet",
                         organization_unit_name=STRUCTURE, not_before=datetime(2020, 1, 1, tzinfo=UTC),
                         not_after=datetime(2021, 1, 1, tzinfo=UTC), key_type=trustme.KeyType.RSA)
    files = CertFiles(tmp_path / "expired.pem", tmp_path / "expired-key.pem")
    files.cert_file.write_bytes(leaf.cert_chain_pems[0].bytes())
    files.key_file.write_bytes(leaf.private_key_pem.bytes())
    claims, findings = check(pki, files)
    assert claims is None and rule_ids(findings) == {"VIHF-005"}
    assert "expired" in findings[0].message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_changing_any_signed_text_or_attribute_voids_the_vihf(pki, signer, data):
    """Property: whatever single value is changed after signing, no claims come back and nothing raises."""
    header = on_the_wire(build_vihf(identity(), signer, now=NOW))
    assertion = header.find("saml2:Assertion", NS)
    signature = assertion.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    candidates = [el for el in assertion.iter() if isinstance(el.tag, str)
                  and signature not in el.iterancestors() and el is not signature]
    element = data.draw(st.sampled_from(candidates))
    names = sorted(element.attrib)
    new_value = data.draw(st.text(alphabet="ABCXYZ0123456789^&.", min_size=1, max_size=12))
    if names and data.draw(st.booleans()):
        name = data.draw(st.sampled_from(names))
        if element.get(name) == new_value:
            new_value += "0"
        element.set(name, new_value)
    else:
        if (element.text or "") == new_value:
            new_value += "0"
        element.text = new_value
    claims, findings = verify_vihf(header, context(pki))
    assert claims is None
    assert {"VIHF-004", "VIHF-003", "VIHF-002"} & rule_ids(findings)


@pytest.mark.slow
def test_every_world_physician_gets_a_vihf_the_dmp_accepts_and_a_pharmacist_needs_a_specialty(pki):
    """CallerIdentity.of(professional) for the world: physicians carry their specialty; the world's pharmacist
    has none (no CNOP sub-section in the world data), which the DMP refuses (VIHF-016)."""
    from segur.fixtures.world import load_world
    from segur.mocks.dmp.client import CallerIdentity

    world = load_world()
    certs = {}
    for professional in world.professionals:
        organisation = world.organisation_of(professional)
        caller = CallerIdentity.of(professional, organisation)
        if organisation.idnst not in certs:  # one structure certificate per organisation (RSA keys are slow)
            certs[organisation.idnst] = pki.issue_client(f"structure-{organisation.idnst}", organisation.name,
                                                         organisation.name, organisation.idnst)
        cert = certs[organisation.idnst]
        assertion = build_vihf(caller.vihf_identity(PATIENT), cert, now=NOW)
        claims, findings = verify_vihf(
            on_the_wire(assertion), context(pki, tls_structure_id=organisation.idnst))
        if professional.profession_code == "21":
            assert rule_ids(findings) == {"VIHF-016"}, professional.rpps
        else:
            assert findings == [], (professional.rpps, [(f.rule, f.message) for f in findings])
            assert claims.subject_nameid == professional.idnps
