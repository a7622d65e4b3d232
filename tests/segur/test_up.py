"""`segur up`: the four mocks from one config, sharing one world and one PKI."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.kernel.faults import FaultError
from segur.up import ConfigError, free_port_overrides, load_config, start_stack
from segur.up_cli import pack_note


def _free_config(tmp_path, **sections):
    overrides = free_port_overrides()
    overrides["stack"] = {"pki": str(tmp_path / "pki"), "data": str(tmp_path / "data")}
    overrides["dmp"]["validation"] = overrides["mssante"]["validation"] = False
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return load_config(overrides=overrides)


def _health(url: str) -> dict:
    with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as resp:
        return json.loads(resp.read())


def test_the_stack_starts_all_four_mocks_and_each_answers_health(tmp_path):
    with start_stack(_free_config(tmp_path)) as stack:
        endpoints = stack.endpoints()
        assert set(endpoints) == {"igc", "annuaire", "insi", "dmp", "mssante", "psc", "pam", "console", "pki"}
        for name in ("annuaire", "insi", "dmp", "mssante", "pam"):
            assert _health(endpoints[name]["admin"])["service"] == name
        assert endpoints["mssante"]["smtp"]["port"] > 0
        assert (tmp_path / "pki" / "ca.pem").exists()
        assert endpoints["pki"]["ca_file"] == str((tmp_path / "pki" / "ca.pem").resolve())
    assert stack.services == {}


def test_every_ca_file_in_the_endpoints_is_absolute_even_for_a_relative_pki(tmp_path, monkeypatch):
    """The product reading the endpoints file seldom runs in the directory `segur up` was started in."""
    monkeypatch.chdir(tmp_path)
    config = _free_config(tmp_path, stack={"pki": "relative-pki"})
    with start_stack(config) as stack:
        endpoints = stack.endpoints()
    expected = str((tmp_path / "relative-pki" / "ca.pem").resolve())
    assert endpoints["mssante"]["ca_file"] == endpoints["pki"]["ca_file"] == expected


def test_the_mocks_share_one_world(tmp_path):
    with start_stack(_free_config(tmp_path)) as stack:
        worlds = {id(stack.services[n].model.world) for n in ("annuaire", "insi")}
        worlds.add(id(stack.services["dmp"].backend.world))
        assert len(worlds) == 1


def test_faults_from_the_config_are_in_force_at_start(tmp_path):
    config = _free_config(tmp_path, faults={"insi": [{"kind": "http_error", "status": 503}]})
    with start_stack(config) as stack:
        faults = stack.services["insi"].faults.list()
        assert [(f.kind, f.params["status"]) for f in faults] == [("http_error", 503)]


def test_the_answer_styles_of_insi_and_the_annuaire_are_chosen_in_the_config(tmp_path):
    """What `segur serve insi --strict-faults` and `segur serve annuaire --unknown-parameters fhir` offer,
    `segur up` must offer too: a product under test is usually run against the whole stack."""
    only = {"dmp": {"enabled": False}, "mssante": {"enabled": False}}
    config = _free_config(tmp_path, insi={"fault_style": "strict"}, annuaire={"unknown_parameters": "fhir"},
                          **only)
    with start_stack(config) as stack:
        endpoints = stack.endpoints()
        assert _health(endpoints["insi"]["admin"])["fault_style"] == "strict"
        url = endpoints["annuaire"]["fhir_base"] + "/Practitioner?_totalMethod=count"
        request = urllib.request.Request(url, headers={"ESANTE-API-KEY": "test"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert resp.status == 200 and json.loads(resp.read())["resourceType"] == "Bundle"


def test_by_default_the_stack_answers_as_cnam_and_the_real_annuaire(tmp_path):
    config = _free_config(tmp_path, dmp={"enabled": False}, mssante={"enabled": False})
    with start_stack(config) as stack:
        assert stack.services["insi"].config.fault_style == "cnam"
        assert stack.services["annuaire"].model.unknown_parameters == "refuse"


def test_a_disabled_service_is_not_started(tmp_path):
    with start_stack(_free_config(tmp_path, mssante={"enabled": False})) as stack:
        assert "mssante" not in stack.endpoints()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"colour": {}}, "unknown section [colour]"),
        ({"insi": {"prot": 1}}, "unknown key(s) in [insi]: prot"),
        ({"mssante": {"tls": "maybe"}}, "tls must be one of"),
        ({"insi": {"fault_style": "400"}}, "[insi] fault_style must be one of cnam, strict, not '400'"),
        ({"annuaire": {"unknown_parameters": "ignore"}},
         "[annuaire] unknown_parameters must be one of refuse, fhir"),
        ({"dmp": {"vihf_errors": "soap"}}, "[dmp] vihf_errors must be one of registry, soap-fault"),
        ({"insi": {"port": "x"}}, "[insi] port must be a whole number, not 'x'"),
        ({"dmp": {"port": True}}, "[dmp] port must be a whole number, not True"),
        ({"mssante": {"validation": "no"}}, "[mssante] validation must be true or false, not 'no'"),
        ({"annuaire": {"api_keys": "k1"}}, "[annuaire] api_keys must be a list, not 'k1'"),
        ({"stack": {"pki": 3}}, "[stack] pki must be a string, not 3"),
        ({"faults": {"pharmacy": []}}, "unknown service(s): pharmacy"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(overrides, message):
    with pytest.raises(ConfigError) as error:
        load_config(overrides=overrides)
    assert message in str(error.value)


def test_a_bad_fault_in_the_config_stops_what_was_started(tmp_path):
    config = _free_config(tmp_path, faults={"insi": [{"kind": "meteor"}]})
    with pytest.raises(FaultError):
        start_stack(config)


def test_a_port_in_use_is_refused_naming_the_mock_and_the_way_out(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _free_config(tmp_path, dmp={"port": port})
        with pytest.raises(OSError) as error:
            start_stack(config)
    message = str(error.value)
    assert f"the dmp mock cannot listen on 127.0.0.1 (port {port})" in message
    assert "--free-ports" in message


def test_config_file_is_read(tmp_path):
    path = tmp_path / "segur.toml"
    path.write_text('[insi]\nport = 9999\n[dmp]\nlenient = true\n', encoding="utf-8")
    config = load_config(path)
    assert config["insi"]["port"] == 9999 and config["dmp"]["lenient"] is True
    assert config["annuaire"]["port"] == 8300
    (tmp_path / "broken.toml").write_text("[insi\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "broken.toml")


def test_segur_up_prints_endpoints_writes_them_and_stops_on_sigint(tmp_path):
    config = tmp_path / "up.toml"
    config.write_text(
        f'[stack]\npki = "{tmp_path / "pki"}"\ndata = "{tmp_path / "data"}"\n'
        '[dmp]\nvalidation = false\n[mssante]\nvalidation = false\n', encoding="utf-8")
    endpoints_file = tmp_path / "endpoints.json"
    endpoints_file.write_text('{"stale": "from an earlier run"}', encoding="utf-8")
    segur = [sys.executable, "-m", "segur", "up", "--config", str(config), "--free-ports",
             "--endpoints-file", str(endpoints_file)]
    process = subprocess.Popen(segur, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while not (endpoints_file.exists() and "insi" in endpoints_file.read_text()) and \
                time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert endpoints_file.exists(), process.stderr.read() if process.poll() is not None else "timed out"
        endpoints = json.loads(endpoints_file.read_text())
        assert _health(endpoints["insi"]["admin"])["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped." in out
    assert not endpoints_file.exists(), "the endpoints of a stopped stack must not be left behind"


def test_segur_up_refuses_a_bad_config_with_exit_2(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[insi]\nprot = 1\n", encoding="utf-8")
    stale = tmp_path / "endpoints.json"
    stale.write_text('{"stale": "from an earlier run"}', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "segur", "up", "--config", str(config),
                             "--endpoints-file", str(stale)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "unknown key(s) in [insi]" in result.stderr
    assert not stale.exists(), "a CI loop waiting for the file must not take a failed start for a live stack"


def test_segur_up_says_when_the_mocks_validate_without_the_official_pack(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGUR_PACK", raising=False)
    bare = load_config()
    assert "no official CDA pack: dmp and mssante validate" in pack_note(bare)
    assert pack_note(load_config(overrides={"stack": {"pack": str(tmp_path)}})) is None
    no_validation = {"dmp": {"validation": False}, "mssante": {"validation": False}}
    assert pack_note(load_config(overrides=no_validation)) is None
    monkeypatch.setenv("SEGUR_PACK", str(tmp_path))
    assert pack_note(bare) is None


def test_segur_up_help_names_the_config_key_of_the_pack():
    """Typer reads help as rich markup, where a bare `[stack]` is a style tag and vanishes from the text."""
    output = CliRunner().invoke(app, ["up", "--help"], terminal_width=300).output
    assert "then [stack] pack of --config, then" in " ".join(output.split())
