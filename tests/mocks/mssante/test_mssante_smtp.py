"""MSSanté mock over real sockets with Python's own clients: smtplib sends, imaplib reads back.

The done-when of issue 6 (first three tests), then every SMTP-level refusal with its reply code,
TLS and mutual TLS, faults, DSN/MDN, and hostile sessions (pipelining abuse, garbage, huge data).
"""

from __future__ import annotations

import base64
import imaplib
import io
import json
import re
import smtplib
import socket
import ssl
import time
import urllib.request
import zipfile
from email import message_from_bytes
from email.policy import default as default_policy

import pytest

from segur.fixtures.world import load_world
from segur.kernel.ins import with_key
from segur.mocks.mssante.smtp import data_reply, with_enhanced_code
from segur.mocks.mssante.testing import mss_message, running_mssante

PRO = "jacques.bideault@radiologie-ambroise.mssante.fr"
PRO2 = "laurent.chevallier@ch-toulouse.mssante.fr"
NOBODY = "nobody@ch-toulouse.mssante.fr"  # a domain of the space, no such mailbox
ORG = "secretariat@radiologie-ambroise.mssante.fr"
CITIZEN = "279035121518989@patient.mssante.fr"  # PAT-TROIS Dominique, the patient of the ANS examples


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def mss(world):
    with running_mssante(world) as running:  # every check on, the CDA validator included
        yield running


@pytest.fixture(autouse=True)
def clean(request):
    yield
    if "mss" in request.fixturenames:
        running = request.getfixturevalue("mss")
        running.mock.reset()
        running.journal.clear()
        running.faults.clear()


@pytest.fixture(scope="module")
def cr_img(cda_pack) -> bytes:
    return (cda_pack / "ExemplesCDA" / "IMG_CR_IMG_2024.01.xml").read_bytes()


def smtp_session(mss, login=PRO, context=None) -> smtplib.SMTP:
    client = smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=15)
    client.ehlo()
    client.starttls(context=context or mss.client_context())
    client.ehlo()
    if login:
        client.login(login, mss.password)
    return client


def imap_session(mss, login) -> imaplib.IMAP4:
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=15)
    client.starttls(ssl_context=mss.client_context())
    client.login(login, mss.password)
    return client


def inbox(mss, login) -> list:
    client = imap_session(mss, login)
    try:
        client.select("INBOX")
        _, data = client.search(None, "ALL")
        messages = []
        for number in data[0].split():
            _, parts = client.fetch(number, "(RFC822)")
            messages.append(message_from_bytes(parts[0][1], policy=default_policy))
        return messages
    finally:
        client.logout()


def admin(mss, path):
    with urllib.request.urlopen(mss.url + path, timeout=10) as response:
        return json.loads(response.read())


def last_session(mss) -> dict:
    """The last journalled SMTP session (recorded when the server sees the connection close)."""
    deadline = time.monotonic() + 5
    while True:
        entries = admin(mss, "/_admin/journal?operation=smtp-session")["entries"]
        if entries or time.monotonic() > deadline:
            return entries[-1]
        time.sleep(0.02)


