"""End to end: the project's DMP client against the running DMP mock (real sockets, real signatures).

These are the issue's "done when": a CR-IMG built by `segur.fixtures` for a world patient is accepted,
found by FindDocuments and retrieved byte-identical; the same document with a wrong patient id, an
unknown formatCode, a missing VIHF or an invalid CDA is refused with the right code and a message that
says what to change; the journal shows it all. The client and the mock share no wire code, so passing
tests mean both sides agree on SOAP 1.2, MTOM/XOP and ebRIM.
"""

from __future__ import annotations

import zlib

import pytest
import requests
from lxml import etree

from segur.fixtures.documents import build_cr_img_n1, read_ids
from segur.fixtures.world import load_world
from segur.kernel.ins import Ins, with_key
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client import CallerIdentity, Coded, Defects, DmpClient, VihfDefects

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

XDS_METADATA = "XDSRegistryMetadataError"


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> TestPki:
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def dmp(world, pki, tmp_path_factory):
    running_dmp = pytest.importorskip("segur.mocks.dmp.testing").running_dmp
    data = tmp_path_factory.mktemp("dmp-data")
    with running_dmp(data, world=world, pki=pki, validator_pack=False) as running:
        yield running


@pytest.fixture(scope="module")
def radiologist(world):
    return next(p for p in world.professionals if p.organisation == "750803447")


@pytest.fixture(scope="module")
def organisation(world, radiologist):
    return world.organisation_of(radiologist)


@pytest.fixture(scope="module")
def client(dmp, pki, radiologist, organisation) -> DmpClient:
    return DmpClient.for_mock(dmp.url, pki=pki, caller=CallerIdentity.of(radiologist, organisation))


@pytest.fixture
def patient(world, request):
    """A different world patient with an open DMP for each test, so tests do not see each other's
    documents."""
    eligible = [p for p in world.patients if p.has_dmp and not p.dmp_closed and not p.dmp_opposed
                and p.key.startswith("pat-")]
    return eligible[zlib.crc32(request.node.name.encode()) % len(eligible)]  # stable across runs (not hash())


def cr_img(patient, radiologist, organisation, **options) -> bytes:
    return build_cr_img_n1(patient, radiologist, organisation, **options)


def consult(client, patient):
    """What a consulting editor does first: TD0.3 (authorisation), then FindDocuments."""
    client.td03(patient.ins_object)
    return client.find_documents(patient.ins_object)


# --- the accepted path -----------------------------------------------------------------------------
def test_a_cr_img_for_a_world_patient_is_accepted_found_and_retrieved_byte_identical(
        client, patient, radiologist, organisation):
    document = cr_img(patient, radiologist, organisation)
    result = client.provide_and_register(document)
    assert result.ok, (result.status, result.errors, result.fault)
    assert result.request.content_type.startswith("multipart/related")
    assert b"xop:Include" in result.request.envelope

    found = consult(client, patient)
    assert found.ok
    unique_id = read_ids(document).id
    entry = next(e for e in found.entries if e.unique_id == unique_id)
    assert entry.patient_id == patient.xds_patient_id
    assert (entry.type_code.code, entry.format_code.code) == ("18748-4", "urn:ihe:iti:xds-sd:pdf:2008")

    retrieved = client.retrieve(entry)
    assert [d.content for d in retrieved.documents] == [document]
    assert retrieved.documents[0].mime_type == "text/xml"


def test_an_inline_base64_document_is_accepted_too(client, patient, radiologist, organisation):
    result = client.provide_and_register(
        cr_img(patient, radiologist, organisation), defects=Defects(inline=True))
    assert result.ok and result.request.content_type.startswith("application/soap+xml")


def test_td02_says_whether_the_caller_is_authorised_before_and_after_td03(client, patient):
    before = client.td02(patient.ins_object)
    assert before["dmp"] == "OUVERT" and before["autorisation"] in ("NON_EXISTE", "VALIDE")
    assert client.td03(patient.ins_object)["autorisation"] == "VALIDE"
    assert client.td02(patient.ins_object)["autorisation"] == "VALIDE"


