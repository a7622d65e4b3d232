"""The identities the PAM consumer keeps, and what each ADT event does to them (plain Python objects).

`responses.py` reads the wire into an `AdtMessage`; `IdentityStore.apply` carries out its event:

- A28 (create) and A31 (update traits or add an identifier, PAMFR §4.1, §4.4.1) keep or update an identity;
  the movements of ITI-31 update it the same way;
- A47 (change of identifier, PAMFR §4.4.2–4.4.4): the identifier in MRG-1 is replaced by PID-3's; an INS
  repetition whose value is ``""`` deletes the INS (a wrongly attributed INS);
- A40 (merge): the identity named in MRG-1 disappears into the one in PID-3.

An INS is kept only when PID-32 says VALI (qualified): a receiver given an INS on another status keeps the
identity without it (PAMFR §6.6.15).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace

from segur.kernel.ins import INS_OIDS

QUALIFIED = "VALI"
#: PID-32 identity statuses and attributes of PAM FR (PAMFR §6.6.15, HL7 table 0445 French values)
STATUSES = frozenset({"VIDE", "PROV", "VALI", "DOUB", "DESA", "DPOT", "DOUA", "COLP", "COLV", "FILI", "CACH",
                      "ANOM", "IDVER", "RECD", "IDRA", "USUR", "INVA"})
ATTRIBUTES = frozenset({"HOMD", "HOMA", "FICT", "DOUT"})
DELETED = '""'  # HL7's explicit null: an INS repetition with this value deletes the INS (PAMFR §4.4.3)


@dataclass(frozen=True)
class Identifier:
    """One CX of PID-3 or MRG-1: value, assigning authority (namespace, OID) and identifier type."""

    value: str
    namespace: str = ""
    oid: str = ""
    type: str = ""
    oid_type: str = ""  # CX-4.3: ISO for an OID, M/L/N for a FINESS (DTFR §N.1)

    @property
    def is_ins(self) -> bool:
        return self.type == "INS"

    @property
    def key(self) -> str:
        """What names the identifier across messages: its authority and its value."""
        return f"{self.oid or self.namespace}|{self.value}"


@dataclass(frozen=True)
class Traits:
    """The identity traits PAM FR carries (PID-5, PID-7, PID-8, PID-11 BDL)."""

    birth_name: str = ""
    first_name: str = ""
    first_names: str = ""
    used_name: str = ""
    birth_date: str = ""
    sex: str = ""
    birth_place: str = ""


@dataclass(frozen=True)
class AdtMessage:
    """What an ADT message says about a patient, read from the wire."""

    event: str
    control_id: str = ""
    identifiers: tuple[Identifier, ...] = ()
    traits: Traits = field(default_factory=Traits)
    status: tuple[str, ...] = ()  # PID-32 repetitions: a status and optional attributes
    prior: tuple[Identifier, ...] = ()  # MRG-1

    @property
    def qualified(self) -> bool:
        return QUALIFIED in self.status

    @property
    def ins(self) -> Identifier | None:
        """The INS PID-3 carries (the NIR when both a NIA and a NIR are given, PAMFR §4.4.1)."""
        found = [i for i in self.identifiers if i.is_ins and i.value != DELETED]
        nir = [i for i in found if INS_OIDS.get(i.oid, "").startswith("NIR")]
        return (nir or found or [None])[0]

    @property
    def deletes_ins(self) -> bool:
        return any(i.is_ins and i.value == DELETED for i in self.identifiers)


@dataclass
class Identity:
    """A patient as the consumer keeps it."""

    number: int
    identifiers: list[Identifier]
    traits: Traits
    status: tuple[str, ...]
    ins: Identifier | None = None
    events: list[str] = field(default_factory=list)
    merged_into: int | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ins"] = asdict(self.ins) if self.ins else None
        return data


class IdentityStore:
    """The identities received, found by any of their identifiers (thread-safe)."""

    def __init__(self):
        self._identities: dict[int, Identity] = {}
        self._lock = threading.Lock()
        self._next = 1

    def apply(self, message: AdtMessage) -> Identity | None:
        """Carry out the message's event; returns the identity it leaves (None when it names none)."""
        with self._lock:
            if message.event == "A40":
                return self._merge(message)
            if message.event == "A47":
                return self._change_identifiers(message)
            return self._create_or_update(message)

    def all(self) -> list[Identity]:
        with self._lock:
            return [replace(i) for i in self._identities.values()]

    def find(self, value: str) -> Identity | None:
        """The live identity with an identifier (or INS) of this value."""
        with self._lock:
            return next((i for i in self._identities.values() if i.merged_into is None
                         and any(x.value == value for x in i.identifiers)), None)

    def clear(self) -> None:
        with self._lock:
            self._identities.clear()
            self._next = 1

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for i in self._identities.values() if i.merged_into is None)

    # --- the events ---------------------------------------------------------------------------
    def _lookup(self, identifiers) -> Identity | None:
        keys = {i.key for i in identifiers if i.value and i.value != DELETED}
        return next((i for i in self._identities.values() if i.merged_into is None
                     and keys & {x.key for x in i.identifiers}), None)

    def _create_or_update(self, message: AdtMessage) -> Identity | None:
        kept = _kept_identifiers(message)
        if not kept:
            return None
        identity = self._lookup(kept)
        if identity is None:
            identity = Identity(self._next, [], message.traits, message.status)
            self._identities[identity.number] = identity
            self._next += 1
        _absorb(identity, message, kept)
        return identity

    def _change_identifiers(self, message: AdtMessage) -> Identity | None:
        identity = self._lookup(message.prior) or self._lookup(_kept_identifiers(message))
        if identity is None:
            return self._create_or_update(message)
        old = {i.key for i in message.prior}
        identity.identifiers = [i for i in identity.identifiers if i.key not in old]
        if identity.ins and identity.ins.key in old:
            identity.ins = None
        _absorb(identity, message, _kept_identifiers(message))
        return identity

    def _merge(self, message: AdtMessage) -> Identity | None:
        survivor = self._create_or_update(message)
        gone = self._lookup(message.prior)
        if gone is not None and survivor is not None and gone is not survivor:
            gone.merged_into = survivor.number
            gone.events.append(message.event)
        return survivor


def _kept_identifiers(message: AdtMessage) -> list[Identifier]:
    """PID-3 as the consumer keeps it: the INS only for a qualified identity, never a deletion marker."""
    return [i for i in message.identifiers
            if i.value and i.value != DELETED and (not i.is_ins or message.qualified)]


def _absorb(identity: Identity, message: AdtMessage, kept: list[Identifier]) -> None:
    known = {i.key for i in identity.identifiers}
    identity.identifiers += [i for i in kept if i.key not in known]
    identity.traits = message.traits
    identity.status = message.status
    identity.events.append(message.event)
    if message.deletes_ins or not message.qualified:
        identity.identifiers = [i for i in identity.identifiers if not i.is_ins]
        identity.ins = None
    if message.qualified and message.ins is not None:
        identity.identifiers = [i for i in identity.identifiers if not i.is_ins or i.key == message.ins.key]
        identity.ins = message.ins
