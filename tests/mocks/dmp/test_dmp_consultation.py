"""The consultation side of the DMP mock, as the proof's consultation tasks use it (docs/dmp.md,
"Consultation"): a multi-criteria FindDocuments (typeCode, status, creation dates), the newer version of a
replaced document (GetDocuments by uniqueId, then GetAssociations: RPLC), the medical summary by typeCode
SYNTH, and the journal of ITI-43 naming the SHA-256 of each document it served — against the running mock,
with the project's client (real sockets, signed VIHF)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from segur.fixtures.documents import build_cr_bio_n3_minimal, build_cr_img_n1, build_vsm_n3, read_ids
from segur.fixtures.world import load_world
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client import CallerIdentity, DmpClient
from segur.mocks.dmp.testing import running_dmp

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

LOINC = "2.16.840.1.113883.6.1"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> TestPki:
    return TestPki.load_or_create(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def dmp(world, pki, tmp_path_factory):
    with running_dmp(tmp_path_factory.mktemp("dmp"), world=world, pki=pki, validator_pack=False) as running:
        yield running


def _client(dmp, pki, world, specialty: str) -> DmpClient:
    professional = next(p for p in sorted(world.professionals, key=lambda p: p.key)
                        if p.specialty_code == specialty and p.profession_code == "10")
    return DmpClient.for_mock(dmp.url, pki=pki,
                              caller=CallerIdentity.of(professional, world.organisation_of(professional)))


@pytest.fixture(scope="module")
def fed(dmp, pki, world):
    """One patient's DMP as the proof's consult-01 finds it: a report and its new version, an older report of
    the same type, a report of another type, a medical summary (each by its own author)."""
    patient = next(p for p in sorted(world.patients, key=lambda p: p.key)
                   if p.has_dmp and not p.dmp_closed and not p.dmp_opposed and p.key.startswith("pat-"))
    radiologist, biologist, gp = (_client(dmp, pki, world, s) for s in ("SM44", "SM03", "SM54"))

    def author(client):
        caller = client.caller
        professional = next(p for p in world.professionals if p.idnps == caller.subject_nameid)
        return professional, world.organisation_of(professional)

    first = build_cr_img_n1(patient, *author(radiologist), title="first")
    old = build_cr_img_n1(patient, *author(radiologist), title="old",
                          effective_time=dt.datetime(2019, 5, 2, 10, 30, tzinfo=dt.UTC))
    other = build_cr_bio_n3_minimal(patient, *author(biologist))
    vsm = build_vsm_n3(patient, *author(gp))
    for client, document in ((radiologist, first), (radiologist, old), (biologist, other), (gp, vsm)):
        assert client.provide_and_register(document).ok
    ids = read_ids(first)
    radiologist.td03(patient.ins_object)
    entry = radiologist.get_documents(patient.ins_object, unique_ids=[ids.id]).entries[0]
    current = build_cr_img_n1(patient, *author(radiologist), title="current", set_id=ids.set_id,
                              version_number=2, replaces=ids.id)
    assert radiologist.replace(entry, current).ok
    return {"patient": patient, "client": radiologist, "first": ids.id, "current": read_ids(current).id,
            "current_bytes": current, "old": read_ids(old).id, "other": read_ids(other).id,
            "vsm": read_ids(vsm).id}


def _find(fed, **slots):
    return fed["client"].find_documents(fed["patient"].ins_object, extra_slots=slots)


def test_find_documents_by_type_status_and_creation_dates_returns_only_the_current_report(fed):
    found = _find(fed, **{"$XDSDocumentEntryTypeCode": [f"('18748-4^^{LOINC}')"],
                          "$XDSDocumentEntryCreationTimeFrom": ["20200101"],
                          "$XDSDocumentEntryCreationTimeTo": ["21000101"]})
    assert found.ok and [e.unique_id for e in found.entries] == [fed["current"]]
    assert found.entries[0].title == "current"


def test_each_criterion_of_the_search_filters_on_its_own(fed):
    by_type = {e.unique_id for e in _find(fed, **{"$XDSDocumentEntryTypeCode": [f"('18748-4^^{LOINC}')"]})
               .entries}
    assert by_type == {fed["current"], fed["old"]}  # Approved only: the first version is Deprecated
    since = {e.unique_id for e in _find(fed, **{"$XDSDocumentEntryCreationTimeFrom": ["20200101"]}).entries}
    assert fed["old"] not in since and {fed["current"], fed["other"], fed["vsm"]} <= since
    both = fed["client"].find_documents(fed["patient"].ins_object, statuses=("Approved", "Deprecated"),
                                        extra_slots={"$XDSDocumentEntryTypeCode": [f"('18748-4^^{LOINC}')"]})
    assert {e.unique_id for e in both.entries} == {fed["first"], fed["current"], fed["old"]}


def test_the_medical_summary_is_found_by_its_type_code_synth(fed):
    found = _find(fed, **{"$XDSDocumentEntryTypeCode": ["('SYNTH^^1.2.250.1.213.1.1.4.12')"]})
    assert [e.unique_id for e in found.entries] == [fed["vsm"]]


def test_a_replaced_document_leads_to_its_newer_version_by_its_rplc_association(fed):
    client, patient = fed["client"], fed["patient"].ins_object
    shown = client.get_documents(patient, unique_ids=[fed["first"]]).entries
    assert [e.availability_status for e in shown] == [DEPRECATED]
    associations = client.get_associations(patient, [shown[0].entry_uuid]).associations
    replacing = [a.source for a in associations if a.type == RPLC and a.target == shown[0].entry_uuid]
    newer = client.get_documents(patient, entry_uuids=replacing).entries
    assert [(e.unique_id, e.availability_status) for e in newer] == [(fed["current"], APPROVED)]


def test_the_journal_of_a_retrieve_names_the_sha256_of_each_document_served(dmp, fed):
    entry = _find(fed, **{"$XDSDocumentEntryTypeCode": [f"('18748-4^^{LOINC}')"],
                          "$XDSDocumentEntryCreationTimeFrom": ["20200101"]}).entries[0]
    retrieved = fed["client"].retrieve(entry)
    assert [d.content for d in retrieved.documents] == [fed["current_bytes"]]
    exchange = dmp.journal.entries(operation="ITI-43")[-1].to_dict()
    assert exchange["meta"]["retrieved_documents"] == [{
        "unique_id": fed["current"], "repository_unique_id": entry.repository_unique_id,
        "mime_type": "text/xml", "size": len(fed["current_bytes"]),
        "sha256": hashlib.sha256(fed["current_bytes"]).hexdigest()}]


def test_a_retrieve_of_an_unknown_document_serves_nothing_and_journals_no_hash(dmp, fed):
    entry = _find(fed, **{"$XDSDocumentEntryTypeCode": [f"('18748-4^^{LOINC}')"]}).entries[0]
    answer = fed["client"].retrieve(entry, unique_id="2.25.1")
    assert answer.documents == [] and [e.code for e in answer.errors] == ["XDSDocumentUniqueIdError"]
    exchange = dmp.journal.entries(operation="ITI-43")[-1].to_dict()
    assert exchange["meta"]["retrieved_documents"] == []
    assert fed["client"].retrieve(entry).documents  # and the DMP still serves
