"""Value sets the user gives (``--value-set [ROLE=]FILE``): the reference lists the official pack
does not ship, such as ANS's biology LOINC set ("JDV Circuit de la biologie").

Accepted formats:

- IHE SVS XML (ITI TF-2 §3.48, namespace ``urn:ihe:iti:svs:2008``), the format of the pack's
  ``jeuxDeValeurs/`` files: ``RetrieveValueSetResponse/ValueSet[@id, @displayName]/ConceptList/
  Concept[@code, @codeSystem]`` (a bare ``ValueSet`` root is accepted too);
- FHIR R4 JSON ``ValueSet`` (``compose.include[].system`` + ``concept[].code``, and/or
  ``expansion.contains[]``) or ``CodeSystem`` (``url`` + nested ``concept[].code``), the shape of
  ANS's terminology guide (``ansforge/IG-terminologie-de-sante``, copies in ../shared/ref/terminologies).
  FHIR systems are turned into OIDs (``http://loinc.org`` → 2.16.840.1.113883.6.1, ``urn:oid:X`` → X).

A file is used for a role (today only ``bio-results``, the CR-BIO result codes). The role is written
before the file (``bio-results=circuit-bio.xml``) or recognised from the value set's name when it
names the "circuit de la biologie". ANS publishes that set on its terminology server
(https://smt.esante.gouv.fr/terminologie-jeu-de-valeurs-circuit-de-la-biologie/) and on bioloinc.fr;
no public source found gives it an OID, so the role is not recognised by OID.
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

LOINC = "2.16.840.1.113883.6.1"
BIO_RESULTS = "bio-results"
ROLES = {BIO_RESULTS: "the CR-BIO result codes (ANS 'JDV Circuit de la biologie', LOINC)"}
#: FHIR code-system URLs of the systems a Ségur document uses, as the OIDs a CDA document writes.
FHIR_SYSTEMS = {"http://loinc.org": LOINC, "http://snomed.info/sct": "2.16.840.1.113883.6.96"}
MAX_BYTES = 200 * 1024 * 1024  # LOINC Biologie FR (~57,000 codes) is far below


class ValueSetError(ValueError):
    """A value-set file that cannot be used: a usage error (exit code 2)."""


@dataclass(frozen=True)
class UserValueSet:
    role: str
    path: Path
    name: str  # the value set's own name (displayName, name or title), for messages
    oid: str  # its OID (SVS @id, FHIR identifier urn:oid:…), "" when it has none
    concepts: frozenset[tuple[str, str]]  # (code, codeSystem OID)

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return pair in self.concepts

    @property
    def label(self) -> str:
        """How messages name it: ``'JDV …' (OID, file.xml)``."""
        details = [part for part in (self.oid, self.path.name if self.name else "") if part]
        return f"'{self.name or self.path.name}'" + (f" ({', '.join(details)})" if details else "")


def load_value_sets(specs) -> dict[str, UserValueSet]:
    """``{role: UserValueSet}`` from ``[ROLE=]FILE`` specs; a role given twice is a usage error."""
    loaded: dict[str, UserValueSet] = {}
    for spec in specs or ():
        value_set = load_value_set(spec)
        if value_set.role in loaded:
            raise ValueSetError(f"two value sets for {value_set.role}: {loaded[value_set.role].path} and "
                                f"{value_set.path}")
        loaded[value_set.role] = value_set
    return loaded


def load_value_set(spec: str | Path) -> UserValueSet:
    role, path = split_spec(spec)
    name, oid, concepts = _read(path.resolve(), _mtime(path))
    if not concepts:
        raise ValueSetError(f"value set {path}: no concept with a code found")
    if role is None:
        role = role_of(name)
        if role is None:
            raise ValueSetError(f"value set {path} ({name or 'no name'}): cannot tell what it is for; write "
                                f"the role before the file, e.g. --value-set {BIO_RESULTS}={path}")
    return UserValueSet(role, path, name, oid, concepts)


def split_spec(spec: str | Path) -> tuple[str | None, Path]:
    """``"bio-results=x.xml"`` → (``"bio-results"``, x.xml); ``"x.xml"`` → (None, x.xml)."""
    text = str(spec)
    head, sep, tail = text.partition("=")
    if sep and re.fullmatch(r"[a-z][a-z0-9-]*", head):
        if head not in ROLES:
            raise ValueSetError(f"unknown value-set role {head!r}; known: {', '.join(sorted(ROLES))}")
        return head, Path(tail).expanduser()
    return None, Path(text).expanduser()


def role_of(name: str) -> str | None:
    """The role a value set's own name designates: the "circuit de la biologie" is the result set."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z]+", " ", re.sub(r"([a-z])([A-Z])", r"\1 \2", folded).lower()).split()
    return BIO_RESULTS if "circuit" in words and any(w.startswith("biolog") for w in words) else None


