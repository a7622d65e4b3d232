"""The CI-SIS volet "Transmission au LPS de documents CDA provenant d'un courriel MSSanté" (issue 16): the
MDM a hospital's platform (PFI, the GESTIONNAIRE) hands its consumer (DPI or RIS, the CONSOMMATEUR) with each
document of an IHE_XDM.ZIP received by MSSanté, and the consumer's ACK.

Source (LPS): ANS, IG "Volet de transmission au LPS de documents CDA provenant d'un courriel MSSanté" (Trial
Implementation), `ansforge/IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss` @ bb83dc2: `evenements-
declenchants.md` (MDM^T02 initial with OBX-11 F, MDM^T10 replacement with C, MDM^T04 deletion with D, HL7 2.6;
the consumer answers an ACK), `profils-messages.md` (segments and fields), `error-codes.md` (ERR-3 of table
0357, ERR-5 of the volet's applicationErrorCode table), and its examples in `ansforge/hl7V2-exemples` @
6033987 (`Vague 2/Trans_LPS_CDA_MSSanté/TRANSMISSION_LPS_DOC_CDA_COURRIEL_FROM_MSSANTE_V1.1/`):
- MSH-21 `1.1^CISIS_CDA_HL7_LPS`; EVN, PID (INS per the CI-SIS INS annex; PID-3 the CDA's recordTarget ids),
  PV1-2 N, ORC-1 NW/RO/CA, OBR-4 the type code, TXA-2/3/12/17 (TXA-13 the replaced document, required for a
  T10; the T04 example names it too);
- OBX 1: ED, the CDA `^text^XML^Base64^…`, OBX-11 F/C/D; then PRT SB (the e-mail's sender, PRT-15.4 its
  address), PRT RCT (each recipient of the e-mail, required if known), PRT REPLY (optional);
- OBX 2: ED, OBX-3.1 the e-mail's Message-ID, OBX-3.2 its subject, OBX-5 its body in base64, OBX-11 F;
- OBX 3–6: CWE MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REP_LEGAUX, MODIF_CONF_CODE ^…^MetaDMPMSS, Y/N.
Where the IG is silent the mock chooses: OBX-5 of the e-mail OBX is not decoded (the examples' is a short
placeholder text), the PRT SB person (PRT-5) is not required (required "if known").
"""

from __future__ import annotations

import base64

from segur.kernel.findings import Finding
from segur.mocks.pam import cda, rules

PROFILE = f"1.1^{cda.LPS_PROFILE}"
#: the MSSanté restriction metadata, in the order the volet requires them (profils-messages.md)
METADATA = ("MASQUE_PS", "INVISIBLE_PATIENT", "INVISIBLE_REP_LEGAUX", "MODIF_CONF_CODE")
#: the volet's applicationErrorCode table (error-codes.md, "à titre indicatif"), sent in ERR-5 with ERR-3 207
APPLICATION_ERRORS = {
    "900": "Version du document incorrecte lors d'une demande de remplacement/suppression",
    "901": "Auteur non autorisé à remplacer ou supprimer un document",
    "902": "Identifiant patient inconnu",
    "903": "INS non présent dans le document",
    "904": "L'INS transmis ne correspond pas exactement à celui stocké dans la base du consommateur",
    "905": "L'INS transmis n'est pas complet",
    "906": "Erreur 'Autre'",
}
#: MDM event → ORC-1, OBX-11 (evenements-declenchants.md)
EVENTS = {"T02": ("NW", "F"), "T10": ("RO", "C"), "T04": ("CA", "D")}


def is_lps(header: list[str] | None) -> bool:
    """An MDM of this volet (MSH-21.2 CISIS_CDA_HL7_LPS), which the listener checks as this volet lays it."""
    return bool(header) and cda.message_type(header).startswith("MDM^") and \
        cda.profile_of(header) == cda.LPS_PROFILE


def _obx(message) -> list:
    return [segment for segment in message if str(segment[0]) == "OBX"]


def _prt(message, role: str) -> list:
    return [s for s in message if str(s[0]) == "PRT" and cda._value(s, 4) == role]


def read_lps(message) -> dict:
    """What the journal keeps of the volet's own fields: the e-mail OBX (Message-ID, subject), the PRT
    addresses (SB sender, RCT recipients, REPLY) and TXA-13."""
    obx = _obx(message)
    mail = obx[1] if len(obx) > 1 else None
    txa = next((s for s in message if str(s[0]) == "TXA"), None)
    parent = "^".join(p for p in (cda._value(txa, 13, 1), cda._value(txa, 13, 3)) if p) if txa else ""
    return {"profile": cda.LPS_PROFILE,
            "mail_id": cda._value(mail, 3, 1) if mail is not None else None,
            "mail_subject": cda._value(mail, 3, 2) if mail is not None else None,
            "sender": next((cda._value(p, 15, 4) for p in _prt(message, "SB")), None),
            "recipients": [cda._value(p, 15, 4) for p in _prt(message, "RCT")],
            "reply_to": [cda._value(p, 15, 4) for p in _prt(message, "REPLY")],
            "txa13": parent or None}


