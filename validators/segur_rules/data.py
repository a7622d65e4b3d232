"""The rules' data files (validators/data/segur_*.json), loaded once."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from lxml import etree

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


@cache
def _load(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def value_set(name: str) -> dict:
    """A small code list from segur_value_sets.json: ``{"codeSystem", "codes": {code: label}, "source"}``."""
    return _load("segur_value_sets.json")[name]


@cache
def xds_type_codes() -> frozenset[tuple[str, str]]:
    """(code, codeSystem) pairs of JDV_J07_XdsTypeCode_CISIS."""
    data = _load("segur_jdv_j07_xds_type_code.json")
    return frozenset((c["code"], c["codeSystem"]) for c in data["concepts"])


@cache
def xds_type_code_names() -> dict[tuple[str, str], str]:
    """``{(code, codeSystem): displayName}`` of JDV_J07_XdsTypeCode_CISIS: the document type codes."""
    data = _load("segur_jdv_j07_xds_type_code.json")
    return {(c["code"], c["codeSystem"]): c.get("displayName", "") for c in data["concepts"]}


def volets() -> list[dict]:
    return _load("segur_volets.json")["volets"]


def volet_by_template(root: str) -> dict | None:
    for volet in volets():
        if volet["template_root"] == root:
            return volet
    return None


def volet_by_profile(profile: str) -> dict | None:
    """The volet a profile or pack name designates (``CR-IMG``, ``IMG-CR-IMG``, ``IMG-CR-IMG_2024.01``,
    ``CI-SIS_IMG-CR-IMG_2024.01``…), case-insensitive."""
    wanted = _family(profile)
    for volet in volets():
        names = [volet["name"], *volet.get("aliases", [])]
        if any(wanted == _family(n) for n in names):
            return volet
    return None


def _family(name: str) -> str:
    """``CI-SIS_IMG-CR-IMG_2024.01.sch`` -> ``IMG-CR-IMG``: the volet family, upper case."""
    family = name.strip().upper().removesuffix(".SCH").removeprefix("CI-SIS_")
    head, _, tail = family.rpartition("_")
    return head if head and tail[:4].isdigit() else family


def pack_value_set(pack_root: Path, file_name: str) -> dict[tuple[str, str], str] | None:
    """The concepts of an official value set (IHE SVS XML in the pack's ``jeuxDeValeurs/``) as
    ``{(code, codeSystem): displayName}``, read from the user's pack at run time (never copied into
    the repository); None when the pack has no such file."""
    path = Path(pack_root) / "jeuxDeValeurs" / file_name
    if not path.is_file():
        return None
    return _read_value_set(path.resolve(), path.stat().st_mtime)


@cache
def _read_value_set(path: Path, _mtime: float) -> dict[tuple[str, str], str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.parse(str(path), parser)
    return {(c.get("code"), c.get("codeSystem")): c.get("displayName", "")
            for c in tree.iter("{*}Concept") if c.get("code")}
