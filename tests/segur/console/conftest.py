"""A whole stack (the four mocks and the console, free loopback ports) per test module, and the clients that
put exchanges in it: the project's DMP client and SMTP. The DMP is lenient so that a document with a
defect is stored with its findings (the console's document view shows them)."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.request

import pytest

from segur.fixtures.documents import build_cr_img_n1, read_ids
from segur.fixtures.world import load_world
from segur.kernel.pki import TestPki
from segur.mocks.dmp.client import CallerIdentity, DmpClient
from segur.mocks.mssante.testing import mss_message
from segur.up import free_port_overrides, load_config, start_stack


def stack_overrides(tmp_path, **sections) -> dict:
    overrides = free_port_overrides()
    overrides["stack"] = {"pki": str(tmp_path / "pki"), "data": str(tmp_path / "data")}
    overrides["dmp"]["lenient"] = True
    overrides["console"]["evidence"] = str(tmp_path / "evidence")
    for name, values in sections.items():
        overrides.setdefault(name, {}).update(values)
    return overrides


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    overrides = stack_overrides(tmp_path_factory.mktemp("console-stack"))
    with start_stack(load_config(overrides=overrides)) as running:
        yield running


@pytest.fixture(scope="module")
def console(stack):
    return stack.services["console"]


@pytest.fixture(scope="module")
def web(console):
    """Flask's test client of the console's app (the mocks behind it are real servers)."""
    return console.create_app().test_client()


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def radiologist(world):
    return next(p for p in world.professionals if p.organisation == "750803447")


@pytest.fixture(scope="module")
def dmp_client(stack, world, radiologist) -> DmpClient:
    pki = TestPki.load_or_create(stack.pki_dir)
    base = stack.endpoints()["dmp"]["admin"].split("/_admin")[0]
    caller = CallerIdentity.of(radiologist, world.organisation_of(radiologist))
    return DmpClient.for_mock(base, pki=pki, caller=caller)


@pytest.fixture(scope="module")
def patients(world):
    """World patients with an open DMP."""
    return [p for p in world.patients if p.has_dmp and not p.dmp_closed and not p.dmp_opposed
            and p.key.startswith("pat-")]


@pytest.fixture(scope="module")
def submit(dmp_client, world, radiologist):
    """`submit(patient, **builder options)`: one CR-IMG sent by ITI-41; returns its uniqueId."""

    def send(patient, **options) -> str:
        document = build_cr_img_n1(patient, radiologist, world.organisation_of(radiologist), **options)
        result = dmp_client.provide_and_register(document)
        assert result.ok, result.rules
        return read_ids(document).id

    return send


@pytest.fixture(scope="module")
def send_mail(stack):
    """`send_mail(message)`: one message submitted over SMTP with STARTTLS (the test PKI's CA)."""
    endpoints = stack.endpoints()["mssante"]
    password = json.loads(urllib.request.urlopen(endpoints["admin"] + "health", timeout=5).read())[
        "credentials"]["default_password"]

    context = ssl.create_default_context(cafile=endpoints["ca_file"])

    def send(message) -> None:
        with smtplib.SMTP(endpoints["smtp"]["host"], endpoints["smtp"]["port"], timeout=10) as client:
            client.starttls(context=context)
            client.login(message["From"], password)
            client.send_message(message)

    return send


@pytest.fixture(scope="module")
def mail():
    """`mss_message` of the MSSanté mock's testing helpers: a conformant message, each part breakable."""
    return mss_message
