"""`index.html` of the evidence pack: one self-contained page a reviewer reads (and prints) like a report.

A banner (verdict, counts, couloir, product, official pack), a legend of every status word, then per
requirement its verdict and the tests that prove it; per check the problems found, what blocked it and the
evidence it looked at (as tables); per task what the product said (a claim, not a verdict), every exchange
the mocks recorded, and the documents it sent: each CDA rendered human-readable (`cda_view`), its file, an
N1 document's embedded file, the XDM zip of a message, and the validation report as a table of findings.
Every value from the run is escaped: a patient name, a subject line or an SMTP reply is data, never markup.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from pathlib import Path

from segur.scenarios.evidence_pack.cda_view import render_cda
from segur.scenarios.evidence_pack.verdict import (
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
.pass{color:#176b2c;font-weight:bold} .fail{color:#b00020;font-weight:bold}
.skip{color:#8a6d00;font-weight:bold}
.blocked{color:#9a4d00;font-weight:bold} ul.blocked li{color:#9a4d00} .claim{color:#333;font-style:italic}
.banner{padding:.8em 1em;border-radius:6px;font-size:1.2em;margin:1em 0;border:1px solid #ccc}
.banner.pass{background:#e5f5e9} .banner.fail{background:#fde7ea}
.banner.partial{background:#fff4d6;border:2px dashed #8a6d00}
.note{background:#fff4d6;padding:.5em 1em;margin:.5em 0}
.counts{display:flex;flex-wrap:wrap;gap:.4em 2em;font-size:.8em;margin-top:.5em}
.counts span{white-space:nowrap} .counts span.long{white-space:normal}
.nowrap,.time{white-space:nowrap} code{font-size:.9em} details{margin:.3em 0} .muted{color:#666}
ul.problems li{color:#b00020} dl.legend dt{font-weight:bold;margin-top:.4em} dl.legend dd{margin-left:1.5em}
table.kv th{width:14em} .doc{border:1px solid #ccc;border-radius:6px;padding:.3em .8em;margin:.8em 0}
.cda-section{border-left:3px solid #ddd;padding-left:.8em;margin:.5em 0} .cda-text table{width:auto}
td table{margin:0;font-size:.95em} td{overflow-wrap:break-word} .wide{overflow-x:auto}
@page{size:A4;margin:12mm}
@media print{
 body{margin:0;max-width:none;font-size:9pt;color:#000} h2{break-after:avoid} h3,h4{break-after:avoid}
 tr,.doc>summary,.banner,dl.legend dd{break-inside:avoid} thead{display:table-header-group}
 details>summary{list-style:none} .noprint{display:none} a{color:#000;text-decoration:none}
 th,td{font-size:8pt;overflow-wrap:anywhere} td.nowrap{white-space:normal}
 .wide{overflow:visible} .wide th,.wide td{font-size:6.5pt;padding:1px 2px} .wide .time{white-space:normal}
}
"""

#: opens every <details> before printing (CSS alone cannot), and restores them after
PRINT_SCRIPT = """
window.addEventListener('beforeprint',function(){document.querySelectorAll('details:not([open])')
.forEach(function(d){d.setAttribute('open','');d.dataset.printOpened='1';});});
window.addEventListener('afterprint',function(){document.querySelectorAll('details[data-print-opened]')
.forEach(function(d){d.removeAttribute('open');delete d.dataset.printOpened;});});
"""

#: every status word the page shows, explained once. Sources: docs/proof.md (verdicts); the REM data's
#: README (/work/shared/rem: Squash TM statuses of ANS's 2022-11 and 2023-01 exports,
#: github.com/ansforge/segur-squash-plugins); docs/dmp.md, "TD0.2 / TD0.3" (the DMP's answers, after the
#: public DevBox-Santé documentation) and REM SC.DMP/UX.08 (TD0.2 checks the user's right to the DMP);
#: docs/validator.md (PARTIAL).
REM_STATUS_SOURCE = (" (The status is the one ANS's Squash TM exports of 2022-11 and 2023-01 give, in the "
                     "working data github.com/ansforge/segur-squash-plugins; the published REM may differ.)")