# ----------------------------------------------------------------------------- done-when (issue 6)
def test_smtplib_sends_a_cr_img_in_xdm_and_imaplib_reads_it_back_with_its_verdict(mss, cr_img):
    with smtp_session(mss) as client:
        refused = client.send_message(mss_message(PRO, PRO2, [cr_img]))
    assert refused == {}
    (received,) = inbox(mss, PRO2)
    assert received["X-Segur-Verdict"] == "pass" and received["X-Segur-Rules"] == "none"
    zips = [p for p in received.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    assert len(zips) == 1
    stored = admin(mss, f"/_admin/mailboxes/{PRO2}")["messages"][0]
    assert stored["verdict"] == "pass" and stored["documents"][0]["cda"]["code"] == "18748-4"
    assert stored["documents"][0]["cda"]["ins"] == "279035121518989"


def test_a_message_to_an_unknown_address_is_refused_at_rcpt_with_550_5_1_1(mss):
    with smtp_session(mss) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail(PRO, [NOBODY], b"Subject: x\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n")
    code, text = refused.value.recipients["nobody@ch-toulouse.mssante.fr"]
    assert code == 550 and text.startswith(b"5.1.1")
    session = last_session(mss)
    assert "MSS-RCPT-UNKNOWN" in session["rules"]


def test_a_message_to_a_world_patients_citizen_address_lands_in_that_citizens_mailbox(mss, cr_img):
    with smtp_session(mss) as client:
        client.send_message(mss_message(PRO, CITIZEN, [cr_img], mes="FIN"))
    (received,) = inbox(mss, CITIZEN)
    assert received["X-Segur-Verdict"] == "pass" and received["X-MSS-MES"] == "FIN"
    assert inbox(mss, PRO2) == []


# ----------------------------------------------------------------------------- recipients
@pytest.mark.parametrize(("recipient", "code", "enhanced", "rule"), [
    ("roland.huet@cabinet-peltier.mssante.fr", 550, b"5.2.1", "MSS-RCPT-CLOSED"),
    ("147023523891033@patient.mssante.fr", 550, b"5.7.1", "MSS-RCPT-CITIZEN-REFUSED"),
    ("214081320564751@patient.mssante.fr", 550, b"5.2.1", "MSS-RCPT-CLOSED"),  # citizen who closed the box
    ("279035121518988@patient.mssante.fr", 550, b"5.1.3", "MSS-RCPT-CITIZEN-SYNTAX"),
    (None, 550, b"5.1.1", "MSS-RCPT-PATIENT-UNKNOWN"),
    ("someone@gmail.com", 550, b"5.7.1", "MSS-RCPT-OUTSIDE"),
])
def test_undeliverable_recipients_get_a_permanent_error_at_rcpt(mss, world, recipient, code, enhanced, rule):
    if recipient is None:  # a well-formed INS (correct key) that no world patient has
        recipient = with_key("1690599999123") + "@patient.mssante.fr"
        assert world.mailbox(recipient) is None
    with smtp_session(mss) as client:
        client.mail(PRO)
        reply = client.rcpt(recipient)
    assert reply[0] == code and reply[1].startswith(enhanced)
    assert rule in last_session(mss)["rules"]


def test_every_kind_of_world_mailbox_can_receive(mss, world):
    kinds = {}
    for box in world.mailboxes:
        if box.accepts_messages and box.kind not in kinds:
            kinds[box.kind] = box.address
    assert set(kinds) == {"PER", "ORG", "APP", "CITIZEN"}
    with smtp_session(mss) as client:
        message = b"Subject: test\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n"
        assert client.sendmail(PRO, list(kinds.values()), message) == {}
    for address in kinds.values():
        assert len(inbox(mss, address)) == 1


def test_dsn_policy_accepts_then_bounces_with_a_delivery_status_notification(world):
    with running_mssante(world, validate=False, recipient_policy="dsn") as mss:
        with smtp_session(mss) as client:
            message = b"From: " + PRO.encode() + b"\r\nSubject: t\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n"
            refused = client.sendmail(PRO, [PRO2, NOBODY], message)
        assert refused == {}
        assert len(inbox(mss, PRO2)) == 1
        (dsn,) = inbox(mss, PRO)
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    status = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"][0]
    text = status.as_string()
    assert "Final-Recipient: rfc822; nobody@ch-toulouse.mssante.fr" in text
    assert "Action: failed" in text and "Status: 5.1.1" in text


@pytest.mark.rem("SC.MSS/CONF.05", "SC.MSS/CONF.07")
# ----------------------------------------------------------------------------- sender and AUTH
def test_auth_and_mail_before_starttls_are_refused_with_530(mss):
    with socket.create_connection((mss.smtp_host, mss.smtp_port), timeout=10) as raw:
        stream = raw.makefile("rwb")
        stream.readline()
        replies = []
        for command in (b"EHLO client", b"AUTH PLAIN " + base64.b64encode(b"\0" + PRO.encode() + b"\0x"),
                        b"MAIL FROM:<" + PRO.encode() + b">", b"QUIT"):
            stream.write(command + b"\r\n")
            stream.flush()
            line = stream.readline()
            while line[3:4] == b"-":
                line = stream.readline()
            replies.append(line)
    assert replies[1].startswith(b"530 5.7.0") and replies[2].startswith(b"530 5.7.0")
    session = last_session(mss)
    assert "MSS-TLS-REQUIRED" in session["rules"]
    assert all("****" in line for line in session["request"]["transcript"] if line.startswith("C: AUTH"))


_ENHANCED_REPLY = re.compile(r"^S: [245]\d\d[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


def test_ehlo_advertises_enhanced_status_codes_and_every_reply_after_it_has_one(mss):
    """RFC 2034 §3: with ENHANCEDSTATUSCODES, every 2xx/4xx/5xx reply but the greeting and the answers
    to EHLO/HELO carries an RFC 3463 code — aiosmtpd's own replies (NOOP, RSET, HELP, syntax errors,
    bad sequences, QUIT) included."""
    with smtp_session(mss) as client:
        assert "enhancedstatuscodes" in client.esmtp_features
        assert {"EHLO", "HELO"} <= set(client.docmd("HELP")[1].decode().split())
        for command in ("NOOP", "RSET", "HELP", "VRFY someone", "EXPN list", "BOGUS", "MAIL", "RCPT TO:<x@y>",
                        "DATA", "AUTH PLAIN AAAA"):
            client.docmd(command)
        client.sendmail(PRO, [PRO2], b"Subject: hi\r\nX-MSS-NIL: 1234\r\n\r\nhello\r\n")
    transcript = last_session(mss)["request"]["transcript"]
    replies, answering_hello = [], False
    for line in transcript[1:]:  # the greeting is exempt
        if line.startswith("C: "):
            answering_hello = line[3:7].upper() in ("EHLO", "HELO")
        elif not answering_hello and line[3:4] in "245":
            replies.append(line)
    assert len(replies) >= 15
    assert [line for line in replies if not _ENHANCED_REPLY.match(line)] == []


def test_delivered_copies_carry_return_path_and_received_trace_headers(mss):
    """RFC 5321 §4.4: the reverse path as Return-Path, and a Received line naming the client's EHLO
    name and address, this server, the protocol (ESMTPSA: TLS + AUTH, RFC 3848), the id and the date."""
    with smtp_session(mss) as client:
        message = f"From: {PRO}\r\nSubject: hi\r\nX-MSS-NIL: 1234\r\n\r\nhello\r\n".encode()
        client.sendmail(PRO, [PRO2], message)
    (received,) = inbox(mss, PRO2)
    assert received["Return-Path"] == f"<{PRO}>"
    trace = " ".join(str(received["Received"]).split())
    assert re.match(r"^from \S+ \(\[127\.0\.0\.1\]\) by mssante\.localhost with ESMTPSA id MSS-\d{6}; ",
                    trace)
    assert list(received.keys())[:2] == ["Return-Path", "Received"]
    assert received["X-Segur-Verdict"] == "pass"


def test_a_failing_message_is_accepted_with_a_reply_that_says_fail_and_where_to_read_why(mss):
    with smtp_session(mss) as client:
        client.mail(PRO)
        client.rcpt(PRO2)
        code, text = client.data(b"Subject: no nil\r\n\r\nhello\r\n")
    assert code == 250 and text.startswith(b"2.0.0 Ok: queued as MSS-")
    message_id = text.split()[4].decode()
    assert b"verdict FAIL (MSS-FROM-MISMATCH, MSS-NIL-MISSING)" in text and b"X-Segur-Verdict" in text
    assert f"GET {mss.url}/_admin/messages/{message_id}".encode() in text
    assert admin(mss, f"/_admin/messages/{message_id}")["copies"][0]["verdict"] == "fail"


def test_a_passing_message_reply_stays_short():
    passed = data_reply("MSS-000001", "pass", [], "http://x/_admin/")
    assert passed == "250 2.0.0 Ok: queued as MSS-000001 (verdict pass)"


def test_a_failing_message_reply_fits_an_smtp_reply_line():
    short = data_reply("MSS-000001", "fail", [f"MSS-RULE-{i}" for i in range(40)], "http://127.0.0.1:1/_admin/")
    assert "(MSS-RULE-0, MSS-RULE-1, MSS-RULE-2 and 37 more rule(s))" in short
    long = data_reply("MSS-000001", "fail", [f"MSS-RULE-{i}" * 20 for i in range(40)], "http://127.0.0.1:1/_admin/")
    assert len(long) <= 500 and long.endswith("GET http://127.0.0.1:1/_admin/messages/MSS-000001")


@pytest.mark.parametrize(("reply", "expected"), [
    ("250 OK", "250 2.0.0 OK"), ("221 Bye", "221 2.0.0 Bye"), ("501 Syntax: NOOP", "501 5.5.4 Syntax: NOOP"),
    ("454 TLS not available", "454 4.7.0 TLS not available"), ("250 2.1.0 Sender OK", "250 2.1.0 Sender OK"),
    ("354 End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>"),
    ("599 whatever", "599 5.0.0 whatever")])
def test_replies_without_an_enhanced_code_get_one(reply, expected):
    assert with_enhanced_code(reply) == expected


def test_ehlo_after_starttls_advertises_auth_and_size(mss):
    with smtp_session(mss, login=None) as client:
        assert "auth" in client.esmtp_features and "PLAIN" in client.esmtp_features["auth"]
        assert int(client.esmtp_features["size"]) == 25 * 1024 * 1024
        assert "starttls" not in client.esmtp_features


def test_a_closed_mailbox_cannot_log_in(mss):
    with smtp_session(mss, login=None) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login("roland.huet@cabinet-peltier.mssante.fr", mss.password)


@pytest.mark.rem("SC.MSS/CONF.01")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # asking for TLS 1.1 is the point
def test_tls_below_1_2_is_refused(mss):
    context = mss.client_context()
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    client = smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10)
    try:
        with pytest.raises((ssl.SSLError, smtplib.SMTPException, OSError)):
            client.starttls(context=context)
            client.ehlo()
    finally:
        client.close()
    with smtp_session(mss) as client:
        assert client.noop()[0] == 250


def test_plain_text_after_starttls_breaks_only_that_session(mss):
    with socket.create_connection((mss.smtp_host, mss.smtp_port), timeout=10) as raw:
        stream = raw.makefile("rwb")
        stream.readline()
        stream.write(b"EHLO x\r\n")
        stream.flush()
        while stream.readline()[3:4] == b"-":
            pass
        stream.write(b"STARTTLS\r\n")
        stream.flush()
        assert stream.readline().startswith(b"220")
        raw.sendall(b"EHLO not-a-tls-handshake\r\nMAIL FROM:<x@y>\r\n")
        raw.settimeout(5)
        try:
            while raw.recv(4096):
                pass
        except (TimeoutError, ConnectionError):
            pass
    with smtp_session(mss) as client:
        assert client.noop()[0] == 250


def test_wrong_password_gives_535(mss):
    with smtp_session(mss, login=None) as client, pytest.raises(smtplib.SMTPAuthenticationError) as failed:
        client.login(PRO, "wrong")
    assert failed.value.smtp_code == 535
    assert "MSS-AUTH-FAILED" in last_session(mss)["rules"]


def test_mail_without_auth_gives_530(mss):
    with smtp_session(mss, login=None) as client:
        code, text = client.mail(PRO)
    assert code == 530 and text.startswith(b"5.7.0")


def test_envelope_sender_must_be_the_authenticated_mailbox(mss):
    with smtp_session(mss) as client:
        code, text = client.mail(PRO2)
    assert code == 553 and text.startswith(b"5.7.1")


@pytest.mark.rem("SC.MSS/CONF.07")
def test_xoauth2_with_a_bearer_token_authenticates(mss):
    with smtp_session(mss, login=None) as client:
        client.auth("XOAUTH2", lambda challenge=None: f"user={PRO}\x01auth=Bearer psc-token\x01\x01",
                    initial_response_ok=True)
        assert client.sendmail(PRO, [PRO2], b"Subject: t\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n") == {}


def test_a_declared_size_over_the_limit_is_refused_at_mail_with_552(mss):
    with smtp_session(mss) as client:
        code, text = client.mail(PRO, options=[f"SIZE={100 * 1024 * 1024}"])
    assert code == 552 and text.startswith(b"5.3.4")


def test_an_oversized_message_is_refused_with_552_and_the_server_keeps_serving(world):
    with running_mssante(world, validate=False, size_limit=200_000) as mss:
        with smtp_session(mss) as client:
            client.sendmail(PRO, [PRO2], b"Subject: kept\r\nX-MSS-NIL: 1234\r\n\r\nfirst\r\n")
            body = b"Subject: big\r\n\r\n" + (b"A" * 76 + b"\r\n") * 5000
            with pytest.raises(smtplib.SMTPSenderRefused) as declared:  # smtplib declares SIZE= itself
                client.sendmail(PRO, [PRO2], body)
            assert declared.value.smtp_code == 552
            client.mail(PRO)  # undeclared: the server counts while reading and discards the excess
            client.rcpt(PRO2)
            assert client.data(body)[0] == 552
            assert client.sendmail(PRO, [PRO2], b"Subject: after\r\nX-MSS-NIL: 1234\r\n\r\nok\r\n") == {}
        subjects = [m["Subject"] for m in inbox(mss, PRO2)]
        assert subjects == ["kept", "after"]
        assert "MSS-SIZE" in last_session(mss)["rules"]


@pytest.mark.rem("SC.MSS/CONF.01")
# ----------------------------------------------------------------------------- TLS
def test_starttls_negotiates_tls_1_2_or_later(mss):
    with smtp_session(mss) as client:
        assert client.sock.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.rem("SC.MSS/CONF.12")
def test_mutual_tls_accepts_a_test_ca_certificate_and_refuses_others(world):
    with running_mssante(world, validate=False, tls="mtls") as mss:
        with smtp_session(mss, context=mss.client_context("mssante")) as client:
            assert client.sendmail(PRO, [PRO2], b"Subject: t\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n") == {}
        session = last_session(mss)
        assert session["client"]["tls"]["client_cert_cn"] == "mssante-client"
        for context in (mss.client_context("mssante", untrusted=True), mss.client_context()):
            client = smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10)
            try:
                with pytest.raises((ssl.SSLError, smtplib.SMTPException, ConnectionError, OSError)):
                    client.starttls(context=context)
                    client.ehlo()
                    client.login(PRO, mss.password)
            finally:
                client.close()
        with smtp_session(mss, context=mss.client_context("mssante")) as client:
            assert client.noop()[0] == 250


