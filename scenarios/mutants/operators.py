"""Mutation operators: each changes one thing at one wire point of the reference RIS (`reference_ris.wire`).

An operator is `apply(value, context) -> value | None`: the mutated value, or None when there was nothing
to change (the field is absent: the mutant is then reported *not applied*, never counted as killed).
`context` carries the task (`context["task"]`) and `others`, the test world's facts a mutant substitutes:
another patient, another professional, another mailbox (`Others`).
"""

from __future__ import annotations

import base64
import copy
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

from lxml import etree

from segur.fixtures.documents.pdf import make_pdf
from segur.kernel.ins import OID_NIA, OID_NIR, OID_NIR_TEST, nir_key

# the product's side: a mutant rebuilds the IHE_XDM.ZIP the reference RIS sends with the harness's writer
from segur.mocks.mssante.xdm import build_xdm

HL7 = "urn:hl7-org:v3"
NS = {"h": HL7}
Operator = Callable[[object, dict], object]
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


# --- what a mutant puts in place of the right value -------------------------------------------------------
@dataclass
class Others:
    """The world's facts a mutant substitutes for the task's own (another patient, professional, mailbox)."""

    world: object
    plan_patients: frozenset[str]

    @cached_property
    def patient(self):
        """A real patient of the world with an open DMP, not in the plan: their INS is a valid one."""
        return next(p for p in sorted(self.world.patients, key=lambda p: p.key)
                    if p.key not in self.plan_patients and p.has_dmp and not p.dmp_closed
                    and not p.homonym_group and not p.known_defects and not p.is_nia)

    @cached_property
    def professional(self):
        return sorted(self.world.professionals, key=lambda p: p.key)[-1]

    def mailbox(self, not_this: str) -> str:
        """An open professional mailbox other than `not_this`."""
        return next(m.address for m in sorted(self.world.mailboxes, key=lambda m: m.address)
                    if m.owner_type == "professional" and m.accepts_messages
                    and m.address != not_this.lower())


def other_digit_ins(ins: str) -> str:
    """Another NIR (one digit of the commune changed) with a key that checks: somebody else's INS."""
    nir = ins[:13]
    digit = nir[9]
    nir = nir[:9] + str((int(digit) + 1) % 10 if digit.isdigit() else 1) + nir[10:]
    return nir + nir_key(nir)


def wrong_key_ins(ins: str) -> str:
    return ins[:13] + f"{(int(ins[13:] or 0) + 1) % 100:02d}"


def other_ins_oid(oid: str) -> str:
    return OID_NIA if oid in (OID_NIR, OID_NIR_TEST) else OID_NIR


def day_after(value: str) -> str:
    """A HL7 (YYYYMMDD…) or ISO (YYYY-MM-DD) date one day later, the rest kept."""
    iso = "-" in value[:10]
    text = value[:10] if iso else value[:8]
    day = date.fromisoformat(text if iso else f"{text[:4]}-{text[4:6]}-{text[6:8]}") + timedelta(days=1)
    new = day.isoformat() if iso else day.strftime("%Y%m%d")
    return new + value[len(text):]


def next_year(value: str) -> str:
    return f"{int(value[:4]) + 1}{value[4:]}"


def other_sex(value: str) -> str:
    return {"M": "F", "F": "M", "1": "2", "2": "1"}.get(value, "M")


def other_name(value: str) -> str:
    return "MARTIN" if value.upper() != "MARTIN" else "DURAND"


# --- CDA (bytes) ------------------------------------------------------------------------------------------
def _on_cda(change: Callable[[etree._Element, dict], bool]) -> Operator:
    def apply(document: bytes, context: dict):
        root = etree.fromstring(document, PARSER)
        if not change(root, context):
            return None
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return apply


def cda_attr(xpath: str, attribute: str, new: Callable[[str, dict], str] | str) -> Operator:
    """Every `attribute` of the elements at `xpath` replaced (`new(old, context)` or a constant)."""
    def change(root, context) -> bool:
        found = [e for e in root.xpath(xpath, namespaces=NS) if e.get(attribute) is not None]
        for element in found:
            element.set(attribute, new(element.get(attribute), context) if callable(new) else new)
        return bool(found)
    return _on_cda(change)


def cda_text(xpath: str, new: Callable[[str, dict], str] | str) -> Operator:
    def change(root, context) -> bool:
        found = root.xpath(xpath, namespaces=NS)
        for element in found:
            element.text = new(element.text or "", context) if callable(new) else new
        return bool(found)
    return _on_cda(change)


