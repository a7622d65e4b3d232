"""How the consultation capability reads the DMP's exchanges with its own eyes (scenarios/capabilities/
consult.py): the VIHF of a request the project did not write (the ANS ITI-41 sample), a stored query and
its answer, and an answer the journal kept only the beginning of."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lxml import etree

from segur.scenarios.capabilities import consult
from segur.scenarios.capabilities.consult import (
    _answer,
    query_facts,
    returned_entries,
    unquoted,
    vihf_facts,
)

QUERY = b"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>
<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
    xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
  <query:ResponseOption returnComposedObjects="true" returnType="LeafClass"/>
  <rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">
    <rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList>
      <rim:Value>'162018885045327^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH'</rim:Value></rim:ValueList></rim:Slot>
    <rim:Slot name="$XDSDocumentEntryTypeCode"><rim:ValueList>
      <rim:Value>('18748-4^^2.16.840.1.113883.6.1','11502-2^^2.16.840.1.113883.6.1')</rim:Value>
    </rim:ValueList></rim:Slot>
    <rim:Slot name="$XDSDocumentEntryCreationTimeFrom"><rim:ValueList><rim:Value>20200101</rim:Value>
    </rim:ValueList></rim:Slot>
  </rim:AdhocQuery>
</query:AdhocQueryRequest></soap:Body></soap:Envelope>"""

ANSWER = """<query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
    xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
    status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success">
  <rim:RegistryObjectList>
    <rim:ExtrinsicObject id="urn:uuid:e-1" status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved">
      <rim:Slot name="creationTime"><rim:ValueList><rim:Value>20261206101500</rim:Value></rim:ValueList>
      </rim:Slot>
      <rim:Name><rim:LocalizedString value="CR d'imagerie"/></rim:Name>
      <rim:Classification classificationScheme="urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
          nodeRepresentation="18748-4"/>
      <rim:ExternalIdentifier identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
          value="2.25.1"/>
    </rim:ExtrinsicObject>
    <rim:Association associationType="urn:ihe:iti:2007:AssociationType:RPLC" sourceObject="urn:uuid:e-1"
        targetObject="urn:uuid:e-0"/>
  </rim:RegistryObjectList>
</query:AdhocQueryResponse>"""


def test_the_vihf_of_the_ans_sample_names_its_professional_patient_and_access_mode(shared_ref):
    sample = etree.parse(str(shared_ref / "xds" / "DRIM-M_ITI-41_KOS_DMP.xml")).getroot()
    assert vihf_facts(sample) == {"subject_nameid": "899700367909",
                                  "resource_id": "162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH",
                                  "authentication_mode": "INDIRECTE", "purpose_of_use": "normal"}


def test_a_request_without_vihf_names_nobody():
    assert vihf_facts(etree.fromstring(QUERY)) == {}
    assert vihf_facts(None) == {}


def test_a_stored_query_is_read_with_its_parameters_as_sent():
    facts = query_facts(etree.fromstring(QUERY))
    assert facts["query_id"] == "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
    assert unquoted(facts["slots"]["$XDSDocumentEntryTypeCode"]) == [
        "18748-4^^2.16.840.1.113883.6.1", "11502-2^^2.16.840.1.113883.6.1"]
    assert unquoted(facts["slots"]["$XDSDocumentEntryPatientId"]) == [
        "162018885045327^^^&1.2.250.1.213.1.4.10&ISO^NH"]
    assert facts["slots"]["$XDSDocumentEntryCreationTimeFrom"] == ["20200101"]


def test_an_answer_is_read_into_its_entries_and_associations():
    found = returned_entries(etree.fromstring(ANSWER.encode()))
    assert found["entries"] == [{"entry_uuid": "urn:uuid:e-1", "unique_id": "2.25.1",
                                 "status": "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved",
                                 "title": "CR d'imagerie", "creation_time": "20261206101500",
                                 "type_code": "18748-4"}]
    assert found["associations"] == [{"type": "urn:ihe:iti:2007:AssociationType:RPLC",
                                      "source": "urn:uuid:e-1", "target": "urn:uuid:e-0"}]


