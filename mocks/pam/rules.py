"""The PAM mock's rules: every check it applies to an ADT feed, declared once (ids ``PAM-…``).

Each rule carries, beside its message and hint, the acknowledgement it leads to (``ack``): ``AR`` when
the message cannot be processed at all (framing, MSH, an unsupported type, event or version), ``AE`` when
it was read but its content is wrong. The HL7 error code (``hl7_code``, HL7 v2.5 table 0357, sent in
ERR-3) follows the same split: the 1xx codes are errors, the 2xx codes rejections (HL7 terminology
``v2-0357``, hl7.org/fhir/2018Sep/v2/0357). A warning never changes an AA.

Sources (see docs/pam.md): IHE PAM National Extension FR v2.11.2 (``PAMFR``, Interop'Santé), IHE France
constraints on HL7 data types for ITI v1.8.2 (``DTFR``), HL7 v2.5 chapter 2 (MSH, MSA, ERR).
"""

from __future__ import annotations

from segur.kernel.findings import Severity
from segur.kernel.rules import RuleBook

LAYER = "pam"
PAMFR = "IHE PAM National Extension FR v2.11.2"
DTFR = "IHE France constraints on HL7 data types for ITI v1.8.2"
HL7 = "HL7 v2.5 chapter 2"
MLLP = "HL7 MLLP (v2.5 appendix C)"

#: what the consumer's checks judge: the product's outgoing HL7v2 feed carrying the INS in PID and diffusing
#: it per PAM FR (`shared/rem/requirements.csv`). The integration side (RIS.INS/va1.67–69, DPI.INS/va1.62,
#: SC.INS/va1.16) is proven by the identity source's journal, not by these rules.
INS_OUT_REM = ("DPI.INS/va1.61", "RI.INS/va1.64", "RI.INS/va1.66", "SC.INS/va1.64", "SC.INS/va1.66")

book = RuleBook(LAYER, source=PAMFR, rem=INS_OUT_REM)

# --- MLLP framing: nothing of the message can be read --------------------------------------------
NO_START_BLOCK = book.rule(
    "PAM-MLLP-01", "Bytes were received outside an MLLP block (no <VT> 0x0B before them).",
    hint="Frame each message as <VT> message <FS><CR> (0x0B … 0x1C 0x0D).", source=MLLP, rem=(),
    ack="AR", hl7_code="207")
UNTERMINATED_BLOCK = book.rule(
    "PAM-MLLP-02", "An MLLP block was not ended by <FS><CR> before the next <VT>.",
    hint="End each message with <FS><CR> (0x1C 0x0D) before starting the next one.", source=MLLP, rem=(),
    ack="AR", hl7_code="207")
CLOSED_MID_BLOCK = book.rule(
    "PAM-MLLP-03", "The connection was closed in the middle of an MLLP block ({size} bytes received).",
    hint="Send the whole block, then wait for the ACK before closing.", source=MLLP, rem=(),
    ack="AR", hl7_code="207")
OVERSIZE = book.rule(
    "PAM-MLLP-04", "The MLLP block is larger than {limit} bytes: it was not read.",
    hint="Send one message per block; the limit is the mock's max_message_size setting.", source=MLLP,
    rem=(), ack="AR", hl7_code="207")
NO_CR_AFTER_FS = book.rule(
    "PAM-MLLP-05", "The <FS> ending an MLLP block is not followed by <CR>.",
    hint="End each block with 0x1C 0x0D.", severity=Severity.WARNING, source=MLLP, rem=(),
    ack="AA", hl7_code="0")

# --- MSH: the message cannot be processed --------------------------------------------------------
NO_MSH = book.rule(
    "PAM-MSH-01", "The block does not hold an HL7 v2 message: it does not start with an MSH segment.",
    hint="Start the message with MSH|^~\\&|… and separate segments with <CR> (0x0D).", source=HL7,
    ack="AR", hl7_code="100")
BAD_ENCODING_CHARACTERS = book.rule(
    "PAM-MSH-02", "MSH-1/MSH-2 encoding characters are {found!r}; PAM FR messages use '|' and '^~\\&'.",
    hint="Send MSH|^~\\&| (field, component, repetition, escape, subcomponent separators).",
    source=f"{HL7} §2.5.4; {PAMFR} §6.5 (MSH)", ack="AR", hl7_code="102")
