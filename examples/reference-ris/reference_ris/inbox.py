"""Reading the mailbox (task `read-inbox`) and asking read receipts.

The RIS reads its mailbox (`extra["mailbox"]`, else its sender) with imaplib over IMAP4rev1: STARTTLS with
the test CA before it logs in (REM MSS/CONF.06, RFC 3501 §6.2.1), SELECT INBOX, UID SEARCH UNSEEN, for each
message UID FETCH BODY.PEEK[] then UID STORE +FLAGS (\\Seen). A message with an IHE_XDM.ZIP (REM MSS/UX.01)
is opened and its CDA documents read (MSS/UX.39); they are integrated automatically only when the message
says the INS is qualified (X-MSS-INS: O), the CDA carries an INS under an INS OID, and that INS is one INSi
qualified for a patient of the RIS (MSS/UX.07: it matches strictly the system's qualified INS); else the
message waits for a user ("not-integrated"). A CDA whose id the RIS already integrated is reported
"already-integrated" and not stored twice (CDA/DD.04). A message asking a read receipt
(Disposition-Notification-To) gets an MDN (RFC 8098) sent back by SMTP (MSS/UX.34). In an integrated lab
report (CR-BIO N3) the RIS flags the results the biologist interpreted as abnormal or critical, by their
interpretationCode and not by their reference range (MSS/UX.18), and reports them in `abnormal`. An
integrated CDA is stored with its producer's stylesheet when it names one (CDA/INT.15): the file its
`xml-stylesheet` processing instruction's href names, read in the archive relative to the document; the
SHA-256 of both is reported in `stored`. Each message read says who wrote it (`origin`, MSS/UX.25): a patient
from Mon espace santé (`<INS>@patient.mssante.fr`) or a professional; a patient's names the usager the RIS
shows (`usager`, MSS/UX.31): the birth name, first first name and INS of its own identity that INS names.

What it did is returned as `{"inbox": [{"message_id", "status", "documents", "patient_ins"}]}` (docs/sut.md),
and kept in the RIS's state (`inbox`: CDA id → INS, message, task).
"""

from __future__ import annotations

import base64
import hashlib
import imaplib
import io
import posixpath
import re
import ssl
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid

from lxml import etree

from segur.kernel.ins import CITIZEN_MAIL_DOMAIN, INS_OIDS

from . import mssante, psc
from .errors import ConfigError, ServiceUnavailable
from .identity import CODE_FOUND, InsiClient, identity_of

HL7 = {"h": "urn:hl7-org:v3"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
#: HL7 v3 ObservationInterpretation (2.16.840.1.113883.5.83) codes of an abnormal or critical result
ABNORMAL = frozenset({"A", "AA", "H", "HH", "HU", "HX", "L", "LL", "LU", "LX"})
#: IHE PaLM Laboratory Observation, the template of each result of a CR-BIO
LAB_OBSERVATION = "1.3.6.1.4.1.19376.1.3.1.6"
#: RFC 8098 §3.2.6: the RIS integrates (or holds) what it read without a user's action
DISPOSITION = "automatic-action/MDN-sent-automatically; processed"


@dataclass
class InboxOutcome:
    """What a reading did (the shape of `core.Outcome`, with `inbox`: what became of each message read)."""

    task_id: str
    mailbox: str
    detail: str
    steps: list[str] = field(default_factory=list)
    inbox: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"ok": True, "task_id": self.task_id, "read": self.mailbox, "detail": self.detail,
                "steps": self.steps, "inbox": self.inbox}