class _Admin:
    def __init__(self, whole: bytes | None):
        self.whole, self.asked = whole, []

    def journal_body(self, service: str, seq: int, side: str) -> bytes:
        self.asked.append((service, seq, side))
        if self.whole is None:
            raise OSError("evicted")
        return self.whole


@pytest.mark.parametrize("whole, found", [(ANSWER.encode(), ["2.25.1"]), (None, [])])
def test_an_answer_the_journal_cut_is_read_whole_from_the_mock_or_not_at_all(whole, found):
    exchange = {"seq": 7, "response": {"body": {"encoding": "text", "text": ANSWER[:200], "truncated": True}}}
    admin = _Admin(whole)
    answer = _answer(exchange, admin)
    assert [e["unique_id"] for e in returned_entries(answer)["entries"]] == found
    assert admin.asked == [("dmp", 7, "response")]
    assert _answer(exchange, None) is None  # a recorded run judged again has no mock to ask


def test_the_harness_s_dmp_client_feeds_the_dmp_and_judges_nothing():
    """The capability imports the harness's DMP client to feed the DMP as other professionals (`Feeder`, used
    by `prepare`); no other function of the module touches it."""
    tree = ast.parse(Path(consult.__file__).read_text(encoding="utf-8"))
    client = ("DmpClient", "CallerIdentity")
    users = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)
             and any(isinstance(n, ast.Name) and n.id in client for n in ast.walk(node))}
    assert users == {"Feeder", "__init__"}  # the class and its constructor


def _find(seq: int, types: list[str], dated: bool, returned: list[str]) -> dict:
    """One FindDocuments of a consultation as `observe` records it: its slots and the entries returned."""
    slots = {"$XDSDocumentEntryTypeCode": [f"('{t}')" for t in types],
             "$XDSDocumentEntryStatus": [f"('{consult.APPROVED}')"]}
    if dated:
        slots.update({"$XDSDocumentEntryCreationTimeFrom": [consult.CREATED_FROM],
                      "$XDSDocumentEntryCreationTimeTo": [consult.CREATED_TO]})
    return {"seq": seq, "operation": "ITI-18", "query_id": consult.FIND_DOCUMENTS, "slots": slots,
            "entries": [{"unique_id": uid, "status": consult.APPROVED} for uid in returned]}


def _consultation(kind: str, queries: list[dict]) -> dict:
    search = {"type_codes": [consult.TYPE_OF_KIND[kind]], "statuses": ["Approved"],
              "creation_from": consult.CREATED_FROM, "creation_to": consult.CREATED_TO}
    observed = {"consult": {"dmp": queries}}
    return {"task": {"id": "consult-01", "extra": {"search": search}}, "observed": observed}


def test_the_search_judged_is_the_one_with_the_task_s_criteria_not_the_summary_look_up_after_it():
    imaging, summary = consult.TYPE_OF_KIND["CR-IMG"], consult.VSM_TYPE
    searched, looked_up = _find(1, [imaging], True, ["2.25.2"]), _find(2, [summary], False, ["2.25.9"])
    ris = _consultation("CR-IMG", [searched, looked_up])
    assert [q["seq"] for q in consult._searches(ris)] == [1] and consult._returned(ris) == ["2.25.2"]
    # the GP searches the VSM itself: both queries are searches, the dated one (the task's) is judged
    both = ["2.25.2", "2.25.0"]  # the current VSM, and the 2019 one the dates leave out
    lgc = _consultation("VSM", [_find(1, [summary], True, both[:1]), _find(2, [summary], False, both)])
    assert [q["seq"] for q in consult._searches(lgc)] == [1, 2] and consult._returned(lgc) == ["2.25.2"]
    # no search carries the criteria: the last is judged, and the check says its criteria are not the task's
    undated = _consultation("VSM", [_find(1, [summary], False, ["2.25.2", "2.25.0"])])
    assert consult._returned(undated) == ["2.25.2", "2.25.0"]
    assert consult._criteria_problems("consult-01", consult._search(undated)[0],
                                      undated["task"]["extra"]["search"])
