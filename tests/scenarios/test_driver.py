"""The system-under-test drivers: each delivers a task, bounds its time, and reports the product's claim.

Every driver is exercised on its success path and on the ways a product fails (non-zero exit, hang,
HTTP 500, refused connection, exception, nothing seen in the mocks), since a driver that turns a
failure into a success would let a broken product pass the proof.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from segur.scenarios.actions import ACTIONS
from segur.scenarios.driver import (
    CommandDriver,
    DriverResult,
    ManualDriver,
    PluginDriver,
    Task,
    TemplateError,
    WebhookDriver,
    author_dict,
    endpoint_env,
    endpoints_from_env,
    instructions,
    make_driver,
    template_fields,
    traits_of,
    vitale_of,
)

ENDPOINTS = {
    "insi": {"soap": "http://127.0.0.1:8301/lps", "wsdl": "http://127.0.0.1:8301/lps?wsdl"},
    "mssante": {"smtp": {"host": "127.0.0.1", "port": 8587, "starttls": True, "auth": ["PLAIN", "LOGIN"]},
                "ca_file": None},
    "pki": "/tmp/pki",
}


def task(**changes) -> Task:
    values = dict(id="mss-01", action="send-mss",
                  patient={"birth_name": "O'BRIEN; rm -rf /", "first_names": "JEAN PIERRE", "sex": "M",
                           "birth_date": "1980-03-02", "birth_place": "2B020"},
                  recipient="marie.curie@hopital.mssante.fr", sender="jacques.bideault@radiologie.mssante.fr",
                  author={"idnps": "801234560801", "rpps": "01234560801", "family_name": "BIDEAULT",
                          "given_name": "Jacques", "finess": "750803447"},
                  report_no=1, kind="CR-IMG", extra={})
    values.update(changes)
    return Task(**values)


# --- Task ------------------------------------------------------------------------------------------------
def test_a_task_survives_json_both_ways():
    original = task(extra={"note": "é"})
    again = Task.from_json(original.to_json())
    assert again == original and json.loads(original.to_json())["patient"]["sex"] == "M"


@pytest.mark.parametrize("changes, message", [
    ({"action": "send-fax"}, "action"),
    ({"kind": "CR-XYZ"}, "kind"),
    ({"patient": {"birth_name": "X", "ins": "123"}}, "INS is never given"),
    ({"recipient": None}, "needs a recipient"),
    ({"action": "replace-dmp", "extra": {}}, "replaces_task"),
    ({"id": "a b"}, "task id"),
    ({"vitale": "1800232020401"}, "vitale is an object"),
    ({"vitale": {"nir": "18003", "birth_date": "1980-03-02"}}, "13-character NIR"),
    ({"vitale": {"nir": "1800232020401"}}, "birth_date"),
    ({"vitale": {"nir": "1800232020401", "key": "7", "birth_date": "1980-03-02"}}, "2 digits"),
    ({"vitale": {"nir": "1800232020401", "birth_date": "1980-03-02", "ins": "180023202040123"}},
     "unknown vitale"),
])
def test_a_malformed_task_is_refused_with_the_reason(changes, message):
    with pytest.raises(ValueError, match=message):
        task(**changes)


def test_a_task_with_a_vitale_card_survives_json_and_says_so():
    """`vitale` (what the card reader gives) is optional: absent → null; given → read back as it was."""
    assert json.loads(task().to_json())["vitale"] is None and task().vitale is None
    card = {"nir": "180032B020401", "key": "23", "birth_date": "1980-03-02", "birth_name": "CORSE"}
    with_card = task(vitale=card)
    again = Task.from_json(with_card.to_json())
    assert again == with_card and again.vitale == card
    assert "Vitale card NIR 180032B020401" in with_card.describe()
    shown = instructions(with_card)
    assert "rechercherInsAvecCarteVitale" in shown and "180032B020401" in shown
    assert "Vitale" not in instructions(task())
    argv = CommandDriver("product --card {vitale}").argv(with_card, "t.json", "e.json")
    assert argv[:2] == ["product", "--card"] and json.loads(argv[2]) == card


def test_world_helpers_give_the_vitale_card_of_a_nir_holder():
    from segur.fixtures.world import load_world

    patient = next(p for p in load_world().patients if not p.is_nia)
    card = vitale_of(patient)
    assert card == {"nir": patient.nir, "key": patient.nir_key, "birth_date": patient.birth_date,
                    "birth_name": patient.birth_name}
    assert task(vitale=card).vitale == card  # a valid card for Task


def test_unknown_task_fields_are_refused_when_reading_json():
    data = json.loads(task().to_json()) | {"ins": "x"}
    with pytest.raises(ValueError, match="unknown task field"):
        Task.from_json(json.dumps(data))


def test_world_helpers_give_traits_without_the_ins_and_a_complete_author():
    from segur.fixtures.world import load_world

    world = load_world()
    patient = world.patients[0]
    traits = traits_of(patient)
    assert set(traits) == {"birth_name", "first_names", "sex", "birth_date", "birth_place"}
    assert patient.ins not in json.dumps(traits)
    professional = world.professionals[0]
    author = author_dict(professional, world.organisation_of(professional))
    assert author["idnps"] == professional.idnps
    assert author["professional"]["author_code"] == professional.author_code
    assert author["organisation"]["finess"] == author["finess"]


# --- endpoints as environment ----------------------------------------------------------------------------
def test_endpoints_are_flattened_into_segur_variables(tmp_path):
    env = endpoint_env(ENDPOINTS, tmp_path / "endpoints.json")
    assert env["SEGUR_INSI_WSDL"] == "http://127.0.0.1:8301/lps?wsdl"
    assert env["SEGUR_MSSANTE_SMTP_PORT"] == "8587" and env["SEGUR_MSSANTE_SMTP_STARTTLS"] == "true"
    assert env["SEGUR_MSSANTE_SMTP_AUTH"] == "PLAIN,LOGIN"
    assert env["SEGUR_PKI"] == "/tmp/pki" and env["SEGUR_ENDPOINTS"] == str(tmp_path / "endpoints.json")
    assert "SEGUR_MSSANTE_CA_FILE" not in env  # None is left out, not written as "None"


def test_endpoints_are_read_back_from_the_file_segur_endpoints_names(tmp_path):
    path = tmp_path / "e.json"
    path.write_text(json.dumps(ENDPOINTS))
    assert endpoints_from_env({"SEGUR_ENDPOINTS": str(path)}) == ENDPOINTS
    with pytest.raises(LookupError, match="SEGUR_ENDPOINTS"):
        endpoints_from_env({})


# --- command ---------------------------------------------------------------------------------------------
@pytest.fixture
def script(tmp_path):
    """Write a Python script; the template runs it with this interpreter."""
    def write(body: str) -> str:
        path = tmp_path / "product.py"
        path.write_text(textwrap.dedent(body))
        return f"{sys.executable} {path}"
    return write


def test_the_command_gets_each_value_as_one_argument_plus_files_and_environment(script, tmp_path):
    record = tmp_path / "record.json"
    command = script(f"""
        import json, os, sys
        task = json.load(open(sys.argv[-2]))
        endpoints = json.load(open(os.environ["SEGUR_ENDPOINTS"]))
        json.dump({{"argv": sys.argv[1:], "task_id": task["id"], "wsdl": os.environ["SEGUR_INSI_WSDL"],
                   "endpoints": endpoints, "task_env": os.environ["SEGUR_TASK_ID"]}},
                  open({str(record)!r}, "w"))
        print("sent")
        """)
    driver = CommandDriver(command + " --name {birth_name} --given {first_names} --to {recipient} "
                           "--traits {birth_name}/{sex} --author {author_idnps} --task {task_json_file} "
                           "{endpoints_file}")
    result = driver.run(task(), ENDPOINTS)
    assert result.ok and result.detail == "exit code 0" and "sent" in result.output
    seen = json.loads(record.read_text())
    assert seen["argv"][:10] == ["--name", "O'BRIEN; rm -rf /", "--given", "JEAN PIERRE",
                                 "--to", "marie.curie@hopital.mssante.fr", "--traits", "O'BRIEN; rm -rf //M",
                                 "--author", "801234560801"]
    assert seen["task_id"] == seen["task_env"] == "mss-01"
    assert seen["wsdl"] == ENDPOINTS["insi"]["wsdl"] and seen["endpoints"] == ENDPOINTS


def test_task_json_placeholder_and_missing_values_are_passed_as_single_arguments(script, tmp_path):
    record = tmp_path / "argv.json"
    command = script(f"import json, sys; json.dump(sys.argv[1:], open({str(record)!r}, 'w'))")
    driver = CommandDriver(command + " {task_json} {sender} {replaces_task}")
    result = driver.run(task(sender=None), ENDPOINTS)
    assert result.ok
    argv = json.loads(record.read_text())
    assert Task.from_json(argv[0]) == task(sender=None) and argv[1:] == ["", ""]


def test_a_non_zero_exit_is_a_failure_with_the_products_last_words(script):
    command = script("import sys; print('looked up INSi'); print('DMP refused: XDSPatientIdDoesNotMatch', "
                     "file=sys.stderr); sys.exit(3)")
    result = CommandDriver(command).run(task(), ENDPOINTS)
    assert not result.ok
    assert result.detail == "exit code 3: DMP refused: XDSPatientIdDoesNotMatch"
    assert "looked up INSi" in result.output and "--- stderr ---" in result.output


def test_a_hanging_command_is_killed_at_the_timeout(script, tmp_path):
    marker = tmp_path / "still-alive"
    command = script(f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3); open({str(marker)!r}, 'w')"])
        time.sleep(30)
        """)
    result = CommandDriver(command, timeout=0.5).run(task(), ENDPOINTS)
    assert not result.ok and result.detail.startswith("timed out after 0.5 s")
    assert result.duration_s < 10


