"""Which CI-SIS volet a document belongs to (profile ``auto``), and which packs apply.

Every CI-SIS content volet gives its documents a document-level templateId under
``1.2.250.1.213.1.1.1`` (often with ``@extension`` = the volet version) and a LOINC document
code. Most volet packs assert that templateId on ``cda:ClinicalDocument`` in their ``Entete_*``
pattern (e.g. ``schematrons/include/specificationsVolets/IMG-CR-IMG_2024.01/Entete/Entete_IMG-CR-IMG.sch``
asserts ``1.2.250.1.213.1.1.1.45`` and code ``18748-4``); a few (BIO-CR-BIO, LDL-*, VAC-NOTE,
OPH-CR-RTN…) do not, so the mapping is kept here as data, checked against the packs and the
examples by ``tests/validators/test_validate_profiles.py``.

Sources: the Entete patterns of the volet packs and the examples in ``ExemplesCDA/`` of
ansforge/TestContenuCDA-3-0 @ 7cd489b (see ../shared/ref/README.md); CI-SIS volet specifications
(e.g. "CI-SIS Volet Compte rendu d'imagerie médicale" for 1.2.250.1.213.1.1.1.45 / 18748-4,
"CI-SIS Volet Compte rendu d'examens de biologie médicale" for 1.2.250.1.213.1.1.1.55 / 11502-2).

Rules of `auto`:
- a document whose body is ``nonXMLBody`` (N1) gets the common pack only (the volet packs
  check the structured body of N3 documents; README: the N1 radiology example reports 8 errors
  if the N3 pack is forced on it);
- an N3 document gets its volet's pack, found by its volet templateId, or, without a volet
  templateId, by its LOINC code when exactly one volet claims that code or when the code is one
  of the Ségur volets' (18748-4 → IMG-CR-IMG although the breast-screening volets CANCER-D2LM-*
  share it; 11502-2 → BIO-CR-BIO): a CR-IMG that forgot its templateId is still held to the CR-IMG
  pack (whose header pattern reports the missing templateId). Otherwise only the common pack runs
  and the report says so;
- the version: the templateId's ``@extension`` when that version's pack is usable; else (no
  ``@extension``, as in the BIO-CR-BIO 2021.01 and 2024.01 TSH examples, or an unusable one) the
  version whose pack knows the most of the templateIds the document declares, when those tell the
  versions apart (a CR-BIO with the 2024.01 PDF-copy section 1.2.250.1.213.1.1.2.243 gets 2024.01);
  when they do not, the latest usable version (a 2021.01 document without @extension cannot be
  told from a 2024.01 one missing its new sections). ``Selection.reason`` says which and why.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from segur.validators.pack_closure import closure_and_digest

CDA_NS = "urn:hl7-org:v3"
LOINC = "2.16.840.1.113883.6.1"  # HL7 OID of LOINC
COMMON_PACK = Path("schematrons/profils/CI-SIS_ModelesDeContenusCDA.sch")

# volet family (as in CI-SIS_<family>_<version>.sch) -> (document templateId root, LOINC codes)
VOLETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "IMG-CR-IMG": ("1.2.250.1.213.1.1.1.45", ("18748-4",)),      # Compte rendu d'imagerie médicale
    "IMG-DA-IMG": ("1.2.250.1.213.1.1.1.47", ("55115-0",)),      # Demande d'acte d'imagerie
    "BIO-CR-BIO": ("1.2.250.1.213.1.1.1.55", ("11502-2",)),      # CR d'examens de biologie médicale
    "BIO-TROD": ("1.2.250.1.213.1.1.1.59", ("96173-0",)),        # Tests rapides d'orientation diagnostique
    "ANEST-CR-ANEST": ("1.2.250.1.213.1.1.1.40", ("77436-4",)),
    "ANEST-CR-CPA": ("1.2.250.1.213.1.1.1.41", ("34749-2",)),
    "AVC-AUNV": ("1.2.250.1.213.1.1.1.15", ("34133-9",)),
    "AVC-EUNV": ("1.2.250.1.213.1.1.1.16", ("34133-9",)),
    "AVC-PAVC": ("1.2.250.1.213.1.1.1.25", ("11488-4",)),
    "AVC-SUNV": ("1.2.250.1.213.1.1.1.17", ("34133-9",)),
    "CANCER-CR-GM": ("1.2.250.1.213.1.1.1.32", ("51969-4",)),
    "CANCER-D2LM-FIDD": ("1.2.250.1.213.1.1.1.28", ("18748-4",)),
    "CANCER-D2LM-FIN": ("1.2.250.1.213.1.1.1.27", ("18748-4",)),
    "CANCER-FRCP": ("1.2.250.1.213.1.1.1.8", ("34794-8",)),
    "CANCER-PPS": ("1.2.250.1.213.1.1.1.26", ("18776-5",)),
    "CARD-F-PRC-AVK": ("1.2.250.1.213.1.1.1.2.1.1", ("34133-9",)),
    "CARD-F-PRC-TAP": ("1.2.250.1.213.1.1.1.2.1.2", ("34133-9",)),
    "CARD-F-PRC-DCI": ("1.2.250.1.213.1.1.1.2.1.3", ("34133-9",)),
    "CARD-F-PRC-PSC": ("1.2.250.1.213.1.1.1.2.1.4", ("34133-9",)),
    "CARD-F-PRC-PPV": ("1.2.250.1.213.1.1.1.2.1.5", ("34133-9",)),
    "CNAM-HR": ("1.2.250.1.213.1.1.1.36", ()),
    "CSE-CS8": ("1.2.250.1.213.1.1.1.5.1", ()),
    "CSE-CS9": ("1.2.250.1.213.1.1.1.5.2", ()),
    "CSE-CS24": ("1.2.250.1.213.1.1.1.5.3", ()),
    "CSE-MDE": ("1.2.250.1.213.1.1.1.5.4", ("29274-8",)),
    "DLU-EHPAD-DLU": ("1.2.250.1.213.1.1.1.22", ()),
    "DLU-EHPAD-FLUDT": ("1.2.250.1.213.1.1.1.23", ()),
    "DLU-EHPAD-FLUDR": ("1.2.250.1.213.1.1.1.24", ()),
    "EP-MED-DM": ("1.2.250.1.213.1.1.1.39", ("57833-6",)),
    "eDISP-MED": ("1.2.250.1.213.1.1.1.54", ("60593-1",)),
    "IPS-FR": ("1.2.250.1.213.1.1.1.51", ()),
    "LDL-EES": ("1.2.250.1.213.1.1.1.21", ("18761-7",)),
    "LDL-SES": ("1.2.250.1.213.1.1.1.29", ("11490-0",)),
    "OBP-SAP": ("1.2.250.1.213.1.1.1.12.1", ("57055-6",)),
    "OBP-SNM": ("1.2.250.1.213.1.1.1.12.2", ("57057-2",)),
    "OBP-SNE": ("1.2.250.1.213.1.1.1.12.3", ("57075-4",)),
    "OBP-SCM": ("1.2.250.1.213.1.1.1.12.4", ("89235-6",)),
    "OBP-SEM": ("1.2.250.1.213.1.1.1.12.5", ("78489-2",)),
    "OPH-BRE": ("1.2.250.1.213.1.1.1.42", ("78513-9",)),
    "OPH-CR-RTN": ("1.2.250.1.213.1.1.1.18", ("75492-9",)),
    "SDM-MR": ("1.2.250.1.213.1.1.1.30", ()),
    "TLM-DA": ("1.2.250.1.213.1.1.1.38", ("75496-0",)),
    "VAC": ("1.2.250.1.213.1.1.1.37", ("11369-6",)),
    "VAC-NOTE": ("1.2.250.1.213.1.1.1.46", ("87273-9",)),
    "VSM": ("1.2.250.1.213.1.1.1.13", ()),
}
# Document codes of the Ségur volets (REM RIS:RIS.CRI/va1.07 typeCode 18748-4; the CR-BIO flow's
# 11502-2): when such a document has no volet templateId, the code alone routes it to that volet.
SEGUR_VOLET_BY_CODE = {"18748-4": "IMG-CR-IMG", "11502-2": "BIO-CR-BIO"}
# Pack files whose family name differs from the table's (CI-SIS_VSM_1.4_2022.01.sch is VSM).
FAMILY_ALIASES = {"VSM_1.4": "VSM"}

_TESTED_ROOT = re.compile(r"@root\s*=\s*['\"]([0-9][0-9.]*)['\"]")
_PACK_NAME = re.compile(r"^CI-SIS_(?P<family>.+)_(?P<version>\d{4}\.\d{2})\.sch$")


@dataclass(frozen=True)
class VoletPack:
    family: str
    version: str
    path: Path

    @property
    def name(self) -> str:
        return f"{self.family}_{self.version}"


@dataclass(frozen=True)
class Selection:
    """What `auto` (or a forced profile) decided for one document."""

    requested: str
    level: str | None  # "N1" (nonXMLBody), "N3" (structuredBody) or None (no body)
    volet: VoletPack | None
    reason: str

    def to_dict(self) -> dict:
        return {"requested": self.requested, "level": self.level,
                "volet": self.volet.name if self.volet else None, "reason": self.reason}


def volet_packs(pack_root: Path) -> list[VoletPack]:
    """Every ``CI-SIS_<family>_<version>.sch`` at the top of ``schematrons/``.

    The listing is kept per folder and read again when the folder's modification time changes (a pack
    file added, removed or renamed): a server validating documents one after the other would otherwise
    list and sort the ~60 files of the folder for each (0.25 ms of CPU per N1 document, measured). A
    folder changed in the last `_RACY_NS` is listed every time (its time stamp may be coarser than the
    changes, as git's "racily clean" index entries)."""
    folder = pack_root / "schematrons"
    try:
        stamp = folder.stat().st_mtime_ns
    except OSError:
        return []
    with _LISTINGS_LOCK:
        known = _LISTINGS.get(folder)
    if known is not None and known[0] == stamp:
        return list(known[1])
    found = []
    for path in sorted(folder.glob("CI-SIS_*.sch")):
        match = _PACK_NAME.match(path.name)
        if match:
            family = FAMILY_ALIASES.get(match["family"], match["family"])
            found.append(VoletPack(family, match["version"], path))
    if time.time_ns() - stamp > _RACY_NS:
        with _LISTINGS_LOCK:
            _LISTINGS[folder] = (stamp, tuple(found))
    return found


_RACY_NS = 2_000_000_000
_LISTINGS: dict[Path, tuple[int, tuple[VoletPack, ...]]] = {}  # schematrons folder → (mtime, its packs)
_LISTINGS_LOCK = threading.Lock()


def family_of(name: str) -> str | None:
    """The table's volet family a profile name designates (``IMG-CR-IMG``, ``img-cr-img_2024.01``,
    ``CI-SIS_IMG-CR-IMG_2024.01.sch``), or None."""
    stem = name.strip().removeprefix("CI-SIS_").removesuffix(".sch")
    match = re.match(r"^(?P<family>.+)_(?P<version>\d{4}\.\d{2})$", stem)
    stem = match["family"] if match else stem
    stem = FAMILY_ALIASES.get(stem, stem)
    return next((family for family in VOLETS if family.lower() == stem.lower()), None)


def document_level(root: etree._Element) -> str | None:
    component = root.find(f"{{{CDA_NS}}}component")
    if component is None:
        return None
    if component.find(f"{{{CDA_NS}}}structuredBody") is not None:
        return "N3"
    if component.find(f"{{{CDA_NS}}}nonXMLBody") is not None:
        return "N1"
    return None


def _template_ids(root: etree._Element) -> dict[str, str | None]:
    declared = root.findall(f"{{{CDA_NS}}}templateId")
    return {t.get("root"): t.get("extension") for t in declared if t.get("root")}


def _loinc_code(root: etree._Element) -> str | None:
    code = root.find(f"{{{CDA_NS}}}code")
    if code is not None and code.get("codeSystem") == LOINC:
        return code.get("code")
    return None


def _pick_version(candidates: list[VoletPack], wanted: str | None, usable,
                  declared: frozenset[str] = frozenset()) -> tuple[VoletPack | None, str]:
    by_version = {c.version: c for c in candidates}
    if wanted and wanted in by_version and usable(by_version[wanted]):
        return by_version[wanted], f"version {wanted} from templateId/@extension"
    note = (f"@extension {wanted} has no usable pack; " if wanted
            else "templateId without version (@extension); ")
    usable_ones = sorted((c for c in candidates if usable(c)), key=lambda c: c.version)
    if not usable_ones:
        return None, "no usable pack version"
    if len(usable_ones) == 1 or not declared:
        return usable_ones[-1], f"{note}latest usable version {usable_ones[-1].version}"
    return _version_the_document_declares(usable_ones, declared, note)


def _version_the_document_declares(usable_ones: list[VoletPack], declared: frozenset[str],
                                   note: str) -> tuple[VoletPack, str]:
    """The version whose pack knows the most of the document's templateIds (the latest of a tie).

    Only templateIds some versions know and others do not tell versions apart. When the document
    declares none of them, it is undecidable (an old document, or a new one missing a new section):
    the latest version is taken and the reason says so.
    """
    known = {c.version: declared & pack_template_ids(c.path) for c in usable_ones}
    telling = frozenset().union(*known.values()) - frozenset.intersection(*known.values())
    latest = usable_ones[-1]
    if not telling:
        between = sorted(frozenset().union(*(pack_template_ids(c.path) for c in usable_ones))
                         - frozenset.intersection(*(pack_template_ids(c.path) for c in usable_ones)))
        return latest, (f"{note}latest usable version {latest.version}: the document declares none of the "
                        f"templateIds that tell {', '.join(c.version for c in usable_ones)} apart "
                        f"({_shown(between)}); give @extension or --profile to choose another")
    best = max(len(k) for k in known.values())
    chosen = [c for c in usable_ones if len(known[c.version]) == best][-1]
    others = [c.version for c in usable_ones if c is not chosen]
    return chosen, (f"{note}version {chosen.version} chosen, not {', '.join(others)}: its pack knows the "
                    f"templateIds the document declares ({_shown(sorted(telling & known[chosen.version]))})")


def _shown(roots: list[str]) -> str:
    return ", ".join(roots[:3]) + (", …" if len(roots) > 3 else "")


@functools.cache
def pack_template_ids(path: Path) -> frozenset[str]:
    """Every templateId root a volet pack's Schematron files test (``@root='…'``), includes followed."""
    closure, _ = closure_and_digest(path)
    roots: set[str] = set()
    for file in closure.files:
        if file.suffix == ".sch":
            roots |= set(_TESTED_ROOT.findall(file.read_text(encoding="utf-8", errors="replace")))
    return frozenset(roots)


def _declared_template_ids(root: etree._Element) -> frozenset[str]:
    return frozenset(root.xpath("//*[local-name()='templateId']/@root"))


def select(root: etree._Element, pack_root: Path | None, requested: str = "auto", usable=None) -> Selection:
    """Decide which volet pack applies to a document (the common pack always applies).

    `usable(VoletPack) -> bool` tells whether a pack can be loaded (all includes present);
    by default every pack file is considered usable.
    """
    usable = usable or (lambda pack: True)
    level = document_level(root)
    if requested not in ("auto", "", None):
        return _forced(requested, level, volet_packs(pack_root) if pack_root else [], usable)
    if level != "N3":  # no volet pack applies: the pack folder is not even listed
        why = "N1 document (nonXMLBody): common pack only" if level == "N1" else "no body: common pack only"
        return Selection("auto", level, None, why)
    packs = volet_packs(pack_root) if pack_root else []
    template_ids = _template_ids(root)
    declared = _declared_template_ids(root)
    for family, (template_id, _codes) in VOLETS.items():
        if template_id in template_ids:
            candidates = [p for p in packs if p.family == family]
            if not candidates:
                return Selection("auto", level, None,
                                 f"templateId {template_id} is volet {family}, but the pack has no {family} "
                                 f"schematron")
            chosen, why = _pick_version(candidates, template_ids[template_id], usable, declared)
            return Selection("auto", level, chosen, f"templateId {template_id} → {family}, {why}")
    code = _loinc_code(root)
    if code:
        return _by_code(code, level, packs, usable, declared)
    return Selection("auto", level, None, "no known volet templateId or LOINC code: common pack only")


def _by_code(code: str, level: str | None, packs: list[VoletPack], usable,
             declared: frozenset[str]) -> Selection:
    """The volet an N3 document without volet templateId is held to, from its LOINC document code."""
    families = [family for family, (_t, codes) in VOLETS.items() if code in codes]
    segur = SEGUR_VOLET_BY_CODE.get(code)
    if segur and len(families) > 1:
        others = ", ".join(f for f in families if f != segur)
        families, how = [segur], f"the Ségur volet {segur} (the code is also {others}'s)"
    else:
        how = families[0] if families else ""
    if len(families) == 1:
        candidates = [p for p in packs if p.family == families[0]]
        chosen, why = _pick_version(candidates, None, usable, declared)
        if chosen:
            return Selection("auto", level, chosen,
                             f"no volet templateId; LOINC code {code} → {how}, {why}")
    elif len(families) > 1:
        return Selection("auto", level, None, f"no volet templateId and LOINC code {code} is shared by "
                         f"{', '.join(families)}: common pack only (force one with --profile)")
    return Selection("auto", level, None, "no known volet templateId or LOINC code: common pack only")


def _forced(requested: str, level: str | None, packs: list[VoletPack], usable) -> Selection:
    name = requested.removeprefix("CI-SIS_").removesuffix(".sch")
    if name.lower() in ("common", "none"):
        return Selection(requested, level, None, f"profile {name}: no volet pack")
    exact = [p for p in packs if p.name.lower() == name.lower()]
    if exact:
        return Selection(requested, level, exact[0], f"forced by --profile {requested}")
    family = [p for p in packs if p.family.lower() == name.lower()]
    if family:
        chosen, why = _pick_version(family, None, usable)
        if chosen:
            return Selection(requested, level, chosen, f"forced by --profile {requested}, {why}")
    raise UnknownProfile(requested, sorted({p.family for p in packs}))


class UnknownProfile(ValueError):
    def __init__(self, requested: str, known: list[str]):
        self.requested, self.known = requested, known
        if known:
            message = (f"unknown profile {requested!r}; use auto, none, common or a volet of the pack "
                       f"(optionally with _VERSION): {', '.join(known)}")
        else:
            message = f"unknown profile {requested!r}: no pack directory to take volets from"
        super().__init__(message)