def _mtime(path: Path) -> float:
    try:
        if not path.is_file():
            raise ValueSetError(f"value set {path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise ValueSetError(f"value set {path}: larger than {MAX_BYTES // 1024 // 1024} MB")
        return path.stat().st_mtime
    except OSError as exc:
        raise ValueSetError(f"value set {path}: {exc.strerror or exc}") from None


@cache
def _read(path: Path, _mtime: float) -> tuple[str, str, frozenset[tuple[str, str]]]:
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)  # exports from Windows tools often carry one
    start = data.lstrip()[:1]
    if start == b"<":
        return _read_svs(path, data)
    if start == b"{":
        return _read_fhir(path, data)
    raise ValueSetError(f"value set {path}: neither XML (IHE SVS) nor JSON (FHIR ValueSet/CodeSystem)")


def _read_svs(path: Path, data: bytes):
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueSetError(f"value set {path}: not well-formed XML ({exc})") from None
    value_set = root if etree.QName(root).localname == "ValueSet" else root.find("{*}ValueSet")
    if value_set is None:
        raise ValueSetError(f"value set {path}: XML without an IHE SVS ValueSet element (root "
                            f"{etree.QName(root).localname})")
    concepts = set()
    for concept in value_set.iter("{*}Concept"):
        code, system = concept.get("code"), concept.get("codeSystem")
        if code and not system:
            raise ValueSetError(f"value set {path}: Concept {code} has no codeSystem "
                                f"(line {concept.sourceline})")
        if code:
            concepts.add((code, system))
    name = value_set.get("displayName") or value_set.get("name") or ""
    return name, value_set.get("id", ""), frozenset(concepts)


def _read_fhir(path: Path, data: bytes):
    try:
        resource = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueSetError(f"value set {path}: not valid JSON ({exc})") from None
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if kind == "ValueSet":
        concepts = _fhir_value_set_concepts(path, resource)
    elif kind == "CodeSystem":
        system = _oid(resource.get("url") or "")
        concepts = {(code, system) for code in _nested_codes(resource.get("concept") or [])}
    else:
        raise ValueSetError(f"value set {path}: JSON but not a FHIR ValueSet or CodeSystem "
                            f"(resourceType {kind!r})")
    name = resource.get("name") or resource.get("title") or resource.get("id") or ""
    return name, _fhir_oid(resource), frozenset(concepts)


def _fhir_value_set_concepts(path: Path, resource: dict) -> set[tuple[str, str]]:
    concepts = set()
    for include in (resource.get("compose") or {}).get("include") or []:
        if include.get("filter") or include.get("valueSet"):
            raise ValueSetError(f"value set {path}: compose.include by filter or valueSet needs a "
                                "terminology server; give its expansion (expansion.contains) or the codes")
        system = _oid(include.get("system") or "")
        concepts |= {(c["code"], system) for c in include.get("concept") or [] if c.get("code")}
    contains = list((resource.get("expansion") or {}).get("contains") or [])
    while contains:
        item = contains.pop()
        contains.extend(item.get("contains") or [])
        if item.get("code"):
            concepts.add((item["code"], _oid(item.get("system") or "")))
    return concepts


def _nested_codes(concepts: list) -> list[str]:
    codes, stack = [], list(concepts)
    while stack:
        concept = stack.pop()
        stack.extend(concept.get("concept") or [])
        if concept.get("code"):
            codes.append(concept["code"])
    return codes


def _oid(system: str) -> str:
    """A FHIR code-system URL as the OID a CDA document writes in @codeSystem."""
    return FHIR_SYSTEMS.get(system.rstrip("/"), system.removeprefix("urn:oid:"))


def _fhir_oid(resource: dict) -> str:
    identifiers = resource.get("identifier") or []
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    for identifier in identifiers:
        value = str(identifier.get("value") or "")
        if value.startswith("urn:oid:"):
            return value.removeprefix("urn:oid:")
    return ""
