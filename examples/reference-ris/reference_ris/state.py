"""The RIS's small local memory: reports it sent (to replace them later), identities INSi qualified, and
an outbox of reports it could not send (a RIS must never lose a report because a service was down)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

from .identity import Identity


def traits_key(traits: dict) -> str:
    return "|".join(str(traits.get(k, "")).upper().strip() for k in
                    ("birth_name", "first_names", "sex", "birth_date", "birth_place"))


class State:
    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / "state.json"
        self.data = {"documents": {}, "identities": {}, "last_identity": None}
        if self.path.exists():
            self.data.update(json.loads(self.path.read_text(encoding="utf-8")))

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=self.directory, delete=False, suffix=".tmp",
                                         encoding="utf-8") as handle:
            json.dump(self.data, handle, indent=2, ensure_ascii=False)
        os.replace(handle.name, self.path)

    # reports sent
    def remember_document(self, task_id: str, ids: dict, identity: Identity) -> None:
        self.data["documents"][task_id] = {**ids, "ins": identity.ins, "oid": identity.oid}

    def document(self, task_id: str) -> dict | None:
        return self.data["documents"].get(task_id)

    # identities
    def remember_identity(self, traits: dict, identity: Identity) -> None:
        self.data["identities"][traits_key(traits)] = asdict(identity)
        self.data["last_identity"] = asdict(identity)

    def cached_identity(self, traits: dict) -> Identity | None:
        found = self.data["identities"].get(traits_key(traits))
        return Identity(**found) if found else None

    def local_identity(self, traits: dict) -> Identity | None:
        """A loose look-up in the local patient file: same birth name, first first name, sex and birth date,
        whatever the other first names and the birth place (what `provisional-as-qualified` reuses when INSi
        does not qualify the identity: typically a homonym's INS)."""
        def loose(values: dict) -> tuple:
            first = (str(values.get("first_names") or "").upper().split() or [""])[0]
            birth_name = str(values.get("birth_name", "")).upper()
            return (birth_name, first, values.get("sex"), values.get("birth_date"))

        wanted = loose(traits)
        for found in self.data["identities"].values():
            if loose(found) == wanted:
                return Identity(**found)
        return None

    def last_identity(self) -> Identity | None:
        last = self.data.get("last_identity")
        return Identity(**last) if last else None

    # outbox
    def keep_unsent(self, task_id: str, document: bytes, reason: str) -> Path:
        outbox = self.directory / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{task_id}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        path = outbox / f"{task_id}.xml"
        path.write_bytes(document)
        return path

    def unsent(self, task_id: str) -> bytes | None:
        path = self.directory / "outbox" / f"{task_id}.xml"
        return path.read_bytes() if path.is_file() else None

    def forget_unsent(self, task_id: str) -> None:
        for suffix in (".xml", ".reason.txt"):
            (self.directory / "outbox" / f"{task_id}{suffix}").unlink(missing_ok=True)
