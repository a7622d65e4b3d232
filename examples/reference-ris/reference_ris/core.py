"""One task, start to end: identity from INSi, the report, then the DMP or MSSanté.

`run_task` returns an `Outcome` when the report was sent (or, with the `swallow-outage` defect, when it
pretends so) and raises a `RisError` otherwise. Defects are applied at the one place each mistake would
live in a real product; without a defect, the RIS does everything by the book.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from segur.kernel.ins import OID_NIA, OID_NIR, Ins, nir_key

from . import annuaire, dmp, inbox, lookup, mssante, psc, volets, wire
from .defects import check as check_defect
from .errors import ConfigError, IdentityNotQualified, RisError, ServiceUnavailable
from .handlers import HANDLERS
from .identity import Identity, InsiClient
from .outcome import Outcome
from .report import author_of, build_report, document_ids, embedded_pdf, with_urlsafe_pdf
from .state import State

log = logging.getLogger("reference_ris")

#: `xdm-n3-format-code`: the formatCode of the other level (ASS_A11: CR-IMG N3 template
#: 1.2.250.1.213.1.1.1.45; an N1 PDF for the N3 CR-BIO), as a product with one formatCode setting for every
#: report declares it.
IHE_FORMATS = "1.3.6.1.4.1.19376.1.2.3"  # the IHE format code system
OTHER_LEVEL_FORMAT = {"CR-IMG": ("urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013", IHE_FORMATS,
                                 "Imaging Report Structured Headings"),
                      "CR-BIO": ("urn:ihe:iti:xds-sd:pdf:2008", IHE_FORMATS, "Document à corps PDF")}
#: `reused-document-id`: the id a message template kept (one id for every report sent by MSSanté)
TEMPLATE_DOCUMENT_ID = "2.25.329800735698586629295641978511506172918"
#: `unknown-idam`: the authorisation number of a documentation example, which CNAM never gave this software
EXAMPLE_IDAM = "IDAM-EXEMPLE-DOC"
#: `invisible-to-patient`: the DMP's visibility code (codingScheme 1.2.250.1.213.1.1.4.13, DMP integration
#: guide)
INVISIBLE_PATIENT = ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13", "Non visible par le patient")

WRONG_FORMAT = {"CR-IMG": ("urn:ihe:iti:xds-sd:text:2008", IHE_FORMATS, "Document à corps texte"),
                "CR-BIO": ("urn:ihe:iti:xds-sd:pdf:2008", IHE_FORMATS, "Document à corps PDF")}


class Run:
    def __init__(self, task, config, defect: str | None = None):
        self.task = task
        self.config = config
        self.defect = check_defect(defect)
        self.state = State(config.state_dir)
        self.previous_identity = self.state.last_identity()  # the patient handled before this task
        self.steps: list[str] = []
        self.document: bytes | None = None
        self.from_outbox: str | None = None

    def step(self, text: str) -> None:
        self.steps.append(text)
        log.info("[%s] %s", self.task.id, text)

    # --- identity ---------------------------------------------------------------------------------------
    def identity(self) -> Identity:
        traits = self.task.patient
        if self.defect == "no-insi-call":
            local = self.state.cached_identity(traits) or local_patient_file(traits, loose=False)
            self.step("identity: INSi not called (defect no-insi-call); " + (
                "the INS of the local patient file" if local else "an INS built from the traits"))
            return local or made_up_identity(traits)
        config = self.config
        if self.defect == "unknown-idam":
            config = dataclasses.replace(config, insi_idam=EXAMPLE_IDAM)
            self.step(f"identity: INSi called with the IDAM {EXAMPLE_IDAM} (defect unknown-idam)")
        client = InsiClient(config)
        card = self.task.vitale
        if card and self.defect == "no-vitale-search":
            self.step("identity: the Vitale card was read but INSi is searched by traits "
                      "(defect no-vitale-search)")
            card = None
        try:
            identity = client.find_by_card(card) if card else client.find(traits)
        except (IdentityNotQualified, ServiceUnavailable) as exc:
            if self.defect == "send-on-01" and set(getattr(exc, "codes", None) or ["?"]) == {"01"}:
                local = local_patient_file(traits, loose=True, first_name=False)
                self.step(f"identity: {exc}; 01 taken for 'not yet known to INSi', sent with " + (
                    "the INS of the local patient file" if local else "an INS built from the traits")
                    + " (defect send-on-01)")
                return local or made_up_identity(traits)
            if self.defect == "provisional-as-qualified":
                local = self.state.local_identity(traits) or local_patient_file(traits, loose=True)
                source = "the INS of the local patient file" if local else "an INS built from the traits"
                self.step(f"identity: {exc}; sent anyway with {source} (defect provisional-as-qualified)")
                return local or made_up_identity(traits)
            raise
        finally:
            for attempt in client.attempts:
                self.step(f"INSi search {' '.join(attempt.first_names)}: {attempt.code} {attempt.label}")
        self.state.remember_identity(traits, identity)
        return identity

    # --- the report -------------------------------------------------------------------------------------
    def report(self, identity: Identity, previous: dict | None = None, **given) -> bytes:
        """The task's report, with the seeded defects; `given`: options of `build_report` the task itself
        sets (a historical report's exam date, a title), over the defects'."""
        options = {}
        if self.defect == "wrong-ins-oid":
            # the OID from a local "NIR or NIA" setting instead of INSi's answer: the NIR OID, or the NIA OID
            # when INSi returned the NIR one (a test OID would be accepted for anyone in test mode)
            options["ins_oid"] = OID_NIA if identity.oid == OID_NIR else OID_NIR
        if self.defect == "bad-nir-key":
            options["ins_value"] = identity.nir + wrong_key(identity.key)
        options.update(self.content_defects(identity, previous))
        options.update(given)
        if self.defect == "traits-not-insi":
            # the names formatted for display (Dupont), not the INS traits exactly as INSi returned them
            identity = dataclasses.replace(identity, birth_name=identity.birth_name.title())
        document = build_report(self.task, identity, previous=previous, defect=self.defect, **options)
        if self.defect == "pdf-not-base64":
            document = with_urlsafe_pdf(document)
        document = wire.tap("cda", document, task=self.task)
        self.document = document
        return document

    def content_defects(self, identity: Identity, previous: dict | None) -> dict:
        """The options of `build_report` that seed the defects in the report's content."""
        if self.defect == "pdf-other-patient":
            other = build_report(self.task, self.other_patient(identity))
            return {"pdf": embedded_pdf(other)}
        if self.defect == "replace-new-set-id" and previous is not None:
            return {"set_id": f"2.25.{uuid.uuid4().int}"}
        if self.defect == "author-time-before-exam":
            now = datetime.now(ZoneInfo("Europe/Paris")).replace(microsecond=0)
            return {"effective_time": now, "author_time": now - timedelta(days=1)}
        if self.defect == "author-not-actor":
            return {"professional": self.default_signer()}
        if self.defect == "reused-document-id" and self.task.action in ("send-mss", "send-citizen"):
            return {"document_id": TEMPLATE_DOCUMENT_ID}
        return {}

    def default_signer(self):
        """For `author-not-actor`: another professional of the world (the RIS's configured default signer)."""
        from segur.fixtures.world import load_world

        professional, _organisation = author_of(self.task)
        return next(p for p in sorted(load_world().professionals, key=lambda p: p.key)
                    if p.key != professional.key and p.idnps != professional.idnps)

    def rebuilt(self, identity: Identity, kept: bytes) -> bytes:
        """For `retry-rebuilt`: a new report under the kept report's ids (new content and time)."""
        ids = document_ids(kept)
        self.step(f"report rebuilt under the ids of the kept one {ids['id']} (defect retry-rebuilt)")
        return build_report(self.task, identity, document_id=ids["id"], set_id=ids["set_id"],
                            version_number=ids["version"])

    def document_for(self, identity: Identity, previous: dict | None = None) -> bytes:
        """The report to send: the one kept in the outbox when this task retries an earlier one that a
        service outage stopped (`extra["retry_of"]`, or the same task id), else a new one."""
        if self.document is not None and previous is None:  # one report for every service of the task
            return self.document
        kept_id = self.task.extra.get("retry_of") or self.task.id
        kept = self.state.unsent(kept_id) if previous is None else None
        if kept is not None:
            self.step(f"report of {kept_id} taken from the outbox")
            if self.defect == "retry-rebuilt":
                kept = self.rebuilt(identity, kept)
            self.document, self.from_outbox = kept, kept_id
            return kept
        return self.report(identity, previous)

    def other_patient(self, identity: Identity) -> Identity:
        """For `patient-mismatch`: the last other patient the RIS handled (a stale context), else one of the
        test world's (the only place this example looks at the world, to seed the defect)."""
        last = self.previous_identity
        if last is not None and last.ins != identity.ins:
            return last
        from segur.fixtures.world import load_world

        other = next(p for p in load_world().patients
                     if p.ins != identity.ins and p.has_dmp and not p.dmp_closed and not p.dmp_opposed
                     and not p.known_defects)
        return Identity(other.ins, other.oid, other.birth_name, other.first_names, other.sex,
                        other.birth_date, other.birth_place)

    # --- sending ----------------------------------------------------------------------------------------
    def to_dmp(self, identity: Identity) -> str:
        from segur.mocks.dmp.client import Coded, Defects

        professional, organisation = author_of(self.task)
        client = dmp.client_for(self.config, professional, organisation)
        defects = Defects()
        if self.defect == "wrong-format-code":
            defects.format_code = Coded(*WRONG_FORMAT[self.task.kind])
        previous = None
        if self.task.action == "replace-dmp":
            previous = self.state.document(self.task.replaces_task)
            if previous is None:
                raise ConfigError(f"no report of task {self.task.replaces_task} in the local state "
                                  f"({self.state.path}): nothing to replace")
        document = self.document_for(identity, previous)
        if self.defect == "patient-mismatch":
            defects.patient_id = Ins(*_ins_oid(self.other_patient(identity))).xds_patient_id()
        wrong_class = volets.class_code_defect(self.task.kind, self.defect)
        defects.mutate = self.metadata_defect(identity) or wrong_class
        ins = Ins(identity.ins, identity.oid)
        defects = wire.tap("xds", defects, task=self.task)
        status = dmp.check_dmp(client, ins)
        self.step(f"DMP TD0.2: dmp={status.get('dmp')} autorisation={status.get('autorisation')}")
        if previous is not None:
            dmp.replace(client, ins, previous["id"], document, defects, status)
            self.step(f"DMP ITI-41 RPLC of {previous['id']}: accepted")
        elif self.defect == "relay-drops-ins":
            dmp.send_relayed(client, document, defects)
            self.step("DMP ITI-41: relayed without the INS in the CDA (defect relay-drops-ins): accepted")
        else:
            dmp.send(client, document, defects)
            self.step("DMP ITI-41: accepted")
        return "DMP"

    def metadata_defect(self, identity: Identity):
        """The change `source-patient-stale` / `invisible-to-patient` make to the XDS entries, else None."""
        from segur.mocks.dmp.client import Coded

        if self.defect == "source-patient-stale":
            other = self.other_patient(identity)
            first = (other.first_names.split() or [""])[0]
            info = [f"PID-5|{other.birth_name}^{first}^^^^^L", f"PID-7|{other.birth_date.replace('-', '')}",
                    f"PID-8|{other.sex}"]

            def stale(_submission, entries):
                for entry in entries:
                    entry.source_patient_info = list(info)
            return stale
        if self.defect == "invisible-to-patient":
            def invisible(_submission, entries):
                for entry in entries:
                    hidden = Coded(*INVISIBLE_PATIENT)
                    entry.confidentiality_codes = [*entry.confidentiality_codes, hidden]
            return invisible
        return None

    def to_mailbox(self, identity: Identity, submit=None) -> str:
        """Send the report by MSSanté; `submit(message, sender, recipient)` opens the session (default: PLAIN
        with the structure's ORG certificate; the personal mailbox's XOAUTH2 is psc.py's)."""
        task = self.task
        sender = task.sender or task.extra.get("mailbox") or self.config.sender
        if not sender:
            raise ConfigError("no sending mailbox: the task names none and the configuration has no "
                              "[mssante] sender")
        if task.action == "send-citizen":
            recipient = identity.citizen_mailbox
            if self.defect == "citizen-wrong-address":
                last = self.previous_identity
                # a stale patient context: the previous patient's address; else the NIR without its key
                recipient = last.citizen_mailbox if last and last.ins != identity.ins \
                    else f"{identity.nir}@patient.mssante.fr"
        else:
            recipient = task.recipient
            annuaire.check_recipient(self.config, recipient, self.step)
        recipient = wire.tap("recipient", recipient, task=task)
        document = self.document_for(identity)
        overrides, submission = {}, {}
        overrides["format_code"] = mssante.format_code_of(document)
        if self.defect == "wrong-format-code":
            overrides["format_code"] = WRONG_FORMAT[task.kind][:2] + (WRONG_FORMAT[task.kind][2],)
        if self.defect == "xdm-n3-format-code":
            overrides["format_code"] = OTHER_LEVEL_FORMAT[task.kind]
        if self.defect == "patient-mismatch":
            other = Ins(*_ins_oid(self.other_patient(identity))).xds_patient_id()
            overrides["patient_id"] = submission["patient_id"] = other
        if self.defect == "relay-drops-ins":  # the XDM metadata from the HL7 message, the CDA relayed
            patient_id = Ins(identity.ins, identity.oid).xds_patient_id()
            overrides["patient_id"] = submission["patient_id"] = patient_id
            document = volets.relayed(document)
        code = volets.type_code(task.kind)
        draft = mssante.draft_pdf(identity) if self.defect == "mss-pdf-draft" else None
        message = mssante.build_message(sender, recipient, document, identity, code, nil=self.config.nil,
                                        with_xdm=self.defect != "mss-without-xdm",
                                        xdm_overrides=overrides or None, submission=submission or None,
                                        pdf=draft)
        message = inbox.with_read_receipt(self, message, sender)
        lookup.end_exchange(message, task, self.defect)
        message = wire.tap("mime", message, task=task)
        sender, recipient = wire.tap("envelope", (sender, recipient), task=task)
        submit = submit or psc.own_mailbox_submit(self, sender)  # the GP's own mailbox: XOAUTH2
        if submit is None:
            context = lookup.tls_context(self.config, self.step, self.defect)  # the operator's CRL checked
            psc.present_org_certificate(self, context)  # PLAIN: the structure's ORG certificate
            mssante.send(self.config, message, sender, recipient, context)
        else:
            submit(message, sender, recipient)
        self.step(f"MSSanté: sent from {sender} to {recipient}")
        return recipient

    def outcome(self, sent_to: str, identity: Identity, how: str = "") -> Outcome:
        """The outcome of a task that sent its report (the handlers' too)."""
        detail = f"{self.task.kind} report #{self.task.report_no} sent to {sent_to}"
        return Outcome(self.task.id, sent_to, identity.ins, f"{detail} {how}".strip(), self.steps)

    def run(self) -> Outcome:
        handler = HANDLERS.get(self.task.action)
        if handler is not None:  # a task beyond sending a report (handlers.py)
            try:
                return handler(self)
            finally:
                self.state.save()
        identity = None
        try:
            identity = self.identity()
            sent_to = self.to_dmp(identity) if self.task.action in ("send-dmp", "replace-dmp") \
                else self.to_mailbox(identity)
        except ServiceUnavailable as exc:
            if self.defect == "swallow-outage":  # said sent, and the report is lost with the error
                self.step(f"outage swallowed (defect): {exc}")
                return Outcome(self.task.id, "nowhere", identity.ins if identity else None,
                               "sent", self.steps, swallowed=str(exc))
            if self.document is not None:
                kept = self.state.keep_unsent(self.task.id, self.document, str(exc))
                exc.args = (f"{exc} (report kept in {kept}, to be sent again)",)
            raise
        finally:
            self.state.save()
        if self.from_outbox:
            self.state.forget_unsent(self.from_outbox)
        if self.document is not None and self.task.action in ("send-dmp", "replace-dmp"):
            self.state.remember_document(self.task.id, document_ids(self.document), identity)
        self.state.save()
        return Outcome(self.task.id, sent_to, identity.ins, f"{self.task.kind} report #{self.task.report_no} "
                       f"sent to {sent_to}", self.steps)


def run_task(task, config, defect: str | None = None) -> Outcome:
    if defect == "tls13-claimed-tls12-max":  # claims tls13 (mssante.CLAIMS), offers TLS 1.2 at most
        config = dataclasses.replace(config, mss_tls_max="1.2")
    return Run(task, config, defect).run()


def _ins_oid(identity: Identity) -> tuple[str, str]:
    return identity.ins, identity.oid


def wrong_key(key: str) -> str:
    return f"{(int(key) + 1) % 100:02d}"


def local_patient_file(traits: dict, *, loose: bool, first_name: bool = True) -> Identity | None:
    """For the identity defects only: the patient the RIS registered at an earlier visit, with the INS it
    recorded then (read from a Vitale card, typed from a letter…), never qualified by INSi this time. The
    harness's test world stands in for that local file. `loose`: same birth name, first first name, sex
    and birth date, whatever the birth place (so a homonym matches: the first one, by key). `first_name=False`
    matches on birth name, sex and birth date alone (a first name typed otherwise than the file has it)."""
    from segur.fixtures.world import load_world

    def norm(value) -> str:
        return str(value or "").upper().strip()

    first = (norm(traits.get("first_names")).split() or [""])[0]
    for person in sorted(load_world().patients, key=lambda p: p.key):
        theirs = (norm(person.birth_name), person.first_name.upper() if first_name else "", person.sex,
                  person.birth_date)
        typed = (norm(traits.get("birth_name")), first if first_name else "", traits.get("sex"),
                 traits.get("birth_date"))
        if theirs != typed:
            continue
        if not loose and traits.get("birth_place") and person.birth_place != traits.get("birth_place"):
            continue
        return Identity(person.ins, person.oid, person.birth_name, person.first_names, person.sex,
                        person.birth_date, person.birth_place)
    return None


def made_up_identity(traits: dict) -> Identity:
    """An INS built from the traits, as a careless product does when INSi did not qualify the identity:
    sex, year and month of birth, birth place, order 001, and a key that checks. It is nobody's INS."""
    sex = "1" if traits.get("sex") == "M" else "2"
    year, month = (str(traits.get("birth_date", "0000-00-00")).split("-") + ["00", "00"])[:2]
    place = str(traits.get("birth_place") or "99100").upper()
    nir = f"{sex}{year[-2:]}{month}{place}001"
    try:
        key = nir_key(nir)
    except ValueError:
        nir, key = nir[:13].ljust(13, "0"), "01"
    return Identity(nir + key, OID_NIR, str(traits.get("birth_name", "")), str(traits.get("first_names", "")),
                    str(traits.get("sex", "")), str(traits.get("birth_date", "")), traits.get("birth_place"),
                    qualified=False)


__all__ = ["Outcome", "RisError", "run_task"]
