"""The system-under-test driver: how the harness makes an editor's product act, one task at a time.

A `Task` says what the product must do (send report k for patient p to the DMP, to a professional, to
the citizen; replace an earlier report); a driver hands it to the product and says whether the product
*claims* to have done it (`DriverResult`). The harness never believes that claim: the checks read what
reached the mocks (`segur.scenarios.observe`). The driver's only jobs are to deliver the task, bound the
time it takes, and keep what the product said (exit code, output, HTTP answer, exception) as evidence.

Drivers (docs/sut.md has a complete example of each):
- `CommandDriver(template)`: runs a command per task (`cmd:…`): the template is formatted with the
  task's fields, each value shell-quoted, then split with `shlex` and run without a shell;
- `WebhookDriver(url)`: POSTs `{"task": …, "endpoints": …}` to the product (`http(s)://…`);
- `PluginDriver("module:function")`: calls `function(task, endpoints)` in-process (`plugin:mod:fn`);
- `ManualDriver(observed)`: prints what a person must do in the product, then polls `observed(task)`
  until the expected exchange shows up in the mocks (`manual`);
- `make_driver("reference-ris[:defect]")`: the reference RIS of `examples/reference-ris/`, in-process.

The product learns where the services are from `endpoints` (the stack's `endpoints()`): as a JSON file
whose path is in `SEGUR_ENDPOINTS`, and flattened into `SEGUR_<SERVICE>_<KEY>` variables (`endpoint_env`).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import signal
import string
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol, TextIO

from segur.scenarios.actions import ACTIONS, KINDS

#: the core proof's actions (a report sent); the others are the capabilities'
CORE_ACTIONS = ("send-dmp", "send-mss", "send-citizen", "replace-dmp")

#: The identity traits a user types in the product (INSi's search by traits): never the INS.
TRAITS = ("birth_name", "first_names", "sex", "birth_date", "birth_place")
#: What a Vitale card reader gives the product (`Task.vitale`): the beneficiary's NIR (13 characters) and key,
#: birth date and birth name — the data of INSi's `rechercherInsAvecCarteVitale` (docs/insi.md).
VITALE = ("nir", "key", "birth_date", "birth_name")
#: How much of a product's stdout/stderr (or HTTP answer) a result keeps, per stream.
OUTPUT_LIMIT = 64 * 1024
DEFAULT_TIMEOUT = 120.0


# --- the task ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """What the harness asks the product to do (the contract of PROOF.md, docs/sut.md).

    `patient` holds the traits a user would type (`TRAITS`), not the INS: the product must get the INS
    from INSi. `recipient` is the MSSanté address for send-mss; for send-citizen it is None (the product
    derives `<INS>@patient.mssante.fr` from INSi's answer). `author` is who signs the report (see
    `author_dict`). `extra` carries action details, e.g. `{"replaces_task": "dmp-03"}` for replace-dmp.
    `vitale`, when given, is what the patient's Vitale card gives the product through its reader (`VITALE`:
    the beneficiary's NIR and key, birth date and name): the product must then search INSi with the card
    (`rechercherInsAvecCarteVitale`), not the traits (REM INS/va1.34: by traits *and* by Vitale card).
    """

    id: str
    action: str
    patient: dict
    recipient: str | None = None
    sender: str | None = None
    author: dict = field(default_factory=dict)
    report_no: int = 1
    kind: str = "CR-IMG"
    extra: dict = field(default_factory=dict)
    vitale: dict | None = None

    def __post_init__(self):
        if not self.id or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.id):
            raise ValueError(f"task id {self.id!r}: letters, digits, '.', '_' and '-' only")
        if self.action not in ACTIONS:
            raise ValueError(f"task {self.id}: action {self.action!r} is not one of {', '.join(ACTIONS)}")
        if self.kind not in KINDS:
            raise ValueError(f"task {self.id}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if "ins" in {k.lower() for k in self.patient}:
            raise ValueError(f"task {self.id}: the patient's INS is never given; the product asks INSi")
        if self.vitale is not None:
            check_vitale(self.id, self.vitale)
        if self.action == "send-mss" and not self.recipient:
            raise ValueError(f"task {self.id}: send-mss needs a recipient")
        if self.action == "replace-dmp" and not self.extra.get("replaces_task"):
            raise ValueError(f"task {self.id}: replace-dmp needs extra['replaces_task'] (the task it "
                             "replaces)")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, data: Mapping) -> Task:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown task field(s): {', '.join(unknown)}")
        return cls(**{k: data[k] for k in data})

    @classmethod
    def from_json(cls, text: str | bytes) -> Task:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a task is a JSON object")
        return cls.from_dict(data)

    @property
    def replaces_task(self) -> str | None:
        return self.extra.get("replaces_task")

    def describe(self) -> str:
        """One line for logs and progress displays."""
        who = " ".join(str(self.patient.get(t, "")) for t in ("birth_name", "first_names")).strip()
        if self.action not in CORE_ACTIONS:  # a capability's task: what its action asks
            return f"{self.id}: {self.action} — {ACTIONS[self.action]}" + (f" (patient {who})" if who else "")
        to = {"send-dmp": "DMP", "replace-dmp": f"DMP, replacing {self.replaces_task}",
              "send-citizen": "the patient's Mon espace santé mailbox"}.get(self.action, self.recipient)
        card = f", Vitale card NIR {self.vitale.get('nir')} read" if self.vitale else ""
        return f"{self.id}: {self.kind} report #{self.report_no} for {who}{card} to {to}"


def check_vitale(task_id: str, vitale) -> None:
    """A task's card data: a dict of `VITALE` keys, with a 13-character NIR (Corsica's 2A/2B allowed) and a
    birth date; the key, when given, 2 digits."""
    if not isinstance(vitale, Mapping):
        raise ValueError(f"task {task_id}: vitale is an object ({', '.join(VITALE)})")
    unknown = sorted(set(vitale) - set(VITALE))
    if unknown:
        raise ValueError(f"task {task_id}: unknown vitale field(s) {', '.join(unknown)}; known: "
                         f"{', '.join(VITALE)}")
    if not re.fullmatch(r"[0-9]{6}[0-9AB][0-9]{6}", str(vitale.get("nir") or "")):
        raise ValueError(f"task {task_id}: vitale.nir must be the card's 13-character NIR, not "
                         f"{vitale.get('nir')!r}")
    if vitale.get("key") is not None and not re.fullmatch(r"[0-9]{2}", str(vitale["key"])):
        raise ValueError(f"task {task_id}: vitale.key must be 2 digits, not {vitale['key']!r}")
    if not vitale.get("birth_date"):
        raise ValueError(f"task {task_id}: vitale needs the card's birth_date")


def vitale_of(patient) -> dict:
    """`Task.vitale` for a world `Patient`: what its Vitale card gives (the world has no insured/beneficiary
    links, so the card's beneficiary NIR is the patient's own: INSi's `MatriculeIndividu`)."""
    return {"nir": patient.nir, "key": patient.nir_key, "birth_date": patient.birth_date,
            "birth_name": patient.birth_name}


def traits_of(patient) -> dict:
    """The traits a user types for a world `Patient` (no INS), as `Task.patient` holds them."""
    return {"birth_name": patient.birth_name, "first_names": patient.first_names, "sex": patient.sex,
            "birth_date": patient.birth_date, "birth_place": patient.birth_place}


def author_dict(professional, organisation) -> dict:
    """`Task.author` for a world professional and organisation: the identifiers first (idnps, rpps,
    finess, names), then everything a product needs to write a CDA author, under `professional` and
    `organisation` (the world's fields, as the product's own user/structure configuration would hold)."""
    return {
        "idnps": professional.idnps, "rpps": professional.rpps, "family_name": professional.family_name,
        "given_name": professional.given_name, "finess": organisation.finess, "idnst": organisation.idnst,
        "organisation_name": organisation.name,
        "professional": asdict(professional), "organisation": asdict(organisation),
    }


# --- results and the driver protocol ----------------------------------------------------------------------
@dataclass
class DriverResult:
    """What the product said about one task (its claim, not the harness's verdict)."""

    task_id: str
    ok: bool
    detail: str
    duration_s: float
    output: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class Driver(Protocol):
    def run(self, task: Task, endpoints: Mapping) -> DriverResult: ...


def _bounded(data: bytes | str, limit: int = OUTPUT_LIMIT) -> str:
    """At most `limit` characters: the head and the tail, with a marker of what was cut."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half} characters cut …]\n{text[-half:]}"


# --- endpoints as environment -----------------------------------------------------------------------------
def _env_name(parts) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]+", "_", str(p)).strip("_").upper() for p in parts)


def _env_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_env_value(v) for v in value)
    return str(value)


def endpoint_env(endpoints: Mapping, endpoints_file: str | os.PathLike | None = None) -> dict[str, str]:
    """`SEGUR_<SERVICE>_<KEY>` for every endpoint (nested keys joined by `_`, upper case: the MSSanté
    mock's `{"smtp": {"port": 8587}}` gives `SEGUR_MSSANTE_SMTP_PORT`; top-level values such as `pki`
    give `SEGUR_PKI`), plus `SEGUR_ENDPOINTS` when the JSON file is given. None values are left out;
    lists are comma-joined; booleans are `true`/`false`."""
    env: dict[str, str] = {}

    def walk(prefix: tuple, value) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(prefix + (key,), inner)
        elif value is not None:
            env["SEGUR_" + _env_name(prefix)] = _env_value(value)

    walk((), endpoints)
    if endpoints_file is not None:
        env["SEGUR_ENDPOINTS"] = str(endpoints_file)
    return env


def write_endpoints_file(endpoints: Mapping, directory: str | os.PathLike) -> Path:
    """Write the endpoints as `endpoints.json` in `directory` (the file `SEGUR_ENDPOINTS` names)."""
    path = Path(directory) / "endpoints.json"
    path.write_text(json.dumps(endpoints, indent=2, default=str), encoding="utf-8")
    return path


def endpoints_from_env(environ: Mapping[str, str] | None = None) -> dict:
    """What a product (or a plugin) reads back: the JSON file named by `SEGUR_ENDPOINTS`."""
    environ = os.environ if environ is None else environ
    path = environ.get("SEGUR_ENDPOINTS")
    if not path:
        raise LookupError("SEGUR_ENDPOINTS is not set: run under the harness, or give the endpoints yourself")
    return json.loads(Path(path).read_text(encoding="utf-8"))


# --- command ----------------------------------------------------------------------------------------------
#: Placeholders a command template may use, besides the patient traits (`TRAITS`) and `author_*`.
TASK_PLACEHOLDERS = ("id", "action", "patient", "recipient", "sender", "author", "report_no", "kind", "extra",
                     "vitale")
FILE_PLACEHOLDERS = ("task_json", "task_json_file", "endpoints_file", "replaces_task")
AUTHOR_PLACEHOLDERS = ("author_idnps", "author_rpps", "author_family_name", "author_given_name",
                       "author_finess", "author_idnst")
PLACEHOLDERS = TASK_PLACEHOLDERS + TRAITS + AUTHOR_PLACEHOLDERS + FILE_PLACEHOLDERS


class TemplateError(ValueError):
    """A command template the driver cannot use (unknown placeholder, bad syntax)."""


def template_fields(template: str) -> list[str]:
    """The placeholder names of a template; raises `TemplateError` on unknown names or bad syntax."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"command template {template!r}: {exc} "
                            "(write a literal brace as {{ or }})") from exc
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise TemplateError(f"command template {template!r}: positional placeholder {{{name}}}; "
                                f"use a name: {', '.join(PLACEHOLDERS)}")
        if spec or conversion:
            raise TemplateError(f"command template {template!r}: {{{name}}} has a format spec or conversion; "
                                "values are inserted as they are, shell-quoted")
        if name not in PLACEHOLDERS:
            raise TemplateError(f"command template {template!r}: unknown placeholder {{{name}}}; "
                                f"known: {', '.join(PLACEHOLDERS)}")
        names.append(name)
    return names


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class CommandDriver:
    """Runs the product's command line once per task.

    The template is formatted with the task (`PLACEHOLDERS`: every Task field — dicts as JSON —, the
    patient traits, `author_*`, `{task_json}`, `{task_json_file}`, `{endpoints_file}`, `{replaces_task}`),
    every value shell-quoted, then split with `shlex` and run with no shell, so a patient called
    `O'Brien; rm -rf /` stays one argument. Do not put quotes around a placeholder. The environment gets
    `endpoint_env` (with `SEGUR_ENDPOINTS`) and `SEGUR_TASK_ID`/`SEGUR_TASK_FILE`. Exit code 0 = the
    product claims success; anything else, a timeout or a command that cannot start = failure.
    """

    def __init__(self, template: str, *, timeout: float = DEFAULT_TIMEOUT,
                 cwd: str | os.PathLike | None = None, env: Mapping[str, str] | None = None,
                 output_limit: int = OUTPUT_LIMIT):
        if not template or not template.strip():
            raise TemplateError("empty command template")
        self.fields = template_fields(template)
        self.template = template
        self.timeout = timeout
        self.cwd = cwd
        self.env = dict(env or {})
        self.output_limit = output_limit

    def argv(self, task: Task, task_file: Path, endpoints_file: Path) -> list[str]:
        values = {name: _text(getattr(task, name)) for name in TASK_PLACEHOLDERS}
        values.update({trait: _text(task.patient.get(trait)) for trait in TRAITS})
        values.update({name: _text(task.author.get(name.removeprefix("author_")))
                       for name in AUTHOR_PLACEHOLDERS})
        values.update(task_json=task.to_json(), task_json_file=str(task_file),
                      endpoints_file=str(endpoints_file), replaces_task=_text(task.replaces_task))
        command = self.template.format(**{k: shlex.quote(v) for k, v in values.items()})
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise TemplateError(f"command template {self.template!r}: {exc}") from exc
        if not argv:
            raise TemplateError(f"command template {self.template!r} gives an empty command")
        return argv

    def run(self, task: Task, endpoints: Mapping) -> DriverResult:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"segur-task-{task.id}-") as scratch:
            directory = Path(scratch)
            task_file = directory / "task.json"
            task_file.write_text(task.to_json(indent=2), encoding="utf-8")
            endpoints_file = write_endpoints_file(endpoints, directory)
            argv = self.argv(task, task_file, endpoints_file)
            env = {**os.environ, **endpoint_env(endpoints, endpoints_file), **self.env,
                   "SEGUR_TASK_ID": task.id, "SEGUR_TASK_FILE": str(task_file)}
            out_path, err_path = directory / "stdout", directory / "stderr"
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                try:
                    process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                               env=env, cwd=self.cwd, start_new_session=True)
                except OSError as exc:
                    why = f"command could not start: {argv[0]}: {exc.strerror or exc}"
                    return DriverResult(task.id, False, why, time.monotonic() - started, "")
                timed_out = False
                try:
                    code = process.wait(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    timed_out = True
                    _kill_tree(process)
                    code = process.wait()
            output = self._output(out_path, err_path)
            last_words = _last_line(err_path, output)
        duration = time.monotonic() - started
        if timed_out:
            why = f"timed out after {self.timeout:g} s (command killed)"
            return DriverResult(task.id, False, why, duration, output)
        if code != 0:
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            return DriverResult(task.id, False, f"{how}: {last_words}", duration, output)
        return DriverResult(task.id, True, "exit code 0", duration, output)

    def _output(self, out_path: Path, err_path: Path) -> str:
        parts = []
        for label, path in (("stdout", out_path), ("stderr", err_path)):
            data = _read_bounded(path, self.output_limit)
            if data:
                parts.append(f"--- {label} ---\n{data}")
        return "\n".join(parts)


def _read_bounded(path: Path, limit: int) -> str:
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if size <= limit:
            return handle.read().decode("utf-8", "replace")
        half = limit // 2
        head = handle.read(half)
        handle.seek(size - half)
        tail = handle.read()
    return (head.decode("utf-8", "replace") + f"\n[… {size - 2 * half} bytes cut …]\n"
            + tail.decode("utf-8", "replace"))


def _last_line(err_path: Path, output: str) -> str:
    text = _read_bounded(err_path, 4096).strip() or output.strip()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("---")]
    return lines[-1][:300] if lines else "(no output)"


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill the command and what it started (its own session, created for it)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


