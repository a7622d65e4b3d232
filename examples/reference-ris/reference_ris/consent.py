"""The patient's change of choice about DMP consultation (the `consent-dmp` task, REM DMP/UX.06): the
identity from INSi, TD0.2 (the DMP is open, the patient does not forbid this professional), then TD0.3 with
the action the patient's choice asks — SUPPRESSION when they now refuse that this professional consults
their DMP, AJOUT when they accept again — under the professional's own identity. What the DMP answered is
returned as JSON (`consent`), never what the RIS meant to do.

Seeded defects: `consent-not-recorded` says the choice was recorded and calls nothing; `consent-wrong-action`
sends AJOUT where the patient refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from segur.kernel.ins import Ins

from . import dmp
from .errors import Refused
from .report import author_of

#: the TD0.3 action each choice of the patient asks
ACTIONS_OF = {"refused": "SUPPRESSION", "accepted": "AJOUT"}


@dataclass
class Recorded:
    """What `consent-dmp` did: the RIS's answer to the harness (`to_dict`), `consent` the DMP's answer."""

    task_id: str
    ins: str
    consent: dict
    steps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"ok": True, "task_id": self.task_id, "ins": self.ins,
                "detail": f"patient's choice recorded in the DMP (TD0.3 {self.consent['action']})",
                "consent": self.consent, "steps": self.steps}


def record_consent(run) -> Recorded:
    """`consent-dmp` for a `core.Run`."""
    task, defect = run.task, run.defect
    choice = task.extra.get("consent")
    if choice not in ACTIONS_OF:
        raise Refused(f"unknown choice of the patient {choice!r} (refused or accepted)")
    action = ACTIONS_OF[choice]
    identity = run.identity()
    ins = Ins(identity.ins, identity.oid)
    if defect == "consent-not-recorded":
        run.step("DMP: the patient's choice kept in the RIS only (defect consent-not-recorded)")
        return Recorded(task.id, identity.ins, {"action": action, "resultat": "OK",
                                                "autorisation": "NON_EXISTE" if action == "SUPPRESSION"
                                                else "VALIDE"}, run.steps)
    if defect == "consent-wrong-action" and action == "SUPPRESSION":
        action = "AJOUT"
        run.step("DMP TD0.3: AJOUT sent for the patient's refusal (defect consent-wrong-action)")
    professional, organisation = author_of(task)
    client = dmp.client_for(run.config, professional, organisation)
    status = dmp.check_dmp(client, ins)
    run.step(f"DMP TD0.2: dmp={status.get('dmp')} autorisation={status.get('autorisation')}")
    answer = dmp.authorise(client, ins, action)
    run.step(f"DMP TD0.3 {action}: {answer.get('resultat')} autorisation={answer.get('autorisation')}")
    if answer.get("resultat") != "OK":
        raise Refused(f"DMP TD0.3 {action} refused: {answer.get('raison') or answer.get('resultat')}")
    answered = {key: answer.get(key) for key in ("action", "resultat", "autorisation")}
    return Recorded(task.id, identity.ins, answered, run.steps)


ACTIONS = {"consent-dmp": record_consent}
