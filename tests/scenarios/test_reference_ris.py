"""The reference RIS against the four running mocks: what it does, and what each seeded defect leaves behind.

Every assertion reads what the mocks recorded (their admin journals, stores and mailboxes, IMAP, a DMP
query) — never what the RIS says about itself — since the harness's checks will do the same. The mocks
start once for the module and are reset through their admin API before each test.
"""

from __future__ import annotations

import imaplib
import json
import ssl
import sys
import time
import urllib.parse
import urllib.request
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

from segur.fixtures.documents import read_ids
from segur.fixtures.world import load_world
from segur.kernel.pki import TestPki
from segur.mocks.annuaire.testing import running_annuaire
from segur.mocks.dmp.client import CallerIdentity, DmpClient
from segur.mocks.dmp.testing import running_dmp
from segur.mocks.insi.testing import running_insi
from segur.mocks.mssante.testing import running_mssante
from segur.scenarios.capabilities import capability_checks
from segur.scenarios.driver import (
    CommandDriver,
    PluginDriver,
    Task,
    author_dict,
    make_driver,
    traits_of,
    vitale_of,
)

RIS_DIR = Path(__file__).resolve().parents[2] / "examples" / "reference-ris"
sys.path.insert(0, str(RIS_DIR))

from reference_ris import DEFECTS  # noqa: E402
from reference_ris.plugin import make_runner  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


# --- the stack ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    TestPki.load_or_create(directory)
    return directory


@pytest.fixture(scope="module")
def stack(world, pki_dir, tmp_path_factory):
    """The four mocks on free ports, sharing one test PKI (as `segur up` runs them)."""
    dmp_data = tmp_path_factory.mktemp("dmp")
    with running_insi(world) as insi, \
            running_dmp(dmp_data, world=world, pki=TestPki(pki_dir), validator_pack=False) as dmp, \
            running_mssante(world, pki_dir=pki_dir) as mss, running_annuaire() as annuaire:
        yield {"insi": insi, "dmp": dmp, "mssante": mss, "annuaire": annuaire}


@pytest.fixture(scope="module")
def endpoints(stack, pki_dir) -> dict:
    return {"insi": stack["insi"].endpoints(), "dmp": stack["dmp"].endpoints(),
            "mssante": stack["mssante"].endpoints(), "annuaire": stack["annuaire"].endpoints(),
            "pki": str(pki_dir)}


