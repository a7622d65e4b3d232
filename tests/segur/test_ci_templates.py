"""The CI templates of examples/ci/ are valid for their CI servers and run the proof the README describes.

Each is validated against its CI's official JSON schema as vendored by the `check-jsonschema` package (a
test extra): no network at test time. Then what the job does is checked: install the harness from git,
get the official ANS pack, run `segur proof` with options that exist, keep junit.xml and the evidence pack.
"""

from __future__ import annotations

import json
import shlex
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from segur.cli import app

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"
TEMPLATES = {"github-actions.yml": "github-workflows.json", "gitlab-ci.yml": "gitlab-ci.json"}


def vendored_schema(name: str) -> dict:
    """One of the official schemas check-jsonschema ships (SchemaStore's copies of GitHub's and GitLab's)."""
    return json.loads((files("check_jsonschema.builtin_schemas.vendor") / name).read_text(encoding="utf-8"))


def load(name: str) -> dict:
    return YAML(typ="safe").load((CI / name).read_text(encoding="utf-8"))


def schema_errors(document: dict, schema: dict) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = validator.iter_errors(document)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors]


@pytest.mark.parametrize(("template", "schema"), TEMPLATES.items())
def test_the_template_is_valid_against_its_ci_schema(template, schema):
    assert schema_errors(load(template), vendored_schema(schema)) == []


@pytest.mark.parametrize(("template", "schema"), TEMPLATES.items())
def test_the_schema_check_catches_a_broken_template(template, schema):
    broken = load(template)
    if template == "github-actions.yml":
        del broken["jobs"]["segur-proof"]["runs-on"]
    else:
        broken["segur-proof"]["artifacts"]["when"] = "sometimes"
    assert schema_errors(broken, vendored_schema(schema)) != []


def _commands(template: str) -> tuple[dict, list[str]]:
    """The variables and the shell lines the job runs."""
    document = load(template)
    if template == "github-actions.yml":
        job = document["jobs"]["segur-proof"]
        lines = [line for step in job["steps"] if "run" in step for line in step["run"].splitlines()]
        return document["env"], lines
    job = document["segur-proof"]
    return job["variables"], list(job["script"])


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_job_installs_from_git_gets_the_ans_pack_and_runs_the_proof(template):
    variables, lines = _commands(template)
    assert variables["SEGUR_HARNESS"].startswith("git+")
    assert variables["ANS_PACK_REPOSITORY"] == "https://github.com/ansforge/TestContenuCDA-3-0.git"
    assert variables["SEGUR_SUT"].startswith("cmd:")
    assert any("pip install" in line and "$SEGUR_HARNESS" in line for line in lines)
    assert any("git -C ans-cda fetch" in line and "$ANS_PACK_COMMIT" in line for line in lines)
    proof = [shlex.split(line) for line in lines if "segur proof" in line]
    [command] = proof
    assert "--require-pack" in command and command[command.index("--out") + 1] == "evidence"


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_option_the_job_gives_segur_proof_exists(template):
    _, lines = _commands(template)
    words = next(shlex.split(line) for line in lines if "segur proof" in line)
    help_text = CliRunner().invoke(app, ["proof", "--help"], terminal_width=200).output
    assert [w for w in words if w.startswith("-") and w not in help_text] == []


def test_the_github_job_keeps_junit_and_the_evidence_pack_even_when_the_proof_fails():
    steps = load("github-actions.yml")["jobs"]["segur-proof"]["steps"]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert {s["with"]["path"] for s in uploads} == {"evidence/", "evidence/junit.xml"}
    assert all(s.get("if") == "always()" for s in uploads)


def test_the_gitlab_job_reports_junit_and_keeps_the_evidence_pack_even_when_the_proof_fails():
    artifacts = load("gitlab-ci.yml")["segur-proof"]["artifacts"]
    assert artifacts["when"] == "always"
    assert artifacts["reports"]["junit"] == "evidence/junit.xml" and "evidence/" in artifacts["paths"]
