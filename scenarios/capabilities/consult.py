"""Consulting the DMP (issue 15, item 3): the product reads a patient's DMP and reports what it found.

Two tasks per couloir, about one patient with an open DMP the core plan leaves alone:
- `consult-01` (`consult-dmp`): before handing it over, the harness feeds that DMP as *other*
  professionals would, through the DMP's own interface (ITI-41, signed VIHF): a report of the couloir's
  kind and its new version (RPLC: the first is then Deprecated), an older one of the same kind (2019), a
  report of another kind and a medical summary (VSM, typeCode SYNTH). The couloir's kind (`FED_KINDS`): the
  RIS's imaging report, the lab's lab report, the GP's (LGC) VSM — then its versions are the medical
  summary —, the hospital's (DPI) lettre de liaison of an earlier stay. The product must get the INS from
  INSi, test the DMP's existence and its authorisation (TD0.2) before anything else, search it with the
  task's criteria (ITI-18 FindDocuments: typeCode, creation dates, status — REM DMP/UX.27), retrieve the
  documents found (ITI-43) and integrate them (DMP/UX.31), say whether the DMP holds a medical summary and
  when it was last updated (DMP/UX.43) and report all that as JSON;
- `consult-02` (`consult-dmp`, `extra.shows_task`): the harness replaces the version the product integrated
  by a newer one; the product shows that stored document again and must look for a newer version in the
  DMP (ITI-18 by its uniqueId: CDA/DD.05, SGL.CDA/DD.05) and report it.

The product's report is the JSON object its driver returns (a plugin's dict, a command's or webhook's JSON
output) under the member `consultation` (docs/sut.md). The checks never take it alone: they compare it with
what the DMP answered, read by the judge from the DMP's journal (the ITI-18 answers parsed with its own
parser, the SHA-256 of each document ITI-43 served). The contextual Web-PS access (TD0.9 of the DMP
integration guide) has no public wire format the mock could serve: it is not judged here (docs/proof.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

from segur.fixtures.documents import build_cr_bio_n3_minimal, build_cr_img_n1, build_vsm_n3
from segur.fixtures.documents.hospital import LDL_SES_CODE, build_ldl_ses_n1
from segur.kernel.ins import parse_xds_patient_id
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client import CallerIdentity, DmpClient
from segur.scenarios.capability import Capability, ObserveContext, PlanContext, PrepareContext
from segur.scenarios.check import Check, judged, tasks
from segur.scenarios.mime import UnreadableMime, read_soap_request
from segur.scenarios.observe import parse_xml, whole_request
from segur.validators import safe_xml

NAME = "consult"
SCENARIO = "consult"
ACTION = "consult-dmp"
EXPECT_CONSULTED = "consulted"  # the product reads the DMP and reports; it sends nothing

#: the XDS identifiers the judge reads an ITI-18 answer with (IHE ITI TF-3 Table 4.2.5-1/4.2.5-2)
UNIQUE_ID_SCHEME = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"  # XDSDocumentEntry.uniqueId
TYPE_CODE_SCHEME = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"  # XDSDocumentEntry.typeCode
FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
STATUS_PREFIX = "urn:oasis:names:tc:ebxml-regrep:StatusType:"
APPROVED = STATUS_PREFIX + "Approved"
ATTR_RESOURCE_ID = "urn:oasis:names:tc:xacml:2.0:resource:resource-id"
ATTR_AUTH_MODE = "Authentification_Mode"
ATTR_PURPOSE = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
#: the access mode of an ordinary consultation (PurposeOfUse of 1.2.250.1.213.1.1.4.248 "mode acces VIHF
#: 1.0", as in the ANS ITI-41 sample: ../shared/ref/xds/DRIM-M_ITI-41_KOS_DMP.xml)
NORMAL_ACCESS = "normal"
LOINC = "2.16.840.1.113883.6.1"
#: the medical summary's typeCode (CI-SIS VSM: SYNTH of 1.2.250.1.213.1.1.4.12; ../shared/ref/couloirs.md)
VSM_TYPE = "SYNTH^^1.2.250.1.213.1.1.4.12"
#: each kind's XDS typeCode (JDV_J07_XdsTypeCode_CISIS; ../shared/ref/couloirs.md)
TYPE_OF_KIND = {"CR-IMG": f"18748-4^^{LOINC}", "CR-BIO": f"11502-2^^{LOINC}", "VSM": VSM_TYPE,
                "LDL-SES": f"{LDL_SES_CODE[0]}^^{LOINC}"}
#: the search criteria of consult-01: the couloir's report type, Approved only, created since 2020
CREATED_FROM, CREATED_TO = "20200101", "21000101"
#: when the older report of the same kind was written (outside the dates searched)
OLD_REPORT_TIME = dt.datetime(2019, 5, 2, 10, 30, tzinfo=dt.UTC)
#: who writes each kind the harness feeds (specialty, TRE_R38): a radiologist, a biologist, a GP, a surgeon
#: of another hospital (the DPI's author is the world's one cardiologist)
SPECIALTIES = {"CR-IMG": "SM44", "CR-BIO": "SM03", "VSM": "SM54", "LDL-SES": "SM05"}
GP_SPECIALTY = "SM54"
#: couloir → (the kind its professionals search and integrate, the other kind the DMP holds): the RIS its
#: imaging reports, the lab its lab reports, the GP (LGC) the médecin traitant's VSM, the hospital (DPI) a
#: lettre de liaison of an earlier stay
FED_KINDS = {"RIS": ("CR-IMG", "CR-BIO"), "BIO": ("CR-BIO", "CR-IMG"), "LGC": ("VSM", "CR-BIO"),
             "DPI": ("LDL-SES", "CR-IMG")}
#: a consultation task's kind (the couloir's report kind, which the plan gives every task) → its couloir
COULOIR_OF_KIND = {"CR-IMG": "RIS", "CR-BIO": "BIO", "VSM": "LGC", "LDL-SES": "DPI", "CRO": "DPI",
                   "ORDONNANCE": "DPI"}


# --- the plan ---------------------------------------------------------------------------------------------
def document_oid(couloir: str, label: str) -> str:
    """A 2.25 OID for one document the harness feeds: drawn from the couloir and its label, so the plan
    names it before the DMP holds it (the proof resets the mocks before each run)."""
    digest = hashlib.sha256(f"segur-proof/{couloir}/consult/{label}".encode()).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def fed_ids(couloir: str) -> dict:
    """The documents the harness puts in the DMP, by role: ids (and the setId of the report's versions)."""
    roles = ("first", "current", "newest", "old", "other", "vsm", "set")
    return {role: document_oid(couloir, role) for role in roles}


def _plan(ctx: PlanContext) -> None:
    used = ctx.used_patients()
    patient = next((p for p in ctx.dmp_patients if p.key not in used), ctx.dmp_patients[-1])
    kind, _other = FED_KINDS[ctx.couloir]
    ids = fed_ids(ctx.couloir)
    search = {"type_codes": [TYPE_OF_KIND[kind]], "statuses": ["Approved"], "creation_from": CREATED_FROM,
              "creation_to": CREATED_TO}
    ctx.add("consult-01", ACTION, patient, SCENARIO, EXPECT_CONSULTED,
            extra={"search": search, "integrate": "every document found", "medical_summary": True})
    ctx.add("consult-02", ACTION, patient, SCENARIO, EXPECT_CONSULTED,
            extra={"shows_task": "consult-01", "shows": [ids["current"]]})


# --- the harness's part: feeding the DMP as other professionals ------------------------------------------
def _professional(world, specialty: str, avoid: set[str]):
    """The first médecin of the specialty (by key) who is not the task's author."""
    found = sorted((p for p in world.professionals if p.specialty_code == specialty
                    and p.profession_code == "10" and p.idnps not in avoid), key=lambda p: p.key)
    if not found:
        raise LookupError(f"the world has no médecin of specialty {specialty} to feed the DMP")
    return found[0]


def _pki_dir(endpoints) -> str:
    """The test PKI's folder, as the stack's endpoints name it (`segur up`: `pki.dir`)."""
    pki = endpoints.get("pki")
    if isinstance(pki, dict):
        return pki.get("dir") or str(Path(pki["ca_file"]).parent)
    return str(pki) if pki else str(Path(endpoints["mssante"]["ca_file"]).parent)


class Feeder:
    """One professional feeding the patient's DMP through its own interface (ITI-41, signed VIHF)."""

    def __init__(self, ctx: PrepareContext, professional, patient):
        self.professional, self.patient = professional, patient
        self.organisation = ctx.world.organisation_of(professional)
        pki = TestPki(_pki_dir(ctx.endpoints))
        caller = CallerIdentity.of(professional, self.organisation)
        name = f"structure-{caller.structure_id}"
        if not pki.client(name).cert_file.exists():
            pki.issue_client(name, f"Structure {caller.structure_id}", self.organisation.name,
                             caller.structure_id)
        dmp = ctx.endpoints["dmp"]
        urls = {service: dmp[service] for service in ("repository", "registry", "patients", "habilitations")}
        https = any(str(url).startswith("https") for url in urls.values())
        self.client = DmpClient(urls, signer=pki.client(name), caller=caller,
                                ca_file=pki.ca_file if https else None)

    def feed(self, document: bytes, replaces: str | None = None) -> dict:
        """ITI-41 of one document (a new version of `replaces` when given: RPLC), as its author would."""
        if replaces is None:
            result = self.client.provide_and_register(document)
        else:
            self.client.td03(self.patient.ins_object)  # reading the earlier version needs the authorisation
            found = self.client.get_documents(self.patient.ins_object, unique_ids=[replaces])
            result = self.client.replace(next(e for e in found.entries if e.unique_id == replaces), document)
        if not result.ok:
            raise RuntimeError(f"the DMP refused what the harness fed it: {result.status} {result.errors} "
                               f"{result.fault}")
        return {"sha256": hashlib.sha256(document).hexdigest(), "size": len(document),
                "author": self.professional.idnps}


def _builder(kind: str):
    """The project's builder of a document of `kind`, called with (patient, professional, organisation) and
    header keywords."""
    return {"CR-BIO": build_cr_bio_n3_minimal, "CR-IMG": build_cr_img_n1, "VSM": build_vsm_n3,
            "LDL-SES": build_ldl_ses_n1}[kind]


def _prepare(ctx: PrepareContext) -> dict:
    """consult-01: feed the patient's DMP; consult-02: a newer version of the report the product integrated.
    The feeding is journalled under no task (the task's exchanges are the product's alone: a core check would
    take the harness's ITI-41 for a report the product sent); what was fed is recorded here."""
    planned, world = ctx.planned, ctx.world
    task = planned.task
    patient = world.patient_by_key(planned.patient_key)
    couloir = COULOIR_OF_KIND[task.kind]
    kind, other_kind = FED_KINDS[couloir]
    ids = fed_ids(couloir)
    avoid = {task.author.get("idnps")}
    ctx.admin.set_task(None)
    try:
        writer = Feeder(ctx, _professional(world, SPECIALTIES[kind], avoid), patient)
        report = _builder(kind)

        def version(role: str, number: int, replaces: str | None = None) -> dict:
            document = report(patient, writer.professional, writer.organisation, document_id=ids[role],
                              set_id=ids["set"], version_number=number, replaces=replaces)
            return {"unique_id": ids[role], **writer.feed(document, replaces)}

        if task.extra.get("shows_task"):
            fed = {"newest": version("newest", 3, ids["current"])}
            return {"fed": fed, "replaced": ids["current"], "newer": ids["newest"]}
        fed = {"first": version("first", 1), "current": version("current", 2, ids["first"])}
        old = report(patient, writer.professional, writer.organisation, document_id=ids["old"],
                     effective_time=OLD_REPORT_TIME)
        fed["old"] = {"unique_id": ids["old"], **writer.feed(old)}
        colleague = Feeder(ctx, _professional(world, SPECIALTIES[other_kind], avoid), patient)
        # the builders' own titles: a CR-BIO's is fixed ("Compte rendu d'examens biologiques", Entete_CR-BIO)
        other = _builder(other_kind)(patient, colleague.professional, colleague.organisation,
                                     document_id=ids["other"])
        fed["other"] = {"unique_id": ids["other"], **colleague.feed(other)}
        summaries = [ids["current"], ids["old"]]  # the GP's own VSM versions are the medical summary (LGC)
        if kind != "VSM":
            gp = Feeder(ctx, _professional(world, GP_SPECIALTY, avoid), patient)
            vsm = build_vsm_n3(patient, gp.professional, gp.organisation, document_id=ids["vsm"])
            fed["vsm"] = {"unique_id": ids["vsm"], **gp.feed(vsm)}
            summaries = [ids["vsm"]]
        return {"fed": fed, "deprecated": ids["first"], "expected_found": [ids["current"]],
                "medical_summary": summaries}
    finally:
        ctx.admin.set_task(task.id)


# --- what the DMP saw and answered -------------------------------------------------------------------------
def text_bytes(body: dict) -> bytes | None:
    """A journalled body's bytes when the journal kept it whole as text (None otherwise)."""
    text = body.get("text") or ""
    if not text or body.get("encoding") != "text" or body.get("truncated"):
        return None
    return text.encode("utf-8")


def request_envelope(exchange: dict):
    """The request's SOAP envelope, split by the judge's MIME reader and parsed (None when unreadable)."""
    request = exchange.get("request") or {}
    data = text_bytes(request.get("body") or {})
    if data is None:
        return None
    try:
        message = read_soap_request((request.get("headers") or {}).get("Content-Type", ""), data)
        return parse_xml(message.envelope)
    except (UnreadableMime, safe_xml.UnreadableDocument):
        return None


def _answer(exchange: dict, admin):
    """The answer's SOAP envelope (the DMP journals an answer's envelope, not its MTOM parts), read whole
    from the mock when the journal kept only its beginning."""
    body = (exchange.get("response") or {}).get("body") or {}
    data = text_bytes(body)
    if data is None and body.get("truncated") and admin is not None:
        try:
            data = admin.journal_body("dmp", exchange["seq"], "response")
        except OSError:  # urllib's HTTPError included: the mock no longer has it
            data = None
    try:
        return parse_xml(data) if data is not None else None
    except safe_xml.UnreadableDocument:
        return None


def named(tree, name: str) -> list:
    return tree.xpath(f"//*[local-name()='{name}']") if tree is not None else []


def _children(element, name: str, **attributes) -> list:
    test = "".join(f"[@{key}='{value}']" for key, value in attributes.items())
    return element.xpath(f"./*[local-name()='{name}']{test}")


def vihf_facts(envelope) -> dict:
    """Who the VIHF says calls, in which access mode, for which patient — read from the request itself."""
    assertion = named(envelope, "Assertion")
    if not assertion:
        return {}
    nameid = assertion[0].xpath("./*[local-name()='Subject']/*[local-name()='NameID']")
    attributes = {}
    for attribute in named(assertion[0], "Attribute"):
        values = _children(attribute, "AttributeValue")
        coded = values[0].xpath("./*[@code]") if values else []
        text = "".join(values[0].itertext()).strip() if values else ""
        attributes[attribute.get("Name")] = coded[0].get("code") if coded else text
    return {"subject_nameid": (nameid[0].text or "").strip() if nameid else None,
            "resource_id": attributes.get(ATTR_RESOURCE_ID),
            "authentication_mode": attributes.get(ATTR_AUTH_MODE),
            "purpose_of_use": attributes.get(ATTR_PURPOSE)}


def query_facts(envelope) -> dict:
    """The stored query's id and its parameters (slot name → the Value texts as sent)."""
    query = named(envelope, "AdhocQuery")
    if not query:
        return {}
    slots: dict[str, list[str]] = {}
    for slot in _children(query[0], "Slot"):
        values = [(v.text or "").strip() for v in slot.xpath(".//*[local-name()='Value']")]
        slots.setdefault(slot.get("name"), []).extend(values)
    return {"query_id": query[0].get("id"), "slots": slots}


def unquoted(values: list[str]) -> list[str]:
    """ITI-18 parameter values as plain strings: ('a','b') and 'a' read alike (ITI TF-2a §3.18.4.1.2.3.5)."""
    found = []
    for value in values:
        value = value.strip()
        if value.startswith("(") and value.endswith(")"):
            value = value[1:-1]
        found += [part.strip().strip("'") for part in value.split(",") if part.strip()]
    return found


def _value_of(element, name: str) -> str | None:
    values = element.xpath(f"./*[local-name()='Slot'][@name='{name}']//*[local-name()='Value']")
    return (values[0].text or "").strip() if values else None


def returned_entries(answer) -> dict:
    """The document entries and associations an ITI-18 answer holds (ITI TF-3 §4.2.3), read by the judge."""
    entries = []
    for obj in named(answer, "ExtrinsicObject"):
        unique = _children(obj, "ExternalIdentifier", identificationScheme=UNIQUE_ID_SCHEME)
        types = _children(obj, "Classification", classificationScheme=TYPE_CODE_SCHEME)
        title = obj.xpath("./*[local-name()='Name']/*[local-name()='LocalizedString']")
        entries.append({"entry_uuid": obj.get("id"), "unique_id": unique[0].get("value") if unique else None,
                        "status": obj.get("status"), "title": title[0].get("value") if title else None,
                        "creation_time": _value_of(obj, "creationTime"),
                        "type_code": types[0].get("nodeRepresentation") if types else None})
    associations = [{"type": a.get("associationType"), "source": a.get("sourceObject"),
                     "target": a.get("targetObject")} for a in named(answer, "Association")]
    return {"entries": entries, "associations": associations}


def _exchange_facts(exchange: dict, admin) -> dict:
    meta = exchange.get("meta") or {}
    item = {"seq": exchange["seq"], "time": exchange["time"], "operation": exchange["operation"],
            "verdict": exchange["verdict"], "rules": exchange.get("rules") or []}
    envelope = request_envelope(whole_request(exchange, admin))
    item["vihf"] = vihf_facts(envelope)
    if exchange["operation"] == "TD0.2":
        ins = named(envelope, "matriculeINS")
        item.update(ins=ins[0].get("valeur") if ins else None, dmp=meta.get("dmp"),
                    autorisation=meta.get("autorisation"))
    elif exchange["operation"] == "ITI-18":
        item.update(query_facts(envelope))
        item.update(returned_entries(_answer(exchange, admin)))
    elif exchange["operation"] == "ITI-43":
        item["asked"] = [(e.text or "").strip() for e in named(envelope, "DocumentUniqueId")]
        item["served"] = meta.get("retrieved_documents") or []  # SHA-256 of what the repository served
    return item


def _observe(ctx: ObserveContext) -> dict:
    """Every DMP exchange of the task, in order, with what the judge reads in it."""
    dmp = [_exchange_facts(e, ctx.admin) for e in ctx.journals.get("dmp", []) if ctx.in_task(e, "dmp")]
    return {"dmp": dmp}


# --- the product's word ------------------------------------------------------------------------------------
def product_report(task: dict) -> dict | None:
    """The `consultation` object the product's driver returned (`reported`)."""
    return reported(task, "consultation")


def reported(task: dict, key: str) -> dict | None:
    """The `key` object of the JSON the product's driver returned (None: no such report): the whole output
    (a plugin's dict, a webhook's answer), else the first line of it that is a JSON object holding one (a
    command's output is its stdout, then its stderr, each under a `--- stdout ---` line: docs/sut.md)."""
    output = (task.get("result") or {}).get("output") or ""
    candidates = [output] + [line for line in output.splitlines() if line.lstrip().startswith("{")]
    for text in candidates:
        try:
            data = json.loads(text)
        except ValueError:
            continue
        report = data.get(key) if isinstance(data, dict) else None
        if isinstance(report, dict):
            return report
    return None


# --- helpers of the checks ---------------------------------------------------------------------------------
def seen(task: dict) -> list[dict]:
    return ((task.get("observed") or {}).get(NAME) or {}).get("dmp") or []


def _ops(task: dict, *operations: str) -> list[dict]:
    return [item for item in seen(task) if item["operation"] in operations]


def _consultations(run: dict, searching: bool | None = None) -> list[dict]:
    """The consultation tasks: all, those that search (consult-01) or those that show (consult-02)."""
    found = tasks(run, SCENARIO)
    if searching is None:
        return found
    return [t for t in found if bool(t["task"]["extra"].get("shows_task")) is not searching]


def insi_ins(task: dict) -> set[str]:
    """The INS INSi returned with code 00 for the task's patient (the core observation of INSi)."""
    return {i["ins"] for i in (task.get("observed") or {}).get("insi") or []
            if i.get("code") == "00" and i.get("for_task_patient") and i.get("ins")}


def _no_task(check_id: str):
    return judged(check_id, ["the plan has no DMP consultation task of this kind: nothing to judge"], [],
                  "no consultation task")


def _silent(task: dict) -> str | None:
    """The problem of a task the DMP saw nothing of (the product failed it, or asked elsewhere)."""
    if seen(task):
        return None
    return f"{task['task']['id']}: the product never called the DMP ({task['result'].get('detail')!r})"


def _named_patients(item: dict) -> set[str]:
    """The INS an exchange names: TD0.2's matriculeINS, ITI-18's patientId, the VIHF's resource-id."""
    named = {item.get("ins")} if item["operation"] == "TD0.2" else set()
    values = [(item.get("vihf") or {}).get("resource_id") or ""]
    values += unquoted((item.get("slots") or {}).get("$XDSDocumentEntryPatientId") or [])
    for value in values:
        parsed = parse_xds_patient_id(value)
        named.add(parsed.value if parsed else value or None)
    return named - {None}


# --- the checks -------------------------------------------------------------------------------------------
def check_td02_first(run: dict):
    problems, evidence = [], []
    for task in _consultations(run):
        task_id = task["task"]["id"]
        evidence.append({"task": task_id,
                         "order": [f"{i['operation']} #{i['seq']} {i['verdict']}" for i in seen(task)]})
        if why := _silent(task):
            problems.append(why)
            continue
        answered = [i["seq"] for i in _ops(task, "TD0.2") if i.get("dmp")]
        reads = _ops(task, "ITI-18", "ITI-43")
        for item in reads:
            if not any(seq < item["seq"] for seq in answered):
                problems.append(f"{task_id}: {item['operation']} #{item['seq']} with no TD0.2 (does the DMP "
                                "exist, may this professional read it) answered before it")
        if not reads:
            problems.append(f"{task_id}: the DMP saw no search (ITI-18) nor retrieve (ITI-43)")
    if not _consultations(run):
        return _no_task("consult-td02-first")
    return judged("consult-td02-first", problems, evidence,
                  "each consultation tests the DMP's existence and authorisation (TD0.2) before reading it")


def _patient_problems(task: dict) -> list[str]:
    """What in one consultation task names another patient than the INS INSi returned for it."""
    task_id, allowed = task["task"]["id"], insi_ins(task)
    if not allowed:
        return [f"{task_id}: no INSi search of the patient answered 00 (a DMP is consulted by the INS INSi "
                "returns)"]
    problems = [why] if (why := _silent(task)) else []
    for item in seen(task):
        if wrong := sorted(_named_patients(item) - allowed):
            problems.append(f"{task_id}: {item['operation']} #{item['seq']} names the patient {wrong}, not "
                            f"the INS INSi returned ({', '.join(sorted(allowed))})")
    return problems


def check_right_patient(run: dict):
    problems, evidence = [], []
    for task in _consultations(run):
        calls = [{"seq": i["seq"], "operation": i["operation"], "ins": sorted(_named_patients(i))}
                 for i in seen(task)]
        evidence.append({"task": task["task"]["id"], "insi_ins": sorted(insi_ins(task)), "dmp_calls": calls})
        problems += _patient_problems(task)
    if not _consultations(run):
        return _no_task("consult-right-patient")
    return judged("consult-right-patient", problems, evidence,
                  "every DMP call of a consultation names the patient by the INS INSi returned")


#: the DMP's answers to a call it took (TD0.2: the authorisation; TD0.3: its result)
TAKEN = ("accepted", "accepted-with-warnings", "VALIDE", "NON_EXISTE", "EXPIRE", "OK")


def check_professional(run: dict):
    problems, evidence = [], []
    for task in _consultations(run):
        task_id, author = task["task"]["id"], task["task"]["author"].get("idnps")
        callers = [{"seq": i["seq"], "operation": i["operation"], "verdict": i["verdict"], **i["vihf"]}
                   for i in seen(task)]
        evidence.append({"task": task_id, "professional": author, "vihf": callers})
        if why := _silent(task):
            problems.append(why)
        for caller in callers:
            where = f"{task_id}: {caller['operation']} #{caller['seq']}"
            if caller.get("subject_nameid") != author:
                problems.append(f"{where} is made in the name of {caller.get('subject_nameid')!r}, not of "
                                f"the professional who consults (IDNPS {author})")
            if caller.get("purpose_of_use") != NORMAL_ACCESS:
                problems.append(f"{where} asks the access mode {caller.get('purpose_of_use')!r}, not "
                                f"{NORMAL_ACCESS!r}: the task is an ordinary consultation")
            if caller["verdict"] not in TAKEN:
                problems.append(f"{where}: the DMP did not take it ({caller['verdict']})")
    if not _consultations(run):
        return _no_task("consult-professional")
    return judged("consult-professional", problems, evidence, "every DMP call is made under the "
                  "authenticated professional's identity (VIHF NameID), in the normal access mode")


def _criteria_problems(task_id: str, query: dict, search: dict) -> list[str]:
    """The task's criteria the FindDocuments does not carry as asked."""
    wanted = {"$XDSDocumentEntryTypeCode": search["type_codes"],
              "$XDSDocumentEntryStatus": [STATUS_PREFIX + status for status in search["statuses"]],
              "$XDSDocumentEntryCreationTimeFrom": [search["creation_from"]],
              "$XDSDocumentEntryCreationTimeTo": [search["creation_to"]]}
    problems = []
    for slot, values in wanted.items():
        sent = unquoted(query["slots"].get(slot) or [])
        if sorted(sent) != sorted(values):
            problems.append(f"{task_id}: FindDocuments #{query['seq']} has {slot} = {sent or 'nothing'}; the "
                            f"task asks {values}")
    return problems


def _brief(entry: dict) -> dict:
    return {key: entry.get(key) for key in ("unique_id", "title", "creation_time")}


def _searches(task: dict) -> list[dict]:
    """The task's FindDocuments other than the medical-summary look-up (a search of the VSM type alone, when
    the task's criteria ask another type: the GP of the LGC searches the VSM itself)."""
    asked = set(task["task"]["extra"]["search"]["type_codes"])
    return [q for q in _ops(task, "ITI-18") if q.get("query_id") == FIND_DOCUMENTS
            and (asked == {VSM_TYPE} or set(unquoted(q["slots"].get("$XDSDocumentEntryTypeCode") or []))
                 != {VSM_TYPE})]


def _search(task: dict) -> list[dict]:
    """The search judged (none or one): the last FindDocuments carrying the task's criteria, else the last
    one (whose criteria the check then says are not the task's)."""
    queries = _searches(task)
    search, task_id = task["task"]["extra"]["search"], task["task"]["id"]
    carrying = [q for q in queries if not _criteria_problems(task_id, q, search)]
    return (carrying or queries)[-1:]


def _report_problems(task_id: str, found, returned: dict) -> list[str]:
    """The product's list of documents found against what the DMP returned."""
    if not isinstance(found, list):
        return [f"{task_id}: the product's report has no list of the documents found (consultation.found)"]
    claimed = {d.get("unique_id"): d for d in found if isinstance(d, dict)}
    problems = [f"{task_id}: the product reports document {uid}, which the DMP did not return"
                for uid in sorted(set(claimed) - set(returned))]
    problems += [f"{task_id}: the DMP returned document {uid}, which the product does not report"
                 for uid in sorted(set(returned) - set(claimed))]
    for uid in sorted(set(claimed) & set(returned)):
        for key in ("title", "creation_time"):
            if claimed[uid].get(key) != returned[uid].get(key):
                problems.append(f"{task_id}: document {uid}: the product reports its {key} as "
                                f"{claimed[uid].get(key)!r}, the DMP returned {returned[uid].get(key)!r}")
    return problems


def check_search(run: dict):
    problems, evidence = [], []
    for task in _consultations(run, searching=True):
        task_id, search = task["task"]["id"], task["task"]["extra"]["search"]
        queries, judged_search = _searches(task), _search(task)
        found = (product_report(task) or {}).get("found")
        returned = {e["unique_id"]: e for q in judged_search for e in q.get("entries") or []}
        evidence.append({"task": task_id, "criteria": search,
                         "queries": [{"seq": q["seq"], "slots": q["slots"]} for q in queries],
                         "dmp_returned": [_brief(e) for e in returned.values()], "product_found": found})
        if not queries:
            problems.append(f"{task_id}: no FindDocuments search (ITI-18) of the patient's DMP")
            continue
        problems += _criteria_problems(task_id, judged_search[0], search)
        problems += _report_problems(task_id, found, returned)
    if not _consultations(run, searching=True):
        return _no_task("consult-search")
    return judged("consult-search", problems, evidence, "the search carried the task's criteria and the "
                  "product reports exactly what the DMP returned (ids, titles, dates)")


def _returned(task: dict) -> list[str]:
    """The Approved documents the judged FindDocuments (`_search`) returned: what the product must
    integrate."""
    return [e["unique_id"] for q in _search(task) for e in q.get("entries") or []
            if e.get("status") == APPROVED]


def _nothing_found(task: dict) -> dict:
    """The upstream failure that left the search without a document (the harness fed the patient's DMP so
    that the task's criteria find one): the wrong patient, else the wrong criteria."""
    if _patient_problems(task):
        return blocker("consult-right-patient", task, "the DMP was searched for another patient")
    search = task["task"]["extra"]["search"]
    criteria = [p for q in _search(task) for p in _criteria_problems(task["task"]["id"], q, search)]
    upstream = "consult-search" if criteria or not _searches(task) else None
    return blocker(upstream, task, "the search returned no document to integrate")


def blocker(check: str | None, task: dict, reason: str) -> dict:
    return {"check": check, "task": task["task"]["id"], "reason": reason}


def check_integrated_retrieved(run: dict):
    problems, evidence, blocked = [], [], []
    for task in _consultations(run, searching=True):
        task_id, returned = task["task"]["id"], _returned(task)
        integrated = (product_report(task) or {}).get("integrated")
        integrated = [d if isinstance(d, dict) else {"unique_id": d} for d in integrated or []
                      if isinstance(d, dict | str)] if isinstance(integrated, list) else None
        served: dict[str, list[dict]] = {}
        for item in _ops(task, "ITI-43"):
            for doc in item.get("served") or []:
                served.setdefault(doc["unique_id"], []).append({**doc, "seq": item["seq"]})
        evidence.append({"task": task_id, "dmp_returned": returned, "integrated": integrated,
                         "served_by_iti43": served})
        if integrated is None:
            problems.append(f"{task_id}: the product's report has no list of the documents it integrated "
                            "(consultation.integrated)")
            continue
        if not returned and not integrated:
            blocked.append(_nothing_found(task))
            continue
        kept = {doc.get("unique_id") for doc in integrated}
        problems += [f"{task_id}: the DMP returned {uid} to the search; the product did not integrate it "
                     "(the task asks for every document found)" for uid in returned if uid not in kept]
        for doc in integrated:
            uid, copies = doc.get("unique_id"), served.get(doc.get("unique_id")) or []
            hashes = sorted({c["sha256"] for c in copies})
            if not copies:
                problems.append(f"{task_id}: the product says it integrated {uid}, which no ITI-43 of the "
                                "task retrieved from the DMP")
            elif doc.get("sha256") not in hashes:
                problems.append(f"{task_id}: the product's copy of {uid} (SHA-256 {doc.get('sha256')}) is "
                                f"not the bytes the DMP served ({', '.join(hashes)})")
    if not _consultations(run, searching=True):
        return _no_task("consult-integrated-retrieved")
    return judged("consult-integrated-retrieved", problems, evidence,
                  "every document found was integrated, each retrieved (ITI-43) byte for byte", blocked)


def last_updated(entries: list[dict]) -> str | None:
    """The date of the medical summary's last update (REM DMP/UX.43: "sa date de dernière mise à jour"): the
    creationTime of the newest Approved VSM the DMP returned, as the DMP wrote it (an XDS DTM, UTC)."""
    times = [e["creation_time"] for e in entries if e.get("creation_time")]
    return max(times, key=lambda t: t.ljust(14, "0")) if times else None


def check_medical_summary(run: dict):
    problems, evidence = [], []
    for task in _consultations(run, searching=True):
        task_id = task["task"]["id"]
        lookups = [q for q in _ops(task, "ITI-18")
                   if VSM_TYPE in unquoted((q.get("slots") or {}).get("$XDSDocumentEntryTypeCode") or [])]
        approved = [e for q in lookups for e in q.get("entries") or [] if e.get("status") == APPROVED]
        held = sorted({e["unique_id"] for e in approved})
        updated = last_updated(approved)
        says = (product_report(task) or {}).get("medical_summary")
        evidence.append({"task": task_id, "lookups": [q["seq"] for q in lookups], "dmp_returned": held,
                         "last_updated": updated, "product_says": says})
        if not lookups:
            problems.append(f"{task_id}: no ITI-18 asked the DMP for a medical summary (typeCode {VSM_TYPE})")
        elif not isinstance(says, dict) or says.get("present") is not bool(held):
            present = isinstance(says, dict) and says.get("present")
            problems.append(f"{task_id}: the product says the DMP holds {'a' if present else 'no'} medical "
                            f"summary; the DMP returned {', '.join(held) or 'none'}")
        elif held and says.get("last_updated") != updated:
            dated = says.get("last_updated")
            problems.append(f"{task_id}: the product dates the medical summary's last update {dated!r}; the "
                            f"newest the DMP returned was created {updated}")
    if not _consultations(run, searching=True):
        return _no_task("consult-medical-summary")
    return judged("consult-medical-summary", problems, evidence, "the product says whether the DMP holds a "
                  "medical summary (VSM), and when it was last updated, as the DMP answered")


def check_newer_version(run: dict):
    problems, evidence = [], []
    for task in _consultations(run, searching=False):
        task_id, prepared = task["task"]["id"], task.get("prepared") or {}
        replaced, newer = prepared.get("replaced"), prepared.get("newer")
        queries = _ops(task, "ITI-18")
        asked = [q for q in queries
                 if replaced in unquoted((q.get("slots") or {}).get("$XDSDocumentEntryUniqueId") or [])]
        answered = {e["unique_id"] for q in queries for e in q.get("entries") or []}
        shown = {d.get("unique_id"): d for d in (product_report(task) or {}).get("shown") or []
                 if isinstance(d, dict)}
        evidence.append({"task": task_id, "replaced": replaced, "newer_in_dmp": newer,
                         "queries": [{"seq": q["seq"], "slots": q.get("slots")} for q in queries],
                         "product_shown": list(shown.values())})
        if not asked:
            problems.append(f"{task_id}: showing {replaced}, the product never asked the DMP about it "
                            "(ITI-18 by its uniqueId)")
        if newer not in answered:
            problems.append(f"{task_id}: no answer of the DMP in the task held the newer version {newer}")
        reported = (shown.get(replaced) or {}).get("newer_version")
        if reported != newer:
            problems.append(f"{task_id}: the DMP holds {newer}, a newer version of {replaced}; the product "
                            f"reports {reported!r}")
    if not _consultations(run, searching=False):
        return _no_task("consult-newer-version")
    return judged("consult-newer-version", problems, evidence,
                  "showing a stored document, the product finds its newer version in the DMP")


RIS, BIO, LGC, DPI = "RIS", "BIO", "LGC", "DPI"
CHECKS = (
    Check("consult-td02-first",
          title="DMP consultation: TD0.2 before reading",
          test="test_the_consultation_tests_the_dmp_and_authorisation_first",
          doc="Before searching or retrieving, the product tests the DMP's existence and its authorisation "
              "(TD0.2).",
          rem={RIS: ["DMP/UX.27"], BIO: ["DMP/UX.27"], LGC: ["DMP/UX.27"], DPI: ["DMP/UX.27"]},
          reads=("consult.dmp",),
          judge=check_td02_first,
          defects=("consult-no-td02",),
          hint=("Call TD0.2 (the DMP's existence and the professional's authorisation) for the patient "
                "before any ITI-18 search or ITI-43 retrieval of the consultation (DMP/UX.27).")),
    Check("consult-right-patient",
          title="DMP consultation: the patient by the INS INSi returned",
          test="test_the_consultation_names_the_patient_by_the_ins_insi_returned",
          doc="Every DMP call of a consultation (TD0.2, ITI-18, ITI-43, the VIHF's resource-id) names the "
              "patient by the INS INSi returned for the task's patient.",
          rem={couloir: ["DMP/UX.27", "DMP/UX.31"] for couloir in (RIS, BIO, LGC, DPI)},
          reads=("insi.searches", "consult.dmp"),
          judge=check_right_patient,
          defects=("consult-wrong-patient",),
          hint=("Name the patient of every consultation call (TD0.2, ITI-18, ITI-43 and the VIHF's "
                "resource-id) by the INS INSi returned for the task's patient, not by a patient context left "
                "from an earlier one.")),
    Check("consult-professional",
          title="DMP consultation: the authenticated professional, in the normal access mode",
          test="test_the_consultation_is_made_by_the_authenticated_professional",
          doc="Every DMP call of a consultation is made under the professional who consults (VIHF Subject "
              "NameID = their IDNPS), in the normal access mode (PurposeOfUse 'normal'), and the DMP takes "
              "it.",
          rem={RIS: ["DMP/AIRS.06"], BIO: ["DMP/AIRS.06"], LGC: [], DPI: ["DMP/AIRS.06"]},
          reads=("consult.dmp",),
          judge=check_professional,
          defects=("consult-structure-user",),
          hint=("Issue each consultation call's VIHF under the professional who consults (Subject NameID "
                "their IDNPS, not a structure's default user) with PurposeOfUse normal (DMP/AIRS.06).")),
    Check("consult-search",
          title="DMP consultation: a multi-criteria search, reported as the DMP answered",
          test="test_the_search_carries_the_criteria_and_is_reported_as_answered",
          doc="The FindDocuments search carries the task's criteria (typeCode, status, creation dates) and "
              "the product reports exactly the documents the DMP returned, with their titles and dates.",
          rem={RIS: ["DMP/UX.27"], BIO: ["DMP/UX.27"], LGC: ["DMP/UX.27"], DPI: ["DMP/UX.27"]},
          reads=("consult.dmp", "task.claims"),
          judge=check_search,
          defects=("consult-search-no-dates",),
          hint=("Put every criterion the user chose in the FindDocuments query ($XDSDocumentEntryTypeCode, "
                "$XDSDocumentEntryStatus, $XDSDocumentEntryCreationTimeFrom/To) and report the documents "
                "exactly as the DMP returned them, with their titles and dates (DMP/UX.27).")),
    Check("consult-integrated-retrieved",
          title="DMP consultation: the documents found integrated, retrieved byte for byte",
          test="test_every_integrated_document_was_retrieved_byte_for_byte",
          doc="Every document the search found is integrated; every document the product says it "
              "integrated was retrieved by ITI-43 in the task, and its copy has the SHA-256 of the bytes the "
              "DMP served.",
          rem={RIS: ["DMP/UX.31"], BIO: ["DMP/UX.31"], LGC: ["DMP/UX.31"], DPI: ["DMP/UX.31"]},
          reads=("consult.dmp", "task.claims"),
          judge=check_integrated_retrieved,
          defects=("consult-reports-unretrieved",),
          hint=("Retrieve each document the search found with ITI-43 in the same task and integrate the "
                "bytes the DMP served, unchanged; never report a document integrated from the search's "
                "metadata alone (DMP/UX.31).")),
    Check("consult-medical-summary",
          title="DMP consultation: does the DMP hold a medical summary",
          test="test_the_product_says_whether_the_dmp_holds_a_medical_summary",
          doc="The product asks the DMP for a medical summary (ITI-18, typeCode SYNTH) and says whether it "
              "holds one, and the date of its last update, as the DMP answered.",
          rem={RIS: ["DMP/UX.43"], BIO: ["DMP/UX.43"], LGC: [], DPI: ["DMP/UX.43"]},
          reads=("consult.dmp", "task.claims"),
          judge=check_medical_summary,
          defects=("consult-no-summary-lookup",),
          hint=("Ask the DMP for a medical summary (ITI-18 FindDocuments, typeCode SYNTH) and report whether "
                "it holds one, and its last update date, from that answer, not from your own records "
                "(DMP/UX.43).")),
    Check("consult-newer-version",
          title="DMP consultation: the newer version of a stored document",
          test="test_showing_a_stored_document_finds_its_newer_version",
          doc="Showing a document it integrated, the product asks the DMP by its uniqueId and reports the "
              "newer version the DMP holds.",
          rem={RIS: ["CDA/DD.05"], BIO: ["CDA/DD.05", "SGL.CDA/DD.05"], LGC: ["CDA/DD.05"],
               DPI: ["CDA/DD.05"]},
          reads=("consult.dmp", "task.prepared", "task.claims"),
          judge=check_newer_version,
          defects=("consult-ignores-newer-version",),
          hint=("Before showing a document you integrated, ask the DMP by its uniqueId and follow its "
                "replacement (RPLC): report and show the newer version the DMP holds (CDA/DD.05).")),
)

CAPABILITY = Capability(NAME, __doc__.split("\n\n")[0], scenarios=(SCENARIO,), plan=_plan, prepare=_prepare,
                        observe=_observe, checks=CHECKS, couloirs=(RIS, BIO, LGC, DPI))