LEGEND = [
    ("PASS", "pass", "Judged and passed: computed from what the mocks recorded, never from what the product "
                     "said."),
    ("FAIL", "fail", "Judged and failed: the row names the problem found."),
    ("BLOCKED", "blocked", "Not evaluated: an upstream step failed on the task the check needed (named in "
                           "the row). A blocked requirement is not proven, so the proof does not pass."),
    ("not run", "skip", "Not judged in this run (its check was not selected with -k/-m)."),
    ("not claimed", "skip", "An optional (PEUT) requirement the product does not claim (segur proof "
                            "--claims, or its driver's word): not judged, neither failed nor passed."),
    ("APPROVED", None, "ANS had approved this requirement of the REM (Référentiel d'Exigences Minimales)."
                       + REM_STATUS_SOURCE),
    ("UNDER_REVIEW", None, UNDER_REVIEW_NOTE + REM_STATUS_SOURCE),
    ("VALID / PARTIAL / INVALID", None,
     "A document's validation, in the validator's words (docs/validator.md): VALID, no error in any layer; "
     "PARTIAL, no error, but the official layers (CDA XSD, CI-SIS Schematron) did not run, so not a "
     "conformance verdict (a proof PASS then reads 'PASS (official CDA checks not run)'); INVALID, at least "
     "one error."),
    ("OUVERT / FERME / INEXISTANT", None, "The patient's DMP, as the DMP answers TD0.2 (the check of the "
                                          "user's right to the patient's DMP): open, closed, or none."),
    ("VALIDE / EXPIRE / INTERDIT / NON_EXISTE", None,
     "The author's authorisation on that DMP, in the same TD0.2 answer: valid; past its end date; forbidden "
     "(the patient opposed); none (no authorisation recorded for this author, or no open DMP; TD0.3 AJOUT "
     "adds one)."),
    ("accepted / refused", None, "A mock's answer to an exchange (the rule ids say why it refused)."),
    ("The product said", "claim", "What the product under test reported for a task: a claim, not a verdict."),
]


def e(value) -> str:
    return escape("" if value is None else str(value), quote=True)


#: the CSS class of each verdict word (anything else is shown as skipped)
VERDICT_CLASSES = {"pass": "pass", "passed": "pass", "True": "pass", "fail": "fail", "failed": "fail",
                   "error": "fail", "False": "fail", "blocked": "blocked"}


def _verdict(value) -> str:
    value = str(value)
    cls = VERDICT_CLASSES.get(value, "skip")
    return f'<span class="{cls}">{e(value)}</span>'


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)


