"""Back-fill, blocked feeding, visibility, deletion and the lab's partial-then-complete report (the proof's
capabilities `histo` and `histo-bio`, segur/scenarios/capabilities/histo.py).

- `feed-histo`: each earlier report of the patient (`extra["documents"]`: `ref`, `exam_date`) is written
  dated with its exam (CDA effectiveTime and serviceEvent, hence the XDS creationTime and serviceStartTime,
  REM DMP/HISTO.03) and sent to the DMP; in `bulk` mode those this RIS fed already are skipped (DMP/HISTO.06,
  filter iii). The result's detail ends with `HISTO-FED=<n>`: the historical reports fed for the patient
  (DMP/HISTO.07), counted from the RIS's own log (`state.data["histo"]`).
- `blocked-dmp`: the user blocked the DMP feed for the exam: the report is written, nothing is sent, and the
  task fails with a `Blocked` error that says so (RIS.DMP/va1.12).
- `send-dmp-visibility`: the report is sent with the visibility codes the user set (RIS.DMP/va1.14), added
  to the entry's confidentialityCodes (1.2.250.1.213.1.1.4.13).
- `delete-dmp`: the report of `extra["deletes_task"]` is found in the DMP (ITI-18) and set Deleted by an
  ITI-57 UpdateAvailabilityStatus (TD3.3, RIS.DMP/va1.09); `extra["recipients"]` get the preset warning
  message by MSSanté (SGL.MSS/va1.37).
- `send-partial` / `complete-report`: the partial lab report to the DMP and by MSSanté; then the complete one
  as its new version (RPLC, same setId), its PDF copy with the preset "annule et remplace" mention
  (SGL.MSS/va1.35).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from segur.fixtures.documents.pdf import make_pdf
from segur.kernel.ins import Ins
from segur.mocks.dmp.client import Coded, Defects

from . import annuaire, dmp, mssante
from .errors import ConfigError, RisError
from .outcome import Outcome
from .report import author_of, document_ids

#: the DMP's visibility codes and their names (CI-SIS JDV_J08-XdsConfidentialityCode-CISIS, codingScheme
#: 1.2.250.1.213.1.1.4.13, as the ANS ITI-41 sample for the DMP writes them: ../shared/ref/xds/)
VISIBILITY_SCHEME = "1.2.250.1.213.1.1.4.13"
VISIBILITY_DISPLAY = {"MASQUE_PS": "Masqué aux professionnels de santé",
                      "INVISIBLE_PATIENT": "Non visible par le patient",
                      "INVISIBLE_REPRESENTANTS_LEGAUX": "Non visible par les représentants légaux du patient"}
#: availability status of a deleted document (JDV_J52, CI-SIS; mocks/dmp/xds_metadata.py)
STATUS_DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
#: the preset mention of a new version of a lab report (REM SGL.MSS/va1.35)
CANCELS_REPLACES = "annule et remplace la version précédente"
#: the preset warning of a deleted report (REM SGL.MSS/va1.37)
WARNING_SUBJECT = "Suppression d'un compte rendu"
WARNING_TEXT = ("Bonjour,\n\nLe compte rendu n° {number} concernant {patient}, né(e) le {birth}, que vous "
                "avez reçu, a été supprimé par le laboratoire (document {document}). Merci de ne plus en "
                "tenir compte.\n\n"
                "Cordialement,\n-- message pré-paramétré du RIS de référence du harnais Ségur\n")
PARIS = ZoneInfo("Europe/Paris")


class Blocked(RisError):
    """The user blocked the DMP feed for this exam: the report was not sent, on purpose."""


def _client(run):
    professional, organisation = author_of(run.task)
    return dmp.client_for(run.config, professional, organisation)


def _open_dmp(run, identity):
    client = _client(run)
    ins = Ins(identity.ins, identity.oid)
    status = dmp.check_dmp(client, ins)
    run.step(f"DMP TD0.2: dmp={status.get('dmp')} autorisation={status.get('autorisation')}")
    return client, ins, status


# --- back-fill ----------------------------------------------------------------------------------------------
def feed_histo(run) -> Outcome:
    task = run.task
    identity = run.identity()
    client, _ins, _status = _open_dmp(run, identity)
    log = run.state.data.setdefault("histo", {}).setdefault(identity.ins, {})
    bulk = task.extra.get("mode") == "bulk"
    sent = 0
    for earlier in task.extra.get("documents") or []:
        ref = earlier["ref"]
        if bulk and ref in log and run.defect != "histo-resent":
            run.step(f"{ref}: fed already ({log[ref][-1]}), skipped")
            continue
        exam = datetime.fromisoformat(earlier["exam_date"])
        if run.defect == "histo-today-date":  # rebuilt today, dated today (the defect)
            exam = datetime.now(PARIS).replace(microsecond=0)
        document = run.report(identity, effective_time=exam)
        dmp.send(client, document)
        uid = document_ids(document)["id"]
        log.setdefault(ref, []).append(uid)
        run.state.save()
        sent += 1
        run.step(f"{ref} of {earlier['exam_date']}: DMP ITI-41 accepted ({uid})")
    fed = sum(len(uids) for uids in log.values())
    if run.defect == "histo-count-wrong":  # counts this feed only
        fed = sent
    detail = f"{sent} historical report(s) fed to the DMP; HISTO-FED={fed}"
    return Outcome(task.id, "DMP", identity.ins, detail, run.steps)


# --- blocked feeding ----------------------------------------------------------------------------------------
def blocked_dmp(run) -> Outcome:
    task = run.task
    identity = run.identity()
    document = run.report(identity)
    if run.defect == "blocked-still-sent":  # the blocking option is not read by the sending code
        client, _ins, _status = _open_dmp(run, identity)
        dmp.send(client, document)
        run.step("DMP ITI-41: accepted (the user's blocking ignored)")
        detail = f"{task.kind} report #{task.report_no} sent to DMP"
        return Outcome(task.id, "DMP", identity.ins, detail, run.steps)
    run.step(f"report {document_ids(document)['id']} written; DMP feed blocked by the user: not sent")
    raise Blocked(f"DMP feed blocked by the user for this exam: report #{task.report_no} was not sent")


# --- visibility --------------------------------------------------------------------------------------------
def send_with_visibility(run) -> Outcome:
    task = run.task
    asked = list(task.extra.get("visibility") or [])
    unknown = [code for code in asked if code not in VISIBILITY_DISPLAY]
    if unknown:
        raise ConfigError(f"unknown DMP visibility code(s) {unknown}; known: {', '.join(VISIBILITY_DISPLAY)}")
    identity = run.identity()
    client, _ins, _status = _open_dmp(run, identity)
    document = run.report(identity)
    codes = [] if run.defect == "mask-ignored" else [Coded(c, VISIBILITY_SCHEME, VISIBILITY_DISPLAY[c])
                                                     for c in asked]

    def with_visibility(_submission, entries):
        for entry in entries:
            entry.confidentiality_codes = [*entry.confidentiality_codes, *codes]

    dmp.send(client, document, Defects(mutate=with_visibility))
    run.state.remember_document(task.id, document_ids(document), identity)
    run.step(f"DMP ITI-41 with visibility {[c.code for c in codes] or 'none'}: accepted")
    return Outcome(task.id, "DMP", identity.ins, f"{task.kind} report #{task.report_no} sent to DMP with "
                f"visibility {', '.join(asked)}", run.steps)


# --- deletion ----------------------------------------------------------------------------------------------
def delete_dmp(run) -> Outcome:
    task = run.task
    wanted = task.extra.get("deletes_task")
    previous = run.state.document(wanted) if wanted else None
    if previous is None:
        raise ConfigError(f"no report of task {wanted} in the local state ({run.state.path}): nothing to "
                          "delete")
    identity = run.identity()
    if run.defect == "delete-not-sent":  # deleted from the local file only
        run.step(f"report {previous['id']} deleted locally; the DMP was not told")
    else:
        client, ins, status = _open_dmp(run, identity)
        entry = dmp.find_entry(client, ins, previous["id"], status)
        dmp.update_status(client, entry, STATUS_DELETED)
        run.step(f"DMP ITI-57: {previous['id']} Deleted")
    for recipient in task.extra.get("recipients") or []:
        if run.defect == "delete-no-warning":
            run.step(f"{recipient} not warned of the deletion")
            continue
        warn(run, identity, recipient, previous)
    return Outcome(task.id, "DMP", identity.ins, f"report {previous['id']} of {wanted} deleted from the DMP",
                run.steps)


def _sender(run) -> str:
    sender = run.task.extra.get("sender") or run.config.sender
    if not sender:
        raise ConfigError("no sending mailbox: the task names none and the configuration has no [mssante] "
                          "sender")
    return sender


def warn(run, identity, recipient: str, previous: dict) -> None:
    """The preset message telling a recipient the report was deleted (no report attached)."""
    task = run.task
    sender = _sender(run)
    annuaire.check_recipient(run.config, recipient, run.step)
    message = EmailMessage()
    message["From"], message["To"] = sender, recipient
    message["Subject"] = WARNING_SUBJECT
    message["Date"] = format_datetime(datetime.now(PARIS))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "reference-ris.local")
    message["X-MSS-NIL"] = run.config.nil
    patient = f"{identity.birth_name} {(identity.first_names.split() or [''])[0]}"
    message.set_content(WARNING_TEXT.format(number=task.report_no, birth=identity.birth_date, patient=patient,
                                            document=previous["id"]))
    mssante.send(run.config, message, sender, recipient)
    run.step(f"MSSanté: deletion warning sent to {recipient}")


# --- partial then complete (lab) ----------------------------------------------------------------------------
def _to_recipient(run, identity, document: bytes) -> None:
    task = run.task
    sender = _sender(run)
    annuaire.check_recipient(run.config, task.recipient, run.step)
    code = "11502-2" if task.kind == "CR-BIO" else "18748-4"
    overrides = {"format_code": mssante.format_code_of(document)}
    message = mssante.build_message(sender, task.recipient, document, identity, code, nil=run.config.nil,
                                    xdm_overrides=overrides)
    mssante.send(run.config, message, sender, task.recipient)
    run.step(f"MSSanté: sent from {sender} to {task.recipient}")


def send_partial(run) -> Outcome:
    task = run.task
    identity = run.identity()
    client, _ins, _status = _open_dmp(run, identity)
    document = run.report(identity)
    dmp.send(client, document)
    run.state.remember_document(task.id, document_ids(document), identity)
    run.step("DMP ITI-41 (partial report): accepted")
    _to_recipient(run, identity, document)
    return Outcome(task.id, f"DMP and {task.recipient}", identity.ins,
                f"partial {task.kind} report #{task.report_no} sent to the DMP and {task.recipient}",
                run.steps)


def complete_report(run) -> Outcome:
    task = run.task
    wanted = task.extra.get("completes_task")
    previous = run.state.document(wanted) if wanted else None
    if previous is None:
        raise ConfigError(f"no report of task {wanted} in the local state ({run.state.path}): nothing to "
                          "complete")
    identity = run.identity()
    client, ins, status = _open_dmp(run, identity)
    # the mention goes in the report's PDF copy: the CR-BIO volet fixes the title ("Compte rendu d'examens
    # biologiques", Entete_CR-BIO), so a title carrying it is refused by the official pack
    mention = {} if run.defect == "no-cancel-mention" else {"pdf": cancels_replaces_pdf(identity, task)}
    if run.defect == "partial-new-set-id":  # the complete report sent as a new document
        document = run.report(identity, **mention)
        dmp.send(client, document)
        run.step("DMP ITI-41 (complete report, new document): accepted")
    else:
        document = run.report(identity, previous, **mention)
        dmp.replace(client, ins, previous["id"], document, None, status)
        run.step(f"DMP ITI-41 RPLC of {previous['id']} (complete report): accepted")
    run.state.remember_document(task.id, document_ids(document), identity)
    _to_recipient(run, identity, document)
    return Outcome(task.id, f"DMP and {task.recipient}", identity.ins,
                f"complete {task.kind} report #{task.report_no} sent to the DMP and {task.recipient}, "
                f"replacing {previous['id']}", run.steps)


def cancels_replaces_pdf(identity, task) -> bytes:
    """The complete lab report's PDF copy, naming its patient and saying it cancels and replaces the
    partial one (SGL.MSS/va1.35: a preset mention in the report)."""
    return make_pdf("Compte rendu d'examens biologiques", [
        f"Patient : {identity.birth_name} {identity.first_names}", f"INS : {identity.ins}",
        f"Compte rendu complet n° {task.report_no} : {CANCELS_REPLACES}."])


ACTIONS = {"feed-histo": feed_histo, "blocked-dmp": blocked_dmp, "send-dmp-visibility": send_with_visibility,
            "delete-dmp": delete_dmp, "send-partial": send_partial, "complete-report": complete_report}
