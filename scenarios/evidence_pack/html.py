"""`index.html` of the evidence pack: one self-contained page a reviewer can read offline.

Per requirement: its verdict (pass, fail, blocked: not evaluated because an upstream check failed, which is
named with the task, or not run) and the tests that prove it; per check: the problems found, what blocked it,
and the evidence it looked at; per task: what the product claimed and every exchange the mocks recorded (with timestamps),
the documents (CDA header facts) and their validation reports. Every value from the run is escaped: a
patient name, a subject line or an SMTP reply is data, never markup.
"""

from __future__ import annotations

import json
from html import escape

from segur.scenarios.evidence_pack import (
    UNDER_REVIEW_NOTE,
    official_checks_ran,
    requirements_note,
    verdict_label,
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222;max-width:1400px}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em} th,td{border:1px solid #ddd;padding:4px 6px;
text-align:left;vertical-align:top;font-size:.9em} th{background:#f4f4f4}
.pass{color:#176b2c;font-weight:bold} .fail{color:#b00020;font-weight:bold} .skip{color:#8a6d00;font-weight:bold}
.blocked{color:#9a4d00;font-weight:bold} ul.blocked li{color:#9a4d00}
.banner{padding:.8em 1em;border-radius:6px;font-size:1.2em;margin:1em 0}
.banner.pass{background:#e5f5e9} .banner.fail{background:#fde7ea} .banner.partial{background:#fff4d6;font-size:1em}
pre{background:#f8f8f8;padding:.6em;overflow:auto;max-height:30em;font-size:.8em}
code{font-size:.9em} details{margin:.3em 0} .muted{color:#666} ul.problems li{color:#b00020}
"""


def e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def _verdict(value) -> str:
    value = str(value)
    cls = {"pass": "pass", "passed": "pass", "True": "pass", "fail": "fail", "failed": "fail", "error": "fail",
           "False": "fail", "blocked": "blocked"}.get(value, "skip")
    return f'<span class="{cls}">{e(value)}</span>'


def _json(data) -> str:
    return f"<pre>{e(json.dumps(data, indent=2, ensure_ascii=False, default=str))}</pre>"


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)


def render(evidence: dict) -> str:
    meta, run = evidence["meta"], evidence["run"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Ségur proof — {e(meta['couloir'])} — "
             f"{e(verdict_label(evidence))}</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>Ségur proof — couloir {e(meta['couloir'])}</h1>")
    label = verdict_label(evidence)
    shade = evidence["verdict"] if label == evidence["verdict"].upper() else "partial"
    parts.append(f"<div class='banner {e(shade)}'>Verdict: <b>{e(label)}</b> — "
                 f"system under test <code>{e(meta['sut'])}</code>, plan <code>{e(meta['size'])}</code> "
                 f"({e(_counts(run['plan']))})</div>")
    if evidence["verdict"] == "pass" and not official_checks_ran(evidence):
        parts.append("<div class='banner partial'>Not a conformance PASS: the mocks validated the documents "
                     "without the official ANS pack (no CDA XSD, no CI-SIS Schematron). Run again with "
                     "<code>--pack DIR</code> (or <code>SEGUR_PACK</code>), DIR a copy of "
                     "<code>ansforge/TestContenuCDA-3-0</code>; <code>--require-pack</code> refuses a run without it."
                     "</div>")
    if meta.get("selection"):
        not_run = sum(1 for req in evidence["requirements"].values() if req["verdict"] == "not run")
        parts.append(f"<div class='banner partial'>Partial run, not the full proof: only the checks selected by "
                     f"<code>{e(' '.join(meta['selection']))}</code> were judged; {not_run} requirement(s) not run."
                     "</div>")
    if meta.get("size") == "small":
        parts.append("<div class='banner partial'>Small plan (2 DMP, 2 MSSanté, 1 citizen): a quick run, not the "
                     "10/10/1 proof the referencing asks for (<code>--size full</code>).</div>")
    blocked = [rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "blocked"]
    if blocked:
        parts.append(f"<div class='banner partial'>{len(blocked)} requirement(s) <b>blocked</b>: not evaluated, "
                     "because an upstream check failed on the task they needed (named in each row). A blocked "
                     "requirement is not proven: the proof does not pass.</div>")
    parts.append("<p class='muted'>Generated " + e(meta["generated"]) + " · timings " + e(meta.get("timings")) +
                 " · validation: " + e((meta.get("validation") or {}).get("note")) + "</p>")
    parts.append("<p class='muted'>Every verdict below is computed from what the mocks recorded (their journals "
                 "and stores), never from what the product said; <code>evidence.json</code> holds the same data and "
                 "the verdicts can be recomputed from it.</p>")
    parts += _requirements(evidence)
    parts += _checks(evidence)
    parts += _tasks(run)
    parts.append("<h2>Plan</h2>" + _json(run["plan"]))
    parts.append("</body></html>")
    return "\n".join(parts)


def _counts(plan: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in (plan.get("counts") or {}).items())


def _requirements(evidence: dict) -> list[str]:
    rows = ["<h2>Requirements</h2>", f"<p class='muted'>{e(requirements_note(evidence))}.</p>",
            "<table><tr><th>REM id</th><th>status</th><th>what it asks (project's words)"
            "</th><th>verdict</th><th>checks</th><th>tests</th></tr>"]
    for rem_id, req in evidence["requirements"].items():
        cat = req.get("catalogue") or {}
        checks = " ".join(f"<a href='#check-{_anchor(c)}'>{e(c)}</a>" for c in req["checks"])
        tests = "<br>".join(f"{_verdict(t['outcome'])} <code>{e(t['nodeid'].split('::')[-1])}</code>"
                            for t in req["tests"])
        verdict = _verdict(req["verdict"]) + "".join(
            f"<br><small>blocked by <a href='#check-{_anchor(b['check'])}'>{e(b['check'])}</a> ({e(b['task'])})"
            f"</small>" if b.get("check") else f"<br><small>blocked ({e(b['task'])}): {e(b.get('reason'))}</small>"
            for b in _unique_blockers(req.get("blocked_by") or []))
        rows.append(f"<tr id='rem-{_anchor(rem_id)}'><td><code>{e(rem_id)}</code></td><td>{e(cat.get('status'))}</td>"
                    f"<td>{e(cat.get('summary'))}</td><td>{verdict}</td><td>{checks}</td>"
                    f"<td>{tests}</td></tr>")
    rows.append("</table>")
    if any((req.get("catalogue") or {}).get("status") == "UNDER_REVIEW" for req in evidence["requirements"].values()):
        rows.append(f"<p class='muted' id='under-review'>{e(UNDER_REVIEW_NOTE)}</p>")
    return rows


def _unique_blockers(blockers: list[dict]) -> list[dict]:
    seen, unique = set(), []
    for b in blockers:
        key = (b.get("check"), b.get("task"))
        if key not in seen:
            seen.add(key)
            unique.append(b)
    return unique


def _check_status(check: dict) -> str:
    return check.get("status") or ("pass" if check["passed"] else "fail")


def _checks(evidence: dict) -> list[str]:
    out = ["<h2>Checks</h2>"]
    tests_by_check: dict[str, list] = {}
    for test in evidence["tests"]:
        if test.get("check"):
            tests_by_check.setdefault(test["check"], []).append(test)
    for check_id, check in evidence["checks"].items():
        tests = tests_by_check.get(check_id, [])
        outcome = tests[0]["outcome"] if tests else "not run"
        out.append(f"<h3 id='check-{_anchor(check_id)}'>{e(check['title'])} <code>{e(check_id)}</code> — "
                   f"{_verdict(_check_status(check))} (test: {_verdict(outcome)})</h3>")
        out.append("<p>REM: " + ", ".join(f"<a href='#rem-{_anchor(r)}'><code>{e(r)}</code></a>" for r in check["rem"])
                   + f" · {e(check['summary'])}</p>")
        if check["problems"]:
            out.append("<ul class='problems'>" + "".join(f"<li>{e(p)}</li>" for p in check["problems"][:200]) + "</ul>")
        if check.get("blocked_by"):
            out.append("<p>Not evaluated on these tasks (an upstream step failed there):</p><ul class='blocked'>" +
                       "".join(f"<li>{e(b['task'])}: blocked by "
                               + (f"<a href='#check-{_anchor(b['check'])}'><code>{e(b['check'])}</code></a>"
                                  if b.get("check") else "no check of the harness")
                               + f" — {e(b.get('reason'))}</li>" for b in check["blocked_by"][:200]) + "</ul>")
        out.append(f"<details><summary>Evidence looked at ({len(check['evidence'])} items)</summary>"
                   f"{_json(check['evidence'])}</details>")
    return out


def _tasks(run: dict) -> list[str]:
    out = ["<h2>Tasks and exchanges</h2>",
           "<p class='muted'>For each task: what the product claimed, then every exchange the mocks recorded while "
           "it ran (journal time, sequence number, operation, verdict, rule ids).</p>"]
    for task in run["tasks"]:
        info, result, observed = task["task"], task["result"], task["observed"]
        out.append(f"<h3 id='task-{_anchor(info['id'])}'>{e(info['id'])} — {e(info['action'])} "
                   f"({e(task['scenario'])}, expected: {e(task['expect'])})</h3>")
        traits = info["patient"]
        out.append(f"<p>Patient traits: {e(traits.get('birth_name'))} {e(traits.get('first_names'))}, "
                   f"{e(traits.get('sex'))}, born {e(traits.get('birth_date'))} in {e(traits.get('birth_place'))} · "
                   f"world INS {e(task['world']['ins'])} ({e(task['world']['oid'])}) · recipient "
                   f"{e(info.get('recipient') or '—')} · ran {e(task['started'])} → {e(task['ended'])}"
                   + (f" · fault injected: <code>{e(json.dumps(task['fault']))}</code>" if task.get("fault") else "")
                   + "</p>")
        out.append(f"<p>Product's claim: {_verdict('ok' if result.get('ok') else 'failure')} — {e(result.get('detail'))}"
                   "</p>")
        rows = ["<table><tr><th>time</th><th>service</th><th>#</th><th>operation</th><th>verdict</th><th>rules</th>"
                "<th>facts</th></tr>"]
        for item in observed["insi"]:
            rows.append(_row(item["time"], "INSi", item["seq"], item["operation"], item["verdict"], item["rules"],
                             f"code {item['code']} · INS {item.get('ins') or '—'} ({item.get('oid') or '—'}) · "
                             f"traits {item['traits'].get('birth_name')} {' '.join(item['traits'].get('first_names') or [])}"))
        for item in observed["dmp"]:
            facts = f"patientId {item.get('patient_id') or '—'} · HTTP {item.get('http_status')}"
            for doc in item.get("documents") or []:
                facts += (f" · CDA {doc.get('unique_id')} INS {doc.get('ins')} ({doc.get('ins_oid')}) code "
                          f"{doc.get('code')}" + (f" RPLC {doc.get('replaces')}" if doc.get("replaces") else ""))
            if item.get("dmp_state"):
                facts += f" · DMP {item['dmp_state']} / {item.get('autorisation')}"
            rows.append(_row(item["time"], "DMP", item["seq"], item["operation"], item["verdict"], item["rules"], facts))
        for item in observed["mss"]:
            facts = (f"{item.get('from')} → {', '.join(item.get('to') or [])} · subject {item.get('subject')} · "
                     f"attachments {', '.join(a.get('filename', '') for a in item.get('attachments') or [])} · "
                     f"{item.get('reply')}")
            rows.append(_row(item["time"], "MSSanté", item["seq"], "smtp-message", item["verdict"], item["rules"], facts))
        rows.append("</table>")
        out += rows
        reports = _reports(observed)
        if reports:
            out.append(f"<details><summary>Documents and validation reports ({len(reports)})</summary>"
                       f"{_json(reports)}</details>")
    return out


def _row(time, service, seq, operation, verdict, rules, facts) -> str:
    return (f"<tr><td>{e(time)}</td><td>{e(service)}</td><td>{e(seq)}</td><td>{e(operation)}</td>"
            f"<td>{e(verdict)}</td><td>{e(', '.join(rules or []))}</td><td>{e(facts)}</td></tr>")


def _reports(observed: dict) -> list[dict]:
    reports = []
    for item in observed["dmp"]:
        for doc in item.get("documents") or []:
            stored = next((s for s in item.get("stored") or [] if s.get("unique_id") == doc.get("unique_id")), None)
            reports.append({"service": "dmp", "seq": item["seq"], "cda": doc, "stored_metadata": stored})
    for item in observed["mss"]:
        for doc in item.get("documents") or []:
            uid = (doc.get("metadata") or {}).get("unique_id")
            reports.append({"service": "mssante", "seq": item["seq"], "xdm_metadata": doc.get("metadata"),
                            "cda": doc.get("cda"), "validation": (item.get("validation") or {}).get(uid)})
    return reports
