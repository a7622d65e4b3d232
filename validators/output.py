"""Renderers of validation reports: text (for people), JSON, JUnit (for CI servers), SVRL.

All renderers take the list of reports of one run (one or many documents) and its summary.
The text renderer writes to a rich `Console` (colour on a terminal only); the others return a
string that is a single well-formed JSON or XML document whatever the number of documents.
"""

from __future__ import annotations

import json
import re
from itertools import groupby

from lxml import etree
from rich.console import Console
from rich.text import Text

from segur.kernel.findings import Finding, Severity
from segur.validators.report import LAYERS, BatchSummary, Report

FORMATS = ("text", "json", "junit", "svrl")
JSON_SCHEMA_VERSION = 1

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_VERDICT_STYLE = {"VALID": "bold green", "PARTIAL": "bold yellow", "INVALID": "bold red",
                  "UNREADABLE": "bold magenta"}
_LAYER_ORDER = {name: i for i, name in enumerate((*LAYERS, "validator"))}


def _reading_order(finding) -> tuple:
    """Layer by layer (xml first), then down the file."""
    return _LAYER_ORDER.get(finding.layer, 99), finding.line or 0, finding.column or 0


# -- text ---------------------------------------------------------------------------------------

def _where(finding: Finding) -> str:
    if finding.line is None:
        return "-"
    return f"{finding.line}:{finding.column}" if finding.column is not None else f"{finding.line}"


def render_text(reports: list[Report], summary: BatchSummary, console: Console, *, show_valid: bool = True,
                quiet: bool = False) -> None:
    """Findings grouped by layer, each with rule id, line:column, XPath, message and hint; a verdict
    line per document, then why its profile was chosen; a summary line when there are several documents."""
    for report in reports:
        if quiet or (report.valid and not report.findings and not show_valid):
            continue
        _text_report(report, console)
    if len(reports) > 1 or quiet:
        console.print(Text(summary.line(), style="bold"), soft_wrap=True)


def _text_report(report: Report, console: Console) -> None:
    out = console.print
    header = Text(report.document, style="bold")
    profile = report.profile or {}
    if profile.get("volet") or profile.get("reason"):
        header.append(f"  profile {profile.get('requested', 'auto')} → "
                      f"{profile.get('volet') or 'common pack only'}",
                      style="dim")
        if profile.get("level"):
            header.append(f" ({profile['level']})", style="dim")
    out(header, soft_wrap=True)
    for pack in report.packs:
        out(Text(f"  pack {pack.name}" + (f" {pack.version}" if pack.version else "")
                 + f"  {(pack.digest or '')[:19]}", style="dim"), soft_wrap=True)
    for layer in report.layers:
        if layer.status != "ran":
            out(Text(f"  {layer.name}: {layer.status}" + (f" — {layer.reason}" if layer.reason else ""),
                     style="yellow" if layer.status == "skipped" else "bold red"), soft_wrap=True)
    ordered = sorted(report.findings, key=_reading_order)
    for layer, group in groupby(ordered, key=lambda f: f.layer):
        out(Text(f"  [{layer}]", style="bold blue"), soft_wrap=True)
        for finding in group:
            line = Text("    ")
            line.append(f"{finding.severity.value.upper():7}", style=_STYLE.get(finding.severity, ""))
            line.append(f" {finding.rule}", style="bold")
            line.append(f"  {_where(finding)}")
            if finding.xpath:
                line.append(f"  {finding.xpath}", style="dim")
            out(line, soft_wrap=True)
            out(Text("      " + finding.message), soft_wrap=True)
            if finding.hint:
                out(Text("      hint: " + finding.hint, style="green"), soft_wrap=True)
    verdict = Text(report.verdict, style=_VERDICT_STYLE[report.verdict])
    verdict.append(f"  {len(report.errors)} error(s), {len(report.warnings)} warning(s)  {report.document}",
                   style="")
    skipped = report.layers_with_status("skipped")
    if skipped:
        verdict.append(f"  (not checked: {', '.join(skipped)})", style="yellow")
    out(verdict, soft_wrap=True)
    reason = (report.profile or {}).get("reason")
    if reason:  # which volet pack version and why (issue 12 item 1.6), not only in the JSON
        out(Text(f"  profile: {reason}", style="dim"), soft_wrap=True)


# -- json ---------------------------------------------------------------------------------------

def render_json(reports: list[Report], summary: BatchSummary) -> str:
    return json.dumps({"schema_version": JSON_SCHEMA_VERSION, "tool": "segur validate",
                       "documents": [r.to_dict() for r in reports], "summary": summary.to_dict()},
                      ensure_ascii=False, indent=2)


# -- junit --------------------------------------------------------------------------------------

def _classname(report: Report, layer: str) -> str:
    """`segur.validate.<folder>.<file>.<layer>`: CI servers group test cases by the dotted prefix, so the
    path's folders become packages (two `report.xml` in different folders stay apart) and the layer
    the class."""
    path = report.document.replace("\\", "/").removesuffix(".xml")
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    dotted = ".".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) for p in parts) or "document"
    return f"segur.validate.{dotted}.{layer}"


