"""The INSi mock's state and domain rules: who may call, and the searches themselves, on the shared
test world. Plain Python objects in and out: no SOAP, no lxml, no HTTP here (that is `soap` and `responses`).

Search semantics (what editors meet on CNAM's service, as the CNDA test plan exercises it):

- **By traits** (`rechercherInsAvecTraitsIdentite`): birth name, first name, sex and birth date are
  required, the birth place is optional. Matching is strict — the birth name (not the used name)
  compared upper-case without accents, the exact sex, the exact (possibly "lunar", `YYYY-00-00`)
  birth date, the birth place when given. The first name must be the patient's *first* birth first
  name, or the complete list of birth first names: real clients call once per first name in turn
  (OLA → 01, CATARINA → 00 for TCHITCHI CATARINA BELLA, as recorded in `padoa/tlsi-ins`) and
  finally with the whole list; several `Prenom` elements are that list split up, in order (never
  alternatives). 0 match → ``01``, 1 → ``00``, more → ``02`` (homonyms).
- **From the Vitale card** (`rechercherInsAvecCarteVitale`): the card gives the beneficiary's NIR
  (`MatriculeIndividu`, or the insured person's `MatriculeOD`), its key, the birth name, date and
  rank. The mock looks the NIR up among active and earlier INS (so an old NIR yields the active
  INS, with the history), then checks the birth date, the key and the birth name when given.
  This is also how a client verifies an INS it holds: CNAM's v1.5.0 interface has no separate
  "verify" operation and `RECSANSVITALE` has no place for a NIR (its `Matricule` type is declared
  but used by no element), so a verification is a search whose answer the client compares with
  what it holds.

An answer carries the active INS with its OID (NIR …4.8, NIA …4.9, test NIR …4.10, demo …4.11, as
the world says), the earlier INS (`INSHISTO`, as recorded, start/end dates included) and the
reference traits (`TIQ`); `soap` renders them (once per patient, cached in `responses`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from segur.kernel.findings import Finding
from segur.kernel.rules import Rule
from segur.mocks.insi import rules

OP_TRAITS = "rechercherInsAvecTraitsIdentite"
OP_VITALE = "rechercherInsAvecCarteVitale"
ACCESS_MODES = ("INSI-AUTO", "INSI-MANU")
#: Where the service is published: the path of CNAM's address `https://…ameli.fr:443/lps`.
SERVICE_PATH = "/lps"


class Refused(Exception):
    """A request the service refuses: the rule it breaks and the context of its message."""

    def __init__(self, rule: Rule, **context):
        super().__init__(rule.id)
        self.rule = rule
        self.context = context

    def finding(self) -> Finding:
        return self.rule.finding(**self.context)


@dataclass(frozen=True)
class TraitsQuery:
    """A search by traits (RECSANSVITALE), as sent."""

    birth_name: str | None
    first_names: tuple[str, ...]
    sex: str | None
    birth_date: str | None
    birth_place: str | None


@dataclass(frozen=True)
class Matricule:
    number: str | None
    key: str | None
    kind: str | None


@dataclass(frozen=True)
class VitaleQuery:
    """A search from the Vitale card (RECVITALE), as sent (the data read from the patient's card)."""

    individual: Matricule | None
    opening_rights: Matricule | None  # MatriculeOD: the insured person who opens the rights
    birth_name: str | None
    birth_date: str | None
    rank: str | None


@dataclass(frozen=True)
class Software:
    """A software authorisation (IDAM) the service knows, and what it was authorised for."""

    idam: str
    name: str = ""
    modes: frozenset[str] = frozenset(ACCESS_MODES)
    operations: frozenset[str] = frozenset({OP_TRAITS, OP_VITALE})

    def to_dict(self) -> dict:
        return {"idam": self.idam, "name": self.name, "modes": sorted(self.modes),
                "operations": sorted(self.operations)}

    @classmethod
    def from_dict(cls, data: dict) -> Software:
        if not isinstance(data, dict) or not isinstance(data.get("idam"), str) or not data["idam"].strip():
            raise ValueError("a software authorisation needs an 'idam' string")
        modes = frozenset(data.get("modes", ACCESS_MODES))
        if not modes or not modes <= set(ACCESS_MODES):
            raise ValueError(f"modes must be a non-empty subset of {list(ACCESS_MODES)}")
        operations = frozenset(data.get("operations", (OP_TRAITS, OP_VITALE)))
        if not operations or not operations <= {OP_TRAITS, OP_VITALE}:
            raise ValueError(f"operations must be a non-empty subset of {[OP_TRAITS, OP_VITALE]}")
        return cls(data["idam"].strip(), str(data.get("name", "")), modes, operations)


#: IDAMs the mock knows out of the box (the real ones are given by CNAM to each software; declare
#: yours with `segur serve insi --idam …`, `[insi] idams` or `POST /_admin/idams`).
DEFAULT_SOFTWARE = (
    Software("SEGUR-TEST", "Ségur harness test software (automatic and manual access)"),
    Software("SEGUR-TEST-AUTO", "authorised for automatic access only", frozenset({"INSI-AUTO"})),
    Software("SEGUR-TEST-MANU", "authorised for manual access only", frozenset({"INSI-MANU"})),
    Software("SEGUR-TEST-TRAITS", "authorised for the search by traits only",
             operations=frozenset({OP_TRAITS})),
)
DECLARED = "declared in the config (idams, --idam)"


def normalise(text: str | None) -> str:
    """Upper-case, accents removed, blanks collapsed (how INSi compares names)."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.upper().split())
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).upper().split())


_NAME = re.compile(r"^[A-Z][A-Z '\-]*$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_PLACE = re.compile(r"^(\d{5}|2[AB]\d{3})$", re.IGNORECASE)
# sex, year, month, department (2A/2B), commune, order
_NIR13 = re.compile(r"^\d{6}[0-9AB]\d{6}$", re.IGNORECASE)
_KEY = re.compile(r"^\d{2}$")
MAX_TRAIT_LENGTH = 100


def check_birth_date(value: str | None) -> str:
    """A birth date INSi accepts: YYYY-MM-DD, a real date, or 'lunar' (00 for an unknown month/day)."""
    match = _DATE.match(value or "")
    if not match:
        raise Refused(rules.TRAITS_DATE, value=value)
    year, month, day = (int(g) for g in match.groups())
    today = date.today()
    if year < 1800 or year > today.year or month > 12 or day > 31:
        raise Refused(rules.TRAITS_DATE, value=value)
    if month and day:
        try:
            born = date(year, month, day)
        except ValueError:
            raise Refused(rules.TRAITS_DATE, value=value) from None
        if born > today:
            raise Refused(rules.TRAITS_DATE, value=value)
    return value


def _check_name(trait: str, value: str | None) -> str:
    if value is None or not value.strip():
        raise Refused(rules.TRAITS_MISSING, trait=trait)
    normalised = normalise(value)
    if len(value) > MAX_TRAIT_LENGTH or not _NAME.match(normalised):
        raise Refused(rules.TRAITS_NAME, trait=trait, value=value[:MAX_TRAIT_LENGTH])
    return normalised


def _first_names_sent(values: tuple[str, ...]) -> str:
    """The first name(s) of a search, normalised. One `Prenom` is one first name or the whole list
    (space-separated, as CNAM writes TIQ/ListePrenom and as padoa/tlsi-ins sends it on its last try,
    `src/ins/class/insi-person.class.ts` getSoapBodyAsJson); several `Prenom` elements (the XSD allows
    them: INSi_RECSANS_INS.xsd, maxOccurs="unbounded") are that list split up, read in their order —
    never as alternatives, since CNAM matches the first name strictly (recorded: TCHITCHI with OLA or
    BELLA alone → 01, with CATARINA → 00)."""
    given = [value for value in values if value and value.strip()]
    if not given:
        raise Refused(rules.TRAITS_MISSING, trait="Prenom")
    return " ".join(_check_name("Prenom", value) for value in given)


def _matricule_of(query: VitaleQuery) -> Matricule:
    """The card's NIR: the beneficiary's (`MatriculeIndividu`), else the insured person's (`MatriculeOD`)."""
    individual = query.individual
    matricule = individual if individual and individual.number else query.opening_rights
    if matricule is None or not matricule.number:
        raise Refused(rules.VITALE_MATRICULE, problem="no MatriculeIndividu/MatriculeOD NumIdentifiant")
    number, key = matricule.number, matricule.key
    if not _NIR13.match(number.upper()):
        raise Refused(rules.VITALE_MATRICULE, problem=f"NumIdentifiant {number!r} is not 13 characters")
    if key and not _KEY.match(key):
        raise Refused(rules.VITALE_MATRICULE, problem=f"Cle {key!r} is not 2 digits")
    return matricule


@dataclass
class Outcome:
    """What a search found: the INSi code, the patient when exactly one, the candidates' count."""

    operation: str
    code: str
    patient: object | None = None
    candidates: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ins(self) -> str | None:
        return None if self.patient is None else self.patient.ins


class InsiModel:
    """The state and rules of the INSi mock: the world's patients (read-only) and the known software."""

    def __init__(self, world, *, software=DEFAULT_SOFTWARE, accept_any_idam: bool = False,
                 default_mode: str = "INSI-AUTO"):
        if default_mode not in ACCESS_MODES:
            raise ValueError(f"default_mode must be one of {ACCESS_MODES}")
        self.world = world
        self.default_mode = default_mode
        self.accept_any_idam = accept_any_idam
        self._initial_software = {s.idam: s for s in software}
        self._software = dict(self._initial_software)
        self._lock = threading.Lock()
        self._by_traits: dict[tuple[str, str, str], list] = {}
        self._by_nir: dict[str, list[tuple[object, str]]] = {}  # NIR → [(patient, key recorded for it)]
        self._findings: dict[tuple, Finding] = {}
        for patient in world.patients:
            traits = (normalise(patient.birth_name), patient.sex, patient.birth_date)
            self._by_traits.setdefault(traits, []).append(patient)
            self._by_nir.setdefault(patient.nir.upper(), []).append((patient, patient.nir_key))
            for entry in patient.ins_history:
                if entry.nir.upper() != patient.nir.upper():
                    self._by_nir.setdefault(entry.nir.upper(), []).append((patient, entry.key))

    # -- software authorisations ------------------------------------------------------------------
    def software(self) -> list[Software]:
        with self._lock:
            return sorted(self._software.values(), key=lambda s: s.idam)

    def add_software(self, software: Software) -> None:
        with self._lock:
            self._software[software.idam] = software

    def remove_software(self, idam: str) -> bool:
        with self._lock:
            return self._software.pop(idam, None) is not None

    def reset(self) -> None:
        with self._lock:
            self._software = dict(self._initial_software)

    def authorise(self, idam: str, mode: str | None, operation: str) -> bool:
        """Refuse an unknown IDAM, or a mode/operation the software was not authorised for. False when the
        IDAM is unknown but let through (`accept_any_idam`): the caller journals a warning for it."""
        mode = mode or self.default_mode
        with self._lock:
            software = self._software.get(idam)
        if software is None:
            if self.accept_any_idam:
                return False
            raise Refused(rules.IDAM_UNKNOWN, idam=idam)
        if mode not in software.modes or operation not in software.operations:
            raise Refused(rules.ACCESS_LEVEL, idam=idam, mode=mode, operation=operation)
        return True

    # -- searches --------------------------------------------------------------------------------
    def search_traits(self, query: TraitsQuery) -> Outcome:
        name = _check_name("NomNaissance", query.birth_name)
        given = _first_names_sent(query.first_names)
        if not query.sex:
            raise Refused(rules.TRAITS_MISSING, trait="Sexe")
        if query.sex not in ("M", "F"):
            raise Refused(rules.TRAITS_SEX, value=query.sex)
        if not query.birth_date:
            raise Refused(rules.TRAITS_MISSING, trait="DateNaissance")
        check_birth_date(query.birth_date)
        place = query.birth_place or None
        if place is not None and not _PLACE.match(place):
            raise Refused(rules.TRAITS_PLACE, value=place)
        matches = [
            p for p in self._by_traits.get((name, query.sex, query.birth_date), ())
            if given in (normalise(p.first_name), normalise(p.first_names))
            and (place is None or p.birth_place.upper() == place.upper())
        ]
        return self._outcome(OP_TRAITS, matches)

    def search_vitale(self, query: VitaleQuery) -> Outcome:
        matricule = _matricule_of(query)
        if not query.birth_date:
            raise Refused(rules.TRAITS_MISSING, trait="DateNaissance")
        check_birth_date(query.birth_date)
        name = normalise(query.birth_name) if query.birth_name else None
        matches = []
        for patient, key in self._by_nir.get(matricule.number.upper(), ()):
            if patient.birth_date != query.birth_date:
                continue
            if matricule.key and matricule.key != key:
                continue
            if name and normalise(patient.birth_name) != name:
                continue
            if patient not in matches:
                matches.append(patient)
        return self._outcome(OP_VITALE, matches)

    def _outcome(self, operation: str, matches: list) -> Outcome:
        if not matches:
            return Outcome(operation, "01", None, 0, [self._finding(rules.SEARCH_NONE)])
        if len(matches) > 1:
            return Outcome(operation, "02", None, len(matches),
                           [self._finding(rules.SEARCH_SEVERAL, count=len(matches))])
        patient = matches[0]
        return Outcome(operation, "00", patient, 1,
                       [self._finding(rules.SEARCH_FOUND, ins=patient.ins, oid=patient.oid)])

    def _finding(self, rule: Rule, **context) -> Finding:
        """The finding of a search outcome; few distinct ones, so built once each (hot path)."""
        key = (rule.id, *sorted(context.items()))
        found = self._findings.get(key)
        if found is None:
            found = rule.finding(**context)
            if len(self._findings) < 100_000:
                self._findings[key] = found
        return found