def test_the_child_of_a_killed_command_is_killed_too(script, tmp_path):
    import time

    marker = tmp_path / "grandchild-ran"
    command = script(f"""
        import subprocess, sys, time
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5); open({str(marker)!r}, 'w')"])
        time.sleep(30)
        """)
    CommandDriver(command, timeout=0.5).run(task(), ENDPOINTS)
    time.sleep(2)
    assert not marker.exists()


@pytest.mark.parametrize("template, message", [
    ("ris --ins {ins}", "unknown placeholder {ins}"),
    ("ris {}", "positional placeholder"),
    ("ris {birth_name:>10}", "format spec"),
    ("ris {birth_name!r}", "format spec or conversion"),
    ("ris {birth_name", "expected '}'"),
    ("   ", "empty command template"),
])
def test_a_bad_template_is_refused_before_anything_runs(template, message):
    with pytest.raises(TemplateError, match=message):
        CommandDriver(template)


def test_the_error_for_an_unknown_placeholder_lists_the_known_ones():
    with pytest.raises(TemplateError) as info:
        template_fields("ris {patient_name}")
    assert "birth_name" in str(info.value) and "task_json_file" in str(info.value)


def test_literal_braces_are_written_doubled(script, tmp_path):
    record = tmp_path / "argv.json"
    command = script(f"import json, sys; json.dump(sys.argv[1:], open({str(record)!r}, 'w'))")
    assert CommandDriver(command + " {{x}} {id}").run(task(), ENDPOINTS).ok
    assert json.loads(record.read_text()) == ["{x}", "mss-01"]


