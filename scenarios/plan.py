"""The proof plan: which tasks the system under test must do, chosen from the test world.

The Ségur proof of a couloir is "10/10/1": ten reports sent to the patients' DMP with a qualified INS,
ten sent by MSSanté to other professionals, one sent to the patient's Mon espace santé mailbox. The
plan adds the situations a reviewer asks about: a replacement of a report already in the DMP, identities
INSi cannot qualify (homonyms, code 02, and traits INSi does not know, code 01: nothing may be sent with an
INS), and a DMP outage
(the product must say it failed, then send the report when the service is back), and a patient whose
Vitale card the product reads (REM INS/va1.34: INSi is searched by traits *and* by Vitale card).

The plan is a pure function of the world, the couloir and the size: the same inputs give the same
tasks, so two runs of the proof can be compared, and the plan is recorded in the evidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from segur.scenarios.capabilities import for_couloir
from segur.scenarios.capability import PlanContext
from segur.scenarios.driver import Task, author_dict, traits_of, vitale_of

#: couloir → its report kind (`kinds`: the kinds its reports take in turn, by report number), the author's
#: specialty, its label and the wording of its VA/MOM proof (../shared/ref/couloirs.md; REM ids there).
COULOIRS = {
    "RIS": {"kind": "CR-IMG", "specialty": "SM44", "label": "radiologie (CR-IMG)",
            "va": "RIS: the imaging reports (CR-IMG N1) to the DMP, by MSSanté and to the patient"},
    "BIO": {"kind": "CR-BIO", "specialty": "SM03", "label": "biologie (CR-BIO)",
            "va": "BIO: the laboratory reports (CR-BIO N3) to the DMP, by MSSanté and to the patient"},
    # LGC.DOC/va1.14: the médecin traitant's VSM in CDA R2 N3, to the DMP and by MSSanté (LGC.MSS.02/.03)
    "LGC": {"kind": "VSM", "specialty": "SM54", "label": "médecine de ville (VSM N3)",
            "va": "LGC: the médecin traitant's VSM (CDA R2 N3) to the DMP, by MSSanté and to the patient"},
    # DPI.DMP/va1.03-.05, DPI.MSS/va1.23-.24: lettre de liaison, CRO and ordonnance, in N1 with their PDF
    "DPI": {"kind": "LDL-SES", "kinds": ("LDL-SES", "CRO", "ORDONNANCE"), "specialty": "SM04",
            "label": "hôpital DPI (LDL-SES, CRO, ordonnance N1)",
            "va": "DPI: lettres de liaison, CRO and ordonnances (N1) to the DMP, by MSSanté, to the patient"},
    # DMP/va1.01, MSS/va1.17 (PFI): the documents of the hospital's producing systems, relayed
    # the identity referential: its PAM identity flows (capabilities/identity_feeds.py), no document
    "RI": {"kind": "IDENTITY", "specialty": "SM04", "label": "hôpital, référentiel d'identités (IHE PAM)",
           "core": False, "va": "RI: at most three IHE PAM flows diffusing the qualified INS inside the "
                                "hospital (creation, update, merge)"},
    "PFI": {"kind": "LDL-SES", "kinds": ("LDL-SES", "CRO", "ORDONNANCE"), "specialty": "SM04",
            "label": "hôpital PFI (documents relayed for the DPI)",
            "va": "PFI: the DPI's documents relayed to the DMP, by MSSanté and to the patient's mailbox"},
}
#: The proof a couloir's VA/MOM asks, in words (issue 16; the exact counts of the published DSR proof sheets
#: are not in ../shared/rem, see ../shared/ref/couloirs.md): the couloir's `va`, then this.
VA_COUNTS = ("10 documents to the patients' DMP with a qualified INS, 10 by MSSanté to professionals, "
             "1 to the patient's Mon espace santé test address")


def va_wording(couloir: str) -> str:
    """What the couloir's proof shows, as the evidence pack names it."""
    if not has_core(couloir):
        return COULOIRS[couloir]["va"]
    return f"{COULOIRS[couloir]['va']} — {VA_COUNTS}"


def has_core(couloir: str) -> bool:
    """The couloir's proof is the core 10/10/1 (then its capabilities'); False: its capabilities' only."""
    return COULOIRS[couloir].get("core", True)