def test_a_replacement_deprecates_the_first_version(client, patient, radiologist, organisation):
    first = cr_img(patient, radiologist, organisation)
    assert client.provide_and_register(first).ok
    ids = read_ids(first)
    entry = next(e for e in consult(client, patient).entries if e.unique_id == ids.id)
    second = cr_img(patient, radiologist, organisation, set_id=ids.set_id, version_number=2, replaces=ids.id)
    result = client.replace(entry, second)
    assert result.ok, result.errors
    found = client.find_documents(patient.ins_object, statuses=("Approved", "Deprecated"))
    statuses = {e.unique_id: e.availability_status.rsplit(":", 1)[-1] for e in found.entries}
    assert statuses[ids.id] == "Deprecated" and statuses[read_ids(second).id] == "Approved"


def test_visibility_and_status_updates_go_through_iti_57(client, patient, radiologist, organisation):
    document = cr_img(patient, radiologist, organisation)
    assert client.provide_and_register(document).ok
    entry = next(e for e in consult(client, patient).entries if e.unique_id == read_ids(document).id)
    assert client.update_visibility(entry, add=("INVISIBLE_PATIENT",)).ok
    masked = next(
        e for e in client.find_documents(patient.ins_object).entries if e.unique_id == entry.unique_id)
    assert "INVISIBLE_PATIENT" in [c.code for c in masked.confidentiality_codes] and masked.version == 2
    assert client.update_status(masked, "Deprecated").ok
    assert entry.unique_id not in [e.unique_id for e in client.find_documents(patient.ins_object).entries]


# --- refused: the right code and a message that says what to change -----------------------------------
def assert_refused(result, rule_id: str, xds_code: str, *, stored_nothing_for=None, client=None,
                   patient=None):
    assert not result.ok
    assert rule_id in result.rules, (result.rules, [e.context for e in result.errors])
    error = next(e for e in result.errors if e.rule == rule_id)
    assert error.code == xds_code and error.is_error
    assert " — " in error.context  # the fix hint follows the message
    return error


def test_a_wrong_patient_id_is_refused_with_xds_patient_id_does_not_match(client, patient, world, radiologist,
                                                                          organisation):
    other = next(p for p in world.patients if p.key == "pat-0003")
    result = client.provide_and_register(cr_img(patient, radiologist, organisation),
                                         defects=Defects(patient_id=other.xds_patient_id))
    error = assert_refused(result, "DMP-CDA-004", "XDSPatientIdDoesNotMatch")
    assert patient.ins in error.context


def test_an_unknown_patient_is_refused_with_xds_unknown_patient_id(client, patient, radiologist,
                                                                    organisation):
    stranger = Ins(with_key("1990199123456"), "1.2.250.1.213.1.4.10").xds_patient_id()
    result = client.provide_and_register(cr_img(patient, radiologist, organisation),
                                         defects=Defects(patient_id=stranger))
    assert "XDSUnknownPatientId" in result.codes


def test_an_unknown_format_code_is_refused_with_registry_metadata_error(client, patient, radiologist,
                                                                        organisation):
    result = client.provide_and_register(
        cr_img(patient, radiologist, organisation),
        defects=Defects(format_code=Coded("urn:example:pdf", "1.3.6.1.4.1.19376.1.2.3")))
    error = assert_refused(result, "DMP-CODE-003", XDS_METADATA)
    assert "urn:example:pdf" in error.context and "JDV_J60" in error.context


def test_a_missing_vihf_is_refused(client, patient, radiologist, organisation):
    result = client.provide_and_register(
        cr_img(patient, radiologist, organisation), defects=Defects(no_vihf=True))
    assert_refused(result, "VIHF-001", "XDSRegistryError")


def test_an_unsigned_vihf_is_refused(client, patient, radiologist, organisation):
    result = client.provide_and_register(cr_img(patient, radiologist, organisation),
                                         defects=Defects(vihf=VihfDefects(unsigned=True)))
    assert_refused(result, "VIHF-003", "XDSRegistryError")


