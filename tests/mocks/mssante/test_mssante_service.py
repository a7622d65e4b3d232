"""The MSSanté mock as a kernel service: the journal and the faults are the service's (the kernel's), its
settings are one list for `segur serve mssante` and `[mssante]` of `segur up`, and the flags users know
(`--no-tls`, `--mtls`, `--no-validate`) still set them."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from segur import serve_cli
from segur.cli import app as cli_app
from segur.kernel.config import ConfigError
from segur.kernel.faults import FaultBook
from segur.kernel.journal import Journal
from segur.mocks.mssante.service import MssanteConfig, MssanteService
from segur.mocks.mssante.store import StoredJournal
from segur.mocks.mssante.testing import mssante_service
from segur.services import BY_NAME
from segur.up import load_config


def test_the_journal_and_the_faults_are_the_services_not_the_backends():
    service = mssante_service(validate=False)
    assert not hasattr(service.backend, "journal") and not hasattr(service.backend, "faults")
    assert isinstance(service.faults, FaultBook) and type(service.journal) is Journal
    assert set(MssanteService.fault_kinds) == {"smtp_reply", "tls_off", "session_end"}
    assert {"smtp_reply", "tls_off", "latency", "overload"} <= set(service.faults.kinds)
    service.backend.close()


def test_the_journal_is_kept_in_the_store_when_the_mailboxes_are(tmp_path):
    service = mssante_service(validate=False, data_dir=tmp_path)
    assert isinstance(service.journal, StoredJournal) and service.journal.store is service.backend.store
    service.backend.close()


def test_a_fault_delay_is_computed_by_the_book_without_sleeping():
    service = mssante_service(validate=False)
    fault = service.faults.add({"kind": "latency", "ms": 60_000})
    assert fault.operation == "data"  # the SMTP stage by default
    assert service.faults.delay(service.faults.select("data")) == 60.0  # returned at once: no thread waits
    service.backend.close()


def test_the_registry_starts_this_service():
    assert BY_NAME["mssante"] is MssanteService


def test_every_setting_is_a_key_of_the_mssante_section():
    every = {item.name: getattr(MssanteConfig(), item.name) for item in dataclasses.fields(MssanteConfig)}
    assert load_config(overrides={"mssante": every})["mssante"] == every
    with pytest.raises(ConfigError, match="no_validate"):
        load_config(overrides={"mssante": {"no_validate": True}})
    with pytest.raises(ConfigError, match="tls"):
        load_config(overrides={"mssante": {"tls": "maybe"}})


@pytest.fixture
def served(monkeypatch):
    """`segur serve mssante …` run in-process up to the service it would serve (then not served)."""
    started = []
    monkeypatch.setattr(serve_cli, "run_until_interrupted", lambda service, on_ready: started.append(service))

    def serve(*options: str) -> MssanteService:
        result = CliRunner().invoke(cli_app, ["serve", "mssante", "--data", ":memory:", *options])
        assert result.exit_code == 0, result.output
        service = started.pop()
        service.backend.close()
        return service

    return serve


@pytest.mark.parametrize(("options", "tls", "validation"), [
    ((), "starttls", True),
    (("--no-tls",), "none", True),
    (("--tls-mode", "none", "--no-validate"), "none", False),
    (("--mtls",), "mtls", True),
    (("--tls",), "starttls", True),
    (("--no-tls", "--mtls"), "mtls", True),
])
def test_the_serve_options_users_know_set_the_settings(served, tmp_path, options, tls, validation):
    service = served("--pki", str(tmp_path / "pki"), *options)
    assert (service.config.tls, service.config.validation) == (tls, validation)
    assert service.config.data == ":memory:" and service.data_location() == ":memory:"


def test_serve_refuses_a_tls_mode_it_does_not_know():
    result = CliRunner().invoke(cli_app, ["serve", "mssante", "--tls-mode", "maybe", "--data", ":memory:"])
    assert result.exit_code != 0 and "tls must be one of" in result.output


WIRE_LIBRARIES = ("aiosmtpd", "pymap", "pysasl", "flask", "werkzeug", "cheroot")
DOMAIN = ("models", "checks", "xdm", "cda", "consistency", "notifications", "store", "rules")


def test_the_model_imports_no_protocol_library_and_no_wire_module():
    """models.py and the domain modules run without aiosmtpd, pymap or Flask (moto's layering)."""
    probe = ("import sys, segur.mocks.mssante.models; "
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} | "
             "{m for m in sys.modules if m.startswith('segur.mocks.mssante.')})))")
    loaded = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                check=True).stdout.split())
    assert not loaded & set(WIRE_LIBRARIES)
    mssante = {name.rsplit(".", 1)[1] for name in loaded if name.startswith("segur.mocks.mssante.")}
    assert mssante <= set(DOMAIN)