#: size → (DMP sends, MSSanté sends, citizen sends). "full" is the Ségur proof; "small" keeps every
#: situation with fewer repetitions (used to run the proof once per seeded defect in the test suite).
SIZES = {"full": (10, 10, 1), "small": (2, 2, 1)}

#: What the harness expects to see for a task (the checks read it):
EXPECT_DELIVERED = "delivered"  # the report reaches the service, with the INS INSi returned
EXPECT_WITHHELD = "withheld"  # INSi cannot qualify the identity: nothing may go out with an INS
EXPECT_FAILURE = "failure"  # a service is down: the product must say it failed, and nothing is half-stored

#: The DMP outage of the plan: every ITI-41 answers HTTP 503 until the fault is cleared.
OUTAGE_FAULT = {"service": "dmp", "spec": {"kind": "http_error", "status": 503, "operation": "ITI-41"}}


@dataclass(frozen=True)
class PlannedTask:
    """A task and what the harness expects of it; `patient_key` names the world patient it is about."""

    task: Task
    expect: str
    patient_key: str
    scenario: str  # "dmp", "mss", "citizen", "replace", "homonym", "unknown", "outage", "retry", "vitale"
    fault: dict | None = None  # injected before the task, cleared right after it

    def to_dict(self) -> dict:
        return {"task": self.task.to_dict(), "expect": self.expect, "patient_key": self.patient_key,
                "scenario": self.scenario, "fault": self.fault}