MESSAGE_TYPE = book.rule(
    "PAM-MSH-03", "MSH-9 is {found!r}: this identity consumer takes ADT messages only.",
    hint="Send ADT^<event>^<structure>, e.g. ADT^A28^ADT_A05.", source=f"{PAMFR} §3, §6.5",
    ack="AR", hl7_code="200")
EVENT_UNSUPPORTED = book.rule(
    "PAM-MSH-04", "Event {event} is not an ITI-30/ITI-31 event of PAM FR.",
    hint="ITI-30 uses A28, A31, A40, A47; ITI-31 the movements (A01…A07, A11…, Z99).", source=f"{PAMFR} §3",
    ack="AR", hl7_code="201")
A08_EXCLUDED = book.rule(
    "PAM-MSH-05", "ADT^A08 is excluded in France: demographic updates go through A31 (ITI-30).",
    hint="Send ADT^A31^ADT_A05 to update a patient's traits (Z99 for an encounter update).",
    source=f"{PAMFR} §3 (p.14)", ack="AR", hl7_code="201")
STRUCTURE = book.rule(
    "PAM-MSH-06", "MSH-9.3 message structure is {found!r}; event {event} uses {expected}.",
    hint="Set MSH-9 to ADT^{event}^{expected}.", source=f"{PAMFR} §3, §4.1", ack="AE", hl7_code="102")
VERSION = book.rule(
    "PAM-MSH-07", "MSH-12.1 version is {found!r}; PAM FR uses HL7 v2.5.",
    hint="Set MSH-12 to 2.5^FRA^2.11.", source=f"{PAMFR} §6.5 (MSH-12)", ack="AR", hl7_code="203")
VERSION_FR = book.rule(
    "PAM-MSH-08", "MSH-12 is {found!r}; PAM FR asks 2.5^FRA^<profile version> (e.g. 2.5^FRA^2.11).",
    hint="Set MSH-12.2 to FRA (table 0399) and MSH-12.3 to the PAM FR version (2.11).",
    severity=Severity.WARNING, source=f"{PAMFR} §6.5 (MSH-12)", ack="AA", hl7_code="0")
COUNTRY = book.rule(
    "PAM-MSH-09", "MSH-17 country code is {found!r}; PAM FR asks FRA.", hint="Set MSH-17 to FRA.",
    source=f"{PAMFR} §6.5 (MSH-17)", ack="AE", hl7_code="103")
CHARSET = book.rule(
    "PAM-MSH-10", "MSH-18 character set is {found!r}; PAM FR uses 8859/15 or UNICODE UTF-8 (8859/1 "
    "tolerated).",
    hint="Set MSH-18 to UNICODE UTF-8 or 8859/15 and encode the message with it.",
    source=f"{PAMFR} §6.5 (MSH-18)", ack="AE", hl7_code="103")
CHARSET_MISMATCH = book.rule(
    "PAM-MSH-11", "The message bytes are not valid {charset} as MSH-18 declares ({detail}).",
    hint="Encode the message in the character set MSH-18 names.", source=f"{PAMFR} §6.5 (MSH-18)",
    ack="AE", hl7_code="102")
CONTROL_ID = book.rule(
    "PAM-MSH-12", "MSH-10 message control id is empty: the ACK cannot name the message it answers.",
    hint="Give each message a unique MSH-10.", source=f"{HL7} §2.14.9 (MSH-10)", ack="AE", hl7_code="101")

# --- PID and the INS -----------------------------------------------------------------------------
NO_PID = book.rule(
    "PAM-PID-01", "The {event} message has no PID segment.", hint="Send the patient in a PID segment.",
    ack="AE", hl7_code="100")
NO_STATUS = book.rule(
    "PAM-PID-02", "PID-32 identity reliability code is empty; it is mandatory in France since the INS.",
    hint="Send the identity status (VIDE, PROV, VALI…) in PID-32.", source=f"{PAMFR} §6.6.15",
    ack="AE", hl7_code="101")
UNKNOWN_STATUS = book.rule(
    "PAM-PID-03", "PID-32 holds {found!r}, not a code of PAM FR (table 0445 French values).",
    hint="Use VIDE, PROV, VALI, DOUB, DESA… and the attributes HOMD, HOMA, FICT, DOUT.",
    source=f"{PAMFR} §6.6.15", ack="AE", hl7_code="103")
INS_NOT_QUALIFIED = book.rule(
    "PAM-INS-01", "PID-3 carries an INS but PID-32 is {status!r}: an INS is sent only for a qualified "
    "identity (VALI). The identity was kept without the INS.",
    hint="Send the INS only when the identity is qualified (PID-32 = VALI), else leave it out of PID-3.",
    source=f"{PAMFR} §6.6.1, §6.6.15", ack="AE", hl7_code="103",
    location="PID-3")