def test_tls_off_fault_removes_starttls_and_auth_then_gets_538(mss):
    admin_post(mss, "/_admin/faults", {"kind": "tls_off", "count": 1})
    client = smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10)
    try:
        client.ehlo()
        assert "starttls" not in client.esmtp_features
        code, text = client.docmd("AUTH", "PLAIN " + base64.b64encode(f"\0{PRO}\0x".encode()).decode())
        assert code == 538 and text.startswith(b"5.7.11")
    finally:
        client.close()
    with smtp_session(mss) as client:  # the fault expired
        assert client.noop()[0] == 250


def admin_post(mss, path, body):
    request = urllib.request.Request(mss.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# ----------------------------------------------------------------------------- faults
def test_temporary_451_for_n_messages_then_delivery(mss):
    admin_post(mss, "/_admin/faults", {"kind": "smtp_reply", "code": 451, "message": "4.3.0 try later",
                                       "count": 2})
    outcomes = []
    with smtp_session(mss) as client:
        for _ in range(3):
            try:
                client.sendmail(PRO, [PRO2], b"Subject: t\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n")
                outcomes.append(250)
            except smtplib.SMTPDataError as exc:
                outcomes.append(exc.smtp_code)
    assert outcomes == [451, 451, 250]
    assert len(inbox(mss, PRO2)) == 1


def test_421_at_connect_then_normal_service(mss):
    admin_post(mss, "/_admin/faults", {"kind": "smtp_reply", "operation": "connect", "code": 421,
                                       "message": "4.3.2 busy", "count": 1})
    with pytest.raises(smtplib.SMTPConnectError):
        smtplib.SMTP(mss.smtp_host, mss.smtp_port, timeout=10)
    with smtp_session(mss) as client:
        assert client.noop()[0] == 250


def test_slow_acceptance_fault_delays_the_data_reply(mss):
    admin_post(mss, "/_admin/faults", {"kind": "latency", "operation": "data", "ms": 300, "count": 1})
    with smtp_session(mss) as client:
        started = time.monotonic()
        client.sendmail(PRO, [PRO2], b"Subject: t\r\nX-MSS-NIL: 1234\r\n\r\nhi\r\n")
        assert time.monotonic() - started >= 0.3


def test_rcpt_stage_fault_gives_a_temporary_error_for_that_recipient(mss):
    admin_post(mss, "/_admin/faults", {"kind": "smtp_reply", "operation": "rcpt", "code": 450,
                                       "message": "4.2.0 mailbox busy", "count": 1})
    with smtp_session(mss) as client:
        client.mail(PRO)
        assert client.rcpt(PRO2)[0] == 450
        assert client.rcpt(PRO2)[0] == 250


# ----------------------------------------------------------------------------- acknowledgements
def test_mdn_is_sent_when_asked_with_the_ans_volet_structure(mss, cr_img):
    message = mss_message(PRO, PRO2, [cr_img], disposition_notification_to=PRO)
    message["Message-ID"] = "<orig-1@radiologie-ambroise.mssante.fr>"
    with smtp_session(mss) as client:
        client.send_message(message)
    (mdn,) = inbox(mss, PRO)
    assert mdn.get_param("report-type") == "disposition-notification"
    kinds = [p.get_content_type() for p in mdn.iter_parts()]
    assert kinds == ["text/plain", "message/disposition-notification", "message/rfc822"]
    text = mdn.as_string()
    assert "Disposition: automatic-action/MDN-sent-automatically; processed" in text
    assert "Original-Message-ID: <orig-1@radiologie-ambroise.mssante.fr>" in text
    assert f"Final-Recipient: rfc822;{PRO2}" in text


def test_mdn_of_a_failing_message_says_error_and_names_the_rules(mss, cr_img):
    message = mss_message(PRO, PRO2, [cr_img], disposition_notification_to=PRO, nil=None)
    with smtp_session(mss) as client:
        client.send_message(message)
    (mdn,) = inbox(mss, PRO)
    assert mdn["Subject"].startswith("[KO Intégration système !][")
    assert "processed/error" in mdn.as_string() and "MSS-NIL-MISSING" in mdn.as_string()


def test_no_automatic_mdn_when_the_requested_address_is_not_the_return_path(mss, cr_img):
    with smtp_session(mss) as client:
        client.send_message(mss_message(PRO, PRO2, [cr_img], disposition_notification_to=ORG))
    assert inbox(mss, ORG) == [] and inbox(mss, PRO) == []
    entry = admin(mss, "/_admin/journal?operation=smtp-message")["entries"][-1]
    assert any("RFC 8098" in note for note in entry["meta"]["notes"])


# ----------------------------------------------------------------------------- hostile sessions
def _tls_raw(mss):
    raw = socket.create_connection((mss.smtp_host, mss.smtp_port), timeout=15)
    stream = raw.makefile("rwb")
    stream.readline()
    for command in (b"EHLO x\r\n", b"STARTTLS\r\n"):
        stream.write(command)
        stream.flush()
        line = stream.readline()
        while line[3:4] == b"-":
            line = stream.readline()
    secure = mss.client_context().wrap_socket(raw, server_hostname="localhost")
    return secure


def _replies(sock) -> list[bytes]:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return [line for line in data.split(b"\r\n") if line]


def test_pipelining_abuse_gets_ordered_replies_and_nothing_is_lost(mss):
    secure = _tls_raw(mss)
    auth = base64.b64encode(f"\0{PRO}\0{mss.password}".encode())
    burst = (b"EHLO x\r\nAUTH PLAIN " + auth + b"\r\n"
             + (b"MAIL FROM:<" + PRO.encode() + b">\r\nRCPT TO:<" + PRO2.encode() + b">\r\n"
                + b"RCPT TO:<" + NOBODY.encode() + b">\r\nDATA\r\nSubject: burst\r\nX-MSS-NIL: 1234\r\n\r\n"
                + b"hi\r\n.\r\n") * 5
             + b"DATA\r\n" + b"NOSUCHCOMMAND\r\n" * 3 + b"QUIT\r\n")
    secure.sendall(burst)
    replies = _replies(secure)
    secure.close()
    finals = [r for r in replies if r.startswith(b"250 2.0.0 Ok: queued")]
    assert len(finals) == 5
    out_of_sequence = (replies.count(b"503 5.5.1 Error: need RCPT command")
                       + replies.count(b"503 5.5.1 Error: need MAIL command"))
    assert out_of_sequence >= 1
    assert replies[-1].startswith(b"221")
    assert len(inbox(mss, PRO2)) == 5


def test_garbage_and_overlong_lines_get_errors_and_the_server_keeps_serving(mss):
    with socket.create_connection((mss.smtp_host, mss.smtp_port), timeout=10) as raw:
        raw.sendall(b"\x00\xff\xfe garbage\r\n" + b"X" * 5000 + b"\r\n" + b"BOGUS\r\n" * 12 + b"QUIT\r\n")
        replies = _replies(raw)
    assert b"500 5.5.2 Error: bad syntax" in replies and b"500 5.5.2 Command line too long" in replies
    assert replies.count(b"530 5.7.0 Must issue a STARTTLS command first") == 12
    assert replies[-1] == b"221 2.0.0 Bye"
    with smtp_session(mss) as client:
        assert client.noop()[0] == 250


def test_malformed_mime_is_stored_with_a_failing_verdict(mss):
    raw = (f"From: {PRO}\r\nTo: {PRO2}\r\nSubject: broken\r\nX-MSS-NIL: 1234\r\nMIME-Version: 1.0\r\n"
           'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
           "preamble only, no boundary ever\r\n").encode()
    with smtp_session(mss) as client:
        assert client.sendmail(PRO, [PRO2], raw) == {}
    (stored,) = admin(mss, f"/_admin/mailboxes/{PRO2}")["messages"]
    assert stored["verdict"] == "fail" and "MSS-MIME-MALFORMED" in stored["rules"]
    (received,) = inbox(mss, PRO2)
    assert received["X-Segur-Verdict"] == "fail"


@pytest.mark.slow
def test_a_26_mb_undeclared_message_over_the_default_limit_is_refused_and_not_kept(mss):
    """A real stream past the 25 MB default (no SIZE= declared): 552 after DATA, memory not held."""
    line = b"B" * 998 + b"\r\n"
    body = b"Subject: huge\r\nX-MSS-NIL: 1234\r\n\r\n" + line * (26 * 1024 * 1024 // len(line) + 1)
    with smtp_session(mss) as client:
        client.mail(PRO)
        client.rcpt(PRO2)
        code, text = client.data(body)
        assert code == 552 and text.startswith(b"5.3.4")
        assert client.noop()[0] == 250
    assert admin(mss, f"/_admin/mailboxes/{PRO2}")["messages"] == []


def test_too_many_recipients_get_452(mss):
    mss.backend.max_recipients = 2
    try:
        with smtp_session(mss) as client:
            client.mail(PRO)
            assert client.rcpt(PRO2)[0] == 250 and client.rcpt(ORG)[0] == 250
            code, text = client.rcpt(CITIZEN)
        assert code == 452 and text.startswith(b"4.5.3")
    finally:
        mss.backend.max_recipients = 100


@pytest.mark.parametrize(("entries", "rule"), [
    ({"IHE_XDM/SUBSET01/DOC0001.XML": b"\0" * (60 * 1024 * 1024)}, "MSS-XDM-BOMB"),
    ({"../../../tmp/evil.sh": b"#!/bin/sh\n", "README.TXT": b"r"}, "MSS-XDM-PATH"),
])
def test_hostile_xdm_attachments_are_stored_with_their_rule_and_nothing_else_changes(mss, cr_img, entries,
                                                                                     rule):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    with smtp_session(mss) as client:
        client.send_message(mss_message(PRO, PRO2, [cr_img]))
        client.send_message(mss_message(PRO, PRO2, [cr_img], xdm=buffer.getvalue()))
        client.send_message(mss_message(PRO, PRO2, [cr_img]))
    stored = admin(mss, f"/_admin/mailboxes/{PRO2}")["messages"]
    verdicts = [(m["verdict"], rule in m["rules"]) for m in stored]
    assert verdicts == [("pass", False), ("fail", True), ("pass", False)]
    assert [m["X-Segur-Verdict"] for m in inbox(mss, PRO2)] == ["pass", "fail", "pass"]