@dataclass
class Plan:
    couloir: str
    size: str
    world_version: str
    tasks: list[PlannedTask] = field(default_factory=list)
    #: the capabilities whose tasks the plan holds (all of the couloir's unless a proof chose some)
    capabilities: list[str] = field(default_factory=list)

    def by_id(self, task_id: str) -> PlannedTask:
        for planned in self.tasks:
            if planned.task.id == task_id:
                return planned
        raise KeyError(task_id)

    def of(self, *scenarios: str) -> list[PlannedTask]:
        return [p for p in self.tasks if p.scenario in scenarios]

    def counts(self) -> dict:
        counts: dict[str, int] = {}
        for planned in self.tasks:
            counts[planned.scenario] = counts.get(planned.scenario, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return {"couloir": self.couloir, "size": self.size, "world_version": self.world_version,
                "capabilities": list(self.capabilities), "counts": self.counts(),
                "tasks": [p.to_dict() for p in self.tasks]}


class PlanError(ValueError):
    """The world cannot give the tasks the plan needs (too few eligible patients or mailboxes)."""


def _qualifiable(patient) -> bool:
    """INSi answers 00 for the traits a user types (no homonym, full birth date, a NIR, no recorded
    defect), the person is alive and the INS has not changed."""
    return (not patient.homonym_group and not patient.deceased and not patient.known_defects
            and not patient.identity_changed and not patient.is_nia and "-00" not in patient.birth_date)


def dmp_eligible(patient) -> bool:
    return _qualifiable(patient) and patient.has_dmp and not patient.dmp_closed and not patient.dmp_opposed


def citizen_eligible(patient) -> bool:
    return _qualifiable(patient) and not patient.mssante_refused


def _author(world, couloir: str):
    """The couloir's author: a professional of its specialty, preferably in an organisation with an
    application mailbox to send from (REM RIS.MSS/va1.29, MSS/va1.17), then by key."""
    specialty = COULOIRS[couloir]["specialty"]
    candidates = [p for p in world.professionals if p.specialty_code == specialty and not p.mailbox_closed]
    # those whose organisation has an application mailbox first, then by key
    authors = sorted(candidates, key=lambda p: (_app_mailbox(world, world.organisation_of(p)) is None, p.key))
    if not authors:
        raise PlanError(f"the world has no professional of specialty {specialty} for couloir {couloir}")
    author = authors[0]
    return author, world.organisation_of(author)


def _open_mailbox(world, professional) -> bool:
    """The professional's mailbox is open and takes messages."""
    box = world.mailbox(professional.mailbox)
    return not professional.mailbox_closed and box is not None and box.accepts_messages


def _app_mailbox(world, organisation) -> str | None:
    for address in getattr(organisation, "app_mailboxes", ()) or ():
        box = world.mailbox(address)
        if box is not None and box.accepts_messages and not box.closed:
            return box.address
    return None


def _sender(world, author, organisation) -> str:
    """An application mailbox of the author's organisation when it has one (REM RIS.MSS/va1.29 sends
    from a BAL applicative), else the author's own mailbox."""
    return _app_mailbox(world, organisation) or author.mailbox


def build_plan(world, couloir: str = "RIS", size: str = "full", capabilities=None) -> Plan:
    """The tasks of the proof for a couloir, chosen deterministically from the world. `capabilities`: the
    names of the couloir's capabilities whose tasks to add after the core's (None: all of them; empty: the
    core 10/10/1 alone)."""
    couloir = couloir.upper()
    if couloir not in COULOIRS:
        raise PlanError(f"unknown couloir {couloir!r}; known: {', '.join(COULOIRS)}")
    if size not in SIZES:
        raise PlanError(f"unknown plan size {size!r}; known: {', '.join(SIZES)}")
    chosen = chosen_capabilities(couloir, capabilities)
    n_dmp, n_mss, n_citizen = SIZES[size]
    kinds = COULOIRS[couloir].get("kinds") or (COULOIRS[couloir]["kind"],)
    author, organisation = _author(world, couloir)
    author_info = author_dict(author, organisation)
    sender = _sender(world, author, organisation)

    patients = sorted(world.patients, key=lambda p: p.key)
    dmp_patients = [p for p in patients if dmp_eligible(p)]
    # the outage and its retry need one more DMP patient than the ten of the proof
    if len(dmp_patients) < n_dmp + 1:
        raise PlanError(f"the world has {len(dmp_patients)} patients with a qualifiable INS and an open DMP; "
                        f"the plan needs {n_dmp + 1}")
    citizen_patients = [p for p in patients if citizen_eligible(p)]
    recipients = sorted((p for p in world.professionals if p.key != author.key and _open_mailbox(world, p)),
                        key=lambda p: p.key)
    if len(recipients) < n_mss:
        raise PlanError(f"the world has {len(recipients)} open professional mailboxes; the plan needs "
                        f"{n_mss}")
    # MSSanté reports are about other patients than the DMP ones when the world has enough of them
    mss_pool = [p for p in citizen_patients if p not in dmp_patients[:n_dmp + 1]] or citizen_patients
    homonyms = _homonym_patient(world)

    plan = Plan(couloir, size, world.version)
    report_no = 0

    def add(task_id, action, patient, scenario, expect, *, recipient=None, extra=None, fault=None,
            number=None, vitale=None, traits=None):
        nonlocal report_no
        if number is None:
            report_no += 1
            number = report_no
        kind = kinds[(number - 1) % len(kinds)]  # a report keeps its kind when replaced or sent again
        task = Task(task_id, action, traits_of(patient) if traits is None else traits, recipient=recipient,
                    sender=sender if action.startswith(("send-mss", "send-citizen")) else None,
                    author=author_info, report_no=number, kind=kind, extra=extra or {}, vitale=vitale)
        plan.tasks.append(PlannedTask(task, expect, patient.key, scenario, fault))
        return task

    if has_core(couloir):  # RI: its capability's tasks only
        for i in range(n_dmp):
            add(f"dmp-{i + 1:02d}", "send-dmp", dmp_patients[i], "dmp", EXPECT_DELIVERED)
        for i in range(n_mss):
            add(f"mss-{i + 1:02d}", "send-mss", mss_pool[i % len(mss_pool)], "mss", EXPECT_DELIVERED,
                recipient=recipients[i].mailbox)
        for i in range(n_citizen):
            patient = citizen_patients[(i + 3) % len(citizen_patients)]
            add(f"citizen-{i + 1:02d}", "send-citizen", patient, "citizen", EXPECT_DELIVERED)
        # a new version of an earlier DMP report (the third one in the full plan): same report number
        replaced = plan.by_id("dmp-03" if n_dmp >= 3 else "dmp-01")
        earlier = world.patient_by_key(replaced.patient_key)
        add("replace-01", "replace-dmp", earlier, "replace", EXPECT_DELIVERED,
            extra={"replaces_task": replaced.task.id}, number=replaced.task.report_no)
        add("homonym-01", "send-dmp", homonyms, "homonym", EXPECT_WITHHELD)
        outage_patient = dmp_patients[n_dmp]
        outage = add("outage-01", "send-dmp", outage_patient, "outage", EXPECT_FAILURE, fault=OUTAGE_FAULT)
        add("retry-01", "send-dmp", outage_patient, "retry", EXPECT_DELIVERED,
            extra={"retry_of": "outage-01"}, number=outage.report_no)
        card_holder = _vitale_patient(dmp_patients, n_dmp, {p.patient_key for p in plan.tasks})
        add("vitale-01", "send-dmp", card_holder, "vitale", EXPECT_DELIVERED, vitale=vitale_of(card_holder))
        # last, so the report numbers of the tasks above stay as they were
        unknown, typed = _unknown_to_insi(world)
        add("unknown-01", "send-dmp", unknown, "unknown", EXPECT_WITHHELD, traits=typed)
    # the capabilities' tasks come after the core's, so the core's report numbers never move
    context = PlanContext(world, couloir, size, author, organisation, author_info, sender, plan, add,
                          dmp_patients, citizen_patients, recipients)
    for capability in chosen:
        capability.plan(context)
    plan.capabilities = [capability.name for capability in chosen]
    return plan


def chosen_capabilities(couloir: str, names=None) -> list:
    """The couloir's capabilities a proof takes: all of them (None), or those named (a name the couloir does
    not take is refused, with the ones it does)."""
    offered = for_couloir(couloir)
    if names is None:
        return offered
    unknown = set(names) - {capability.name for capability in offered}
    if unknown:
        known = ", ".join(capability.name for capability in offered) or "none"
        raise PlanError(f"couloir {couloir} takes no capability {', '.join(sorted(unknown))}; its "
                        f"capabilities: {known}")
    return [capability for capability in offered if capability.name in names]


def _vitale_patient(dmp_patients: list, n_dmp: int, taken: set[str]):
    """The patient who comes with a Vitale card: a DMP patient (a NIR holder: `dmp_eligible` leaves NIA out,
    and a card carries a NIR) not already in the plan when there is one, so the card search is the only INSi
    search of that patient; else the first DMP patient."""
    spare = [p for p in dmp_patients[n_dmp + 1:] if p.key not in taken]
    return (spare or dmp_patients)[0]


#: The CNDA persona INSi answers 01 for (no identity found): TCHITCHI searched with the first name OLA, as
#: recorded by padoa/tlsi-ins (src/fixtures/insi-client.fixture.ts: OLA → 01, CATARINA → 00; docs/insi.md).
UNKNOWN_PERSONA, UNKNOWN_FIRST_NAMES = "cnda-tchitchi-catarina", "OLA"


def _unknown_to_insi(world):
    """A patient whose traits, as the user typed them, INSi does not know (code 01 for every search): the CNDA
    persona with a first name that is not among its birth first names. Nothing may be sent with an INS."""
    patient = world.patient_by_key(UNKNOWN_PERSONA)
    if patient is None:
        raise PlanError(f"the world has no CNDA persona {UNKNOWN_PERSONA} for the task INSi answers 01")
    return patient, dict(traits_of(patient), first_names=UNKNOWN_FIRST_NAMES)


def _homonym_patient(world):
    """A patient INSi cannot tell apart from another even with every trait (code 02 whatever the
    product tries): a homonym group whose members share the birth place too."""
    for _group, members in sorted(world.homonym_groups().items()):
        places = {m.birth_place for m in members}
        names = {m.first_names for m in members}
        if len(members) > 1 and len(places) == 1 and len(names) == 1:
            return sorted(members, key=lambda m: m.key)[0]
    raise PlanError("the world has no homonym group INSi cannot tell apart (same traits and birth place)")


def plan_summary(plan: Plan) -> str:
    counts = plan.counts()
    return (f"{plan.couloir} proof ({plan.size}): {counts.get('dmp', 0)} DMP / {counts.get('mss', 0)} "
            f"MSSanté / {counts.get('citizen', 0)} citizen, plus replace, homonym (INSi 02), unknown (INSi "
            "01), outage, retry and a Vitale card search")


__all__ = ["COULOIRS", "SIZES", "va_wording", "Plan", "PlannedTask", "PlanError", "build_plan",
           "plan_summary", "EXPECT_DELIVERED", "EXPECT_WITHHELD", "EXPECT_FAILURE", "OUTAGE_FAULT", "asdict"]