INS_AUTHORITY = book.rule(
    "PAM-INS-02", "PID-3 identifier of type INS has assigning authority {found!r}, not an INS OID "
    "(1.2.250.1.213.1.4.8 NIR, .9 NIA, .10 test NIR, .11 demonstration NIR).",
    hint="Write CX-4 as ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO (test: …4.10).",
    source=f"{DTFR} §N.1 (CX); {PAMFR} §6.6.1", ack="AE", hl7_code="103")
INS_VALUE = book.rule(
    "PAM-INS-03", "PID-3 INS {value!r} is not a valid INS: {problem}.",
    hint="Send the 15-character matricule with its key, as INSi returned it.", source=f"{PAMFR} §6.6.1",
    ack="AE", hl7_code="102")
INS_TYPE = book.rule(
    "PAM-INS-04", "PID-3 identifier under the INS authority {authority!r} has type {found!r}; the INS has "
    "identifier type INS (CX-5).",
    hint="Set CX-5 to INS for the INS-NIR/NIA (NH is the billing NIR, under ASIP-SANTE-NIR).",
    source=f"{DTFR} §N.1 (CX); {PAMFR} §6.6.1", ack="AE", hl7_code="103")

# --- the traits of a qualified identity ----------------------------------------------------------
NO_BIRTH_NAME = book.rule(
    "PAM-TRAIT-01", "PID-5 has no name of type L (nom de naissance).",
    hint="Send the birth name in a PID-5 repetition with XPN-7 = L (as INSi returned it).",
    source=f"{PAMFR} §6.6.2; {DTFR} (XPN)", ack="AE", hl7_code="101", location="PID-5")
NO_FIRST_NAME = book.rule(
    "PAM-TRAIT-02", "PID-5 (type L) has no first given name (XPN-2) for a qualified identity.",
    hint="Put the first birth given name in XPN-2 and the whole INSi list in XPN-3.",
    source=f"{PAMFR} §6.6.2", ack="AE", hl7_code="101", location="PID-5")
BIRTH_DATE = book.rule(
    "PAM-TRAIT-03", "PID-7 birth date is {found!r}: a qualified identity carries a date YYYYMMDD.",
    hint="Send the birth date as INSi returned it (YYYYMMDD).", source=f"{PAMFR} §6.6.4", ack="AE",
    hl7_code="102", location="PID-7")
SEX = book.rule(
    "PAM-TRAIT-04", "PID-8 sex is {found!r}; PAM FR allows F, M, U (M or F with a qualified INS).",
    hint="Send the sex INSi returned (M or F).", source=f"{PAMFR} §6.6.5", ack="AE", hl7_code="103",
    location="PID-8")
BIRTH_PLACE = book.rule(
    "PAM-TRAIT-05", "No birthplace: a qualified identity carries a PID-11 repetition with XAD-7 = BDL and "
    "the INSEE code of the birth commune (or country) in XAD-9.",
    hint="Add ~^^^^^^BDL^^<code INSEE> to PID-11.", source=f"{DTFR} (XAD-9); {PAMFR} §4.4",
    ack="AE", hl7_code="101", location="PID-11")
FORBIDDEN_FIELD = book.rule(
    "PAM-PID-04", "PID-{field} ({name}) is filled; PAM FR forbids it in France.",
    hint="Leave PID-10, PID-17, PID-19 and PID-22 empty.", source=f"{PAMFR} §6.3, §6.6", ack="AE",
    hl7_code="102")

# --- merge and identifier change ---------------------------------------------------------------
NO_MRG = book.rule(
    "PAM-MRG-01", "The {event} message has no MRG segment naming the identifier(s) it replaces.",
    hint="Send MRG with the old identifier(s) in MRG-1 (A40 merge, A47 identifier change).",
    source=f"{PAMFR} §3, §4.4", ack="AE", hl7_code="100", location="MRG")
EMPTY_MRG = book.rule(
    "PAM-MRG-02", "MRG-1 (prior patient identifier list) is empty in {event}.",
    hint="Put the identifier being replaced in MRG-1.", source=f"{PAMFR} §4.4", ack="AE", hl7_code="101",
    location="MRG-1")