def test_a_command_that_cannot_start_is_a_failure():
    result = CommandDriver("/nonexistent/my-ris send {id}").run(task(), ENDPOINTS)
    assert not result.ok and result.detail.startswith("command could not start: /nonexistent/my-ris")


def test_captured_output_is_bounded(script):
    command = script("import sys; sys.stdout.write('x' * 300_000); sys.stdout.write('END')")
    result = CommandDriver(command, output_limit=10_000).run(task(), ENDPOINTS)
    assert result.ok and len(result.output) < 11_000
    assert "bytes cut" in result.output and result.output.rstrip().endswith("END")


# --- webhook ---------------------------------------------------------------------------------------------
class _Product(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Product.received.append((self.path, body, self.headers.get("X-Segur-Task")))
        if self.path == "/slow":
            import time
            time.sleep(2)
        answers = {"/ok": (200, {"ok": True, "detail": "sent"}), "/accepted": (202, None),
                   "/fail": (500, {"error": "DMP unreachable"}),
                   "/says-no": (200, {"ok": False, "detail": "INSi answered 02"})}
        status, answer = answers.get(self.path, (200, {}))
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # the driver gave up waiting (the timeout test)
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def product():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Product)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_the_task_and_endpoints_and_2xx_is_success(product):
    _Product.received.clear()
    result = WebhookDriver(product + "/ok").run(task(), ENDPOINTS)
    assert result.ok and result.detail == "HTTP 200" and '"sent"' in result.output
    path, body, header = _Product.received[-1]
    assert Task.from_dict(body["task"]) == task() and body["endpoints"] == ENDPOINTS and header == "mss-01"
    assert WebhookDriver(product + "/accepted").run(task(), ENDPOINTS).ok


