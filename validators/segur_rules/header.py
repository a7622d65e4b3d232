"""The CDA header: document code, timestamps, identification and versions, confidentiality."""

from __future__ import annotations

import datetime as dt
import re

from segur.validators.segur_rules.catalogue import RULES_BY_ID as R
from segur.validators.segur_rules.context import Document, T, join
from segur.validators.segur_rules.data import value_set, volet_by_profile, volet_by_template, xds_type_codes

OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")
UUID = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")
TS = re.compile(
    r"^(?P<year>\d{4})(?P<month>\d{2})?(?P<day>\d{2})?(?P<hour>\d{2})?(?P<minute>\d{2})?(?P<second>\d{2})?"
    r"(?P<fraction>\.\d{1,4})?(?P<tz>[+-]\d{4})?$"
)
#: How far in the future a timestamp may be (clock skew between the producer and the checker).
FUTURE_TOLERANCE = dt.timedelta(days=1)
EARLIEST_YEAR = 1900

_PRECISION = {
    4: ("year", "à l'année"),
    6: ("month", "au mois"),
    8: ("day", "au jour"),
    10: ("hour", "à l'heure"),
}
TIMESTAMPS = (
    ("cda:effectiveTime", "document effectiveTime", "de l'effectiveTime du document"),
    ("cda:author/cda:time", "author/time", "author/time"),
    ("cda:legalAuthenticator/cda:time", "legalAuthenticator/time", "legalAuthenticator/time"),
)

#: Times of the documented act and of the encounter: a day is a legitimate precision for them, so
#: only validity (TIME-003) and, when they have a time of day, the zone (TIME-004) are checked.
ACT_TIMESTAMPS = (
    ("cda:documentationOf/cda:serviceEvent/cda:effectiveTime/cda:low", "serviceEvent start time",
     "de début de l'acte (serviceEvent)"),
    ("cda:documentationOf/cda:serviceEvent/cda:effectiveTime/cda:high", "serviceEvent end time",
     "de fin de l'acte (serviceEvent)"),
    ("cda:componentOf/cda:encompassingEncounter/cda:effectiveTime/cda:low", "encounter start time",
     "de début de la prise en charge (encompassingEncounter)"),
    ("cda:componentOf/cda:encompassingEncounter/cda:effectiveTime/cda:high", "encounter end time",
     "de fin de la prise en charge (encompassingEncounter)"),
)


def check(doc: Document) -> None:
    _check_code(doc)
    _check_title(doc)
    for path, what, what_fr in TIMESTAMPS:
        for element in doc.xp(path):
            check_timestamp(doc, element, what, what_fr)
    for path, what, what_fr in ACT_TIMESTAMPS:
        for element in doc.xp(path):
            check_act_timestamp(doc, element, what, what_fr)
    for interval in doc.xp("cda:documentationOf/cda:serviceEvent/cda:effectiveTime"
                           "|cda:componentOf/cda:encompassingEncounter/cda:effectiveTime"):
        _check_interval(doc, interval)
    _check_versions(doc)
    _check_confidentiality(doc)


# -- document code --------------------------------------------------------------------------------
def _check_code(doc: Document) -> None:
    code_el = doc.first("cda:code")
    if code_el is None or code_el.get("nullFlavor") or not code_el.get("code"):
        doc.report(R["SEGUR-CODE-001"], code_el if code_el is not None else doc.root, code="(none)",
                   code_system=code_el.get("codeSystem", "none") if code_el is not None else "none")
        return
    code, system = code_el.get("code"), code_el.get("codeSystem", "")
    if (code, system) not in xds_type_codes():
        doc.report(R["SEGUR-CODE-001"], code_el, code=code, code_system=system or "no codeSystem")
    declared = []
    for template in doc.xp("cda:templateId"):
        volet = volet_by_template(template.get("root", ""))
        if volet is not None and volet not in declared:
            declared.append(volet)
    if doc.profile and doc.profile.lower() != "auto":
        volet = volet_by_profile(doc.profile)
        if volet is not None and volet not in declared:
            declared.append(volet)
    for volet in declared:
        allowed = {(c["code"], c["codeSystem"]) for c in volet["codes"]}
        if (code, system) not in allowed:
            expected = " or ".join(f"{c['code']} ({c['codeSystem']})" for c in volet["codes"])
            doc.report(R["SEGUR-CODE-002"], code_el, code=code, code_system=system or "no codeSystem",
                       volet=volet["name"], expected=expected)