# --- CI-SIS "Transmission de documents CDA-R2 en HL7v2" (ORU/MDM carrying a CDA, ZAM business returns) --
#: TRANS = ANS, IG "Transmission de documents CDA-R2 en HL7v2" v2.1, ansforge/IG-hl7v2-volet-transmission-
#: document-cda-r2 @ b5f6ca13 `input/pagecontent/profils-messages.md`, `evenements-declenchants.md`
TRANS = "CI-SIS Transmission de documents CDA-R2 en HL7v2 v2.1 (profils-messages)"
CDA_OUT_REM = ("DPI.CDA/HL7.02", "DPI.INS/va1.61")
CDA_RETURN_REM = ("PFI.CDA/HL7.02", "PFI.MSS/UX.04")
CDA_VERSION = book.rule(
    "PAM-CDA-01", "{message_type} carries MSH-12 {found!r}; the volet sends ORU in HL7 2.5, MDM and ZAM in "
    "2.6.",
    hint="Set MSH-12 to 2.5 for ORU^R01, 2.6 for MDM^T02/T04/T10 and ZAM^Z01/Z02/Z03.", source=TRANS,
    rem=CDA_OUT_REM, ack="AR", hl7_code="203", location="MSH-12")
CDA_EVENT = book.rule(
    "PAM-CDA-02", "MSH-9 {found!r} is not a message of the volet (ORU^R01^ORU_R01, MDM^T02/T04/T10^MDM_T02, "
    "ZAM^Z01/Z02/Z03^ZAM_Z01).",
    hint="Send the document as ORU^R01^ORU_R01 or MDM^T02^MDM_T02 (T10 replaces, T04 deletes).",
    source=TRANS, rem=CDA_OUT_REM, ack="AR", hl7_code="201", location="MSH-9")
CDA_PROFILE = book.rule(
    "PAM-CDA-03", "MSH-21 is {found!r}; the volet's messages declare the profile 2.1^CISIS_CDA_HL7_V2.",
    hint="Set MSH-21 to 2.1^CISIS_CDA_HL7_V2.", source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="101",
    location="MSH-21")
CDA_SEGMENTS = book.rule(
    "PAM-CDA-04", "The {message_type} message has no {segment} segment, required by the volet.",
    hint="ORU: MSH PID PV1 ORC OBR OBX…; MDM: MSH EVN PID PV1 ORC OBR TXA OBX…; ZAM: MSH EVN OBX.",
    source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="100")
CDA_DOCUMENT = book.rule(
    "PAM-CDA-05", "The first OBX does not carry the CDA as the volet asks: {problem}.",
    hint="OBX-2 ED, OBX-3 the document type code (LOINC), OBX-5 ^TEXT^XML^Base64^<the CDA in base64> (MDM: "
    "^text^…), OBX-11 F, C or D.", source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="102", location="OBX-5")
CDA_STATUS = book.rule(
    "PAM-CDA-06", "ORC-1 {order!r}, the trigger {event} and OBX-11 {status!r} disagree (NW/F for a new "
    "document, RO/C for a replacement, CA/D for a deletion).",
    hint="Keep ORC-1, OBX-11 and (MDM) the event consistent: the PFI rejects an inconsistent message.",
    source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="103", location="ORC-1")
CDA_TXA = book.rule(
    "PAM-CDA-07", "TXA does not describe the document: {problem}.",
    hint="TXA-2 the type code, TXA-3 TEXT, TXA-12 the ClinicalDocument/id (ext^^root^ISO, or the root "
    "alone), TXA-17 the completion status (AU).", source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="101",
    location="TXA")
CDA_METADATA = book.rule(
    "PAM-CDA-08", "The DMP/MSSanté metadata OBX {code} is missing or not Y/N ({found!r}).",
    hint="Send MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REP_LEGAUX, CONNEXION_SECRETE, MODIF_CONF_CODE, "
    "DESTDMP, DESTMSSANTEPS, DESTMSSANTEPAT as OBX (CE/CWE) valued Y or N (table 0136).", source=TRANS,
    rem=CDA_OUT_REM, ack="AE", hl7_code="101", location="OBX-3")
CDA_PARTICIPANTS = book.rule(
    "PAM-CDA-09", "{problem}", hint="PRT SB^Send by^participation with the sender (PRT-5, PRT-8) for a DMP "
    "feed; one PRT RCT^Result Copies To^participation with PRT-15 ^^X.400^<address> per MSSanté recipient.",
    source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="101", location="PRT")