def test_a_webhook_500_is_a_failure_with_the_answer(product):
    result = WebhookDriver(product + "/fail").run(task(), ENDPOINTS)
    assert not result.ok and result.detail.startswith("HTTP 500") and "DMP unreachable" in result.detail


def test_a_2xx_saying_ok_false_is_a_failure(product):
    result = WebhookDriver(product + "/says-no").run(task(), ENDPOINTS)
    assert not result.ok and "INSi answered 02" in result.detail


def test_a_refused_connection_is_a_failure():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = WebhookDriver(f"http://127.0.0.1:{port}/sut").run(task(), ENDPOINTS)
    assert not result.ok and result.detail.startswith("connection failed")
    assert "refused" in result.detail.lower()


def test_a_slow_webhook_times_out(product):
    result = WebhookDriver(product + "/slow", timeout=0.3).run(task(), ENDPOINTS)
    assert not result.ok and result.detail.startswith("timed out")


def test_a_webhook_url_must_be_http():
    with pytest.raises(ValueError, match="http"):
        WebhookDriver("ftp://x")


# --- plugin ----------------------------------------------------------------------------------------------
def test_a_plugin_function_gets_the_task_and_endpoints():
    seen = []
    result = PluginDriver(lambda t, e: seen.append((t, e)) or {"sent": "ok"}).run(task(), ENDPOINTS)
    assert result.ok and seen == [(task(), ENDPOINTS)] and '"sent"' in result.output


def test_a_plugin_exception_is_a_failure_with_its_traceback():
    def product(t, e):
        raise ConnectionError("SMTP 421 service not available")

    result = PluginDriver(product).run(task(), ENDPOINTS)
    assert not result.ok and result.detail == "ConnectionError: SMTP 421 service not available"
    assert "Traceback" in result.output


def test_a_plugin_returning_false_or_ok_false_is_a_failure():
    assert not PluginDriver(lambda t, e: False).run(task(), ENDPOINTS).ok
    result = PluginDriver(lambda t, e: {"ok": False, "detail": "INSi 01"}).run(task(), ENDPOINTS)
    assert not result.ok and result.detail == "INSi 01"


def test_a_plugin_is_named_module_colon_function_or_file_colon_function(tmp_path):
    assert PluginDriver("json:dumps").function is json.dumps
    path = tmp_path / "my_product.py"
    path.write_text("def send(task, endpoints):\n    return 'sent ' + task.id\n")
    result = PluginDriver(f"{path}:send").run(task(), ENDPOINTS)
    assert result.ok and result.detail == "sent mss-01"


@pytest.mark.parametrize("spec, message", [
    ("json", "module:function"), ("no_such_module_xyz:run", "cannot import"), ("json:nothing", "has no"),
    ("json:__doc__", "not callable"),
])
def test_a_bad_plugin_spec_is_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        PluginDriver(spec)


