"""The CI-SIS volet "Transmission de documents CDA-R2 en HL7v2" (ORU/MDM carrying a CDA, ZAM business returns)
on the PAM mock's MLLP listeners: what a hospital's producing system (DPI) hands its platform (PFI), and the
DMP/MSSanté outcomes a PFI returns to that producer.

Source (TRANS): ANS, IG "Transmission de documents CDA-R2 en HL7v2" v2.1, `ansforge/IG-hl7v2-volet-
transmission-document-cda-r2` @ b5f6ca13 (`input/pagecontent/profils-messages.md`, `evenements-
declenchants.md`, `meta-dmp-mss.md`, `ack-metier-zam.md`), and its example messages in `ansforge/
hl7V2-exemples` @ 60339877 (`Vague 2/Trans_Doc-CDA-HL7V2/TRANSMISSION_DOCS_CDA_EN_HL7V2_V2.1/`):
- ORU^R01^ORU_R01 in HL7 2.5, MDM^T02/T10/T04^MDM_T02 in HL7 2.6; MSH-17 FRA, MSH-18 UNICODE UTF-8 or
  8859/15, MSH-21 `2.1^CISIS_CDA_HL7_V2`; PID and PV1 as PAM FR 2.11 (the INS per the CI-SIS INS annex);
  ORC-1 NW/RO/CA consistent with OBX-11 F/C/D and the MDM event (T02/T10/T04);
- MDM: TXA-2 the type code, TXA-3 TEXT, TXA-12 the document id (`ext^^root^ISO` or the root), TXA-17 AU;
- the first OBX: OBX-2 ED, OBX-3 the type code, OBX-5 `^TEXT^XML^Base64^<CDA>` (MDM `^text^…`), OBX-11
  F/C/D; then PRT SB (sender, needed for a DMP feed), PRT RCT (one per MSSanté recipient, PRT-15.4);
- the metadata OBX (CE for ORU, CWE for MDM) MASQUE_PS … DESTMSSANTEPAT valued Y/N (table 0136);
- the business returns ZAM^Z01 (DMP reception), Z02 (MSSanté reception), Z03 (read) ^ZAM_Z01 in 2.6:
  OBX-1 CWE `ACK_RECEPTION_DMP`/`ACK_RECEPTION_MSS`/`ACK_LECTURE_MSS`^…^AckMetierZAM, OBX-4 the MSH-10 of
  the ORU/MDM, OBX-5 Y/N; Z02/Z03 a second OBX XTN with the address (PRT-like `^^X.400^<address>`).
The ACK is the PAM consumer's (`responses.render_ack`), with MSH-12 the version of the message answered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time

from lxml import etree

from segur.kernel.findings import Finding
from segur.kernel.ins import INS_OIDS
from segur.kernel.journal import body_for_journal
from segur.mocks.pam import checks, mllp, rules

TYPES = ("ORU", "MDM", "ZAM")
PROFILE = "CISIS_CDA_HL7_V2"
#: MSH-21.2 of the MDM a PFI hands its consumer (DPI, RIS) with a document received by MSSanté (`lps.py`)
LPS_PROFILE = "CISIS_CDA_HL7_LPS"
#: MSH-9 → HL7 version (TRANS: ORU in 2.5, MDM and ZAM in 2.6)
MESSAGES = {"ORU^R01^ORU_R01": "2.5", "MDM^T02^MDM_T02": "2.6", "MDM^T10^MDM_T02": "2.6",
            "MDM^T04^MDM_T02": "2.6", "ZAM^Z01^ZAM_Z01": "2.6", "ZAM^Z02^ZAM_Z01": "2.6",
            "ZAM^Z03^ZAM_Z01": "2.6"}
#: OBX-11 → the ORC-1 and MDM event consistent with it (TRANS, "Le segment ORC", evenements-declenchants)
STATUSES = {"F": ("NW", "T02"), "C": ("RO", "T10"), "D": ("CA", "T04")}
#: the required metadata OBX, in the order TRANS lists them (meta-dmp-mss.md; the last four are optional)
METADATA = ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX", "CONNEXION_SECRETE", "MODIF_CONF_CODE",
            "DESTDMP", "DESTMSSANTEPS", "DESTMSSANTEPAT")
#: ZAM event → the code of its first OBX (ack-metier-zam.md)
RETURNS = {"Z01": "ACK_RECEPTION_DMP", "Z02": "ACK_RECEPTION_MSS", "Z03": "ACK_LECTURE_MSS"}
HL7NS = "{urn:hl7-org:v3}"


def message_type(header: list[str]) -> str:
    return header[8] if len(header) > 8 else ""


def profile_of(header: list[str]) -> str:
    """MSH-21.2, the namespace of the message profile (the IG's example writes `1.1^ CISIS_CDA_HL7_LPS`)."""
    profile = header[20] if len(header) > 20 else ""
    return (profile.split("^") + ["", ""])[1].strip()


def is_transport(header: list[str] | None) -> bool:
    """A message of the volet (by MSH-9.1), which the consumer reads here rather than as an ADT."""
    return bool(header) and message_type(header).split("^")[0] in TYPES


# --- reading ------------------------------------------------------------------------------------------------
def _get(message, segment: str, *path: int) -> str:
    return checks.field_value(message, segment, *path)


def _segments(message, name: str) -> list:
    return [segment for segment in message if str(segment[0]) == name]


def _value(segment, number: int, component: int = 1) -> str:
    """Field `number`, component `component`, of one segment other than MSH (its first repetition), as
    written (the volet's values here hold no escape sequence: codes, ids, base64, addresses)."""
    if segment is None:
        return ""
    fields = str(segment).split("|")
    if len(fields) <= number:
        return ""
    parts = fields[number].split("~")[0].split("^")
    return parts[component - 1] if len(parts) >= component else ""


def cda_of(message) -> tuple[bytes | None, str]:
    """The CDA the first OBX carries (decoded) and what is wrong with how it is carried ('' when nothing)."""
    obx = (_segments(message, "OBX") or [None])[0]
    if obx is None:
        return None, "there is no OBX"
    if _value(obx, 2) != "ED":
        return None, f"OBX-2 is {_value(obx, 2)!r}, not ED"
    kind, subtype, encoding = _value(obx, 5, 2), _value(obx, 5, 3), _value(obx, 5, 4)
    if kind.upper() != "TEXT" or subtype != "XML" or encoding != "Base64":
        return None, f"OBX-5 declares {kind}^{subtype}^{encoding}, not TEXT^XML^Base64"
    data = "".join(_value(obx, 5, 5).split())
    try:
        return base64.b64decode(data, validate=True), ""
    except (binascii.Error, ValueError) as exc:
        return None, f"OBX-5.5 is not base64 ({exc})"


def cda_facts(document: bytes | None) -> dict:
    """The ClinicalDocument/id and recordTarget INS of a CDA (empty when it cannot be read)."""
    if not document:
        return {}
    try:
        root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return {"unreadable": True}
    doc_id = root.find(f"{HL7NS}id")
    role = root.find(f"{HL7NS}recordTarget/{HL7NS}patientRole")
    ins = next((i for i in (role.iter(f"{HL7NS}id") if role is not None else ())
                if i.get("root") in INS_OIDS), None)
    return {"id_root": doc_id.get("root") if doc_id is not None else None,
            "id_extension": doc_id.get("extension") if doc_id is not None else None,
            "ins": ins.get("extension") if ins is not None else None,
            "ins_oid": ins.get("root") if ins is not None else None}


def pid_ins(message) -> tuple[str | None, str | None]:
    """The INS PID-3 carries (CX-5 INS) and its OID (CX-4.2)."""
    for number in range(1, checks.repeats(message, "PID", 3) + 1):
        if _get(message, "PID", 3, number, 5) == "INS":
            return _get(message, "PID", 3, number, 1), _get(message, "PID", 3, number, 4, 2)
    return None, None


def statuses(message) -> list[str]:
    """PID-32, the identity reliability codes."""
    found = (_get(message, "PID", 32, r) for r in range(1, checks.repeats(message, "PID", 32) + 1))
    return [code for code in found if code]


def metadata(message) -> dict[str, str]:
    """The metadata OBX (OBX-3.1 → OBX-5.1) after the document."""
    return {_value(obx, 3): _value(obx, 5) for obx in _segments(message, "OBX")[1:]}


def participants(message) -> list[dict]:
    """The PRT segments: role (PRT-4.1), person id (PRT-5.1), address (PRT-15.4)."""
    found = []
    for prt in _segments(message, "PRT"):
        found.append({"role": _value(prt, 4), "person": _value(prt, 5), "address": _value(prt, 15, 4)})
    return found


def read_transport(message) -> dict:
    """What a journal keeps of an ORU/MDM: event, control id, the PID INS and PID-32, the document's facts,
    TXA-12, OBX-11, the metadata and the PRT participants."""
    document, problem = cda_of(message)
    ins, oid = pid_ins(message)
    txa = (_segments(message, "TXA") or [None])[0]
    first = (_segments(message, "OBX") or [None])[0]
    return {"event": _get(message, "MSH", 9, 1, 2), "control_id": _get(message, "MSH", 10),
            "pid_ins": ins, "pid_ins_oid": oid,
            "pid_status": statuses(message),
            "document": cda_facts(document), "document_problem": problem,
            "document_sha1": hashlib.sha1(document).hexdigest() if document else None,
            "txa12": "^".join(p for p in (_value(txa, 12, 1), _value(txa, 12, 3)) if p) if txa else None,
            "obx11": _value(first, 11) if first is not None else None,
            "metadata": metadata(message), "participants": participants(message)}


def read_return(message) -> dict:
    """What a ZAM says: the event, the code of its first OBX, OBX-4 (the MSH-10 it answers), OBX-5 (Y/N),
    the address of its second OBX, and its ERR-5."""
    obx = _segments(message, "OBX")
    err = (_segments(message, "ERR") or [None])[0]
    return {"event": _get(message, "MSH", 9, 1, 2), "control_id": _get(message, "MSH", 10),
            "code": _value(obx[0], 3) if obx else None, "answers": _value(obx[0], 4) if obx else None,
            "status": _value(obx[0], 5) if obx else None,
            "address": _value(obx[1], 5, 4) if len(obx) > 1 else None,
            "error": _value(err, 5) if err is not None else None}


# --- checking -----------------------------------------------------------------------------------------------
def check_header(header: list[str]) -> list[Finding]:
    """The MSH of a message of the volet: its type and version (AR), MSH-17/18/21 (AE)."""
    kind = message_type(header)
    if kind not in MESSAGES:
        return [rules.CDA_EVENT.finding(found=kind)]
    version = (header[11] if len(header) > 11 else "").split("^")[0]
    if version != MESSAGES[kind]:
        return [rules.CDA_VERSION.finding(message_type=kind, found=version)]
    found = []
    if (header[16] if len(header) > 16 else "") != "FRA":
        found.append(rules.COUNTRY.finding(found=header[16] if len(header) > 16 else "", location="MSH-17"))
    charset = header[17] if len(header) > 17 else ""
    if charset not in ("UNICODE UTF-8", "8859/15"):
        found.append(rules.CHARSET.finding(found=charset, location="MSH-18"))
    profile = header[20] if len(header) > 20 else ""
    allowed = (PROFILE, LPS_PROFILE) if kind.startswith("MDM") else (PROFILE,)
    if profile_of(header) not in allowed:
        found.append(rules.CDA_PROFILE.finding(found=profile))
    if not (header[9] if len(header) > 9 else ""):
        found.append(rules.CONTROL_ID.finding(location="MSH-10"))
    return found


#: the segments each message needs (TRANS: the ORU_R01 and MDM profiles, the ZAM_Z01 examples)
REQUIRED = {"ORU": ("PID", "PV1", "ORC", "OBR", "OBX"), "ZAM": ("OBX",),
            "MDM": ("EVN", "PID", "PV1", "ORC", "OBR", "TXA", "OBX")}


def check_message(message, kind: str) -> list[Finding]:
    """The content of an ORU/MDM (segments, the CDA in the first OBX, ORC/OBX-11/event, TXA, the metadata, the
    PRT participants, PID-3 against the CDA, the INS only with VALI) or of a ZAM."""
    family, event = kind.split("^")[0], kind.split("^")[1]
    missing = missing_segments(message, kind)
    if missing:
        return missing
    if family == "ZAM":
        return _check_return(message, event)
    found, facts = check_document(message, family, event)
    meta = metadata(message)
    for code in METADATA:
        if meta.get(code) not in ("Y", "N"):
            found.append(rules.CDA_METADATA.finding(code=code, found=meta.get(code)))
    roles = participants(message)
    if meta.get("DESTDMP") == "Y" and not any(p["role"] == "SB" and p["person"] for p in roles):
        found.append(rules.CDA_PARTICIPANTS.finding(
            problem="DESTDMP is Y but no PRT SB (Send by) names the sending professional (PRT-5)"))
    if "Y" in (meta.get("DESTMSSANTEPS"), meta.get("DESTMSSANTEPAT")) \
            and not any(p["role"] == "RCT" and p["address"] for p in roles):
        found.append(rules.CDA_PARTICIPANTS.finding(
            problem="an MSSanté exchange is asked but no PRT RCT (Result Copies To) gives its address "
                    "(PRT-15.4)"))
    return found + check_pid(message, facts)


def missing_segments(message, kind: str) -> list[Finding]:
    """A finding per segment the message needs (REQUIRED) and lacks."""
    present = {str(segment[0]) for segment in message}
    return [rules.CDA_SEGMENTS.finding(message_type=kind, segment=name, location=name)
            for name in REQUIRED[kind.split("^")[0]] if name not in present]


def check_document(message, family: str, event: str) -> tuple[list[Finding], dict]:
    """The CDA of the first OBX, ORC-1/OBX-11/event, and (MDM) TXA; the findings and the CDA's facts."""
    found = []
    document, problem = cda_of(message)
    facts = cda_facts(document)
    if problem or facts.get("unreadable"):
        found.append(rules.CDA_DOCUMENT.finding(problem=problem or "the base64 does not decode to XML"))
    first = _segments(message, "OBX")[0]
    status, order = _value(first, 11), _get(message, "ORC", 1)
    expected = STATUSES.get(status)
    if expected is None or order != expected[0] or (family == "MDM" and event != expected[1]):
        found.append(rules.CDA_STATUS.finding(order=order, event=event, status=status))
    if family == "MDM":
        found += _check_txa(message, facts)
    return found, facts


def check_pid(message, facts: dict) -> list[Finding]:
    """PID-3's INS only with PID-32 VALI, and the INS the CDA carries."""
    found = []
    ins, _oid = pid_ins(message)
    status_codes = statuses(message)
    if ins and "VALI" not in status_codes:
        found.append(rules.INS_NOT_QUALIFIED.finding(status="~".join(s for s in status_codes if s)))
    if facts.get("ins") and ins != facts["ins"]:
        found.append(rules.CDA_PID_MATCH.finding(pid=ins, cda=facts["ins"]))
    return found


def document_id_forms(facts: dict) -> set[str]:
    """TXA-12 as the volet writes the document id: `ext^^root^ISO` (read: ext^root) or the root alone."""
    root, extension = facts.get("id_root"), facts.get("id_extension")
    if not root:
        return set()
    return {f"{extension}^{root}"} if extension else {root}


def _check_txa(message, facts: dict) -> list[Finding]:
    txa = _segments(message, "TXA")[0]
    problems = []
    if not _value(txa, 2):
        problems.append("TXA-2 (document type) is empty")
    if _value(txa, 3) != "TEXT":
        problems.append(f"TXA-3 is {_value(txa, 3)!r}, not TEXT")
    given = "^".join(p for p in (_value(txa, 12, 1), _value(txa, 12, 3)) if p)
    forms = document_id_forms(facts)
    if not given:
        problems.append("TXA-12 (unique document number) is empty")
    elif forms and given not in forms:
        wanted = " or ".join(sorted(forms))
        problems.append(f"TXA-12 {given!r} is not the CDA's ClinicalDocument/id ({wanted})")
    if not _value(txa, 17):
        problems.append("TXA-17 (completion status) is empty")
    return [rules.CDA_TXA.finding(problem=problem) for problem in problems]


def _check_return(message, event: str) -> list[Finding]:
    said = read_return(message)
    problems = []
    if said["code"] != RETURNS[event]:
        problems.append(f"the first OBX is {said['code']!r}, not {RETURNS[event]}")
    if not said["answers"]:
        problems.append("OBX-4 does not name the ORU/MDM (its MSH-10) the return is about")
    if said["status"] not in ("Y", "N"):
        problems.append(f"OBX-5 is {said['status']!r}, not Y or N")
    if said["status"] == "N" and not _segments(message, "ERR"):
        problems.append("a failure (N) without the ERR that describes it")
    if event in ("Z02", "Z03") and not said["address"]:
        problems.append("no second OBX (XTN) with the MSSanté address")
    return [rules.ZAM_CONTENT.finding(event=f"ZAM^{event}", problem=p) for p in problems]


# --- the harness as a producing system: sending an ORU/MDM or a ZAM -----------------------------------------
def send_message(journal, to: str, text: str, timeout: float) -> dict:
    """Send one message of the volet (built by the caller) to a product's MLLP endpoint, journal it with the
    product's ACK (operation `send <MSH-9.1^9.2>`), and return what came back."""
    header = checks.header_fields(text)
    if not is_transport(header):
        raise ValueError("the message must start with an MSH whose MSH-9 is ORU, MDM or ZAM")
    host, port = mllp.parse_url(to)
    kind = "^".join(message_type(header).split("^")[:2])
    data = text.encode("utf-8")
    started = time.perf_counter()
    answer, error, verdict = None, "", ""
    try:
        answer = mllp.exchange(host, port, data, timeout=timeout)
    except mllp.MllpTimeout as exc:
        error, verdict = str(exc), "timeout"
    except OSError as exc:
        error, verdict = f"{type(exc).__name__}: {exc}", "unreachable"
    ack = answer.decode("utf-8", errors="replace") if answer is not None else ""
    code = None
    if answer is not None:
        code = next((s.split("|")[1] for s in ack.replace("\n", "\r").split("\r")
                     if s.startswith("MSA|") and len(s.split("|")) > 1), None)
        verdict = {"AA": "accepted", "AE": "error", "AR": "rejected"}.get(code or "", "unreadable-ack")
    control = header[9] if len(header) > 9 else ""
    response = {"body": body_for_journal(answer)} if answer is not None else {"error": error}
    entry = journal.record(f"send {kind}", verdict, duration_ms=(time.perf_counter() - started) * 1000,
                           request={"to": to, "body": body_for_journal(data)}, response=response,
                           meta={"to": to, "event": kind, "control_id": control, "ack": code})
    return {"seq": entry.seq, "to": to, "event": kind, "control_id": control, "ack_code": code, "ack": ack,
            "error": error}


def _now() -> str:
    return time.strftime("%Y%m%d%H%M%S")


def render_transport(document: bytes, *, control_id: str, ins: str, ins_oid: str, traits: dict,
                     type_code: str, type_label: str, sender: dict, recipients: tuple[str, ...] = (),
                     to_dmp: bool = True, receiver: tuple[str, str] = ("PFI", "")) -> str:
    """An MDM^T02^MDM_T02 (HL7 2.6) handing a validated CDA to a PFI, as TRANS lays it out (the example
    `message_MDM_CR_Radio_INIT_N1_Base64.er7` of ansforge/hl7V2-exemples has the same segments): PID-3 the INS
    (qualified: PID-32 VALI), TXA-12 the document id, the CDA in base64 in the first OBX, PRT SB the sender
    (`sender`: idnps, family, given, organisation, finess), one PRT RCT per MSSanté recipient, the metadata
    OBX (DESTDMP, DESTMSSANTEPS as asked; ACK_RECEPTION Y: the producer wants the DMP/MSSanté returns)."""
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    doc_id = root.find(f"{HL7NS}id")
    txa12 = f"{doc_id.get('extension')}^^{doc_id.get('root')}^ISO" if doc_id.get("extension") \
        else doc_id.get("root")
    namespace = "ASIP-SANTE-INS-NIA" if INS_OIDS.get(ins_oid, "").startswith("NIA") else "ASIP-SANTE-INS-NIR"
    place = f"~^^^^^^BDL^^{traits['birth_place']}" if traits.get("birth_place") else ""
    first_names = traits.get("first_names", "")
    born = traits.get("birth_date", "").replace("-", "")
    now = _now()
    segments = [
        f"MSH|^~\\&|SEGUR-HARNESS|SEGUR|{receiver[0]}|{receiver[1]}|{now}||MDM^T02^MDM_T02|{control_id}|P|2.6"
        f"|||||FRA|UNICODE UTF-8|||2.1^{PROFILE}",
        f"EVN||{now}",
        f"PID|||{ins}^^^{namespace}&{ins_oid}&ISO^INS||{traits.get('birth_name', '')}^"
        f"{(first_names.split() or [''])[0]}^{first_names}^^^^L||{born}|{traits.get('sex', '')}|||{place}"
        + "|" * 21 + "VALI",
        "PV1|1|N", "ORC|NW", f"OBR|1|||{type_code}^{type_label}^LN",
        f"TXA|1|{type_code}|TEXT|{now}||||||||{txa12}|||||AU",
        f"OBX|1|ED|{type_code}^{type_label}^LN||^text^XML^Base64^{base64.b64encode(document).decode()}||||||F",
        f"PRT||UC||SB^Send by^participation|{sender['idnps']}^{sender['family']}^{sender['given']}^^^^^^"
        f"ASIP-SANTE-PS&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS|||{sender['organisation']}^^^^^"
        f"ASIP-SANTE-ST&1.2.250.1.71.4.2.2&ISO^FINEG^^^{sender['finess']}",
    ]
    segments += [f"PRT||UC||RCT^Result Copies To^participation|||||||||||^^X.400^{r}" for r in recipients]
    values = {code: "N" for code in METADATA}
    values.update(DESTDMP="Y" if to_dmp else "N", DESTMSSANTEPS="Y" if recipients else "N")
    values.update(ACK_RECEPTION="Y", ACK_LECTURE_MSS="N")
    for number, (code, value) in enumerate(values.items(), start=2):
        segments.append(f"OBX|{number}|CWE|{code}^{code}^MetaDMPMSS||{value}^^expandedYes-NoIndicator||||||F")
    return "\r".join(segments) + "\r"


def render_return(event: str, *, control_id: str, answers: str, ok: bool, address: str = "",
                  receiver: tuple[str, str] = ("", ""), error: str = "") -> str:
    """A ZAM^<event>^ZAM_Z01 business return (HL7 2.6) about the ORU/MDM whose MSH-10 is `answers`, as TRANS
    and the example `Message metier reception DMP` of ansforge/hl7V2-exemples write it."""
    now = _now()
    segments = [f"MSH|^~\\&|SEGUR-HARNESS|SEGUR|{receiver[0]}|{receiver[1]}|{now}||ZAM^{event}^ZAM_Z01"
                f"|{control_id}|P|2.6|||||FRA|UNICODE UTF-8|||2.1^{PROFILE}", f"EVN||{now}",
                f"OBX|1|CWE|{RETURNS[event]}^{RETURNS[event]}^AckMetierZAM|{answers}|"
                f"{'Y' if ok else 'N'}^^expandedYes-NoIndicator||||||F"]
    if address:
        role = "LECTEUR_MSS" if event == "Z03" else "DESTINATAIRE_MSS"
        segments.append(f"OBX|2|XTN|{role}^{role}^AckMetierZAM||^^X.400^{address}||||||F")
    if not ok:
        segments.append(f"ERR|||207^Application internal error^messageErrorCondition|E|{error or 'ERROR'}")
    return "\r".join(segments) + "\r"