# -- title ----------------------------------------------------------------------------------------
def _check_title(doc: Document) -> None:
    """One non-empty title (structuration minimale, template 1.2.250.1.213.1.1.1.1: title [1..1], not null).

    Only the BIO-CR-BIO volet pack checks the title; an imaging report without one passed every pack.
    """
    titles = doc.xp("cda:title")
    null = titles[0].get("nullFlavor") if titles else None
    if not titles:
        doc.report(R["SEGUR-TITLE-001"], doc.root, problem=T("missing (no ClinicalDocument/title)",
                                                             "absent (pas de ClinicalDocument/title)"))
    elif len(titles) > 1:
        doc.report(R["SEGUR-TITLE-001"], titles[1],
                   problem=T(f"given {len(titles)} times; a document has one title",
                             f"donné {len(titles)} fois ; un document a un seul titre"))
    elif null:
        doc.report(R["SEGUR-TITLE-001"], titles[0],
                   problem=T(f"null (nullFlavor {null})", f"nul (nullFlavor {null})"))
    elif not "".join(titles[0].itertext()).strip():
        doc.report(R["SEGUR-TITLE-001"], titles[0], problem=T("empty", "vide"))


# -- timestamps -----------------------------------------------------------------------------------
def timestamp_problems(value: str, now: dt.datetime | None = None) -> tuple[str, T | int | None]:
    """('ok' | 'invalid' | 'imprecise' | 'no-tz', detail) for an HL7 TS value (first problem found)."""
    match = TS.match(value)
    if not match:
        return "invalid", T("it is not an HL7 TS value (YYYYMMDDHHMMSS+ZZZZ)",
                            "ce n'est pas une valeur TS HL7 (AAAAMMJJHHMMSS+ZZZZ)")
    parts = match.groupdict()
    try:
        moment = dt.datetime(
            int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1),
            int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0),
        )
    except ValueError:
        return "invalid", T("it is not a real calendar date and time",
                            "ce n'est pas une date et heure réelles")
    offset = None
    if parts["tz"]:
        sign = 1 if parts["tz"][0] == "+" else -1
        hours, minutes = int(parts["tz"][1:3]), int(parts["tz"][3:5])
        if hours > 14 or minutes > 59:
            return "invalid", T(f"the offset {parts['tz']} is not a real time zone",
                                f"le décalage {parts['tz']} n'est pas un fuseau horaire réel")
        offset = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    if moment.year < EARLIEST_YEAR:
        return "invalid", T(f"the year {moment.year} is before {EARLIEST_YEAR}",
                            f"l'année {moment.year} est antérieure à {EARLIEST_YEAR}")
    now = now or dt.datetime.now(dt.UTC)
    aware = moment.replace(tzinfo=offset or dt.UTC)
    if aware - now > FUTURE_TOLERANCE:
        return "invalid", T(f"it is in the future ({moment:%Y-%m-%d})",
                            f"elle est dans le futur ({moment:%Y-%m-%d})")
    digits = len(value.split("+")[0].split("-")[0].split(".")[0])
    if digits < 12:
        return "imprecise", digits
    if offset is None:
        return "no-tz", None
    return "ok", None


def check_timestamp(doc: Document, element, what: str, what_fr: str) -> None:
    value = (element.get("value") or "").strip()
    if not value:
        if element.get("nullFlavor") or not len(element):
            doc.report(R["SEGUR-TIME-003"], element, what=what, what_fr=what_fr, value="",
                       problem=T("the value is missing", "la valeur est absente"))
        return
    kind, detail = timestamp_problems(value)
    if kind == "invalid":
        doc.report(R["SEGUR-TIME-003"], element, what=what, what_fr=what_fr, value=value, problem=detail)
    elif kind == "imprecise":
        precision, precision_fr = _PRECISION.get(detail, ("hour", "à l'heure"))
        doc.report(R["SEGUR-TIME-002"], element, what=what, what_fr=what_fr, value=value, precision=precision,
                   precision_fr=precision_fr)
    elif kind == "no-tz":
        doc.report(R["SEGUR-TIME-001"], element, what=what, what_fr=what_fr, value=value)


def check_act_timestamp(doc: Document, element, what: str, what_fr: str) -> None:
    value = (element.get("value") or "").strip()
    if not value:
        return
    kind, detail = timestamp_problems(value)
    if kind == "invalid":
        doc.report(R["SEGUR-TIME-003"], element, what=what, what_fr=what_fr, value=value, problem=detail)
    elif kind == "no-tz" or (kind == "imprecise" and detail == 10 and not TS.match(value).group("tz")):
        doc.report(R["SEGUR-TIME-004"], element, what=what, what_fr=what_fr, value=value)


def moment(value: str) -> dt.datetime | None:
    """The instant a valid TS value denotes (UTC when it has no offset), or None."""
    match = TS.match(value)
    if not match or timestamp_problems(value)[0] == "invalid":
        return None
    parts = match.groupdict()
    offset = dt.UTC
    if parts["tz"]:
        sign = 1 if parts["tz"][0] == "+" else -1
        offset = dt.timezone(sign * dt.timedelta(hours=int(parts["tz"][1:3]), minutes=int(parts["tz"][3:5])))
    date = (int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1))
    clock = (int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0))
    return dt.datetime(*date, *clock, tzinfo=offset)


def _has_offset(value: str) -> bool:
    match = TS.match(value)
    return bool(match and match.group("tz"))


