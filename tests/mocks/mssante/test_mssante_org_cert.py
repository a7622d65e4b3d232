"""Application mailboxes open with their structure's ORG AUTH_CLI certificate (REM MSS/CONF.12): the session
journal records the client certificate, a PLAIN login without it is journalled (`app_cert = "record"`) or
refused (`"require"`); and the operator can end a session (fault `session_end`, REM MSS/CONF.11)."""

from __future__ import annotations

import smtplib
import time

import pytest
import requests

from segur.fixtures.world import load_world
from segur.mocks.mssante.org_cert import org_certificate_problem
from segur.mocks.mssante.testing import mss_message, running_mssante

WORLD = load_world()
APP = next(b for b in WORLD.mailboxes if b.kind == "APP" and not b.closed and b.accepts_messages)
ORGANISATION = next(o for o in WORLD.organisations if o.key == APP.owner)
PERSONAL = next(b for b in WORLD.mailboxes if b.kind == "PER" and not b.closed and b.accepts_messages)
OTHER = next(o for o in WORLD.organisations if o.key != ORGANISATION.key)


@pytest.fixture(scope="module", params=["record", "require"])
def mss(request, tmp_path_factory):
    pki_dir = tmp_path_factory.mktemp(f"pki-{request.param}")
    with running_mssante(WORLD, pki_dir=pki_dir, validate=False, app_cert=request.param) as running:
        pki = running.mock.pki
        pki.issue_client("org-own", "SERVICE_RIS", ORGANISATION.name, ORGANISATION.idnst)
        pki.issue_client("org-other", "SERVICE_RIS", OTHER.name, OTHER.idnst)
        yield running


@pytest.fixture(autouse=True)
def clean(mss):
    yield
    mss.journal.clear()
    mss.faults.clear()


def _login(mss, address: str, client: str | None = None) -> tuple[int, bytes]:
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as smtp:
        smtp.starttls(context=mss.client_context(client))
        smtp.ehlo()
        try:
            answer = smtp.login(address, mss.password)
        except smtplib.SMTPAuthenticationError as refused:
            answer = (refused.smtp_code, refused.smtp_error)
    return answer


def _session(mss, count: int = 1) -> dict:
    """The last journalled SMTP session, once `count` are (journalled when the server sees the close)."""
    deadline = time.monotonic() + 5
    while True:
        sessions = [e.to_dict() for e in mss.journal.entries() if e.operation == "smtp-session"]
        if len(sessions) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert len(sessions) >= count, "the session was not journalled"
    return sessions[-1]


def test_the_session_journal_records_the_org_certificate_of_the_application_mailbox(mss):
    code, _ = _login(mss, APP.address, "org-own")
    assert code == 235
    session = _session(mss)
    cert = session["client"]["tls"]["client_cert"]
    assert cert["ou"] == ORGANISATION.idnst and cert["cn"] == "SERVICE_RIS" and cert["auth_cli"]
    assert session["client"]["tls"]["client_cert_asked"] is True
    assert "clientAuth" in cert["extended_key_usage"]
    assert session["client"]["mailbox_kind"] == "APP" and session["client"]["mechanism"] == "PLAIN"
    assert "MSS-AUTH-ORG-CERT" not in session["rules"]


def test_a_plain_login_to_an_application_mailbox_without_a_certificate_is_named_by_its_rule(mss):
    code, reply = _login(mss, APP.address)
    session = _session(mss)
    assert "MSS-AUTH-ORG-CERT" in session["rules"]
    assert session["client"]["tls"]["client_cert"] is None
    if mss.mock.config.app_cert == "require":
        assert code == 535 and b"MSS-AUTH-ORG-CERT" in reply
    else:
        assert code == 235


def test_another_structure_s_certificate_does_not_open_the_application_mailbox(mss):
    code, _ = _login(mss, APP.address, "org-other")
    finding = next(f for f in _session(mss)["findings"] if f["rule"] == "MSS-AUTH-ORG-CERT")
    assert OTHER.idnst in finding["message"] and ORGANISATION.idnst in finding["message"]
    assert code == (535 if mss.mock.config.app_cert == "require" else 235)


def test_a_personal_mailbox_logs_in_without_a_certificate(mss):
    code, _ = _login(mss, PERSONAL.address)
    assert code == 235
    assert "MSS-AUTH-ORG-CERT" not in _session(mss)["rules"]


def test_the_operator_ends_a_session_once_and_the_client_s_next_session_goes_through(mss):
    mss.faults.add({"kind": "session_end", "count": 1})
    message = mss_message(PERSONAL.address, [APP.address])
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as smtp:
        smtp.starttls(context=mss.client_context())
        smtp.ehlo()
        smtp.login(PERSONAL.address, mss.password)
        with pytest.raises(smtplib.SMTPSenderRefused) as ended:
            smtp.send_message(message)
        assert ended.value.smtp_code == 421
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.noop()  # the operator closed the connection
    ended_session = _session(mss)
    assert ended_session["meta"]["ended_by_operator"].startswith("421 4.4.2")
    with smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10) as smtp:
        smtp.starttls(context=mss.client_context())
        smtp.ehlo()
        smtp.login(PERSONAL.address, mss.password)
        assert smtp.send_message(message) == {}
    assert _session(mss, 2)["meta"]["ended_by_operator"] is None


def test_without_app_cert_the_mock_says_it_asked_for_no_certificate(tmp_path):
    with running_mssante(WORLD, pki_dir=tmp_path, validate=False) as plain:
        _login(plain, PERSONAL.address)
        tls = _session(plain)["client"]["tls"]
    assert tls["client_cert"] is None and tls["client_cert_asked"] is False


def test_a_certificate_without_client_authentication_is_not_an_auth_cli_one():
    cert = {"subject": "CN=SERVICE_RIS,OU=" + ORGANISATION.idnst, "ou": ORGANISATION.idnst, "auth_cli": False}
    assert "no clientAuth usage" in org_certificate_problem(cert, ORGANISATION.idnst)
    assert org_certificate_problem({**cert, "auth_cli": True}, ORGANISATION.idnst) is None


def test_a_session_end_fault_at_an_unknown_stage_is_refused_and_the_mock_keeps_serving(mss):
    answer = requests.post(mss.url + "/_admin/faults", json={"kind": "session_end", "operation": "quit"},
                           timeout=5)
    assert answer.status_code == 400 and "SMTP stage" in answer.text
    assert not mss.faults.list()
    assert _login(mss, PERSONAL.address)[0] == 235