def check_message(message, kind: str) -> list[Finding]:
    """An MDM of the volet: the segments, the document (as the CDA transport volet checks it: cda.py), the PRT
    SB with the sender's address, the e-mail OBX, the four metadata OBX in order, TXA-13 for a T10, and PID-3
    against the CDA (the INS only with PID-32 VALI)."""
    missing = cda.missing_segments(message, kind)
    if missing:
        return missing
    event = kind.split("^")[1]
    found, facts = cda.check_document(message, "MDM", event)
    facts_lps = read_lps(message)
    if not _prt(message, "SB"):
        found.append(rules.LPS_SENDER.finding(problem="no PRT SB (Send by) names the e-mail's sender"))
    elif not facts_lps["sender"]:
        found.append(rules.LPS_SENDER.finding(problem="the PRT SB gives no e-mail address (PRT-15.4, "
                                                      "^^X.400^<address>)"))
    obx = _obx(message)
    mail = obx[1] if len(obx) > 1 else None
    if mail is None or cda._value(mail, 2) != "ED":
        found.append(rules.LPS_MAIL.finding(problem="OBX 2 is missing or not ED"))
    elif not facts_lps["mail_id"]:
        found.append(rules.LPS_MAIL.finding(problem="OBX-3.1 does not give the e-mail's Message-ID"))
    given = [(cda._value(s, 3), cda._value(s, 5)) for s in obx[2:]]
    for number, code in enumerate(METADATA):
        value = next((v for c, v in given if c == code), None)
        if value not in ("Y", "N") or number >= len(given) or given[number][0] != code:
            found.append(rules.LPS_METADATA.finding(code=code, found=value))
    if event == "T10" and not facts_lps["txa13"]:
        found.append(rules.LPS_PARENT.finding(event=kind))
    return found + cda.check_pid(message, facts)


def application_error(code: str) -> str:
    """The ERR of an ACK refusing the document for an application reason (profils-messages.md, Note 2: ERR-3
    207, ERR-5 a code of the applicationErrorCode table), as the IG's example writes it."""
    label = APPLICATION_ERRORS.get(code, APPLICATION_ERRORS["906"])
    return f"ERR||PID^1^3|207^Application error^HL70357|E|{code}^{_escape(label)}^applicationErrorCode"


def _escape(text: str) -> str:
    escapes = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}
    return "".join(escapes.get(c, c) for c in text)


def render_mdm(document: bytes, *, event: str, control_id: str, pid3: str, pid_status: str, traits: dict,
               type_code: str, type_label: str, mail: dict, parent: str = "",
               receiver: tuple[str, str] = ("DPI", ""), now: str = "") -> str:
    """An MDM^<event>^MDM_T02 (HL7 2.6) of the volet handing `document` to a consumer, laid out as the ANS
    examples (`message_MDM__LPS_MSS_CR_Radio_INIT_N1_Base64.er7` and its RPLC/DEL siblings): `pid3` the
    patient's identifiers as written (CX, `~` between them), `pid_status` PID-32, `mail` the e-mail the
    document came in (`message_id`, `subject`, `body`, `sender`, `recipient`), `parent` TXA-13 (the document
    replaced: `ext^^root^ISO` or the root)."""
    order, status = EVENTS[event]
    doc_id = cda.cda_facts(document)
    root, extension = doc_id.get("id_root") or "", doc_id.get("id_extension")
    txa12 = f"{extension}^^{root}^ISO" if extension else root
    first_names = traits.get("first_names", "")
    place = f"^^^^^^BDL^^{traits['birth_place']}" if traits.get("birth_place") else ""
    born = traits.get("birth_date", "").replace("-", "")
    name = f"{_escape(traits.get('birth_name', ''))}^{_escape((first_names.split() or [''])[0])}^" \
           f"{_escape(first_names)}^^^^L"
    label = _escape(type_label)
    body = base64.b64encode(mail.get("body", "").encode("utf-8")).decode()
    segments = [
        f"MSH|^~\\&|SEGUR-HARNESS|SEGUR|{receiver[0]}|{receiver[1]}|{now}||MDM^{event}^MDM_T02|{control_id}|P|"
        f"2.6|||||FRA|UNICODE UTF-8|||{PROFILE}",
        f"EVN||{now}",
        f"PID|||{pid3}||{name}||{born}|{traits.get('sex', '')}|||{place}" + "|" * 21 + pid_status,
        "PV1|1|N", f"ORC|{order}", f"OBR|1|||{type_code}^{label}^LN",
        f"TXA|1|{type_code}|TEXT|{now}||||||||{txa12}|{parent}||||AU",
        f"OBX|1|ED|{type_code}^{label}^LN||^text^XML^Base64^{base64.b64encode(document).decode()}||||||{status}",
        f"PRT||UC||SB^Send by^participation|||||||||||^^X.400^{mail['sender']}",
        f"PRT||UC||RCT^Result Copies To^participation|||||||||||^^X.400^{mail['recipient']}",
        f"OBX|2|ED|{_escape(mail['message_id'])}^{_escape(mail['subject'])}||^text^^Base64^{body}||||||F",
    ]
    labels = {"MASQUE_PS": "Masqué aux professionnels de Santé",
              "INVISIBLE_PATIENT": "Document Non Visible par le patient",
              "INVISIBLE_REP_LEGAUX": "Non visible par les représentants Légaux du patient",
              "MODIF_CONF_CODE": "Modification Confidentiality Code"}
    segments += [f"OBX|{n}|CWE|{code}^{_escape(labels[code])}^MetaDMPMSS||N^^expandedYes-NoIndicator||||||F"
                 for n, code in enumerate(METADATA, start=3)]
    return "\r".join(segments) + "\r"