def cda_drop(xpath: str) -> Operator:
    def change(root, context) -> bool:
        found = root.xpath(xpath, namespaces=NS)
        for element in found:
            element.getparent().remove(element)
        return bool(found)
    return _on_cda(change)


PDF_XPATH = ".//h:*[@mediaType='application/pdf'][@representation='B64']"


def cda_pdf(new: Callable[[bytes, dict], bytes]) -> Operator:
    """The PDF the CDA carries (base64) replaced by `new(pdf, context)`."""
    def change(root, context) -> bool:
        found = root.xpath(PDF_XPATH, namespaces=NS)
        for element in found:
            pdf = base64.b64decode("".join((element.text or "").split()))
            element.text = base64.b64encode(new(pdf, context)).decode("ascii")
        return bool(found)
    return _on_cda(change)


def other_patient_pdf(pdf: bytes, context: dict) -> bytes:
    """A well-formed PDF report naming another patient of the world."""
    other = context["others"].patient
    return make_pdf("Compte rendu d'imagerie", [f"Patient : {other.birth_name} {other.first_names}",
                                                f"Né(e) le {other.birth_date}", "Pas d'anomalie décelable."])


def truncated_pdf(pdf: bytes, context: dict) -> bytes:
    return pdf[: len(pdf) // 2]


def not_a_pdf(pdf: bytes, context: dict) -> bytes:
    return b"Compte rendu d'imagerie (texte brut, pas un PDF)\n"


# --- XDS metadata (the DMP client's Defects) --------------------------------------------------------------
def xds(change: Callable[[object, list, dict], bool]) -> Operator:
    """`change(submission_set, entries, context)` run by the DMP client on the ITI-41 metadata it built."""
    def apply(defects, context: dict):
        defects = copy.copy(defects)
        earlier = defects.mutate

        def mutate(ss, entries):
            if earlier is not None:
                earlier(ss, entries)
            try:
                if change(ss, entries, context):
                    context["applied"]()
            except Exception as exc:  # noqa: BLE001 - an operator's own bug must not pass for a kill
                context["error"](exc)
        defects.mutate = mutate
        context["deferred"]()  # applied only if the metadata had the field: `mutate` says so
        return defects
    return apply


def xds_entry(field: str, new: Callable[[object, dict], object]) -> Operator:
    """Each document entry's `field` replaced by `new(old, context)` (None or [] when absent: not applied)."""
    def change(ss, entries, context) -> bool:
        done = False
        for entry in entries:
            old = getattr(entry, field)
            if old in (None, [], ""):
                continue
            setattr(entry, field, new(old, context))
            done = True
        return done
    return xds(change)


def xds_submission(field: str, new: Callable[[object, dict], object]) -> Operator:
    def change(ss, entries, context) -> bool:
        old = getattr(ss, field)
        if old in (None, [], ""):
            return False
        setattr(ss, field, new(old, context))
        return True
    return xds(change)


def coded(code: str, scheme: str | None = None) -> Callable[[object, dict], object]:
    def new(old, context):
        return type(old)(code, scheme or old.scheme, "")
    return new


def pid_field(number: int, new: Callable[[str, dict], str]) -> Callable[[list, dict], list]:
    """sourcePatientInfo (`PID-5|…`, `PID-7|…`, `PID-8|…`): the PID-`number` value replaced."""
    def change(values: list, context) -> list:
        out = []
        for value in values:
            prefix = f"PID-{number}|"
            out.append(prefix + new(value[len(prefix):], context) if value.startswith(prefix) else value)
        return out
    return change


def xds_pid(number: int, new: Callable[[str, dict], str]) -> Operator:
    def change(ss, entries, context) -> bool:
        done = False
        for entry in entries:
            if any(v.startswith(f"PID-{number}|") for v in entry.source_patient_info):
                entry.source_patient_info = pid_field(number, new)(entry.source_patient_info, context)
                done = True
        return done
    return xds(change)


def xcn_family(value: str, context) -> str:
    parts = value.split("^")
    parts[0] = context["others"].professional.idnps
    return "^".join(parts)


def pid5_family(value: str, context) -> str:
    parts = value.split("^")
    parts[0] = other_name(parts[0])
    return "^".join(parts)


# --- the MSSanté message (EmailMessage) -------------------------------------------------------------------
def header(name: str, new: Callable[[str, dict], str | None] | str | None) -> Operator:
    """Header `name` replaced (`new` returns None: removed)."""
    def apply(message, context):
        old = message.get(name)
        if old is None:
            return None
        value = new(str(old), context) if callable(new) else new
        del message[name]
        if value is not None:
            message[name] = value
        return message
    return apply


def _attachment(message, filename: str):
    return next((p for p in message.iter_attachments()
                 if (p.get_filename() or "").upper() == filename.upper()), None)


def attachment(filename: str, new: Callable[[bytes, dict], bytes | None], *,
               rename: str | None = None) -> Operator:
    """The attachment `filename`'s content replaced by `new(content, context)`; None removes it."""
    def apply(message, context):
        part = _attachment(message, filename)
        if part is None:
            return None
        content = new(part.get_content(), context)
        if content is None:
            message.get_payload().remove(part)
            return message
        maintype, subtype = part.get_content_type().split("/")
        part.set_content(content, maintype=maintype, subtype=subtype, filename=rename or part.get_filename())
        return message
    return apply


#: a document of an IHE_XDM.ZIP (ITI TF-3 4.2.1: IHE_XDM/<subset>/DOCnnnn.XML)
XDM_DOCUMENT = re.compile(r"IHE_XDM/[^/]+/DOC\d+\.XML$", re.IGNORECASE)


def _xdm_documents(package: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return [archive.read(n) for n in archive.namelist() if XDM_DOCUMENT.search(n)]


def xdm_overrides(**overrides) -> Operator:
    """The IHE_XDM.ZIP rebuilt from its CDA with metadata `overrides` (`segur.mocks.mssante.xdm.build_xdm`);
    a callable value is `f(document, context)`."""
    def new(package: bytes, context):
        documents = _xdm_documents(package)
        return build_xdm([(doc, {k: v(doc, context) if callable(v) else v for k, v in overrides.items()})
                          for doc in documents])
    return attachment("IHE_XDM.ZIP", new)


def xdm_metadata_text(pattern: str, replacement: Callable[[re.Match, dict], str]) -> Operator:
    """METADATA.XML of the IHE_XDM.ZIP edited in place (a regular expression over its text)."""
    def new(package: bytes, context):
        source = zipfile.ZipFile(io.BytesIO(package))
        buffer = io.BytesIO()
        changed = False
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for name in source.namelist():
                data = source.read(name)
                if name.upper().endswith("METADATA.XML"):
                    text, count = re.subn(pattern, lambda m: replacement(m, context), data.decode("utf-8"))
                    changed, data = count > 0, text.encode("utf-8")
                out.writestr(name, data)
        if not changed:
            raise NotApplied
        return buffer.getvalue()
    return attachment("IHE_XDM.ZIP", new)


def xdm_add_other_patient_document(package: bytes, context) -> bytes:
    """A second CDA in the archive, for another patient (one message, two patients)."""
    documents = _xdm_documents(package)
    other = context["others"].patient
    first = etree.fromstring(documents[0], PARSER)
    for element in first.xpath(".//h:recordTarget/h:patientRole/h:id", namespaces=NS):
        element.set("extension", other.ins)
        element.set("root", other.oid)
    for element in first.xpath("h:id", namespaces=NS):
        element.set("root", element.get("root") + "1")
    second = etree.tostring(first, xml_declaration=True, encoding="UTF-8")
    return build_xdm([(doc, None) for doc in documents] + [(second, None)])


class NotApplied(Exception):
    """The operator found nothing to change."""


# --- envelope, recipient, INSi request --------------------------------------------------------------------
def envelope_recipient(new: Callable[[str, dict], str]) -> Operator:
    def apply(value, context):
        sender, recipient = value
        return sender, new(recipient, context)
    return apply


def envelope_sender(new: Callable[[str, dict], str | None]) -> Operator:
    def apply(value, context):
        sender, recipient = value
        changed = new(sender, context)
        return None if changed is None else (changed, recipient)
    return apply


def insi_argument(name: str, new: Callable[[object, dict], object] | None, *, operation: str | None = None
                  ) -> Operator:
    """The INSi search argument `name` replaced (`new` None: left out); only for `operation` when given."""
    def apply(arguments: dict, context):
        if operation and context.get("operation") != operation:
            return None
        if name not in arguments:
            return None
        arguments = dict(arguments)
        if new is None:
            del arguments[name]
        else:
            arguments[name] = new(arguments[name], context)
        return arguments
    return apply