def cda_facts(content: bytes) -> dict | None:
    """The id (root^extension, as XDS writes it) and the INS of a CDA; None when it is not one."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None
    if root.tag != "{urn:hl7-org:v3}ClinicalDocument":
        return None
    document_id = root.find("h:id", HL7)
    identifier = None
    if document_id is not None and document_id.get("root"):
        extension = document_id.get("extension")
        identifier = f"{document_id.get('root')}^{extension}" if extension else document_id.get("root")
    ins = next((i.get("extension") for i in root.iterfind("h:recordTarget/h:patientRole/h:id", HL7)
                if i.get("root") in INS_OIDS and i.get("extension")), None)
    family = root.find("h:recordTarget/h:patientRole/h:patient/h:name/h:family", HL7)
    birth = root.find("h:recordTarget/h:patientRole/h:patient/h:birthTime", HL7)
    givens = root.findall("h:recordTarget/h:patientRole/h:patient/h:name/h:given", HL7)
    sex = root.find("h:recordTarget/h:patientRole/h:patient/h:administrativeGenderCode", HL7)
    # the birth first names: the given without qualifier (the list), else the BR one (the first)
    listed = [g for g in givens if not g.get("qualifier")] or \
        [g for g in givens if g.get("qualifier") == "BR"]
    names = listed[0] if listed else None
    return {"id": identifier, "ins": ins, "birth_name": (family.text or "").strip() if family is not None
            else None, "birth_time": birth.get("value") if birth is not None else None,
            "first_names": " ".join((names.text or "").split()) if names is not None else None,
            "sex": sex.get("code") if sex is not None else None, "results": lab_results(root)}


def lab_results(root) -> list[dict]:
    """Each lab result of a CDA: its LOINC code, the biologist's interpretationCode, its value and range."""
    found = []
    for observation in root.xpath(".//h:observation[h:templateId/@root=$template]", namespaces=HL7,
                                  template=LAB_OBSERVATION):
        code, value = observation.find("h:code", HL7), observation.find("h:value", HL7)
        interpretation = observation.find("h:interpretationCode", HL7)
        low = observation.find("h:referenceRange/h:observationRange/h:value/h:low", HL7)
        high = observation.find("h:referenceRange/h:observationRange/h:value/h:high", HL7)
        found.append({"code": code.get("code") if code is not None else None,
                      "interpretation": interpretation.get("code") if interpretation is not None else None,
                      "value": value.get("value") if value is not None else None,
                      "low": low.get("value") if low is not None else None,
                      "high": high.get("value") if high is not None else None})
    return found


def _outside_range(result: dict) -> str | None:
    """H or L when the value is past its reference range (defect inbox-misses-abnormal's reading)."""
    try:
        value, low, high = float(result["value"]), float(result["low"]), float(result["high"])
    except (TypeError, ValueError):
        return None
    return "H" if value > high else "L" if value < low else None


#: the pseudo-attributes of an xml-stylesheet processing instruction (W3C xml-stylesheet 1.0 §1)
_PSEUDO = re.compile(r"""([A-Za-z_][\w.-]*)\s*=\s*(["'])(.*?)\2""")
#: the media types naming an XSLT stylesheet (text/xsl, as the ANS examples write it; RFC 7303's xml types)
XSL_TYPES = frozenset({"text/xsl", "application/xslt+xml", "text/xml", "application/xml"})


def stylesheet_href(content: bytes) -> str | None:
    """The href of the XSL stylesheet the document's prolog names (None: it names none)."""
    try:
        root = etree.fromstring(content, _PARSER)
    except etree.XMLSyntaxError:
        return None
    for node in root.itersiblings(preceding=True):
        if node.tag is etree.ProcessingInstruction and node.target == "xml-stylesheet":
            pseudo = {name: value for name, _quote, value in _PSEUDO.findall(node.text or "")}
            if pseudo.get("type", "").strip().lower() in XSL_TYPES and pseudo.get("href"):
                return pseudo["href"]
    return None


def _stylesheet(archive, names: list[str], document: str, href: str | None) -> bytes | None:
    """The stylesheet the href names, read in the archive relative to the document's folder."""
    if not href or "://" in href or href.startswith("/"):
        return None
    wanted = posixpath.normpath(posixpath.join(posixpath.dirname(document), href)).upper()
    found = next((n for n in names if n.upper() == wanted), None)
    return archive.read(found) if found else None


def xdm_documents(message, keep_stylesheet: bool = True) -> list[dict] | None:
    """The CDA documents of the message's IHE_XDM.ZIP, each with the SHA-256 of its bytes and of the
    producer's stylesheet it names (None when it names none or, `keep_stylesheet` false, when it is not
    kept); None when the message has no IHE_XDM.ZIP (not a health document)."""
    for part in message.iter_attachments():
        if (part.get_filename() or "").upper() != "IHE_XDM.ZIP":
            continue
        found = []
        try:
            with zipfile.ZipFile(io.BytesIO(part.get_payload(decode=True) or b"")) as archive:
                names = archive.namelist()
                for name in names:
                    if not name.upper().endswith(".XML") or name.upper().endswith("METADATA.XML"):
                        continue
                    content = archive.read(name)
                    facts = cda_facts(content)
                    if not facts or not facts["id"]:
                        continue
                    sheet = _stylesheet(archive, names, name, stylesheet_href(content)) \
                        if keep_stylesheet else None
                    facts.update(sha256=hashlib.sha256(content).hexdigest(),
                                 stylesheet_sha256=hashlib.sha256(sheet).hexdigest() if sheet else None)
                    found.append(facts)
        except (zipfile.BadZipFile, OSError):
            return []
        return found
    return None


