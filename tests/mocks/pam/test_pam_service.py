"""The PAM mock as a kernel service: settings, listeners in /_admin/health, identities, faults, reset,
`segur up`'s [pam] section and docs/pam.md's settings table."""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from pam_helpers import adt, err_rules, msa1

from segur.kernel.config import ConfigError
from segur.mocks.pam import mllp
from segur.mocks.pam.rules import book
from segur.mocks.pam.service import PamConfig, PamService
from segur.mocks.pam.testing import read_reply, running_pam
from segur.services import BY_NAME
from segur.up import load_config

DOCS = Path(__file__).resolve().parents[3] / "docs" / "pam.md"


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def test_the_registry_starts_pam_with_segur_up():
    assert BY_NAME["pam"] is PamService


def test_health_lists_each_listener_as_an_mllp_url():
    with running_pam(mllp_ports=[0, 0]) as pam:
        health = _get(pam.admin_url + "health")
        assert health["service"] == "pam" and health["status"] == "ok"
        assert len(health["listeners"]) == 2
        assert all(re.fullmatch(r"mllp://127\.0\.0\.1:[0-9]+", url) for url in health["listeners"])
        assert health["endpoints"]["mllp"] == health["listeners"]
        second = pam.service.listeners[1].server_address[1]
        ack = mllp.exchange("127.0.0.1", second, adt().encode(), timeout=5)
        assert msa1(ack.decode()) == "AA"


def test_identities_are_listed_by_the_admin_api_and_emptied_by_reset(pam):
    pam.send(adt())
    (identity,) = _get(pam.admin_url + "identities")["identities"]
    assert identity["ins"]["value"] == "109076322083489"
    assert _get(pam.admin_url + "identities/109076322083489")["number"] == identity["number"]
    _post(pam.admin_url + "reset", {})
    assert _get(pam.admin_url + "identities")["identities"] == []
    assert len(pam.journal) == 0


def test_an_unknown_identity_is_404(pam):
    with pytest.raises(urllib.error.HTTPError) as error:
        _get(pam.admin_url + "identities/nobody")
    assert error.value.code == 404


def test_the_task_set_by_the_judge_is_on_each_entry(pam):
    req = urllib.request.Request(pam.admin_url + "task", data=b'{"task": "pam-01"}', method="PUT",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).close()
    try:
        pam.send(adt())
        assert [e.task for e in pam.journal.entries()] == ["pam-01"]
    finally:
        pam.journal.task = None


# --- faults ---------------------------------------------------------------------------------------

def test_a_nack_fault_answers_the_code_asked_and_expires(pam):
    pam.service.faults.add({"kind": "nack", "code": "AR", "count": 1})
    ack = pam.send(adt())
    assert msa1(ack) == "AR" and "PAM-FAULT-01" in err_rules(ack)
    assert pam.journal.entries()[-1].verdict == "fault-injected"
    assert msa1(pam.send(adt(control="MSG0002"))) == "AA"


def test_a_nack_fault_can_target_one_event(pam):
    pam.service.faults.add({"kind": "nack", "operation": "ADT^A31"})
    assert msa1(pam.send(adt("A28"))) == "AA"
    assert msa1(pam.send(adt("A31"))) == "AE"


def test_a_drop_fault_closes_the_connection_without_answer_and_the_next_is_served(pam):
    pam.service.faults.add({"kind": "drop", "count": 1})
    with pam.connect() as sock:
        sock.sendall(b"\x0b" + adt().encode() + b"\x1c\r")
        assert read_reply(sock) == ""
    assert msa1(pam.send(adt(control="MSG0002"))) == "AA"
    assert pam.journal.entries()[0].meta == {"fault": "drop"}


def test_a_latency_fault_delays_the_ack(pam, monkeypatch):
    slept = []
    monkeypatch.setattr(pam.service.faults, "_sleep", slept.append)
    pam.service.faults.add({"kind": "latency", "ms": 250})
    assert msa1(pam.send(adt())) == "AA"
    assert slept == [0.25]


def test_an_unknown_fault_kind_is_refused_by_the_admin_api(pam):
    with pytest.raises(urllib.error.HTTPError) as error:
        _post(pam.admin_url + "faults", {"kind": "explode"})
    assert error.value.code == 400


# --- settings -------------------------------------------------------------------------------------

def test_the_stack_config_has_a_pam_section_with_its_settings():
    config = load_config(overrides={"pam": {"mllp_ports": [2575, 2576], "max_message_size": 1000}})
    assert config["pam"]["mllp_ports"] == [2575, 2576]
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(overrides={"pam": {"mllp_port": 1}})


@pytest.mark.parametrize(("settings", "message"), [
    ({"mllp_ports": []}, "one or more"),
    ({"mllp_ports": ["x"]}, "port numbers"),
    ({"mllp_ports": [70000]}, "0–65535"),
    ({"idle_timeout": 0}, "positive"),
])
def test_bad_settings_are_refused_before_listening(settings, message):
    with pytest.raises(ConfigError, match=message):
        PamService(PamConfig(**settings))


def test_ports_given_as_strings_on_the_command_line_are_read():
    assert PamService(PamConfig(mllp_ports=["0", "0"])).ports == [0, 0]


def test_a_port_already_taken_fails_at_start_and_frees_the_others():
    with running_pam() as pam:
        taken = pam.port
        service = PamService(PamConfig(port=0, mllp_ports=[0, taken]))
        with pytest.raises(OSError):
            service.start()
        assert service.listeners == [] and service.admin is None


def test_docs_settings_table_matches_the_config():
    rows = re.findall(r"^\| `([a-z_]+)` \| `([^`]*)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE)
    documented = dict(rows)
    fields = {f.name: f for f in dataclasses.fields(PamConfig)}
    assert set(documented) == set(fields)
    for name, item in fields.items():
        default = item.default if item.default is not dataclasses.MISSING else item.default_factory()
        assert documented[name] == json.dumps(default), name


def test_docs_name_every_rule():
    text = DOCS.read_text(encoding="utf-8")
    assert [rule.id for rule in book if rule.id not in text] == []


def test_segur_serve_pam_prints_its_listeners_answers_and_stops_on_sigterm(tmp_path):
    command = [sys.executable, "-m", "segur", "serve", "pam", "--port", "0", "--mllp-ports", "0"]
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    process = subprocess.Popen(command, cwd=tmp_path, **output)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        url = lines[0].split("mllp: ", 1)[1].strip()
        assert lines[1].startswith("admin: http://127.0.0.1:")
        host, port = mllp.parse_url(url)
        assert msa1(mllp.exchange(host, port, adt().encode(), timeout=10).decode()) == "AA"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_a_nack_fault_with_a_code_that_is_not_a_nack_answers_ae(pam):
    pam.service.faults.add({"kind": "nack", "code": "AA"})
    assert msa1(pam.send(adt())) == "AE"
    assert pam.journal.entries()[-1].meta["control_id"] == "MSG0001"