def admin(base: str, path: str, method: str = "GET", body=None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    url = base.rstrip("/") + "/_admin/" + path.lstrip("/")
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture(autouse=True)
def _reset(stack):
    for name in ("insi", "dmp", "mssante", "annuaire"):
        admin(stack[name].url, "reset", "POST", {})


def journal(stack, service: str, operation: str | None = None) -> list[dict]:
    query = f"?operation={urllib.parse.quote(operation)}" if operation else ""
    return admin(stack[service].url, f"journal{query}")["entries"]


def mss_journal(stack, operation: str) -> list[dict]:
    """SMTP sessions are journalled when the connection closes: wait briefly for them."""
    deadline = time.monotonic() + 5
    while True:
        entries = journal(stack, "mssante", operation)
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def mailbox(stack, address: str) -> list[dict]:
    return admin(stack["mssante"].url, f"mailboxes/{urllib.parse.quote(address)}")["messages"]


def dmp_documents(stack, patient) -> list[dict]:
    query = urllib.parse.quote(patient.xds_patient_id)
    patients = admin(stack["dmp"].url, f"documents?patient={query}")["patients"]
    return patients.get(patient.xds_patient_id, [])


# --- the world people
# ----------------------------------------------------------------------------------------
def ordinary(world) -> list:
    """Patients INSi finds with one call, with an open DMP and a citizen mailbox that receives."""
    return [p for p in world.patients if p.key.startswith("pat-") and p.has_dmp and not p.dmp_closed
            and not p.dmp_opposed and not p.deceased and not p.mssante_refused and not p.homonym_group
            and not p.identity_changed and not p.known_defects and "-00" not in p.birth_date]


@pytest.fixture
def patient(world, request):
    people = ordinary(world)
    return people[sum(map(ord, request.node.name)) % len(people)]


@pytest.fixture(scope="module")
def radiologist(world):
    return next(p for p in world.professionals if p.organisation == "750803447")


@pytest.fixture(scope="module")
def biologist(world):
    return next(p for p in world.professionals if p.specialty_code == "SM03" and p.mailbox)


@pytest.fixture(scope="module")
def gp(world):
    return next(p for p in world.professionals
                if p.specialty_code == "SM54" and p.mailbox and not p.mailbox_closed)


def make_task(world, author, patient=None, *, id="dmp-01", action="send-dmp", recipient=None, kind="CR-IMG",
              traits=None, extra=None, report_no=1, vitale=None) -> Task:
    return Task(id=id, action=action, patient=traits or traits_of(patient), recipient=recipient,
                sender=author.mailbox, author=author_dict(author, world.organisation_of(author)),
                report_no=report_no, kind=kind, extra=extra or {}, vitale=vitale)


def with_card(world, author, patient):
    """The task giving the patient's Vitale card (the RIS must search INSi with it)."""
    return make_task(world, author, patient, id="vitale-01", vitale=vitale_of(patient))


def to_citizen(world, author, patient):
    """The task sending the patient's report to their Mon espace santé mailbox."""
    return make_task(world, author, patient, id="citizen-01", action="send-citizen")


def to_gp(world, author, patient, gp):
    """The task sending the patient's report to the general practitioner `gp` by MSSanté."""
    return make_task(world, author, patient, id="mss-01", action="send-mss", recipient=gp.mailbox)


@pytest.fixture
def ris(tmp_path):
    """The correct reference RIS, in-process, with its own state directory."""
    return PluginDriver(make_runner(state_dir=tmp_path / "ris-state"))


def defective(defect: str, tmp_path) -> PluginDriver:
    return PluginDriver(make_runner(defect, state_dir=tmp_path / f"ris-{defect}"))


def dmp_client(stack, pki_dir, radiologist, world) -> DmpClient:
    return DmpClient.for_mock(stack["dmp"].url, pki=TestPki(pki_dir),
                              caller=CallerIdentity.of(radiologist, world.organisation_of(radiologist)))


# --- the correct RIS -------------------------------------------------------------------------------------
def test_send_dmp_searches_insi_then_feeds_the_patients_dmp(world, stack, endpoints, ris, patient,
                                                            radiologist,
                                                            pki_dir):
    result = ris.run(make_task(world, radiologist, patient), endpoints)
    assert result.ok, result.output

    searches = journal(stack, "insi")
    assert searches and searches[-1]["meta"]["code_cr"] == "00" and searches[-1]["meta"]["ins"] == patient.ins
    operations = [(e["operation"], e["verdict"]) for e in journal(stack, "dmp")]
    assert operations[0][0] == "TD0.2" and operations[-1] == ("ITI-41", "accepted")
    assert [e["time"] for e in searches][-1] <= journal(stack, "dmp", "ITI-41")[-1]["time"]  # INSi first

    client = dmp_client(stack, pki_dir, radiologist, world)
    client.td03(patient.ins_object)
    found = client.find_documents(patient.ins_object)
    assert found.ok and len(found.entries) == 1
    entry = found.entries[0]
    assert entry.patient_id == patient.xds_patient_id and entry.type_code.code == "18748-4"
    document = client.retrieve(entry).documents[0].content
    assert f'extension="{patient.ins}"'.encode() in document and f'root="{patient.oid}"'.encode() in document


def test_the_first_name_search_goes_name_by_name_as_real_clients_do(world, stack, endpoints, ris,
                                                                    radiologist):
    several = next(p for p in ordinary(world) if len(p.first_name_list) > 1)
    typed = " ".join(reversed(several.first_name_list))  # the user typed the usual first name first
    traits = dict(traits_of(several), first_names=typed)
    result = ris.run(make_task(world, radiologist, traits=traits), endpoints)
    assert result.ok, result.output
    searches = journal(stack, "insi")
    assert [e["meta"]["code_cr"] for e in searches] == ["01"] * (len(several.first_name_list) - 1) + ["00"]
    assert searches[-1]["meta"]["ins"] == several.ins
    assert journal(stack, "dmp", "ITI-41")[-1]["verdict"] == "accepted"


def test_a_lab_report_goes_to_the_dmp_as_cr_bio(world, stack, endpoints, ris, patient, biologist):
    assert ris.run(make_task(world, biologist, patient, kind="CR-BIO"), endpoints).ok
    documents = dmp_documents(stack, patient)
    assert [d["type_code"]["code"] for d in documents] == ["11502-2"]
    assert journal(stack, "dmp", "ITI-41")[-1]["verdict"] == "accepted"


def imap_inbox(stack, address: str) -> list:
    mss = stack["mssante"]
    client = imaplib.IMAP4(mss.imap_host, mss.imap_port, timeout=15)
    try:
        client.starttls(ssl_context=ssl.create_default_context(cafile=mss.endpoints()["ca_file"]))
        client.login(address, mss.password)
        client.select("INBOX")
        _, numbers = client.search(None, "ALL")
        return [message_from_bytes(client.fetch(n, "(RFC822)")[1][0][1], policy=default_policy)
                for n in numbers[0].split()]
    finally:
        client.logout()


def test_send_mss_delivers_an_xdm_message_that_passes_every_check(world, stack, endpoints, ris, patient,
                                                                  radiologist, gp):
    result = ris.run(to_gp(world, radiologist, patient, gp),
                     endpoints)
    assert result.ok, result.output
    stored = mailbox(stack, gp.mailbox)
    assert len(stored) == 1 and stored[0]["verdict"] == "pass" and stored[0]["rules"] == []
    assert stored[0]["envelope_from"] == radiologist.mailbox
    assert stored[0]["documents"][0]["metadata"]["patient_id"].startswith(patient.ins)

    lookups = journal(stack, "annuaire")
    assert lookups and all(e["response"]["status"] == 200 for e in lookups)
    assert gp.mailbox in urllib.parse.unquote(json.dumps(lookups[0]["request"]))  # looked up before sending

    messages = imap_inbox(stack, gp.mailbox)
    assert len(messages) == 1
    message = messages[0]
    assert message["X-Segur-Verdict"] == "pass" and message["X-MSS-INS"] == "O"
    assert message["X-MSS-CODECDA"] == "18748-4" and message["Subject"].startswith("XDM/1.0/DDM+")
    names = [part.get_filename() for part in message.iter_attachments()]
    assert names == ["IHE_XDM.ZIP", "compte-rendu.pdf"]


def test_a_recipient_the_annuaire_does_not_publish_is_not_sent_to(world, stack, endpoints, ris, patient,
                                                                   radiologist):
    closed = next(p for p in world.professionals if p.mailbox_closed)
    result = ris.run(make_task(world, radiologist, patient, id="mss-01", action="send-mss",
                               recipient=closed.mailbox), endpoints)
    assert not result.ok and "Annuaire" in result.detail
    assert len(journal(stack, "annuaire")) == 2  # Practitioner, then Organization
    assert journal(stack, "mssante", "smtp-session") == [] and mailbox(stack, closed.mailbox) == []


def test_send_citizen_goes_to_the_address_built_on_the_ins_from_insi(world, stack, endpoints, ris, patient,
                                                                     radiologist):
    task = to_citizen(world, radiologist, patient)
    assert task.recipient is None
    assert ris.run(task, endpoints).ok
    stored = mailbox(stack, patient.citizen_mailbox)
    assert len(stored) == 1 and stored[0]["verdict"] == "pass"
    assert [m["address"] for m in admin(stack["mssante"].url, "mailboxes?nonempty=1")["mailboxes"]] == \
        [patient.citizen_mailbox]


def test_replace_dmp_deprecates_the_earlier_report(world, stack, endpoints, ris, patient, radiologist):
    assert ris.run(make_task(world, radiologist, patient, id="dmp-03"), endpoints).ok
    first = dmp_documents(stack, patient)[0]
    replacement = make_task(world, radiologist, patient, id="replace-01", action="replace-dmp", report_no=3,
                            extra={"replaces_task": "dmp-03"})
    result = ris.run(replacement, endpoints)
    assert result.ok, result.output
    documents = {d["unique_id"]: d for d in dmp_documents(stack, patient)}
    assert documents[first["unique_id"]]["availability_status"].endswith("Deprecated")
    (second,) = [d for uid, d in documents.items() if uid != first["unique_id"]]
    assert second["availability_status"].endswith("Approved")
    assert [e["operation"] for e in journal(stack, "dmp")][-2:] == ["ITI-18", "ITI-41"]


def test_with_the_vitale_card_read_the_ris_searches_insi_by_card_not_by_traits(world, stack, endpoints, ris,
                                                                                patient, radiologist):
    result = ris.run(with_card(world, radiologist, patient), endpoints)
    assert result.ok, result.output
    searches = journal(stack, "insi")
    assert [e["operation"] for e in searches] == ["rechercherInsAvecCarteVitale"]
    assert searches[0]["meta"]["code_cr"] == "00" and searches[0]["meta"]["ins"] == patient.ins
    body = searches[0]["request"]["body"]["text"]
    assert f">{patient.nir}<" in body and "MatriculeIndividu" in body and "RECVITALE" in body
    assert searches[0]["time"] <= journal(stack, "dmp", "ITI-41")[-1]["time"]


def test_a_vitale_card_insi_does_not_know_is_never_sent(world, stack, endpoints, ris, patient, radiologist):
    card = vitale_of(patient) | {"birth_date": "1900-01-01"}  # the card of someone else born on another day
    result = ris.run(make_task(world, radiologist, patient, id="vitale-01", vitale=card), endpoints)
    assert not result.ok and "Vitale card" in result.detail and "cannot be qualified" in result.detail
    assert [e["meta"]["code_cr"] for e in journal(stack, "insi")] == ["01"]
    assert journal(stack, "dmp", "ITI-41") == []


def test_replacing_a_report_the_ris_never_sent_fails(world, stack, endpoints, ris, patient, radiologist):
    result = ris.run(make_task(world, radiologist, patient, id="replace-01", action="replace-dmp",
                               extra={"replaces_task": "dmp-09"}), endpoints)
    assert not result.ok and "dmp-09" in result.detail
    assert journal(stack, "dmp", "ITI-41") == []


@pytest.mark.parametrize("what", ["unknown", "homonyms"])
def test_an_identity_insi_does_not_qualify_is_never_sent(world, stack, endpoints, ris, radiologist, what):
    if what == "unknown":
        traits = {"birth_name": "INCONNU", "first_names": "PERSONNE", "sex": "M", "birth_date": "1970-01-01"}
    else:
        homonym = next(p for p in world.patients if (p.homonym_group or "").startswith("homonym-b"))
        traits = traits_of(homonym)
    result = ris.run(make_task(world, radiologist, traits=traits), endpoints)
    assert not result.ok and "cannot be qualified" in result.detail
    codes = {e["meta"]["code_cr"] for e in journal(stack, "insi")}
    assert codes == ({"01"} if what == "unknown" else {"02"})
    assert journal(stack, "dmp") == []


@pytest.mark.parametrize("state", ["dmp_closed", "dmp_opposed", "no_dmp"])
def test_a_patient_whose_dmp_cannot_be_fed_gets_no_submission(world, stack, endpoints, ris, radiologist,
                                                              state):
    def eligible(p):
        if state == "no_dmp":
            return not p.has_dmp
        return p.has_dmp and getattr(p, state)

    someone = next(p for p in world.patients if eligible(p) and not p.homonym_group and not p.deceased
                   and not p.known_defects)
    result = ris.run(make_task(world, radiologist, someone), endpoints)
    assert not result.ok and "DMP" in result.detail
    assert [e["operation"] for e in journal(stack, "dmp")] == ["TD0.2"]


def test_a_dmp_outage_is_reported_and_the_report_kept(world, stack, endpoints, patient, radiologist,
                                                      tmp_path):
    admin(stack["dmp"].url, "faults", "POST", {"kind": "http_error", "status": 503, "operation": "ITI-41"})
    ris = PluginDriver(make_runner(state_dir=tmp_path / "state"))
    result = ris.run(make_task(world, radiologist, patient), endpoints)
    assert not result.ok and result.detail.startswith("ServiceUnavailable") and "503" in result.detail
    assert (tmp_path / "state" / "outbox" / "dmp-01.xml").is_file()
    assert [e["verdict"] for e in journal(stack, "dmp", "ITI-41")] == ["fault-injected"]


def test_after_an_outage_the_retry_sends_the_report_kept_in_the_outbox(world, stack, endpoints, patient,
                                                                        radiologist, tmp_path):
    admin(stack["dmp"].url, "faults", "POST", {"kind": "http_error", "status": 503, "operation": "ITI-41"})
    ris = PluginDriver(make_runner(state_dir=tmp_path / "state"))
    assert not ris.run(make_task(world, radiologist, patient, id="outage-01"), endpoints).ok
    kept = (tmp_path / "state" / "outbox" / "outage-01.xml").read_bytes()
    admin(stack["dmp"].url, "faults", "DELETE")
    result = ris.run(make_task(world, radiologist, patient, id="retry-01", extra={"retry_of": "outage-01"}),
                     endpoints)
    assert result.ok, result.output
    (stored,) = dmp_documents(stack, patient)
    assert stored["unique_id"] == read_ids(kept).id  # the very report that could not go out
    assert not (tmp_path / "state" / "outbox" / "outage-01.xml").exists()


def test_an_smtp_421_is_reported_as_a_failure(world, stack, endpoints, ris, patient, radiologist, gp):
    admin(stack["mssante"].url, "faults", "POST", {"kind": "smtp_reply", "code": 421, "operation": "data"})
    result = ris.run(to_gp(world, radiologist, patient, gp),
                     endpoints)
    assert not result.ok and "421" in result.detail
    assert mailbox(stack, gp.mailbox) == []


# --- as a command, as products are usually plugged in --------------------------------------------------
def test_the_ris_runs_as_a_command_under_the_command_driver(world, stack, endpoints, patient, radiologist,
                                                            tmp_path):
    driver = CommandDriver(f"{sys.executable} {RIS_DIR / 'run.py'} --task {{task_json_file}} "
                           f"--state-dir {tmp_path / 'state'}", timeout=120)
    result = driver.run(make_task(world, radiologist, patient), endpoints)
    assert result.ok, result.output
    assert journal(stack, "dmp", "ITI-41")[-1]["verdict"] == "accepted"
    unknown = {"birth_name": "INCONNU", "first_names": "X", "sex": "F", "birth_date": "1990-01-01"}
    refused = driver.run(make_task(world, radiologist, traits=unknown), endpoints)
    assert not refused.ok and refused.detail.startswith("exit code 1") and "NOT SENT" in refused.detail


def test_the_ris_reads_a_toml_configuration(world, stack, endpoints, patient, radiologist, tmp_path):
    from reference_ris import config

    mss = endpoints["mssante"]
    path = tmp_path / "ris.toml"
    path.write_text(f"""
[insi]
wsdl = "{endpoints['insi']['wsdl']}"
idam = "SEGUR-TEST"
software_name = "MY-RIS"
[dmp]
base_url = "{stack['dmp'].url}"
[pki]
dir = "{endpoints['pki']}"
[mssante]
smtp_host = "{mss['smtp']['host']}"
smtp_port = {mss['smtp']['port']}
ca_file = "{mss['ca_file']}"
sender = "{radiologist.mailbox}"
password = "{stack['mssante'].password}"
[state]
dir = "{tmp_path / 'state'}"
""")
    settings = config.load(path, environ={})
    assert settings.insi_software_name == "MY-RIS" and settings.smtp_port == mss["smtp"]["port"]
    assert settings.dmp_endpoints["repository"] == endpoints["dmp"]["repository"]
    from reference_ris.core import run_task

    outcome = run_task(make_task(world, radiologist, patient), settings)
    assert outcome.sent_to == "DMP" and journal(stack, "dmp", "ITI-41")[-1]["verdict"] == "accepted"


def test_the_reference_ris_driver_spec(world, stack, endpoints, patient, radiologist, tmp_path):
    driver = make_driver("reference-ris", state_dir=tmp_path / "state")
    assert driver.run(make_task(world, radiologist, patient), endpoints).ok
    fresh = make_driver("reference-ris:bad-nir-key")
    assert fresh.state_dir.is_dir() and fresh.state_dir != driver.state_dir
    with pytest.raises(ValueError, match="unknown defect"):
        make_driver("reference-ris:no-such-defect")


def test_the_webhook_example_serves_the_ris_and_says_422_when_not_sent(world, stack, endpoints, patient,
                                                                       radiologist, tmp_path, monkeypatch):
    import threading
    from http.server import ThreadingHTTPServer

    from segur.scenarios.driver import WebhookDriver

    monkeypatch.setenv("REFERENCE_RIS_STATE_DIR", str(tmp_path / "state"))
    sys.path.insert(0, str(RIS_DIR))
    import webhook

    server = ThreadingHTTPServer(("127.0.0.1", 0), webhook.TaskHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        driver = WebhookDriver(f"http://127.0.0.1:{server.server_port}/segur-task", timeout=60)
        assert driver.run(make_task(world, radiologist, patient), endpoints).ok
        assert journal(stack, "dmp", "ITI-41")[-1]["verdict"] == "accepted"
        unknown = {"birth_name": "INCONNU", "first_names": "X", "sex": "F", "birth_date": "1990-01-01"}
        result = driver.run(make_task(world, radiologist, traits=unknown), endpoints)
        assert not result.ok and result.detail.startswith("HTTP 422")
        assert "cannot be qualified" in result.detail
    finally:
        server.shutdown()
        server.server_close()


def test_the_webhook_in_the_docs_is_the_example_file():
    docs = (RIS_DIR.parent.parent / "docs" / "sut.md").read_text(encoding="utf-8")
    code = (RIS_DIR / "webhook.py").read_text(encoding="utf-8").split('"""', 2)[2].strip()
    assert code in docs


def test_the_plugin_example_file_runs_under_the_plugin_driver(world, stack, endpoints, patient, radiologist,
                                                               tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its state directory is relative
    driver = PluginDriver(f"{RIS_DIR / 'segur_plugin.py'}:send")
    result = driver.run(make_task(world, radiologist, patient), endpoints)
    assert result.ok and result.detail == "CR-IMG report #1 sent to DMP"
    assert journal(stack, "dmp", "ITI-41")[-1]["verdict"] == "accepted"
    docs = (RIS_DIR.parent.parent / "docs" / "sut.md").read_text(encoding="utf-8")
    assert (RIS_DIR / "segur_plugin.py").read_text(encoding="utf-8").strip() in docs


def test_the_example_configuration_reads_as_documented(tmp_path):
    from reference_ris import config

    settings = config.load(RIS_DIR / "reference-ris.example.toml", environ={})
    assert settings.insi_wsdl == "http://127.0.0.1:8301/lps?wsdl" and settings.insi_idam == "SEGUR-TEST"
    assert settings.dmp_endpoints["registry"] == "http://127.0.0.1:8302/si-dmp-server/v2/services/registry"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == ("127.0.0.1", 8587, True)
    assert settings.pki_dir == ".segur-pki" and settings.password_for("x@y.mssante.fr") == "mssante-test"
    overridden = config.load(RIS_DIR / "reference-ris.example.toml",
                             environ={"REFERENCE_RIS_MSS_PASSWORD": "secret", "REFERENCE_RIS_NIL": "4321"})
    assert (overridden.mailbox_password, overridden.nil) == ("secret", "4321")


def test_segur_up_endpoints_with_a_pki_table_are_understood():
    from reference_ris import config

    settings = config.from_endpoints({"pki": {"dir": "/x/pki", "ca_file": "/x/pki/ca.pem"},
                                      "mssante": {"smtp": {"host": "h", "port": 1, "starttls": False}}})
    assert (settings.pki_dir, settings.ca_file, settings.smtp_starttls) == ("/x/pki", "/x/pki/ca.pem", False)


def test_the_command_line_exit_codes(tmp_path, capsys):
    from reference_ris.__main__ import main

    assert main(["--task", str(tmp_path / "missing.json")]) == 2
    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps({"id": "dmp-01", "action": "send-dmp", "patient": {"birth_name": "X"}}))
    assert main(["--task", str(task_file), "--defect", "nope", "--state-dir", str(tmp_path)]) == 2
    assert "unknown defect" in capsys.readouterr().err
    assert main(["--task", str(task_file), "--state-dir", str(tmp_path)], ) == 2  # no configuration at all
    assert "missing configuration" in capsys.readouterr().err


def test_every_defect_of_the_contract_exists():
    # the capabilities' defects are those their checks declare (tests/scenarios/test_proof_<capability>.py)
    of_capabilities = {defect for check in capability_checks().values() for defect in check.defects}
    assert of_capabilities <= set(DEFECTS)
    assert set(DEFECTS) - of_capabilities == {
        "wrong-ins-oid", "provisional-as-qualified", "no-insi-call", "bad-nir-key", "pdf-not-base64",
        "wrong-format-code", "patient-mismatch", "mss-without-xdm", "citizen-wrong-address", "swallow-outage",
        "no-vitale-search", "pdf-other-patient", "mss-pdf-draft", "source-patient-stale",
        "xdm-n3-format-code", "reused-document-id", "replace-new-set-id", "retry-rebuilt",
        "author-time-before-exam", "invisible-to-patient", "author-not-actor", "send-on-01", "unknown-idam",
        "traits-not-insi",
        # the other couloirs' reference products (reference_ris.volets)
        "vsm-no-treatments", "ldl-wrong-class", "relay-drops-ins"}


# --- seeded defects: what the mocks record -----------------------------------------------------------------
def dmp_rejection(stack) -> list[str]:
    (entry,) = journal(stack, "dmp", "ITI-41")
    assert entry["verdict"] == "rejected"
    return entry["rules"]


def test_wrong_ins_oid_is_refused_by_the_dmp_and_differs_from_insi_in_mssante(world, stack, endpoints,
                                                                              patient,
                                                                            radiologist, gp, tmp_path):
    ris = defective("wrong-ins-oid", tmp_path)
    assert not ris.run(make_task(world, radiologist, patient), endpoints).ok
    assert dmp_rejection(stack) == ["DMP-PAT-004"]
    ris.run(to_gp(world, radiologist, patient, gp), endpoints)
    insi_oid = journal(stack, "insi")[-1]["meta"]["oid"]
    (stored,) = mailbox(stack, gp.mailbox)
    written = stored["documents"][0]["metadata"]["patient_id"]
    assert insi_oid == patient.oid and f"&{insi_oid}&" not in written  # the MSSanté mock has no rule for it


def test_wrong_ins_oid_for_a_production_nir_is_refused_too(world, stack, endpoints, radiologist, tmp_path):
    adrtrois = world.patient_by_key("cnda-adrtrois-dominique")
    assert adrtrois.oid == "1.2.250.1.213.1.4.8"
    assert not defective("wrong-ins-oid", tmp_path).run(make_task(world, radiologist, adrtrois), endpoints).ok
    assert dmp_rejection(stack) == ["DMP-PAT-004"]
    assert "1.2.250.1.213.1.4.9" in journal(stack, "dmp", "ITI-41")[0]["request"]["body"]["text"]


def test_provisional_as_qualified_sends_a_homonyms_ins_after_insi_answered_02(world, stack, endpoints,
                                                                              radiologist,
                                                                            tmp_path):
    group = [p for p in world.patients if (p.homonym_group or "").startswith("homonym-a")]
    known, other = group[0], group[1]
    ris = defective("provisional-as-qualified", tmp_path)
    # with the birth place: 00
    assert ris.run(make_task(world, radiologist, known, id="dmp-01"), endpoints).ok
    typed = {**traits_of(other), "first_names": other.first_name, "birth_place": None}  # "JULIE", no place
    searches_before = len(journal(stack, "insi"))
    result = ris.run(make_task(world, radiologist, traits=typed, id="dmp-02"), endpoints)
    assert result.ok  # the defect: it says it sent
    assert [e["meta"]["code_cr"] for e in journal(stack, "insi")[searches_before:]] == ["02"]
    accepted = journal(stack, "dmp", "ITI-41")
    assert [e["verdict"] for e in accepted] == ["accepted", "accepted"]
    assert len(dmp_documents(stack, known)) == 2  # the second report landed in the homonym's DMP


def test_provisional_as_qualified_feeds_a_homonyms_dmp_when_even_the_birth_place_does_not_help(
        world, stack, endpoints, radiologist, tmp_path):
    group = sorted((p for p in world.patients if (p.homonym_group or "").startswith("homonym-b")),
                   key=lambda p: p.key)
    result = defective("provisional-as-qualified", tmp_path).run(
        make_task(world, radiologist, group[1], id="homonym-01"), endpoints)
    assert result.ok
    assert {e["meta"]["code_cr"] for e in journal(stack, "insi")} == {"02"}
    assert [e["verdict"] for e in journal(stack, "dmp", "ITI-41")] == ["accepted"]
    assert len(dmp_documents(stack, group[0])) == 1  # the first homonym of the local file got it


def test_provisional_as_qualified_sends_a_made_up_ins_by_mssante(world, stack, endpoints, radiologist, gp,
                                                                  tmp_path):
    ris = defective("provisional-as-qualified", tmp_path)
    traits = {"birth_name": "INCONNU", "first_names": "PERSONNE", "sex": "M", "birth_date": "1970-01-01",
              "birth_place": "75056"}
    assert ris.run(make_task(world, radiologist, traits=traits, id="mss-01", action="send-mss",
                             recipient=gp.mailbox), endpoints).ok
    assert {e["meta"]["code_cr"] for e in journal(stack, "insi")} == {"01"}
    (stored,) = mailbox(stack, gp.mailbox)
    ins = stored["documents"][0]["metadata"]["patient_id"].split("^")[0]
    assert world.patient_by_ins(ins) is None  # nobody's INS, declared qualified
    assert "X-MSS-INS: O" in admin(stack["mssante"].url, f"messages/{stored['id']}?raw=1")["copies"][0]["raw"]


def test_no_insi_call_leaves_the_insi_journal_empty_while_the_reports_arrive(world, stack, endpoints, patient,
                                                                            radiologist, gp, tmp_path):
    ris = defective("no-insi-call", tmp_path)
    assert ris.run(make_task(world, radiologist, patient), endpoints).ok
    assert ris.run(to_gp(world, radiologist, patient, gp),
                   endpoints).ok
    assert journal(stack, "insi") == []  # the only trace of the defect: the INS came from the local file
    assert [e["verdict"] for e in journal(stack, "dmp", "ITI-41")] == ["accepted"]
    assert mailbox(stack, gp.mailbox)[0]["verdict"] == "pass"


def test_no_vitale_search_types_the_traits_although_the_card_was_read(world, stack, endpoints, patient,
                                                                      radiologist, tmp_path):
    ris = defective("no-vitale-search", tmp_path)
    assert ris.run(with_card(world, radiologist, patient), endpoints).ok
    operations = {e["operation"] for e in journal(stack, "insi")}
    assert operations == {"rechercherInsAvecTraitsIdentite"}  # the report arrives; the card was never used
    assert [e["verdict"] for e in journal(stack, "dmp", "ITI-41")] == ["accepted"]


def test_no_insi_call_for_someone_the_local_file_lacks_makes_an_ins_up(world, stack, endpoints, radiologist,
                                                                       gp,
                                                                      tmp_path):
    traits = {"birth_name": "INCONNU", "first_names": "PERSONNE", "sex": "M", "birth_date": "1970-01-01",
              "birth_place": "75056"}
    ris = defective("no-insi-call", tmp_path)
    assert ris.run(make_task(world, radiologist, traits=traits, id="mss-01", action="send-mss",
                             recipient=gp.mailbox), endpoints).ok
    assert journal(stack, "insi") == []
    (stored,) = mailbox(stack, gp.mailbox)
    assert world.patient_by_ins(stored["documents"][0]["metadata"]["patient_id"].split("^")[0]) is None


def test_bad_nir_key_is_refused_by_the_dmp_and_flagged_by_mssante(world, stack, endpoints, patient,
                                                                  radiologist,
                                                                  gp, tmp_path):
    ris = defective("bad-nir-key", tmp_path)
    assert not ris.run(make_task(world, radiologist, patient), endpoints).ok
    assert {"VIHF-013", "SEGUR-INS-003"} <= set(dmp_rejection(stack))
    ris.run(to_gp(world, radiologist, patient, gp), endpoints)
    (stored,) = mailbox(stack, gp.mailbox)
    assert stored["verdict"] != "pass" and "MSS-CDA-INVALID" in stored["rules"]
    findings = json.dumps(stored["cda_reports"])
    assert "SEGUR-INS-003" in findings


def test_pdf_not_base64_is_refused_by_the_dmp_validator(world, stack, endpoints, patient, radiologist, gp,
                                                        tmp_path):
    ris = defective("pdf-not-base64", tmp_path)
    assert not ris.run(make_task(world, radiologist, patient), endpoints).ok
    assert set(dmp_rejection(stack)) == {"DMP-CDA-012", "SEGUR-BODY-002"}
    ris.run(to_gp(world, radiologist, patient, gp), endpoints)
    (stored,) = mailbox(stack, gp.mailbox)
    assert "MSS-CDA-INVALID" in stored["rules"] and "SEGUR-BODY-002" in json.dumps(stored["cda_reports"])


def test_wrong_format_code_is_refused_by_the_dmp(world, stack, endpoints, patient, radiologist, biologist, gp,
                                                 tmp_path):
    ris = defective("wrong-format-code", tmp_path)
    assert not ris.run(make_task(world, radiologist, patient), endpoints).ok
    assert dmp_rejection(stack) == ["DMP-CDA-009"]
    ris.run(to_gp(world, radiologist, patient, gp), endpoints)
    (stored,) = mailbox(stack, gp.mailbox)
    assert stored["documents"][0]["metadata"]["format_code"] == "urn:ihe:iti:xds-sd:text:2008"
    assert "MSS-XDM-FORMATCODE" in stored["rules"]  # the MSSanté mock's issue-13 rule sees it too


def test_wrong_format_code_on_a_lab_report(world, stack, endpoints, patient, biologist, tmp_path):
    lab_report = make_task(world, biologist, patient, kind="CR-BIO")
    assert not defective("wrong-format-code", tmp_path).run(lab_report, endpoints).ok
    assert dmp_rejection(stack) == ["DMP-CDA-009"]


def test_patient_mismatch_is_refused_by_the_dmp_and_flagged_by_mssante(world, stack, endpoints, patient,
                                                                       radiologist, gp, tmp_path):
    ris = defective("patient-mismatch", tmp_path)
    assert not ris.run(make_task(world, radiologist, patient), endpoints).ok
    assert dmp_rejection(stack) == ["DMP-CDA-004"]
    ris.run(to_gp(world, radiologist, patient, gp), endpoints)
    (stored,) = mailbox(stack, gp.mailbox)
    assert "MSS-XDM-PATIENT" in stored["rules"]


def test_mss_without_xdm_is_flagged(world, stack, endpoints, patient, radiologist, gp, tmp_path):
    ris = defective("mss-without-xdm", tmp_path)
    assert ris.run(to_gp(world, radiologist, patient, gp),
                   endpoints).ok
    (stored,) = mailbox(stack, gp.mailbox)
    assert "MSS-XDM-MISSING" in stored["rules"]
    assert "IHE_XDM.ZIP" not in [a["filename"] for a in stored["attachments"]]


def test_citizen_wrong_address_without_history_is_refused_at_rcpt(world, stack, endpoints, patient,
                                                                  radiologist,
                                                                  tmp_path):
    ris = defective("citizen-wrong-address", tmp_path)
    result = ris.run(to_citizen(world, radiologist, patient), endpoints)
    assert not result.ok
    sessions = mss_journal(stack, "smtp-session")
    assert "MSS-RCPT-CITIZEN-SYNTAX" in sessions[-1]["rules"]
    assert mailbox(stack, patient.citizen_mailbox) == []


def test_citizen_wrong_address_sends_to_the_previous_patient(world, stack, endpoints, radiologist, tmp_path):
    first, second = ordinary(world)[:2]
    ris = defective("citizen-wrong-address", tmp_path)
    assert ris.run(make_task(world, radiologist, first, id="dmp-01"), endpoints).ok
    assert ris.run(to_citizen(world, radiologist, second), endpoints).ok
    assert mailbox(stack, second.citizen_mailbox) == []
    (stored,) = mailbox(stack, first.citizen_mailbox)  # another patient's Mon espace santé
    assert "MSS-CITIZEN-OTHER-PATIENT" in stored["rules"]


def test_swallow_outage_says_sent_while_the_dmp_was_down(world, stack, endpoints, patient, radiologist,
                                                         tmp_path):
    admin(stack["dmp"].url, "faults", "POST", {"kind": "http_error", "status": 503, "operation": "ITI-41"})
    result = defective("swallow-outage", tmp_path).run(make_task(world, radiologist, patient), endpoints)
    assert result.ok  # the lie
    assert [e["verdict"] for e in journal(stack, "dmp", "ITI-41")] == ["fault-injected"]
    assert dmp_documents(stack, patient) == []
    assert not (tmp_path / "ris-swallow-outage" / "outbox").exists()  # and the report is lost


def test_swallow_outage_says_sent_while_smtp_answered_421(world, stack, endpoints, patient, radiologist, gp,
                                                          tmp_path):
    admin(stack["mssante"].url, "faults", "POST", {"kind": "smtp_reply", "code": 421, "operation": "data"})
    ris = defective("swallow-outage", tmp_path)
    assert ris.run(to_gp(world, radiologist, patient, gp),
                   endpoints).ok
    assert mailbox(stack, gp.mailbox) == []


def test_a_defect_never_breaks_what_it_is_not_about(world, stack, endpoints, patient, radiologist, tmp_path):
    """mss-without-xdm and citizen-wrong-address leave the DMP path correct: the proof must blame the right
    requirement, not everything at once."""
    for defect in ("mss-without-xdm", "citizen-wrong-address", "swallow-outage"):
        admin(stack["dmp"].url, "reset", "POST", {})
        assert defective(defect, tmp_path).run(make_task(world, radiologist, patient), endpoints).ok
        assert [e["verdict"] for e in journal(stack, "dmp", "ITI-41")] == ["accepted"]