# --- webhook ----------------------------------------------------------------------------------------------
class WebhookDriver:
    """POSTs `{"task": …, "endpoints": …}` (JSON) to the product; 2xx = the product claims success.

    A 2xx answer whose JSON body says `"ok": false` is a failure too (the product said so). Non-2xx,
    a refused connection or a timeout = failure, with the reason and the (bounded) answer.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 headers: Mapping[str, str] | None = None, output_limit: int = OUTPUT_LIMIT, context=None):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http(s)://…, got {url!r}")
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.output_limit = output_limit
        self.context = context

    def run(self, task: Task, endpoints: Mapping) -> DriverResult:
        started = time.monotonic()
        body = json.dumps({"task": task.to_dict(), "endpoints": endpoints}, default=str).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json", "X-Segur-Task": task.id,
            **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                status, answer = response.status, response.read(self.output_limit + 1)
        except urllib.error.HTTPError as exc:
            answer = exc.read(self.output_limit + 1) if exc.fp is not None else b""
            why = f"HTTP {exc.code} {exc.reason}: {_bounded(answer, 300).strip()}"
            return DriverResult(task.id, False, why, time.monotonic() - started,
                                _bounded(answer, self.output_limit))
        except (TimeoutError, OSError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            timed_out = isinstance(reason, TimeoutError) or "timed out" in str(reason)
            kind = "timed out" if timed_out else "connection failed"
            return DriverResult(task.id, False, f"{kind}: {self.url}: {reason}", time.monotonic() - started,
                                "")
        duration = time.monotonic() - started
        output = _bounded(answer, self.output_limit)
        if not 200 <= status < 300:
            return DriverResult(task.id, False, f"HTTP {status}", duration, output)
        claimed = _json_or_none(answer)
        if isinstance(claimed, dict) and claimed.get("ok") is False:
            return DriverResult(task.id, False, f"HTTP {status} but the product says ok=false: "
                                f"{claimed.get('detail', '')}"[:400], duration, output)
        return DriverResult(task.id, True, f"HTTP {status}", duration, output)


def _json_or_none(data: bytes):
    try:
        return json.loads(data)
    except ValueError:
        return None


# --- plugin -----------------------------------------------------------------------------------------------
def load_callable(spec: str) -> Callable:
    """`package.module:function` (or `path/to/file.py:function`) → the function."""
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"plugin {spec!r}: expected module:function")
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise ValueError(f"plugin {spec!r}: no file {path}")
        module_spec = importlib.util.spec_from_file_location(f"segur_plugin_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"plugin {spec!r}: cannot import {module_name}: {exc}") from exc
    target = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ValueError(f"plugin {spec!r}: {module_name} has no {attribute}")
    if not callable(target):
        raise ValueError(f"plugin {spec!r}: {attribute} is not callable")
    return target


class PluginDriver:
    """Calls `function(task, endpoints)` in-process. Returning normally (None, True, a string or a dict
    detail) = success; returning False or raising = failure (the traceback is kept in `output`)."""

    def __init__(self, target: str | Callable, *, name: str | None = None):
        self.function = load_callable(target) if isinstance(target, str) else target
        self.name = name or (target if isinstance(target, str)
                             else getattr(target, "__qualname__", repr(target)))

    def run(self, task: Task, endpoints: Mapping) -> DriverResult:
        started = time.monotonic()
        try:
            returned = self.function(task, endpoints)
        except BaseException as exc:  # noqa: BLE001 - a product's failure, whatever it is, is the result
            if isinstance(exc, KeyboardInterrupt):
                raise
            why = f"{type(exc).__name__}: {exc}"[:500]
            return DriverResult(task.id, False, why, time.monotonic() - started,
                                _bounded(traceback.format_exc()))
        duration = time.monotonic() - started
        if returned is False:
            return DriverResult(task.id, False, f"{self.name} returned False", duration, "")
        if isinstance(returned, dict) and returned.get("ok") is False:
            return DriverResult(task.id, False, str(returned.get("detail", "the plugin says ok=false"))[:500],
                                duration, _bounded(json.dumps(returned, default=str)))
        detail = returned if isinstance(returned, str) else "returned"
        if isinstance(returned, dict) and returned.get("detail"):
            detail = str(returned["detail"])
        output = _bounded(json.dumps(returned, default=str)) if isinstance(returned, dict) else ""
        return DriverResult(task.id, True, detail[:500], duration, output)


# --- manual -----------------------------------------------------------------------------------------------
#: how the manual driver names each trait for the person at the product
TRAIT_LABELS = {"birth_name": "birth name", "first_names": "first names", "sex": "sex",
                "birth_date": "birth date", "birth_place": "birth place (INSEE)"}


def instructions(task: Task) -> str:
    """What a person must do in the product for a task, in plain words."""
    traits = task.patient
    lines = [f"[{task.id}] {task.kind} report #{task.report_no}"]
    if task.action == "pam-send-dmp":
        named = f"{task.extra.get('pam_patient_id')} ({task.extra.get('pam_authority')})"
        lines.append(f"  Patient: the one your identity feed (IHE PAM) named {named}; type no traits, use "
                     "the identity it was fed.")
    else:
        lines.append("  Patient (type these traits, then get the INS from INSi — search by traits — and keep "
                     "it only if INSi answers 00):")
    for trait in TRAITS:
        if traits.get(trait):
            lines.append(f"    {TRAIT_LABELS[trait]:<20} {traits[trait]}")
    if task.vitale:
        lines.append("  Vitale card: read the patient's (test) card and search INSi WITH THE CARD "
                     "(rechercherInsAvecCarteVitale), not by traits:")
        for name, label in (("nir", "NIR (beneficiary)"), ("key", "key"), ("birth_date", "birth date"),
                            ("birth_name", "birth name")):
            if task.vitale.get(name):
                lines.append(f"    {label:<20} {task.vitale[name]}")
    author = task.author
    if author:
        name = " ".join(str(author[k]) for k in ("given_name", "family_name") if author.get(k)) or "?"
        lines.append(f"  Author: {name} (IDNPS {author.get('idnps', '?')}), "
                     f"{author.get('organisation_name') or 'structure'} (FINESS {author.get('finess', '?')})")
    if task.action in ("send-dmp", "pam-send-dmp"):
        lines.append("  Do: build the report with the INS and send it to the patient's DMP.")
    elif task.action == "replace-dmp":
        lines.append(f"  Do: send a new version of the report of task {task.replaces_task} to the DMP, "
                     "replacing it.")
    elif task.action == "send-mss":
        lines.append(f"  Do: send the report by MSSanté (IHE_XDM.ZIP attached) to {task.recipient}.")
    elif task.action != "send-citizen":  # a capability's action: what `ACTIONS` says it asks, and its details
        lines.append(f"  Do: {ACTIONS[task.action]}; details: {json.dumps(task.extra, ensure_ascii=False)}.")
    else:
        lines.append("  Do: send the report by MSSanté to the patient's Mon espace santé mailbox "
                     "(<INS>@patient.mssante.fr, the INS INSi returned).")
    if task.sender:
        lines.append(f"  From the mailbox: {task.sender}")
    return "\n".join(lines)


class ManualDriver:
    """Prints what to do for each task, then waits until the expected exchange reaches the mocks.

    `observed(task) -> bool` is asked every `poll_interval` seconds (the proof passes
    `segur.scenarios.observe`'s check of the mocks' journals); success when it says True, failure
    when `timeout` seconds pass first.
    """

    def __init__(self, observed: Callable[[Task], bool], *, timeout: float = 600.0,
                 poll_interval: float = 2.0, out: TextIO | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        if timeout <= 0 or poll_interval <= 0:
            raise ValueError("timeout and poll_interval must be positive")
        self.observed = observed
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.out = out
        self.sleep = sleep
        self.clock = clock
        self._shown_endpoints = False

    def _print(self, text: str) -> None:
        print(text, file=self.out or sys.stdout, flush=True)

    def run(self, task: Task, endpoints: Mapping) -> DriverResult:
        if not self._shown_endpoints:
            shown = json.dumps(endpoints, indent=2, default=str)
            self._print(f"Configure the product with these endpoints:\n{shown}")
            self._shown_endpoints = True
        self._print(instructions(task))
        self._print(f"  Waiting up to {self.timeout:g} s for the exchange to reach the mocks…")
        started = self.clock()
        polls = 0
        while True:
            polls += 1
            try:
                seen = self.observed(task)
            except Exception as exc:  # noqa: BLE001 - the observer failing is not the product's success
                return DriverResult(task.id, False, f"could not read the mocks: {type(exc).__name__}: {exc}",
                                    self.clock() - started, _bounded(traceback.format_exc()))
            if seen:
                self._print(f"  [{task.id}] seen.")
                return DriverResult(task.id, True, f"seen by the mocks after {polls} check(s)",
                                    self.clock() - started, "")
            if self.clock() - started >= self.timeout:
                self._print(f"  [{task.id}] not seen within {self.timeout:g} s.")
                why = f"timed out after {self.timeout:g} s: nothing reached the mocks"
                return DriverResult(task.id, False, why, self.clock() - started, "")
            self.sleep(self.poll_interval)


# --- the reference system ---------------------------------------------------------------------------------
def reference_ris_dir() -> Path:
    """Where `examples/reference-ris/` is (a checkout of the project; `SEGUR_REFERENCE_RIS` overrides)."""
    override = os.environ.get("SEGUR_REFERENCE_RIS")
    shipped = Path(__file__).resolve().parent.parent / "examples" / "reference-ris"
    candidate = Path(override) if override else shipped
    if not (candidate / "reference_ris" / "__init__.py").is_file():
        raise ValueError(f"the reference RIS is not at {candidate} (it ships with the project's sources; "
                         "set SEGUR_REFERENCE_RIS to its folder)")
    return candidate


def reference_ris_driver(defect: str | None = None, *, state_dir: str | os.PathLike | None = None,
                         config: Mapping | None = None) -> PluginDriver:
    """The reference RIS run in-process as a plugin, with at most one seeded defect."""
    folder = str(reference_ris_dir())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    plugin = importlib.import_module("reference_ris.plugin")
    scratch = None
    if state_dir is None:  # a fresh memory per driver: a run never sees what an earlier run sent
        scratch = tempfile.TemporaryDirectory(prefix="segur-reference-ris-")
        state_dir = scratch.name
    runner = plugin.make_runner(defect=defect, state_dir=state_dir, config=config, listen=True)
    driver = PluginDriver(runner, name=f"reference-ris{':' + defect if defect else ''}")
    driver.product_endpoints = runner.product_endpoints  # its PAM listener (docs/sut.md)
    driver.product_claims = runner.product_claims  # the optional requirements it claims (docs/sut.md)
    driver.state_dir = Path(state_dir)
    driver._scratch = scratch  # removed with the driver
    return driver


#: The reference products of the other couloirs: the reference RIS's code (examples/reference-ris/) configured
#: as the product of the couloir, which writes the documents of its kinds (`reference_ris.volets`). Each
#: takes the RIS's defects and its own (`reference_ris.defects.DEFECTS`).
REFERENCE_PRODUCTS = {
    "reference-lgc": {"product": "reference LGC (médecine de ville)", "defects": ("vsm-no-treatments",)},
    "reference-dpi": {"product": "reference DPI (hôpital)",
                      "defects": ("ldl-wrong-class", "hl7-txa-wrong-id", "hl7-pid-without-ins",
                                  "hl7-zam-refused", "lps-ack-aa-without-ins", "lps-replace-keeps-old")},
    "reference-pfi": {"product": "reference PFI (intermediation platform)",
                      "defects": ("relay-drops-ins", "hl7-relay-no-ack", "hl7-relay-dmp-only",
                                  "hl7-relay-no-returns", "lps-cda-reencoded", "lps-mdn-processed-after-ae")},
    "reference-ri": {"product": "reference RI (IHE PAM identity feeds)",
                     "defects": ("ri-ins-unqualified", "ri-update-new-ipp")},
}


def reference_product_driver(name: str, defect: str | None = None, **options) -> PluginDriver:
    """The reference product `name` (REFERENCE_PRODUCTS) in-process, with at most one seeded defect: the
    RIS's or its own, never another couloir's own defect."""
    others = {d for product, known in REFERENCE_PRODUCTS.items() if product != name for d in known["defects"]}
    if defect in others:
        raise ValueError(f"{name}: defect {defect!r} is another reference product's; its own: "
                         f"{', '.join(REFERENCE_PRODUCTS[name]['defects'])}")
    driver = reference_ris_driver(defect, **options)
    driver.name = f"{name}{':' + defect if defect else ''}"
    return driver


def make_driver(spec: str, *, observed: Callable[[Task], bool] | None = None,
                timeout: float | None = None, **options: Any) -> Driver:
    """A driver from a `--sut` value: `cmd:<template>`, `http(s)://…`, `plugin:module:function`,
    `manual` (needs `observed`), `reference-ris[:<defect>]`, `reference-lgc|dpi|pfi[:<defect>]`."""
    spec = spec.strip()
    limit = {"timeout": timeout} if timeout is not None else {}
    if spec.startswith("cmd:"):
        return CommandDriver(spec[4:], **limit, **options)
    if spec.startswith(("http://", "https://")):
        return WebhookDriver(spec, **limit, **options)
    if spec.startswith("plugin:"):
        return PluginDriver(spec[len("plugin:"):], **options)
    if spec == "manual":
        if observed is None:
            raise ValueError("--sut manual needs a way to watch the mocks (observed=…)")
        return ManualDriver(observed, **limit, **options)
    name, _, defect = spec.partition(":")
    if name == "reference-ris":
        return reference_ris_driver(defect or None, **options)
    if name in REFERENCE_PRODUCTS:
        return reference_product_driver(name, defect or None, **options)
    raise ValueError(f"--sut {spec!r}: expected cmd:<template>, http(s)://…, plugin:module:function, manual, "
                     f"or {'|'.join(('reference-ris', *REFERENCE_PRODUCTS))}[:defect]")