def test_a_vihf_altered_after_signing_is_refused(client, patient, radiologist, organisation):
    def tamper(assertion):
        name_id = assertion.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID")
        name_id.text = "899999999999"

    result = client.provide_and_register(
        cr_img(patient, radiologist, organisation), defects=Defects(tamper_vihf=tamper))
    assert_refused(result, "VIHF-004", "XDSRegistryError")


def test_a_vihf_for_another_patient_is_refused(client, patient, world, radiologist, organisation):
    other = world.patient_by_key("pat-0003" if patient.key != "pat-0003" else "pat-0004")
    result = client.provide_and_register(cr_img(patient, radiologist, organisation),
                                         defects=Defects(vihf_patient=other.ins_object))
    assert_refused(result, "VIHF-019", "XDSPatientIdDoesNotMatch")


def test_an_invalid_cda_is_refused_with_the_validators_findings(client, patient, radiologist, organisation):
    document = cr_img(patient, radiologist, organisation, pdf_bytes=b"not a PDF")
    result = client.provide_and_register(document)
    assert_refused(result, "DMP-CDA-012", "XDSRepositoryError")
    assert any(rule.startswith("SEGUR-") for rule in result.rules), result.rules


def test_a_cid_that_points_nowhere_is_a_missing_document(client, patient, radiologist, organisation):
    result = client.provide_and_register(cr_img(patient, radiologist, organisation),
                                         defects=Defects(wrong_content_id=True))
    assert not result.ok and "XDSMissingDocument" in result.codes


def test_a_refused_submission_leaves_nothing_behind(client, patient, radiologist, organisation):
    document = cr_img(patient, radiologist, organisation)
    refused = client.provide_and_register(document, defects=Defects(format_code=Coded("urn:x", "1.2.3")))
    assert not refused.ok
    assert read_ids(document).id not in [e.unique_id for e in consult(client, patient).entries]


def test_a_patient_who_opposed_access_cannot_be_fed(client, world, radiologist, organisation):
    opposed = world.patient_by_key("pat-0008")
    result = client.provide_and_register(cr_img(opposed, radiologist, organisation))
    assert not result.ok
    assert {"DMP-PAT-006"} & set(result.rules) or "INTERDIT" in " ".join(e.context for e in result.errors)


def test_a_mutated_class_code_is_refused_against_ass_x04(client, patient, radiologist, organisation):
    def wrong_class(submission_set, entries):
        entries[0].class_code = Coded("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")

    result = client.provide_and_register(cr_img(patient, radiologist, organisation),
                                         defects=Defects(mutate=wrong_class))
    assert_refused(result, "DMP-CDA-003", XDS_METADATA)


# --- the evidence ------------------------------------------------------------------------------------------
def test_the_journal_records_accepted_and_refused_submissions_with_their_rule_ids(dmp, client, patient,
                                                                                  radiologist, organisation):
    client.provide_and_register(cr_img(patient, radiologist, organisation))
    client.provide_and_register(cr_img(patient, radiologist, organisation), defects=Defects(no_vihf=True))
    journal = requests.get(dmp.endpoints()["admin"] + "journal", timeout=10).json()
    entries = journal.get("entries", journal) if isinstance(journal, dict) else journal
    submissions = [e for e in entries if e.get("operation") == "ITI-41"]
    assert len(submissions) >= 2
    text = str(submissions[-2:])
    assert "VIHF-001" in text


def test_the_request_the_client_sends_has_the_shape_of_the_ans_sample(client, patient, radiologist,
                                                                       organisation):
    result = client.provide_and_register(cr_img(patient, radiologist, organisation))
    envelope = etree.fromstring(result.request.envelope)
    ns = {"s": "http://www.w3.org/2003/05/soap-envelope", "wsa": "http://www.w3.org/2005/08/addressing",
          "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
          "saml2": "urn:oasis:names:tc:SAML:2.0:assertion", "xdsb": "urn:ihe:iti:xds-b:2007",
          "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"}
    action = envelope.findtext("s:Header/wsa:Action", namespaces=ns)
    assert action == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
    assert envelope.find("s:Header/wsse:Security/saml2:Assertion", ns) is not None
    legal = envelope.findtext(
        ".//rim:Slot[@name='legalAuthenticator']/rim:ValueList/rim:Value", namespaces=ns)
    assert legal == f"{radiologist.idnps}^{radiologist.family_name}^{radiologist.given_name}" \
                    "^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS"


