"""The kernel's service shape: one config dataclass for `segur up`, `segur serve NAME` and tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests
import typer
from flask import Flask, jsonify
from typer.testing import CliRunner

from segur.kernel.admin import admin_blueprint
from segur.kernel.config import ConfigError, ServiceConfig, section_from_dict, setting
from segur.kernel.service import HttpService, StackContext
from segur.serve_cli import register_services


@dataclass
class EchoConfig(ServiceConfig):
    greeting: str = setting("bonjour", "What the echo says.")
    mode: str = setting("cnam", "How it answers.", choices=("cnam", "strict"), flags={"--strict": "strict"})
    loud: bool = setting(False, "Shout.")
    keys: list = setting([], "Keys.", cli="--key")


class EchoService(HttpService):
    name = "echo"
    Config = EchoConfig
    title = "A service for the kernel's own tests."

    def create_app(self):
        app = Flask("echo")
        app.register_blueprint(admin_blueprint(self))

        @app.get("/echo")
        def echo():
            self.journal.record("echo", "ok")
            text = self.config.greeting.upper() if self.config.loud else self.config.greeting
            return jsonify({"text": text, "mode": self.config.mode})

        return app

    def endpoints(self) -> dict:
        return {"echo": f"{self.base_url}/echo", "admin": f"{self.base_url}/_admin/"}


def test_a_section_is_type_checked_and_unknown_keys_refused():
    assert section_from_dict(EchoConfig, {"greeting": "salut", "port": 0}, "echo").greeting == "salut"
    with pytest.raises(ConfigError, match="unknown key"):
        section_from_dict(EchoConfig, {"greting": "x"}, "echo")
    with pytest.raises(ConfigError, match="port must be a whole number"):
        section_from_dict(EchoConfig, {"port": "8300"}, "echo")
    with pytest.raises(ConfigError, match="mode must be one of cnam, strict"):
        section_from_dict(EchoConfig, {"mode": "lenient"}, "echo")


def test_a_service_serves_its_app_and_the_admin_api_on_a_free_port():
    with EchoService(EchoConfig(port=0), StackContext.for_tests()) as echo:
        assert requests.get(echo.endpoints()["echo"], timeout=5).json() == {"text": "bonjour", "mode": "cnam"}
        health = requests.get(echo.base_url + "/_admin/health", timeout=5).json()
        assert health["service"] == "echo" and health["endpoints"]["echo"].endswith("/echo")


def test_every_exchange_carries_the_task_the_judge_set():
    with EchoService(EchoConfig(port=0), StackContext.for_tests()) as echo:
        admin = echo.base_url + "/_admin"
        requests.get(echo.endpoints()["echo"], timeout=5)
        tagged = requests.put(admin + "/task", json={"task": "dmp-01"}, timeout=5).json()
        assert tagged == {"task": "dmp-01", "last_seq": 1}  # the mark the proof takes at the task's start
        requests.get(echo.endpoints()["echo"], timeout=5)
        untagged = requests.put(admin + "/task", json={"task": None}, timeout=5).json()
        assert untagged == {"task": None, "last_seq": 2}
        requests.get(echo.endpoints()["echo"], timeout=5)
        tasks = [e["task"] for e in requests.get(admin + "/journal", timeout=5).json()["entries"]]
        assert tasks == [None, "dmp-01", None]
        tagged = requests.get(admin + "/journal", params={"task": "dmp-01"}, timeout=5).json()["entries"]
        assert [e["seq"] for e in tagged] == [2]


@pytest.mark.parametrize("body", [{}, {"task": ""}, {"task": 3}, "dmp-01"])
def test_a_task_that_is_not_a_name_is_refused(body):
    with EchoService(EchoConfig(port=0), StackContext.for_tests()) as echo:
        answer = requests.put(echo.base_url + "/_admin/task", json=body, timeout=5)
        assert answer.status_code == 400 and "task" in answer.json()["error"]


def _cli():
    app = typer.Typer()
    serve = typer.Typer()
    app.add_typer(serve, name="serve")
    register_services(serve, [EchoService])
    return app


def test_serve_offers_every_setting_of_the_config_as_an_option():
    result = CliRunner().invoke(_cli(), ["serve", "echo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in ("--greeting", "--mode", "--strict", "--loud", "--no-loud", "--key", "--port", "--host",
                   "--config"):
        assert option in result.output
    assert "--enabled" not in result.output


def test_serve_refuses_a_word_outside_the_choices():
    result = CliRunner().invoke(_cli(), ["serve", "echo", "--mode", "lenient"])
    assert result.exit_code == 2 and "mode must be one of cnam, strict" in result.output


def test_a_service_that_leaves_out_what_every_service_must_give_cannot_be_built():
    class Incomplete(HttpService):
        name = "incomplete"

        def endpoints(self) -> dict:
            return {}

    with pytest.raises(TypeError, match="create_app"):
        Incomplete(EchoConfig(port=0), StackContext.for_tests())