def seconds(value) -> str:
    """A duration in seconds as `850 ms` or `2.58 s` or `1 min 05 s`."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.2f} s"
    return f"{int(value // 60)} min {value % 60:04.1f} s"


def timestamp(value, *, date: bool = True) -> str:
    """An ISO timestamp as `2026-12-06 11:17:25.633 UTC` (or only the time), in a span that never wraps."""
    if not value:
        return "—"
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return f"<span class='time'>{e(value)}</span>"
    millis = f".{moment.microsecond // 1000:03d}" if moment.microsecond else ""
    zone = "UTC" if moment.utcoffset() is not None and not moment.utcoffset() else moment.strftime("%z")
    text = moment.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S") + millis
    text += f" {zone}" if zone else ""
    return f"<span class='time' title='{e(value)}'>{e(text)}</span>"


TIMING_LABELS = {"stack_start_s": "mocks started", "plan_s": "plan run", "checks_s": "checks judged",
                 "total_s": "total"}


def timings(values: dict | None) -> str:
    return " · ".join(f"{e(TIMING_LABELS.get(k, k.removesuffix('_s').replace('_', ' ')))} "
                      f"<span class='nowrap'>{e(seconds(v))}</span>" for k, v in (values or {}).items())


ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")


def data(value, depth: int = 0) -> str:
    """Any recorded value as HTML a reviewer reads: a list of records as a table, a record as key/value rows,
    a list of plain values joined; never a dict's or JSON's repr."""
    if isinstance(value, dict):
        if not value:
            return "—"
        return ("<table class='kv'>" + "".join(f"<tr><th>{e(k)}</th><td>{data(v, depth + 1)}</td></tr>"
                                               for k, v in value.items()) + "</table>")
    if isinstance(value, list | tuple):
        if not value:
            return "—"
        if all(isinstance(v, dict) for v in value):
            keys = list(dict.fromkeys(k for v in value for k in v))
            head = "".join(f"<th>{e(k)}</th>" for k in keys)
            rows = "".join("<tr>" + "".join(f"<td>{data(v.get(k), depth + 1)}</td>" for k in keys) + "</tr>"
                           for v in value[:500])
            more = (f"<p class='muted'>… {len(value) - 500} more in evidence.json</p>"
                    if len(value) > 500 else "")
            return f"<table><thead><tr>{head}</tr></thead>{rows}</table>{more}"
        return ", ".join(data(v, depth + 1) for v in value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return timestamp(value)
    return e(value)


def render(evidence: dict, pack_dir: str | Path | None = None) -> str:
    """The page; `pack_dir` is the pack's folder, where the documents' files are (read to render them)."""
    meta = evidence["meta"]
    label = verdict_label(evidence)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Ségur proof — "
             f"{e(meta['couloir'])} — {e(label)}</title><style>{CSS}</style><script>{PRINT_SCRIPT}</script>"
             "</head><body>", f"<h1>Ségur proof — couloir {e(meta['couloir'])}</h1>"]
    parts += _banner(evidence)
    parts.append("<p class='muted'>Generated " + timestamp(meta.get("generated")) + " · "
                 + timings(meta.get("timings")) + " · document validation: "
                 + e((meta.get("validation") or {}).get("note") or "—") + "</p>")
    parts.append("<p class='muted'>Every verdict below is computed from what the mocks recorded (their "
                 "journals and stores), never from what the product said; <code>evidence.json</code> holds "
                 "the same data and the verdicts can be recomputed from it. The <a href='#legend'>legend</a> "
                 "explains each status word.</p>")
    parts += _legend(evidence)
    parts += _requirements(evidence)
    parts += _checks(evidence)
    parts += _tasks(evidence, Path(pack_dir) if pack_dir else None)
    parts += _plan(evidence["run"]["plan"])
    parts.append("</body></html>")
    return "\n".join(parts)


def counts(evidence: dict) -> dict[str, dict[str, int]]:
    """Requirements and checks per verdict, tasks per product claim: the banner's figures."""
    def tally(values) -> dict[str, int]:
        out: dict[str, int] = {}
        for value in values:
            out[value] = out.get(value, 0) + 1
        return out

    tasks = evidence["run"]["tasks"]
    return {"requirements": tally(r["verdict"] for r in evidence["requirements"].values()),
            "checks": tally(_check_status(c) for c in evidence["checks"].values()),
            "tasks": {"total": len(tasks), "product said ok": sum(1 for t in tasks if t["result"].get("ok")),
                      "product said failure": sum(1 for t in tasks if not t["result"].get("ok"))}}


def _tally(label: str, values: dict[str, int], order) -> str:
    total = sum(values.values())
    shown = ", ".join(f"{_verdict(k)} {n}" for k in order if (n := values.get(k)))
    return f"<span><b>{e(label)}</b> {total}: {shown or '—'}</span>"