class Inbox:
    """One reading of the mailbox for a `core.Run`."""

    def __init__(self, run):
        self.run = run
        self.config = run.config
        self.defect = run.defect
        task = run.task
        self.mailbox = task.extra.get("mailbox") or task.sender or self.config.sender
        if not self.mailbox:
            raise ConfigError("no mailbox to read: the task names none and the configuration has no "
                              "[mssante] sender")
        state = run.state.data
        self.integrated = state.setdefault("inbox", {})  # CDA id → what was integrated
        self.report: list[dict] = []
        self.receipts: list[tuple[str, str, str | None]] = []  # (to, Message-ID, subject)

    # --- the IMAP session --------------------------------------------------------------------------------
    def read(self) -> None:
        config = self.config
        config.require("imap_host", "imap_port")
        try:
            context = mssante.capped(ssl.create_default_context(cafile=config.ca_file or None), config)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"cannot read the CA file {config.ca_file}: {exc}") from exc
        password = config.password_for(self.mailbox)
        try:
            client = imaplib.IMAP4(config.imap_host, int(config.imap_port), timeout=config.timeout)
        except OSError as exc:
            raise ServiceUnavailable(f"MSSanté IMAP unreachable: {type(exc).__name__}: {exc}") from exc
        try:
            if self.defect == "inbox-plain-imap":  # logs in first; STARTTLS only once refused
                try:
                    client.login(config.login_for(self.mailbox), password)
                except imaplib.IMAP4.error as exc:
                    self.run.step(f"IMAP LOGIN before STARTTLS refused ({exc}) (defect inbox-plain-imap)")
            if client.state == "NONAUTH":
                client.starttls(ssl_context=context)
                client.login(config.login_for(self.mailbox), password)
            client.select("INBOX")
            _, found = client.uid("SEARCH", None, "UNSEEN")
            uids = (found[0] or b"").split() if found else []
            self.run.step(f"IMAP {self.mailbox}: {len(uids)} unread message(s)")
            for uid in uids:
                _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((item[1] for item in data if isinstance(item, tuple)), b"")
                self.take(message_from_bytes(raw, policy=policy.default))
                client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            client.logout()
        except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
            raise ServiceUnavailable(f"MSSanté IMAP: {type(exc).__name__}: {exc}") from exc
        finally:
            if client.state != "LOGOUT":
                client.shutdown()

    # --- one message -------------------------------------------------------------------------------------
    def take(self, message) -> None:
        message_id = str(message.get("Message-ID") or "").strip() or None
        keep = self.defect != "inbox-drops-stylesheet"  # the defect stores the CDA alone
        documents = None if self.defect == "inbox-ignores-xdm" else xdm_documents(message, keep)
        entry = {"message_id": message_id, "status": "ignored", "documents": [], "patient_ins": None}
        if documents:
            entry.update(self.integrate(message, message_id, documents))
        entry.update(self.sender_of(message))
        self.report.append(entry)
        self.run.step(f"message {message_id}: {entry['status']} {entry['documents']}")
        receipt_to = getaddresses([str(message.get("Disposition-Notification-To") or "")])
        if receipt_to and receipt_to[0][1] and self.defect != "inbox-no-mdn":
            self.receipts.append((receipt_to[0][1], message_id, str(message.get("Subject") or "")))

    def sender_of(self, message) -> dict:
        """Who wrote (REM MSS/UX.25): a patient from Mon espace santé (`<INS>@patient.mssante.fr`) or a
        professional; for a patient, the usager shown (MSS/UX.31): birth name, first first name and INS of
        the RIS's own identity that INS names (INSi finds an identity by traits or carte Vitale, not by an
        INS alone: a patient the RIS never qualified is shown by the INS of the address only)."""
        found = getaddresses([str(message.get("From") or "")])
        address = found[0][1].lower() if found else ""
        local, _, domain = address.rpartition("@")
        if domain != CITIZEN_MAIL_DOMAIN:
            return {"origin": "professional"}
        origin = "patient"
        if self.defect == "inbox-patient-as-professional":  # the list does not read the sender's kind
            origin = "professional"
            self.run.step(f"message from {address} listed as a professional's (defect "
                          "inbox-patient-as-professional)")
        if self.defect == "inbox-patient-shows-address-only":
            self.run.step(f"patient shown by the address {address} only (defect "
                          "inbox-patient-shows-address-only)")
            return {"origin": origin, "usager": {"address": address}}
        ins = local.upper()
        identity = next((i for i in self.run.state.data["identities"].values()
                         if i.get("qualified", True) and i["ins"] == ins), None)
        if identity is None:
            self.run.step(f"message from {address}: INS {ins} is none of the RIS's qualified identities")
            return {"origin": origin, "usager": {"address": address, "ins": ins}}
        usager = {"birth_name": identity["birth_name"], "first_name": identity["first_names"].split()[0],
                  "ins": identity["ins"]}
        self.run.step(f"message from patient {usager['birth_name']} {usager['first_name']} (INS {ins})")
        return {"origin": origin, "usager": usager}

    def integrate(self, message, message_id: str | None, documents: list[dict]) -> dict:
        ids = [d["id"] for d in documents]
        qualified = str(message.get("X-MSS-INS") or "").strip().upper() == "O"
        patient = self.patient_for(documents[0], qualified)
        if patient is None:
            return {"status": "not-integrated", "documents": ids}
        flags = self.abnormal(documents)
        if all(i in self.integrated for i in ids) and self.defect != "inbox-duplicates":
            return {"status": "already-integrated", "documents": ids, "patient_ins": patient, **flags}
        stored = []
        for document in documents:
            copies = self.integrated.get(document["id"], {}).get("copies", 0) + 1
            kept = {"sha256": document["sha256"], "stylesheet_sha256": document["stylesheet_sha256"]}
            self.integrated[document["id"]] = {"ins": patient, "message_id": message_id,
                                               "task": self.run.task.id, "copies": copies, **kept}
            stored.append({"id": document["id"], **kept})
        if self.defect == "inbox-drops-stylesheet":
            self.run.step("stored the CDA without the producer's stylesheet (defect inbox-drops-stylesheet)")
        return {"status": "integrated", "documents": ids, "patient_ins": patient, "stored": stored, **flags}

    def abnormal(self, documents: list[dict]) -> dict:
        """`{"abnormal": [...]}`: the results of the lab reports interpreted abnormal or critical by the
        biologist (MSS/UX.18); nothing for a document that holds no lab result."""
        results = [r for d in documents for r in d.get("results") or []]
        if not results:
            return {}
        flagged = []
        for result in results:
            if self.defect == "inbox-misses-abnormal":  # reads the reference range, not the interpretation
                interpretation = _outside_range(result)
            else:
                interpretation = result["interpretation"] if result["interpretation"] in ABNORMAL else None
            if interpretation:
                flagged.append({"code": result["code"], "interpretation": interpretation})
        if self.defect == "inbox-misses-abnormal":
            self.run.step("results flagged by their reference range, not their interpretationCode (defect "
                          "inbox-misses-abnormal)")
        self.run.step(f"{len(flagged)} abnormal result(s) flagged: {[r['code'] for r in flagged]}")
        return {"abnormal": flagged}

    def patient_for(self, document: dict, qualified: bool) -> str | None:
        """The INS of the RIS's patient the document is for, when it may be integrated automatically: a
        qualified INS (X-MSS-INS: O, under an INS OID) INSi qualified for one of the RIS's patients; an INS it
        does not hold comes from another identity domain and is verified with INSi first (`verified`)."""
        known = {i["ins"]: i for i in self.run.state.data["identities"].values() if i.get("qualified", True)}
        if qualified and document["ins"] in known:
            return document["ins"]
        if qualified and document["ins"]:
            if self.defect == "inbox-no-insi-verify":
                self.run.step(f"INS {document['ins']} from another identity domain taken as it is, INSi not "
                              "asked (defect inbox-no-insi-verify)")
                return document["ins"]
            return self.verified(document)
        if self.defect == "inbox-integrates-unqualified":  # matched on the traits instead
            for identity in known.values():
                if identity["birth_name"] == document["birth_name"] and \
                        identity["birth_date"].replace("-", "") == (document["birth_time"] or "")[:8]:
                    self.run.step("integrated by the patient's traits, without a qualified INS (defect "
                                  "inbox-integrates-unqualified)")
                    return identity["ins"]
        return None

    def verified(self, document: dict) -> str | None:
        """REM LGC.INS/va1.63: an INS received from another identity domain is verified with INSi before the
        data is integrated. INSi v1.5.0 has no verification operation (docs/insi.md): the RIS searches the
        CDA patient's traits (no carte Vitale is read for a document received by mail), once per birth first
        name then with the list, and keeps INSi's identity when its active INS, or one of its earlier ones
        (INSHISTO), is the received INS; the document is then integrated under the active INS INSi returned
        and the identity kept as qualified. Anything else leaves the document for a user."""
        birth = str(document.get("birth_time") or "")
        traits = {"birth_name": document.get("birth_name"), "first_names": document.get("first_names") or "",
                  "sex": document.get("sex"), "birth_date": f"{birth[:4]}-{birth[4:6]}-{birth[6:8]}"}
        client = InsiClient(self.config)
        names = traits["first_names"].split()
        tries = [[name] for name in names] + ([names] if len(names) > 1 else [])
        try:
            for first_names in tries:
                result = client.search(traits, first_names)
                self.run.step(f"INSi verification {' '.join(first_names)}: {result.CR.CodeCR}")
                if result.CR.CodeCR == CODE_FOUND:
                    identity = identity_of(result)
                    earlier = [h.IdIndividu.NumIdentifiant + (h.IdIndividu.Cle or "")
                               for h in (result.INDIVIDU.INSHISTO or [])]
                    if document["ins"] not in (identity.ins, *earlier):
                        self.run.step(f"INSi's identity ({identity.ins}) does not hold the received INS "
                                      f"{document['ins']}: left for a user")
                        return None
                    self.run.state.remember_identity(traits, identity)
                    self.run.step(f"received INS {document['ins']} verified with INSi: integrated under "
                                  f"{identity.ins}")
                    return identity.ins
        except ServiceUnavailable as exc:
            self.run.step(f"INSi verification impossible ({exc}): left for a user")
        return None

    # --- read receipts -----------------------------------------------------------------------------------
    def send_receipts(self) -> None:
        # the professional's own mailbox (the GP's, LGC) sends with XOAUTH2 and a PSC token (MSS/CONF.07)
        submit = psc.own_mailbox_submit(self.run, self.mailbox)
        for to, message_id, subject in self.receipts:
            mdn = build_mdn(self.mailbox, to, message_id, subject, self.config.nil)
            if submit is None:
                mssante.send(self.config, mdn, self.mailbox, to)
            else:
                submit(mdn, self.mailbox, to)
            self.run.step(f"MDN for {message_id} sent to {to}")


