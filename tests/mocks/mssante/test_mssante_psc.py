"""XOAUTH2 with Pro Santé Connect tokens (REM SC.MSS/CONF.07): the operator checks the token against
PSC (signature, issuer, expiry, session still active) and lets its professional into their own mailbox
only; the journal says which professional the token named."""

from __future__ import annotations

import base64
import imaplib
import smtplib
import ssl

import pytest
import requests

from segur.fixtures.world import load_world
from segur.mocks.psc.testing import log_in
from segur.up import SERVICE_NAMES, free_port_overrides, load_config, start_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("mss-psc")
    overrides = free_port_overrides()
    overrides.update({name: {"enabled": False} for name in SERVICE_NAMES if name not in ("mssante", "psc")})
    overrides["stack"] = {"data": str(root / "data"), "pki": str(root / "pki")}
    overrides["mssante"].update(validation=False, psc_issuer="stack", data=":memory:")
    overrides["psc"].update(port=0)
    with start_stack(load_config(overrides=overrides)) as running:
        yield running


@pytest.fixture(scope="module")
def owner():
    """A professional of the world and their own mailbox."""
    world = load_world()
    box = next(m for m in world.mailboxes if m.owner_type == "professional" and not m.closed)
    return next(p for p in world.professionals if p.key == box.owner), box.address


def _xoauth2(user: str, token: str) -> str:
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()


def _smtp_auth(stack, user: str, token: str) -> tuple[int, bytes]:
    endpoints = stack.endpoints()["mssante"]
    context = ssl.create_default_context(cafile=endpoints["ca_file"])
    with smtplib.SMTP(endpoints["smtp"]["host"], endpoints["smtp"]["port"], timeout=10) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo()
        return smtp.docmd("AUTH", "XOAUTH2 " + _xoauth2(user, token))


def _journal(stack, operation: str) -> list[dict]:
    admin = stack.endpoints()["mssante"]["admin"]
    return requests.get(admin + "journal", params={"operation": operation}, timeout=5).json()["entries"]


def test_a_psc_access_token_opens_its_professional_s_mailbox_and_the_journal_names_them(stack, owner):
    professional, address = owner
    tokens = log_in(stack.services["psc"], professional.idnps)
    code, text = _smtp_auth(stack, address, tokens["access_token"])
    assert code == 235, text
    last = _journal(stack, "smtp-auth")[-1]
    assert last["verdict"] == "ok" and last["meta"]["professional"] == professional.idnps


def test_imap_takes_the_same_token(stack, owner):
    professional, address = owner
    token = log_in(stack.services["psc"], professional.idnps)["access_token"]
    endpoints = stack.endpoints()["mssante"]
    with imaplib.IMAP4(endpoints["imap"]["host"], endpoints["imap"]["port"], timeout=10) as imap:
        imap.starttls(ssl.create_default_context(cafile=endpoints["ca_file"]))
        typ, _ = imap.authenticate("XOAUTH2", lambda _: f"user={address}\x01auth=Bearer {token}\x01\x01")
        assert typ == "OK"
    assert _journal(stack, "imap-login")[-1]["meta"]["professional"] == professional.idnps


def test_a_forged_token_is_refused_with_the_rule_that_says_why(stack, owner):
    _professional, address = owner
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(b'{"sub":"x"}').rstrip(b"=").decode()
    code, text = _smtp_auth(stack, address, f"{header}.{body}.")
    assert code == 535 and b"MSS-AUTH-PSC-TOKEN" in text
    assert _journal(stack, "smtp-auth")[-1]["rules"] == ["MSS-AUTH-PSC-TOKEN"]


def test_another_professional_s_token_does_not_open_the_mailbox(stack, owner):
    professional, address = owner
    world = load_world()
    other = next(p for p in world.professionals if p.key != professional.key)
    token = log_in(stack.services["psc"], other.idnps)["access_token"]
    code, text = _smtp_auth(stack, address, token)
    assert code == 535 and b"MSS-AUTH-PSC-OWNER" in text
    assert _journal(stack, "smtp-auth")[-1]["meta"]["professional"] == other.idnps


def test_a_token_of_a_session_ended_by_logout_is_refused(stack, owner):
    professional, address = owner
    psc = stack.services["psc"]
    tokens = log_in(psc, professional.idnps)
    assert _smtp_auth(stack, address, tokens["access_token"])[0] == 235
    logout = psc.endpoints()["end_session"]
    requests.get(logout, params={"id_token_hint": tokens["id_token"]}, allow_redirects=False, timeout=5)
    code, text = _smtp_auth(stack, address, tokens["access_token"])
    assert code == 535 and b"no longer active" in text


def test_psc_unreachable_is_a_temporary_failure_not_a_refusal(stack, owner):
    _professional, address = owner
    backend = stack.services["mssante"].backend
    saved = backend.psc._issuer
    backend.psc._issuer, backend.psc._metadata, backend.psc._jwks = "http://127.0.0.1:9", None, None
    try:
        code, text = _smtp_auth(stack, address, "a.b.c")
    finally:
        backend.psc._issuer, backend.psc._metadata = saved, None
    assert code == 454 and b"MSS-AUTH-PSC-UNAVAILABLE" in text
