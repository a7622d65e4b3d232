"""The live view's feed on its own, with a fake admin API: rows merged in arrival order, pulled with `since=`,
bounded per service, filtered; a service that does not answer is reported, the others still shown."""

from __future__ import annotations

from segur.console.activity import Feed, Selection, facts_of
from segur.console.peers import ServiceDown
from segur.fixtures.world import load_world


class FakeAdmin:
    def __init__(self):
        self.journals: dict[str, list[dict]] = {"dmp": [], "insi": []}
        self.calls: list[tuple] = []
        self.dead: set[str] = set()
        self.bases = {"dmp": "http://127.0.0.1:1/_admin/", "insi": "http://127.0.0.1:2/_admin/"}

    def services(self):
        return list(self.journals)

    def base(self, service):
        return self.bases[service]

    def journal(self, service, since=0, limit=None):
        self.calls.append((service, since, limit))
        if service in self.dead:
            raise ServiceDown(service, "connection refused")
        entries = [e for e in self.journals[service] if e["seq"] > since]
        return entries[-limit:] if limit else entries

    def add(self, service, operation="op", verdict="accepted", rules=(), meta=None, task=None, body=""):
        seq = len(self.journals[service]) + 1
        self.journals[service].append({"seq": seq, "service": service, "time": f"2026-12-06T10:00:{seq:02d}",
                                       "operation": operation, "verdict": verdict, "rules": list(rules),
                                       "meta": meta or {}, "task": task,
                                       "request": {"body": {"encoding": "text", "text": body}}})


def test_rows_come_newest_first_across_services_and_each_refresh_asks_only_for_what_is_new():
    admin = FakeAdmin()
    feed = Feed(admin, window=100)
    admin.add("dmp", "ITI-41")
    admin.add("insi", "rechercherInsAvecTraitsIdentite")
    feed.refresh()
    admin.add("dmp", "ITI-18")
    feed.refresh()
    assert [row.operation for row in feed.rows(Selection())] == ["ITI-18", "rechercherInsAvecTraitsIdentite",
                                                                 "ITI-41"]
    assert admin.calls[-2:] == [("dmp", 1, None), ("insi", 1, None)]
    assert [row.operation for row in feed.rows(Selection(), after=2)] == ["ITI-18"]


def test_the_first_pull_takes_only_the_window_and_the_feed_keeps_the_latest_of_each_service():
    admin = FakeAdmin()
    for _ in range(7):
        admin.add("dmp")
    admin.add("insi")
    feed = Feed(admin, window=3)
    feed.refresh()
    assert admin.calls[0] == ("dmp", 0, 3)
    for _ in range(5):
        admin.add("dmp")
    feed.refresh()
    assert [row.seq for row in feed.rows(Selection(service="dmp"))] == [12, 11, 10]
    assert [row.seq for row in feed.rows(Selection(service="insi"))] == [1]


def test_a_service_that_does_not_answer_is_reported_and_the_others_are_shown():
    admin = FakeAdmin()
    admin.add("insi")
    admin.dead.add("dmp")
    feed = Feed(admin)
    feed.refresh()
    assert "connection refused" in feed.down["dmp"] and len(feed) == 1
    admin.dead.clear()
    admin.add("dmp")
    feed.refresh()
    assert feed.down == {} and len(feed) == 2


def test_a_service_started_again_elsewhere_is_read_from_its_first_exchange():
    admin = FakeAdmin()
    for _ in range(3):
        admin.add("dmp", "old")
    feed = Feed(admin)
    feed.refresh()
    admin.journals["dmp"] = []
    admin.bases["dmp"] = "http://127.0.0.1:3/_admin/"
    admin.add("dmp", "new")
    feed.refresh()
    assert [(row.seq, row.operation) for row in feed.rows(Selection(service="dmp"))] == [(1, "new")]


def test_the_filters_select_by_rule_task_verdict_patient_and_professional():
    world = load_world()
    patient = world.patients[0]
    professional = world.professionals[0]
    admin = FakeAdmin()
    patient_id = f"{patient.ins}^^^&1.2.250.1.213.1.4.10&ISO^NH"
    admin.add("dmp", rules=["SEGUR-BODY-002"], verdict="rejected", task="dmp-01",
              meta={"patient_id": patient_id, "caller": professional.idnps})
    admin.add("insi", body=f"<NomNaissance>{patient.birth_name}</NomNaissance>")
    admin.add("insi", body="<NomNaissance>SOMEONE-ELSE</NomNaissance>")
    feed = Feed(admin, world=world)
    feed.refresh()

    def seqs(**selection):
        return [(row.service, row.seq) for row in feed.rows(Selection(**selection))]

    assert seqs(rule="segur-body-002") == [("dmp", 1)]
    assert seqs(task="dmp-01") == [("dmp", 1)] and seqs(task="dmp-02") == []
    assert seqs(verdict="rejected") == [("dmp", 1)]
    assert seqs(patient=patient.birth_name.lower()) == [("insi", 1), ("dmp", 1)]
    assert seqs(patient=patient.ins) == [("insi", 1), ("dmp", 1)]
    assert seqs(professional=professional.family_name) == [("dmp", 1)]
    assert seqs(professional=professional.rpps) == [("dmp", 1)]
    assert sorted(feed.values("rule")) == ["SEGUR-BODY-002"] and feed.values("service") == ["dmp", "insi"]


def test_an_exchanges_facts_are_one_short_line():
    entry = {"meta": {"patient_id": "123", "documents": ["a", "b", "c", "d"], "nested": {"x": 1}, "n": 3}}
    assert facts_of(entry) == "patient_id: 123; documents: a, b, c …; n: 3"
    assert len(facts_of({"meta": {"text": "x" * 500}})) == 160