def build_mdn(mailbox: str, to: str, message_id: str | None, subject: str, nil: str) -> EmailMessage:
    """A message disposition notification (RFC 8098 §3): multipart/report; report-type=disposition-
    notification, a human part, then the message/disposition-notification part (Reporting-UA,
    Original-Recipient, Final-Recipient, Original-Message-ID, Disposition)."""
    mdn = EmailMessage()
    mdn["From"] = mailbox
    mdn["To"] = to
    mdn["Subject"] = f"Accusé de lecture : {subject}"
    mdn["Date"] = format_datetime(datetime.now(UTC))
    mdn["Message-ID"] = make_msgid(domain=mailbox.rpartition("@")[2] or "reference-ris.local")
    mdn["X-MSS-NIL"] = nil
    mdn["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
    mdn.set_content(f"Le message {message_id} a été reçu et traité par le RIS de référence.\n")
    fields = ["Reporting-UA: reference-ris; harnais Segur", f"Original-Recipient: rfc822;{mailbox}",
              f"Final-Recipient: rfc822;{mailbox}", f"Original-Message-ID: {message_id}",
              f"Disposition: {DISPOSITION}"]
    mdn.make_mixed()
    mdn.attach(_disposition_part(fields))
    mdn.set_type("multipart/report")
    mdn.set_param("report-type", "disposition-notification")
    return mdn


def _disposition_part(fields: list[str]):
    """The message/disposition-notification part: its body is the notification fields (RFC 8098 §3.1)."""
    raw = ("Content-Type: message/disposition-notification\r\n\r\n" + "\r\n".join(fields) + "\r\n").encode()
    return message_from_bytes(raw, policy=policy.default)


def read_inbox(run) -> InboxOutcome:
    inbox = Inbox(run)
    inbox.read()
    inbox.send_receipts()
    counts = {}
    for entry in inbox.report:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no new message"
    return InboxOutcome(run.task.id, inbox.mailbox, f"mailbox {inbox.mailbox} read: {summary}", run.steps,
                        inbox=inbox.report)


def with_read_receipt(run, message: EmailMessage, sender: str) -> EmailMessage:
    """A report sent with `extra["read_receipt"]` asks the recipient for an MDN (REM MSS/UX.33, RFC 8098
    §2.1: Disposition-Notification-To, here the sending mailbox)."""
    if run.task.extra.get("read_receipt"):
        if run.defect == "inbox-no-receipt-request":
            run.step("read receipt asked by the task but not requested (defect inbox-no-receipt-request)")
        else:
            message["Disposition-Notification-To"] = sender
    return message



# --- the personal mailbox, read with the professional's PSC token -------------------------------------------
def authenticate_xoauth2(run, client: imaplib.IMAP4, login: str, token: str) -> None:
    """AUTHENTICATE XOAUTH2 with the PSC token (REM MSS/CONF.07), in one step when the server advertises
    SASL-IR (RFC 4959 §3: the base64 initial response on the command line; REM MSS/CONF.09): imaplib has no
    SASL-IR of its own, so the command line is written whole. With the defect `sasl-ir-claimed-two-steps`
    the token waits for the server's empty challenge, as imaplib's `authenticate` does."""
    response = psc.xoauth2(login, token).encode()
    if "SASL-IR" in client.capabilities and run.defect != "sasl-ir-claimed-two-steps":
        kind, data = client._simple_command("AUTHENTICATE", "XOAUTH2", base64.b64encode(response).decode())
        if kind != "OK":
            raise psc.PscAuthenticationError(f"MSSanté IMAP refused the PSC token: {kind} {data!r}")
        client.state = "AUTH"  # what imaplib's own authenticate sets after OK
        run.step("IMAP AUTHENTICATE XOAUTH2 with the PSC token in one step (SASL-IR)")
        return
    if run.defect == "sasl-ir-claimed-two-steps":
        run.step("IMAP AUTHENTICATE XOAUTH2 in two steps (defect sasl-ir-claimed-two-steps)")
    try:
        client.authenticate("XOAUTH2", lambda _challenge: response)
    except imaplib.IMAP4.error as exc:
        raise psc.PscAuthenticationError(f"MSSanté IMAP refused the PSC token: {exc}") from exc


def read_personal_inbox(run) -> InboxOutcome:
    """Action `read-personal-inbox`: the professional's personal mailbox (`extra["mailbox"]`) read over IMAP
    with STARTTLS and their PSC access token (the one `psc.access_token` keeps and refreshes); the unread
    messages are fetched, marked seen and listed (status "read")."""
    config, task = run.config, run.task
    config.require("imap_host", "imap_port")
    mailbox = task.extra["mailbox"]
    idnps = task.extra.get("idnps") or (task.author or {}).get("idnps")
    token = psc.access_token(run, idnps)
    try:
        context = mssante.capped(ssl.create_default_context(cafile=config.ca_file or None), config)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the CA file {config.ca_file}: {exc}") from exc
    try:
        client = imaplib.IMAP4(config.imap_host, int(config.imap_port), timeout=config.timeout)
    except OSError as exc:
        raise ServiceUnavailable(f"MSSanté IMAP unreachable: {type(exc).__name__}: {exc}") from exc
    report = []
    try:
        client.starttls(ssl_context=context)
        authenticate_xoauth2(run, client, config.login_for(mailbox), token)
        client.select("INBOX")
        _, found = client.uid("SEARCH", None, "UNSEEN")
        for uid in (found[0] or b"").split() if found else []:
            _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), b"")
            message = message_from_bytes(raw, policy=policy.default)
            message_id = str(message.get("Message-ID") or "").strip() or None
            report.append({"message_id": message_id, "status": "read", "documents": [], "patient_ins": None})
            client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        client.logout()
    except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
        raise ServiceUnavailable(f"MSSanté IMAP: {type(exc).__name__}: {exc}") from exc
    finally:
        if client.state != "LOGOUT":
            client.shutdown()
    run.step(f"IMAP {mailbox} (PSC token): {len(report)} message(s) read")
    return InboxOutcome(task.id, mailbox, f"personal mailbox {mailbox} read: {len(report)} message(s)",
                        run.steps, inbox=report)