def _banner(evidence: dict) -> list[str]:
    meta = evidence["meta"]
    label = verdict_label(evidence)
    shade = evidence["verdict"] if label == evidence["verdict"].upper() else "partial"
    figures = counts(evidence)
    pack = (meta.get("validation") or {}).get("pack")
    tasks = figures["tasks"]
    plan_counts = _plan_counts(evidence["run"]["plan"])  # a long line with every capability: it wraps
    claimed = ", ".join(evidence["run"].get("claims") or []) or "none"  # the optional requirements judged
    out = [f"<div class='banner {e(shade)}' id='verdict'>Verdict: <b>{e(label)}</b>"
           "<div class='counts'>"
           + _tally("requirements", figures["requirements"], ("pass", "fail", "blocked", "not run",
                                                              "not claimed"))
           + _tally("checks", figures["checks"], ("pass", "fail", "blocked", "not claimed"))
           + f"<span><b>tasks</b> {tasks['total']} (the product said ok on {tasks['product said ok']})"
           "</span></div>"
           f"<div class='counts'><span><b>couloir</b> {e(meta['couloir'])} "
           f"{e(meta.get('couloir_label') or '')}</span>"
           f"<span><b>product</b> <code>{e(meta['sut'])}</code></span>"
           f"<span class='long'><b>plan</b> {e(meta['size'])} ({e(plan_counts)})</span>"
           f"<span><b>official CDA pack</b> {('<code>' + e(pack) + '</code>') if pack else 'none'}</span>"
           f"<span><b>optional claims</b> {e(claimed)}</span>"
           "</div>"
           + (f"<div class='counts'><span class='long'><b>VA/MOM</b> {e(meta['va'])}</span></div>"
              if meta.get("va") else "")
           + "</div>"]
    if evidence["verdict"] == "pass" and not official_checks_ran(evidence):
        out.append("<div class='banner partial'>Not a conformance PASS: the mocks validated the documents "
                   "without the official ANS pack (no CDA XSD, no CI-SIS Schematron). Run again with "
                   "<code>--pack DIR</code> (or <code>SEGUR_PACK</code>), DIR a copy of "
                   "<code>ansforge/TestContenuCDA-3-0</code>; <code>--require-pack</code> refuses a run "
                   "without it.</div>")
    if meta.get("selection"):
        not_run = sum(1 for req in evidence["requirements"].values() if req["verdict"] == "not run")
        out.append(f"<div class='note'>Partial run, not the full proof: only the checks selected by "
                   f"<code>{e(' '.join(meta['selection']))}</code> were judged; {not_run} requirement(s) not "
                   "run.</div>")
    if meta.get("size") == "small":
        out.append("<div class='note'>Small plan (2 DMP, 2 MSSanté, 1 citizen): a quick run, not the "
                   "10/10/1 proof the referencing asks for (<code>--size full</code>).</div>")
    blocked = [rem_id for rem_id, req in evidence["requirements"].items() if req["verdict"] == "blocked"]
    if blocked:
        out.append(f"<div class='note'>{len(blocked)} requirement(s) <b>blocked</b>: not evaluated, "
                   "because an upstream check failed on the task they needed (named in each row). A blocked "
                   "requirement is not proven: the proof does not pass.</div>")
    return out


def _legend(evidence: dict) -> list[str]:
    """Every status word, once; UNDER_REVIEW only when a requirement of the page has that status."""
    under_review = any((req.get("catalogue") or {}).get("status") == "UNDER_REVIEW"
                       for req in evidence["requirements"].values())
    legend = [entry for entry in LEGEND if entry[0] != "UNDER_REVIEW" or under_review]
    items = "".join(f"<dt id='legend-{_anchor(word)}'>"
                    + (f"<span class='{cls}'>{e(word)}</span>" if cls else e(word))
                    + f"</dt><dd>{e(text)}</dd>" for word, cls, text in legend)
    return ["<h2 id='legend'>Legend</h2>", f"<dl class='legend'>{items}</dl>"]


def _plan_counts(plan: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in (plan.get("counts") or {}).items())


def _requirements(evidence: dict) -> list[str]:
    rows = ["<h2>Requirements</h2>", f"<p class='muted'>{e(requirements_note(evidence))}.</p>",
            "<table><thead><tr><th>REM id</th><th>status</th><th>what it asks (project's words)"
            "</th><th>verdict</th><th>checks</th><th>tests</th></tr></thead>"]
    for rem_id, req in evidence["requirements"].items():
        cat = req.get("catalogue") or {}
        checks = " ".join(f"<a href='#check-{_anchor(c)}'>{e(c)}</a>" for c in req["checks"])
        tests = "<br>".join(f"{_verdict(t['outcome'])} <code>{e(t['nodeid'].split('::')[-1])}</code>"
                            for t in req["tests"])
        verdict = _verdict(req["verdict"]) + "".join(
            _blocker_note(b) for b in _unique_blockers(req.get("blocked_by") or []))
        if req.get("note"):  # an optional requirement the product does not claim
            verdict += f"<br><small>{e(req['note'])}</small>"
        status = cat.get("status")
        status_cell = f"<a href='#legend-{_anchor(status)}'>{e(status)}</a>" if status else "—"
        rows.append(f"<tr id='rem-{_anchor(rem_id)}'><td class='nowrap'><code>{e(rem_id)}</code></td>"
                    f"<td class='nowrap'>{status_cell}</td>"
                    f"<td>{e(cat.get('summary'))}</td><td>{verdict}</td><td>{checks}</td>"
                    f"<td>{tests}</td></tr>")
    rows.append("</table>")
    return rows


