"""The DMP's metadata value sets and correspondence tables, loaded from this package's data files.

Each file of `data/` is a fact sheet with its `source`, `version`, `date` and `status`:
``published`` (the DMP set itself), ``fallback`` (the DMP set could not be found; the CI-SIS set the
ANS binding texts name as default stands in for it) or ``partial`` (part of the set is enumerated,
the rest checked by shape only). `data/regenerate.py` rebuilds them from ../shared/ref. A
finding that relies on a fallback set says so, so nobody mistakes it for the DMP's own verdict.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

#: Keys of the value sets, by XDS attribute.
BY_ATTRIBUTE = {
    "classCode": "J57",
    "typeCode": "J66",
    "formatCode": "J60",
    "healthcareFacilityTypeCode": "J61",
    "practiceSettingCode": "J62",
    "confidentialityCode": "J58",
    "contentTypeCode": "J59",
    "availabilityStatus": "J52",
}

#: Code systems (XDS codingScheme / CDA codeSystem) the rules name.
SYSTEM_SECTEUR_ACTIVITE = "1.2.250.1.71.4.2.4"  # TRE_R02-SecteurActivite
SYSTEM_HL7_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
SYSTEM_DMP_CONFIDENTIALITY = "1.2.250.1.213.1.1.4.13"
SYSTEM_LOINC = "2.16.840.1.113883.6.1"
SYSTEM_CLASS = "1.2.250.1.213.1.1.4.1"  # TRE_A03-ClasseDocument
SYSTEM_IHE_FORMAT = "1.3.6.1.4.1.19376.1.2.3"  # TRE_A11-IheFormatCode
SYSTEM_CISIS_FORMAT = "1.2.250.1.213.1.1.4.2.282"  # TRE_A06-FormatCodeComplementaire


@dataclass(frozen=True)
class Concept:
    code: str
    system: str
    display: str = ""


@dataclass(frozen=True)
class OpenSystem:
    """A code system whose members are accepted by shape only (no enumerated copy was available)."""

    system: str
    pattern: str
    name: str = ""

    def accepts(self, code: str) -> bool:
        return re.fullmatch(self.pattern, code) is not None


@dataclass(frozen=True)
class ValueSet:
    key: str
    name: str
    published_as: str
    status: str
    oid: str | None
    version: str
    date: str
    source: str
    note: str
    concepts: tuple[Concept, ...]
    open_systems: tuple[OpenSystem, ...] = ()
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for concept in self.concepts:
            self._index.setdefault(concept.code, []).append(concept)

    def contains(self, code: str, system: str | None = None) -> bool:
        """Whether `code` (in `system`, when given) is a member of the set."""
        if any(system is None or c.system == system for c in self._index.get(code, ())):
            return True
        return any((system is None or o.system == system) and o.accepts(code) for o in self.open_systems)

    def systems_of(self, code: str) -> list[str]:
        return [c.system for c in self._index.get(code, ())]

    def concept(self, code: str, system: str | None = None) -> Concept | None:
        for c in self._index.get(code, ()):
            if system is None or c.system == system:
                return c
        return None

    @property
    def systems(self) -> list[str]:
        seen = dict.fromkeys(c.system for c in self.concepts)
        seen.update(dict.fromkeys(o.system for o in self.open_systems))
        return list(seen)

    @property
    def basis(self) -> str:
        """How far a verdict on this set can be trusted, said in the finding."""
        if self.status == "published":
            return f" (version {self.version})"
        return f" (checked against {self.published_as} {self.version}, standing in for it: {self.status})"


@dataclass(frozen=True)
class Mapping:
    code: str
    system: str
    target: str
    target_system: str
    equivalence: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class ConceptMap:
    key: str
    name: str
    version: str
    date: str
    source: str
    note: str
    mappings: tuple[Mapping, ...]

    def targets(self, code: str, system: str | None = None) -> list[Mapping]:
        return [m for m in self.mappings if m.code == code and (system is None or m.system == system)]


def _read(key: str) -> dict:
    return json.loads((DATA / f"{key}.json").read_text(encoding="utf-8"))


@cache
def value_set(key: str) -> ValueSet:
    data = _read(key)
    return ValueSet(
        key=data["key"], name=data["name"], published_as=data.get("published_as", data["name"]),
        status=data["status"], oid=data.get("oid"), version=data["version"], date=data["date"],
        source=data["source"], note=data.get("note", ""),
        concepts=tuple(Concept(c["code"], c["system"], c.get("display", "")) for c in data["concepts"]),
        open_systems=tuple(OpenSystem(o["system"], o["pattern"], o.get("name", ""))
                           for o in data.get("open_systems", ())),
    )


@cache
def concept_map(key: str) -> ConceptMap:
    data = _read(key)
    return ConceptMap(
        key=data["key"], name=data["name"], version=data["version"], date=data["date"], source=data["source"],
        note=data.get("note", ""),
        mappings=tuple(Mapping(m["code"], m["system"], m["target"], m["target_system"], m.get("equivalence"),
                               m.get("comment", "")) for m in data["mappings"]),
    )


def for_attribute(attribute: str) -> ValueSet:
    return value_set(BY_ATTRIBUTE[attribute])


def all_value_sets() -> list[ValueSet]:
    return [value_set(key) for key in sorted(set(BY_ATTRIBUTE.values()))]


def class_for_type(code: str, system: str | None = None) -> Concept | None:
    """ASS_X04: the classCode a document typeCode belongs to; None when the table does not list it."""
    for m in concept_map("ASS_X04").targets(code, system):
        return Concept(m.target, m.target_system)
    return None


#: CDA N1 (non-structured body) content model and the media types ASS_A11 maps to an xds-sd formatCode.
TEMPLATE_CDA_N1 = "1.3.6.1.4.1.19376.1.2.20"
_N1_BY_MEDIA_TYPE = {
    "application/pdf": "urn:ihe:iti:xds-sd:pdf:2008",
    "text/plain": "urn:ihe:iti:xds-sd:text:2008",
    "text/rtf": "urn:ihe:iti-fr:xds-sd:rtf:2010",
    "image/jpeg": "urn:ihe:iti-fr:xds-sd:jpeg:2010",
    "image/tiff": "urn:ihe:iti-fr:xds-sd:tiff:2010",
}


def format_codes_for_templates(template_ids: list[str]) -> list[Concept]:
    """ASS_A11: the formatCodes a structured CDA's templateIds call for (in the map's order)."""
    table = concept_map("ASS_A11")
    found: list[Concept] = []
    for template in template_ids:
        if template == TEMPLATE_CDA_N1:
            continue
        for m in table.targets(template):
            concept = Concept(m.target, m.target_system)
            if concept not in found:
                found.append(concept)
    return found


def format_code_for_n1(media_type: str) -> Concept | None:
    """ASS_A11 (group CDA non structuré → xds-sd): the formatCode of a CDA N1 embedding `media_type`."""
    target = _N1_BY_MEDIA_TYPE.get(media_type.lower())
    if target is None:
        return None
    listed = {m.target for m in concept_map("ASS_A11").targets(TEMPLATE_CDA_N1)}
    return Concept(target, SYSTEM_IHE_FORMAT) if target in listed else None