def _occurrences(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.severity.value} at {_where(f)} {f.xpath or ''}".rstrip())
        lines.append(f"  {f.message}")
        if f.hint:
            lines.append(f"  hint: {f.hint}")
    return "\n".join(lines)


def render_junit(reports: list[Report], summary: BatchSummary) -> str:
    """One testsuite per document; one testcase per rule fired (all its occurrences in the body),
    plus one passing testcase per layer that ran clean and a skipped one per layer not run."""
    suites = etree.Element("testsuites", name="segur validate")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for report in reports:
        suite = etree.SubElement(suites, "testsuite", name=report.document)
        properties = etree.SubElement(suite, "properties")
        etree.SubElement(properties, "property", name="verdict", value=report.verdict)
        etree.SubElement(properties, "property", name="exit_code", value=str(report.exit_code))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        by_layer: dict[str, list[Finding]] = {}
        for finding in report.findings:
            by_layer.setdefault(finding.layer, []).append(finding)
        layers = [layer.name for layer in report.layers] + [x for x in by_layer if x not in LAYERS]
        for layer_name in layers:
            status = report.layer(layer_name)
            findings = by_layer.get(layer_name, [])
            if status is not None and status.status == "skipped":
                case = etree.SubElement(suite, "testcase", classname=_classname(report, layer_name),
                                        name=f"{layer_name} layer")
                etree.SubElement(case, "skipped", message=status.reason or "skipped")
                counts["tests"] += 1
                counts["skipped"] += 1
                continue
            if not [f for f in findings if f.severity == Severity.ERROR]:
                case = etree.SubElement(suite, "testcase", classname=_classname(report, layer_name),
                                        name=f"{layer_name} layer: no errors")
                counts["tests"] += 1
            for rule_id, group in groupby(sorted(findings, key=lambda f: f.rule), key=lambda f: f.rule):
                group = list(group)
                classname = _classname(report, layer_name)
                case = etree.SubElement(suite, "testcase", classname=classname, name=rule_id)
                counts["tests"] += 1
                errors = [f for f in group if f.severity == Severity.ERROR]
                if errors:
                    kind = "error" if report.unreadable else "failure"
                    node = etree.SubElement(case, kind, type=rule_id,
                                            message=f"{rule_id} ({len(errors)}×): {errors[0].message}"[:500])
                    node.text = _occurrences(group)
                    counts["errors" if report.unreadable else "failures"] += 1
                else:
                    etree.SubElement(case, "system-out").text = _occurrences(group)
        for key, value in counts.items():
            suite.set(key, str(value))
            total[key] += value
        suite.set("time", f"{report.timings.get('total_ms', 0) / 1000:.3f}")
    for key, value in total.items():
        suites.set(key, str(value))
    return etree.tostring(suites, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


# -- svrl ---------------------------------------------------------------------------------------

SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
SEGUR_NS = "urn:segur-harness:validate"


def _svrl_for(report: Report) -> etree._Element:
    """The SVRL of every pack that ran, merged under one ``svrl:schematron-output``; findings of the
    other layers are added as ``svrl:failed-assert`` with ``@test="segur:<layer>"`` and ``@id`` = rule id."""
    out = etree.Element(f"{{{SVRL_NS}}}schematron-output", nsmap={"svrl": SVRL_NS, "segur": SEGUR_NS},
                        title=f"segur validate: {report.document}",
                        schemaVersion=", ".join(f"{p.name}" for p in report.packs) or "none")
    out.set(f"{{{SEGUR_NS}}}verdict", report.verdict)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    for pack in report.packs:
        out.append(etree.Comment(f" pack {pack.name} {pack.version or ''} {pack.digest or ''} "))
        if pack.svrl:
            pack_root = etree.fromstring(pack.svrl, parser)
            for child in pack_root:
                out.append(child)
    for finding in report.findings:
        if finding.layer == "schematron" and not finding.rule.startswith("SCH-"):
            continue  # already in the packs' own SVRL
        failed = etree.SubElement(out, f"{{{SVRL_NS}}}failed-assert", id=finding.rule,
                                  role=finding.severity.value, test=f"segur:{finding.layer}",
                                  location=finding.xpath or "/")
        text = finding.message
        if finding.line is not None:
            text += f" (line {_where(finding)})"
        etree.SubElement(failed, f"{{{SVRL_NS}}}text").text = text
    return out


def render_svrl(reports: list[Report], summary: BatchSummary) -> str:
    if len(reports) == 1:
        root = _svrl_for(reports[0])
    else:
        root = etree.Element(f"{{{SEGUR_NS}}}reports", nsmap={None: SEGUR_NS})
        for report in reports:
            holder = etree.SubElement(root, f"{{{SEGUR_NS}}}document", name=report.document,
                                      verdict=report.verdict)
            holder.append(_svrl_for(report))
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode()


RENDERERS = {"json": render_json, "junit": render_junit, "svrl": render_svrl}