def _unique_blockers(blockers: list[dict]) -> list[dict]:
    seen, unique = set(), []
    for b in blockers:
        key = (b.get("check"), b.get("task"))
        if key not in seen:
            seen.add(key)
            unique.append(b)
    return unique


def _blocker_note(blocker: dict) -> str:
    """Under a blocked requirement's verdict: the upstream check (a link) and task, or why."""
    if blocker.get("check"):
        link = f"<a href='#check-{_anchor(blocker['check'])}'>{e(blocker['check'])}</a>"
        return f"<br><small>blocked by {link} ({e(blocker['task'])})</small>"
    return f"<br><small>blocked ({e(blocker['task'])}): {e(blocker.get('reason'))}</small>"


def _blocked_item(blocker: dict) -> str:
    """A task a check could not evaluate, with the upstream check (a link) and the reason."""
    upstream = (f"<a href='#check-{_anchor(blocker['check'])}'><code>{e(blocker['check'])}</code></a>"
                if blocker.get("check") else "no check of the harness")
    return f"<li>{e(blocker['task'])}: blocked by {upstream} — {e(blocker.get('reason'))}</li>"


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
        rem_links = ", ".join(f"<a href='#rem-{_anchor(r)}'><code>{e(r)}</code></a>" for r in check["rem"])
        out.append(f"<p>REM: {rem_links} · {e(check['summary'])}</p>")
        if check["problems"]:
            items = "".join(f"<li>{e(p)}</li>" for p in check["problems"][:200])
            out.append(f"<ul class='problems'>{items}</ul>")
            if check.get("hint"):
                out.append(f"<p class='hint'><b>How to fix:</b> {e(check['hint'])}</p>")
        if check.get("blocked_by"):
            items = "".join(_blocked_item(b) for b in check["blocked_by"][:200])
            out.append("<p>Not evaluated on these tasks (an upstream step failed there):</p>"
                       f"<ul class='blocked'>{items}</ul>")
        out.append(f"<details><summary>Evidence looked at ({len(check['evidence'])} items)</summary>"
                   f"<div class='wide'>{data(check['evidence'])}</div></details>")
    return out


def _tasks(evidence: dict, pack_dir: Path | None) -> list[str]:
    run = evidence["run"]
    documents = evidence.get("documents")
    out = ["<h2>Tasks, exchanges and documents</h2>",
           "<p class='muted'>For each task: what the product said (its claim), every exchange the mocks "
           "recorded while it ran (journal time, sequence number, operation, answer, rule ids), then the "
           "documents it sent with their validation reports.</p>"]
    if documents is None:
        out.append("<p class='note'>The documents were not collected for this pack (it was written without "
                   "the mocks running): only their header facts and validation reports are shown.</p>")
    for task in run["tasks"]:
        out += _task(task, documents, run, pack_dir)
    return out


def _task(task: dict, documents: list | None, run: dict, pack_dir: Path | None) -> list[str]:
    info, result, observed = task["task"], task["result"], task["observed"]
    traits = info["patient"]
    out = [f"<h3 id='task-{_anchor(info['id'])}'>{e(info['id'])} — {e(info['action'])} "
           f"({e(task['scenario'])}, expected: {e(task['expect'])})</h3>",
           f"<p>Patient traits: {e(traits.get('birth_name'))} {e(traits.get('first_names'))}, "
           f"{e(traits.get('sex'))}, born {e(traits.get('birth_date'))} in {e(traits.get('birth_place'))} · "
           f"world INS {e(task['world']['ins'])} ({e(task['world']['oid'])}) · recipient "
           f"{e(info.get('recipient') or '—')} · ran {timestamp(task['started'])} → "
           f"{timestamp(task['ended'], date=False)}"
           + (f" · fault injected: {data(task['fault'])}" if task.get("fault") else "") + "</p>",
           f"<p class='claim'>The product said: {e('ok' if result.get('ok') else 'failure')} — "
           f"{e(result.get('detail'))}</p>"]
    out.append(_exchanges(observed))
    if documents is None:
        out += _reports_without_files(observed, run)
    else:
        out += [_document(doc, pack_dir) for doc in documents if doc.get("task") == info["id"]]
    return out


