"""The PSC mock as a kernel service: its `[psc]` section, `segur serve psc`, its clients."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from segur.cli import app
from segur.kernel.config import ConfigError
from segur.mocks.psc.models import DEFAULT_CLIENT, Client
from segur.mocks.psc.service import PscConfig, PscService
from segur.up import load_config


def test_the_stack_config_has_a_psc_section_with_clients_as_strings_or_tables():
    table = {"client_id": "ris", "client_secret": "s3", "redirect_uris": ["https://ris.example/cb"]}
    config = load_config(overrides={"psc": {"clients": ["lgc secret http://localhost:9000/cb", table]}})
    service = PscService(PscConfig(**config["psc"]))
    assert sorted(service.model.clients) == ["lgc", "ris", DEFAULT_CLIENT.client_id]
    assert service.model.clients["ris"].redirect_uris == ("https://ris.example/cb",)


@pytest.mark.parametrize("section", [
    {"clients": ["only-an-id"]}, {"clients": [{"client_id": "x", "client_secret": "y"}]},
    {"access_token_lifetime": 0}, {"acr_values": "ignore"}, {"pkce": "S256"},
])
def test_a_bad_psc_section_is_refused_at_load(section):
    with pytest.raises(ConfigError, match=r"\[psc\]"):
        load_config(overrides={"psc": section})


def test_a_client_redirect_uri_matches_exactly_or_on_another_loopback_port():
    client = Client.parse("c s http://127.0.0.1/cb https://rp.example/cb")
    assert client.accepts_redirect("https://rp.example/cb")
    assert client.accepts_redirect("http://127.0.0.1:4711/cb")
    assert not client.accepts_redirect("https://rp.example/cb/../evil")
    assert not client.accepts_redirect("http://127.0.0.1:4711/other")
    assert not client.accepts_redirect("https://rp.example:8443/cb")


def test_serve_psc_offers_the_settings_as_options():
    result = CliRunner().invoke(app, ["serve", "psc", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for option in ("--port", "--client", "--access-token-lifetime", "--acr-values", "--pkce",
                   "--ciba-pending-polls", "--config"):
        assert option in result.output


def test_serve_psc_refuses_a_bad_client_with_a_usage_error():
    result = CliRunner().invoke(app, ["serve", "psc", "--port", "0", "--client", "lonely"])
    assert result.exit_code == 2 and "[psc] clients" in result.output