CDA_PID_MATCH = book.rule(
    "PAM-CDA-10", "PID-3 INS {pid!r} is not the INS the CDA's recordTarget carries ({cda!r}).",
    hint="PID-3 must be identical to the patient identifiers of the CDA (recordTarget/patientRole/id).",
    source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="103", location="PID-3")
ZAM_CONTENT = book.rule(
    "PAM-CDA-11", "The business return {event} is not as the volet lays it out: {problem}.",
    hint="ZAM: OBX-1 CWE ACK_RECEPTION_DMP / ACK_RECEPTION_MSS / ACK_LECTURE_MSS^…^AckMetierZAM, OBX-4 the "
    "MSH-10 of the ORU/MDM, OBX-5 Y or N; an N with an ERR (ERR-3 207); Z02/Z03 a second OBX XTN with the "
    "address.", source=TRANS, rem=CDA_RETURN_REM, ack="AE", hl7_code="101", location="OBX")
CDA_INVALID = book.rule(
    "PAM-CDA-12", "The CDA carried is not valid for the validator the DMP uses ({count} error(s)): {first}.",
    hint="Validate the document before handing it over (`segur validate`): the PFI feeds the DMP with it.",
    source=TRANS, rem=CDA_OUT_REM, ack="AE", hl7_code="207", location="OBX-5")

# --- CI-SIS "Transmission au LPS de documents CDA provenant d'un courriel MSSanté" (MDM from the PFI) -------
#: LPS = ANS, IG "Volet de transmission au LPS de documents CDA provenant d'un courriel MSSanté" (Trial
#: Implementation), ansforge/IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss @ bb83dc2, profils-messages.md
LPS = "CI-SIS Transmission au LPS de documents CDA provenant d'un courriel MSSanté (profils-messages)"
LPS_REM = ("PFI.CDA/HL7.03", "PFI.MSS/UX.01")
LPS_METADATA = book.rule(
    "PAM-LPS-01", "The MSSanté restriction metadata OBX {code} is missing or not Y/N ({found!r}).",
    hint="After the document and the e-mail OBX, send MASQUE_PS, INVISIBLE_PATIENT, INVISIBLE_REP_LEGAUX, "
    "MODIF_CONF_CODE as OBX CWE ^…^MetaDMPMSS valued Y or N (table 0136), in that order.", source=LPS,
    rem=LPS_REM, ack="AE", hl7_code="101", location="OBX-3")
LPS_SENDER = book.rule(
    "PAM-LPS-02", "{problem}", hint="After the document's OBX: PRT||UC||SB^Send by^participation with the "
    "sender's e-mail address in PRT-15 (^^X.400^<address>), then one PRT RCT per recipient of the e-mail.",
    source=LPS, rem=LPS_REM, ack="AE", hl7_code="101", location="PRT")
LPS_MAIL = book.rule(
    "PAM-LPS-03", "The second OBX does not describe the e-mail the document came in: {problem}.",
    hint="OBX|2|ED|<Message-ID of the e-mail>^<its subject>||^text^^Base64^<the e-mail's body in base64>"
    "||||||F.", source=LPS, rem=LPS_REM, ack="AE", hl7_code="101", location="OBX-3")
LPS_PARENT = book.rule(
    "PAM-LPS-04", "{event} without TXA-13 (the id of the document replaced or deleted).",
    hint="TXA-13 is required for a replacement (T10): the ClinicalDocument/id of the version it replaces, "
    "written as TXA-12 is.", source=LPS, rem=LPS_REM, ack="AE", hl7_code="101", location="TXA-13")

# --- the mock's own limits ------------------------------------------------------------------------
INTERNAL = book.rule(
    "PAM-INTERNAL-01", "The mock could not read this message ({error}); it answered AR.",
    hint="A harness limit, not necessarily the product's fault: report it with the journalled message.",
    rem=(), ack="AR", hl7_code="207")

# --- faults the mock was asked to inject -------------------------------------------------------
INJECTED_NACK = book.rule(
    "PAM-FAULT-01", "Negative acknowledgement injected by a test (fault 'nack').",
    hint="A fault set through /_admin/faults; clear it with DELETE /_admin/faults.", rem=(),
    severity=Severity.INFO, ack="AE", hl7_code="207")


def ack_of(rule) -> str:
    """The acknowledgement code a breach of `rule` leads to (AA for warnings)."""
    return rule.extra.get("ack", "AE")


def hl7_code_of(rule) -> str:
    return rule.extra.get("hl7_code", "207")