def _exchanges(observed: dict) -> str:
    rows = ["<table><thead><tr><th>time</th><th>service</th><th>#</th><th>operation</th><th>answer</th>"
            "<th>rules</th><th>facts</th></tr></thead>"]
    for item in observed["insi"]:
        rows.append(_row(item["time"], "INSi", item["seq"], item["operation"], item["verdict"], item["rules"],
                         e(f"code {item['code']} · INS {item.get('ins') or '—'} ({item.get('oid') or '—'}) · "
                           f"traits {item['traits'].get('birth_name')} "
                           f"{' '.join(item['traits'].get('first_names') or [])}")))
    for item in observed["dmp"]:
        facts = e(f"patientId {item.get('patient_id') or '—'} · HTTP {item.get('http_status')}")
        for doc in item.get("documents") or []:
            facts += e(f" · CDA {doc.get('unique_id')} INS {doc.get('ins')} ({doc.get('ins_oid')}) code "
                       f"{doc.get('code')}" + (f" RPLC {doc.get('replaces')}" if doc.get("replaces") else ""))
        if item.get("dmp_state"):
            facts += (f" · DMP <a href='#legend-OUVERT---FERME---INEXISTANT'>{e(item['dmp_state'])}</a>, "
                      f"authorisation <a href='#legend-VALIDE---EXPIRE---INTERDIT---NON-EXISTE'>"
                      f"{e(item.get('autorisation'))}</a>")
        rows.append(_row(item["time"], "DMP", item["seq"], item["operation"], item["verdict"], item["rules"],
                         facts))
    for item in observed["mss"]:
        facts = e(f"{item.get('from')} → {', '.join(item.get('to') or [])} · subject {item.get('subject')} · "
                  f"attachments {', '.join(a.get('filename', '') for a in item.get('attachments') or [])} · "
                  f"{item.get('reply')}")
        rows.append(_row(item["time"], "MSSanté", item["seq"], "smtp-message", item["verdict"], item["rules"],
                         facts))
    rows.append("</table>")
    return "".join(rows)


def _row(time, service, seq, operation, verdict, rules, facts_html) -> str:
    return (f"<tr><td>{timestamp(time, date=False)}</td><td>{e(service)}</td><td>{e(seq)}</td>"
            f"<td>{e(operation)}</td>"
            f"<td>{e(verdict)}</td><td class='nowrap'>{'<br>'.join(e(r) for r in rules or [])}</td>"
            f"<td>{facts_html}</td></tr>")


def _document(doc: dict, pack_dir: Path | None) -> str:
    files = doc.get("files") or {}
    where = "DMP (ITI-41, exchange #" if doc["service"] == "dmp" else "MSSanté (message #"
    where += f"{doc.get('seq')})"
    report = doc.get("validation")
    links = " · ".join(f"<a href='{e(path)}'>{e(_FILE_LABELS.get(kind, kind))}: "
                       f"{e(path.rsplit('/', 1)[-1])}</a>" for kind, path in files.items())
    view = ""
    if files.get("cda") and pack_dir is not None and (pack_dir / files["cda"]).is_file():
        view = render_cda((pack_dir / files["cda"]).read_bytes(), embedded_href=files.get("embedded")).html
    missing = "".join(f"<li>{e(m)}</li>" for m in doc.get("missing") or [])
    return ("<details class='doc' open><summary><b>Document "
            f"{e(doc.get('unique_id') or '(none)')}</b> sent to "
            f"{e(where)} — validation: {_report_verdict(report)}</summary>"
            f"<p>Files: {links or 'none'} <span class='muted'>(source: {e(doc.get('source'))})</span></p>"
            + (f"<p class='fail'>Not collected or not readable:</p><ul class='problems'>{missing}</ul>"
               if missing else "")
            + view + _report(report) + "</details>")


_FILE_LABELS = {"cda": "CDA", "embedded": "embedded file", "xdm": "XDM zip"}


def _report_verdict(report: dict | None) -> str:
    """The validator's words (docs/validator.md): VALID, PARTIAL (no error, but the official layers did not
    run), INVALID."""
    if not report:
        return "<span class='skip'>no report</span>"
    skipped = {layer["name"] for layer in report.get("layers") or [] if layer.get("status") != "ran"}
    partial = bool(skipped & {"xsd", "schematron"})
    if not report.get("valid"):
        return "<a href='#legend-VALID---PARTIAL---INVALID' class='fail'>INVALID</a>" + (
            " (the official layers did not run)" if partial else "")
    word, cls = ("PARTIAL", "skip") if partial else ("VALID", "pass")
    return f"<a href='#legend-VALID---PARTIAL---INVALID' class='{cls}'>{word}</a>"