# --- manual ----------------------------------------------------------------------------------------------
class FakeTime:
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_manual_mode_prints_what_to_do_and_succeeds_when_the_mocks_see_it():
    answers = iter([False, False, True])
    fake, out = FakeTime(), io.StringIO()
    driver = ManualDriver(lambda t: next(answers), timeout=60, poll_interval=5, out=out, sleep=fake.sleep,
                          clock=fake.clock)
    result = driver.run(task(), ENDPOINTS)
    assert result.ok and result.detail == "seen by the mocks after 3 check(s)" and result.duration_s == 10
    text = out.getvalue()
    assert "O'BRIEN; rm -rf /" in text and "JEAN PIERRE" in text and "2B020" in text
    assert "marie.curie@hopital.mssante.fr" in text and "IHE_XDM.ZIP" in text and "INSi" in text
    assert "http://127.0.0.1:8301/lps?wsdl" in text  # the endpoints, once


def test_manual_mode_times_out_when_nothing_arrives():
    fake = FakeTime()
    driver = ManualDriver(lambda t: False, timeout=30, poll_interval=4, out=io.StringIO(), sleep=fake.sleep,
                          clock=fake.clock)
    result = driver.run(task(), ENDPOINTS)
    assert not result.ok and result.detail.startswith("timed out after 30 s") and 30 <= fake.now < 34


def test_manual_mode_fails_when_the_mocks_cannot_be_read():
    def broken(t):
        raise OSError("admin API down")

    result = ManualDriver(broken, out=io.StringIO()).run(task(), ENDPOINTS)
    assert not result.ok and "admin API down" in result.detail


def test_manual_instructions_for_the_citizen_never_give_an_address_and_name_the_replaced_task():
    citizen = instructions(task(id="citizen-01", action="send-citizen", recipient=None))
    assert "<INS>@patient.mssante.fr" in citizen and "marie.curie" not in citizen
    replace = instructions(task(id="replace-01", action="replace-dmp", recipient=None,
                                extra={"replaces_task": "dmp-03"}))
    assert "dmp-03" in replace and "replacing" in replace


# --- make_driver -----------------------------------------------------------------------------------------
def test_make_driver_reads_each_sut_spec():
    assert isinstance(make_driver("cmd:my-ris send {id}", timeout=5), CommandDriver)
    assert make_driver("cmd:my-ris send {id}", timeout=5).timeout == 5
    assert isinstance(make_driver("http://127.0.0.1:9/sut"), WebhookDriver)
    assert isinstance(make_driver("https://ris.example/sut"), WebhookDriver)
    assert isinstance(make_driver("plugin:json:dumps"), PluginDriver)
    assert isinstance(make_driver("manual", observed=lambda t: True), ManualDriver)


@pytest.mark.parametrize("spec, message", [
    ("manual", "observed"), ("ftp://x", "expected cmd:"), ("cmd:my {nope}", "unknown placeholder"),
])
def test_make_driver_refuses_what_it_cannot_run(spec, message):
    with pytest.raises(ValueError, match=message):
        make_driver(spec)


def test_a_driver_result_is_plain_data():
    assert DriverResult("t", True, "d", 0.5, "o").to_dict() == {"task_id": "t", "ok": True, "detail": "d",
                                                                "duration_s": 0.5, "output": "o"}


def test_manual_instructions_name_the_author_and_structure():
    author = {"idnps": "801234560801", "given_name": "Jacques", "family_name": "BIDEAULT",
              "finess": "750803447", "organisation_name": "Centre Ambroise"}
    text = instructions(task(author=author))
    assert "\n  Author: Jacques BIDEAULT (IDNPS 801234560801), Centre Ambroise (FINESS 750803447)" in text


def test_a_capability_task_is_described_by_what_its_action_asks():
    task = Task("pam-merge-01", "pam-send-dmp", {}, extra={"pam_patient_id": "X"})
    line = task.describe()
    assert line.startswith("pam-merge-01: pam-send-dmp — ") and "None" not in line
    assert ACTIONS["pam-send-dmp"] in line