def _check_interval(doc: Document, interval) -> None:
    """high is not before low (the CI-SIS IVL_TS pattern: 'high doit être supérieur à low')."""
    low, high = doc.first("cda:low/@value", interval), doc.first("cda:high/@value", interval)
    if not low or not high:
        return
    low, high = low.strip(), high.strip()
    if _has_offset(low) != _has_offset(high):
        return  # one local time, one with an offset: not comparable (TIME-004 reports the missing offset)
    start, end = moment(low), moment(high)
    if start is not None and end is not None and end < start:
        element = doc.first("cda:high", interval)
        what = "serviceEvent end time" if "serviceEvent" in interval.getparent().tag else "encounter end time"
        what_fr = ("de fin de l'acte (serviceEvent)" if "serviceEvent" in interval.getparent().tag
                   else "de fin de la prise en charge (encompassingEncounter)")
        doc.report(R["SEGUR-TIME-003"], element, what=what, what_fr=what_fr, value=high,
                   problem=T(f"it is before the start '{low}'", f"il précède le début '{low}'"))


# -- identification and versions --------------------------------------------------------------------
def uid_problem(element, name: str) -> T | None:
    if element is None:
        return T("missing", "absent")
    if element.get("nullFlavor"):
        null_flavor = element.get("nullFlavor")
        return T(f"null (nullFlavor {null_flavor})", f"nul (nullFlavor {null_flavor})")
    root = element.get("root")
    if not root:
        return T(f"missing its root ({name}/@root)", f"sans racine ({name}/@root)")
    if not (OID.match(root) or UUID.match(root)):
        return T(f"'{root}', whose root is neither an OID nor a UUID",
                 f"'{root}', dont la racine n'est ni un OID ni un UUID")
    return None


def _key(element) -> tuple[str, str] | None:
    return None if element is None else (element.get("root", ""), element.get("extension", ""))


def _check_versions(doc: Document) -> None:
    id_el, set_el, version_el = doc.first("cda:id"), doc.first("cda:setId"), doc.first("cda:versionNumber")
    for rule_id, element, name in (("SEGUR-VER-001", id_el, "id"), ("SEGUR-VER-002", set_el, "setId")):
        problem = uid_problem(element, name)
        if problem:
            doc.report(R[rule_id], element if element is not None else doc.root, problem=problem)

    version = None
    if version_el is None or version_el.get("nullFlavor"):
        missing_at = version_el if version_el is not None else doc.root
        doc.report(R["SEGUR-VER-003"], missing_at, problem=T("missing", "absent"))
    elif not re.fullmatch(r"[1-9]\d*", version_el.get("value", "")):
        doc.report(R["SEGUR-VER-003"], version_el,
                   problem=T(f"'{version_el.get('value', '')}', not an integer greater than or equal to 1",
                             f"'{version_el.get('value', '')}', "
                             "qui n'est pas un entier supérieur ou égal à 1"))
    else:
        version = int(version_el.get("value"))

    replaced = doc.xp("cda:relatedDocument[@typeCode='RPLC']/cda:parentDocument/cda:id")
    if version is not None and version > 1 and not replaced:
        doc.report(R["SEGUR-VER-004"], version_el, version=version)

    problems = []
    where = None
    same_ids = id_el is not None and set_el is not None and _key(id_el) == _key(set_el)
    if version is not None and version > 1 and same_ids:
        problems.append(T(f"version {version} has the same id as its setId; each version needs its own id",
                          f"la version {version} a le même id que son setId ; "
                          f"chaque version a son propre id"))
        where = id_el
    for parent_id in replaced:
        if id_el is not None and _key(parent_id) == _key(id_el):
            problems.append(T("the document replaces itself (relatedDocument/parentDocument/id equals its "
                              "id)",
                              "le document se remplace lui-même (relatedDocument/parentDocument/id égale son "
                              "id)"))
            where = where if where is not None else parent_id
    if version == 1 and replaced:
        problems.append(T("it replaces a document (relatedDocument RPLC) but its versionNumber is 1",
                          "il remplace un document (relatedDocument RPLC) mais son versionNumber vaut 1"))
        where = where if where is not None else replaced[0]
    if problems:
        doc.report(R["SEGUR-VER-005"], where, problem=join(problems))


# -- confidentiality ------------------------------------------------------------------------------
def _check_confidentiality(doc: Document) -> None:
    element = doc.first("cda:confidentialityCode")
    allowed = value_set("confidentiality")
    if element is None:
        doc.report(R["SEGUR-CONF-001"], doc.root, code="(none)", code_system="none")
        return
    code, system = element.get("code"), element.get("codeSystem")
    if element.get("nullFlavor") or code not in allowed["codes"] or system != allowed["codeSystem"]:
        doc.report(R["SEGUR-CONF-001"], element, code=code or f"nullFlavor {element.get('nullFlavor')}",
                   code_system=system or "no codeSystem")