def _report(report: dict | None) -> str:
    """The validator's layers and findings as tables."""
    if not report:
        return "<p class='muted'>No validation report was recorded for this document.</p>"
    layers = "".join(f"<tr><td>{e(layer.get('name'))}</td><td>{e(layer.get('status'))}</td>"
                     f"<td>{e(layer.get('reason') or '')}</td></tr>" for layer in report.get("layers") or [])
    findings = report.get("findings") or []
    rows = "".join(f"<tr><td>{e(f.get('layer') or '—')}</td>"
                   f"<td class='nowrap'><code>{e(f.get('rule'))}</code></td>"
                   f"<td>{_severity(f.get('severity'))}</td><td>{e(f.get('message'))}"
                   + (f"<br><small>fix: {e(f['hint'])}</small>" if f.get("hint") else "") + "</td>"
                   f"<td>{e(f.get('line') or '')}</td>"
                   f"<td><code>{e(f.get('xpath') or f.get('location') or '')}</code>"
                   "</td></tr>" for f in findings)
    total = report.get("findings_total", len(findings))
    more = (f"<p class='muted'>{total - len(findings)} more finding(s) in evidence.json.</p>"
            if total > len(findings) else "")
    table = ("<table class='findings'><thead><tr><th>layer</th><th>rule id</th><th>severity</th>"
             f"<th>message</th><th>line</th><th>location</th></tr></thead>{rows}</table>"
             if findings else "<p>No finding.</p>")
    source = f"<p class='muted'>From {e(report['source'])}.</p>" if report.get("source") else ""
    layers = ("<table><thead><tr><th>layer</th><th>status</th><th>detail</th></tr></thead>"
              f"{layers}</table>") if layers else ""
    return f"<h4>Validation report</h4>{source}{layers}{table}{more}"


def _severity(value) -> str:
    cls = {"error": "fail", "fatal": "fail", "warning": "skip"}.get(str(value), "muted")
    return f"<span class='{cls}'>{e(value)}</span>"


def _reports_without_files(observed: dict, run: dict) -> list[str]:
    """Header facts and reports from the recorded run alone (a pack written without the mocks running)."""
    reports = {entry.get("unique_id"): entry.get("validation")
               for entries in (run.get("dmp_store") or {}).values() for entry in entries}
    out = []
    for item in observed["dmp"]:
        for doc in item.get("documents") or []:
            out.append(f"<details class='doc' open><summary>Document {e(doc.get('unique_id'))} (DMP, #"
                       f"{e(item['seq'])})</summary>{data(doc)}"
                       f"{_report(reports.get(doc.get('unique_id')))}</details>")
    for item in observed["mss"]:
        for doc in item.get("documents") or []:
            uid = (doc.get("metadata") or {}).get("unique_id")
            out.append(f"<details class='doc' open><summary>Document {e(uid)} (MSSanté, "
                       f"#{e(item['seq'])})</summary>"
                       f"{data(doc.get('cda'))}{_report((item.get('validation') or {}).get(uid))}</details>")
    return out


def _plan(plan: dict) -> list[str]:
    rows = "".join(f"<tr><td><a href='#task-{_anchor(t['task']['id'])}'>{e(t['task']['id'])}</a></td>"
                   f"<td>{e(t['task']['action'])}</td><td>{e(t.get('scenario'))}</td>"
                   f"<td>{e(t.get('expect'))}</td><td>{e(t['task']['patient'].get('birth_name'))} "
                   f"{e(t['task']['patient'].get('first_names'))}</td>"
                   f"<td>{e(t['task'].get('recipient') or '—')}</td></tr>" for t in plan.get("tasks") or [])
    return ["<h2>Plan</h2>", f"<p>Couloir {e(plan.get('couloir'))}, size {e(plan.get('size'))}, world "
            f"{e(plan.get('world_version'))}: {e(_plan_counts(plan))}.</p>",
            "<table><thead><tr><th>task</th><th>action</th><th>scenario</th><th>expected</th><th>patient</th>"
            f"<th>recipient</th></tr></thead>{rows}</table>"]