def test_mtls_with_a_certificate_of_another_structure_is_refused(world, pki, radiologist, organisation,
                                                                 patient, tmp_path):
    running_dmp = pytest.importorskip("segur.mocks.dmp.testing").running_dmp
    other = pki.issue_client("other-structure", "Autre structure", "Autre structure", "1310734629")
    with running_dmp(tmp_path, world=world, pki=pki, validator_pack=False,
                     tls=pki.server_tls(require_client_cert=True)) as secure:
        caller = CallerIdentity.of(radiologist, organisation)
        good = DmpClient.for_mock(secure.url, pki=pki, caller=caller, mtls=True)
        assert good.provide_and_register(cr_img(patient, radiologist, organisation)).ok
        wrong = DmpClient(
            secure.url, signer=good.signer, caller=caller, ca_file=pki.ca_file, client_cert=other)
        result = wrong.provide_and_register(cr_img(patient, radiologist, organisation))
        assert "VIHF-018" in result.rules


@pytest.mark.parametrize("example", ["IMG_CR_IMG_2024.01_CDA-R2-Niveau-1.xml", "IMG_CR_IMG_2024.01.xml"])
def test_an_official_ans_example_is_accepted_and_retrieved_unchanged(client, cda_pack, world, example):
    """The ANS examples are about the test INS 279035121518989, a patient of the world with an open DMP."""
    document = (cda_pack / "ExemplesCDA" / example).read_bytes()
    result = client.provide_and_register(document)
    assert result.ok, [e.context for e in result.errors]
    patient = world.patient_by_key("ans-cda-pat-trois-dominique").ins_object
    entry = next(e for e in consult(client, world.patient_by_key("ans-cda-pat-trois-dominique")).entries
                 if e.unique_id == read_ids(document).id)
    assert client.retrieve(entry, patient=patient).documents[0].content == document


def test_the_other_stored_queries_find_the_submission(client, patient, radiologist, organisation):
    document = cr_img(patient, radiologist, organisation)
    sent = client.provide_and_register(document)
    assert sent.ok
    unique_id = read_ids(document).id
    entry = next(e for e in consult(client, patient).entries if e.unique_id == unique_id)

    by_id = client.get_documents(patient.ins_object, unique_ids=[unique_id])
    assert [e.entry_uuid for e in by_id.entries] == [entry.entry_uuid]

    refs = client.find_documents(patient.ins_object, return_type="ObjectRef")
    assert refs.ok and entry.entry_uuid in refs.object_refs and refs.entries == []

    sets = client.find_submission_sets(patient.ins_object)
    assert sent.submission_set.unique_id in [s.unique_id for s in sets.submission_sets]

    contents = client.get_submission_set_and_contents(patient.ins_object, sent.submission_set.unique_id)
    assert [e.unique_id for e in contents.entries] == [unique_id]
    assert any(a.kind == "HasMember" and a.target == entry.entry_uuid for a in contents.associations)

    associations = client.get_associations(patient.ins_object, [entry.entry_uuid])
    assert associations.ok and associations.associations


def test_the_metadata_of_an_n1_whose_base64_pdf_is_over_libxml2s_10_mb_text_limit_is_read(world):
    """An 8 MB PDF makes an 11 M-character text node: libxml2 refuses it unless in large-document mode,
    so the client once failed with "Text node too long" before sending a valid document."""
    from segur.mocks.dmp.client.metadata import metadata_from_cda

    patient, doctor = world.patients[1], world.professionals[0]
    small = build_cr_img_n1(patient, doctor, world.organisation_of(doctor))
    start, end = small.index(b"JVBER"), small.index(b"</text>")  # the base64 of "%PDF-"
    document = small[:start] + b"A" * (10_000_001 - (end - start)) + small[start:]
    entry = metadata_from_cda(document)
    assert entry.size == len(document) and entry.unique_id == read_ids(small).id
