"""Verdict of the full validator on every official ANS example (ExemplesCDA/, 94 documents).

    .venv/bin/python benchmarks/validate_examples.py [--pack ../shared/ref/cda] [--layers ...] \\
        [--json out.json]

The examples are published by ANS as conformant, but the repository has no list of expected
errors and some examples are older than the packs they are routed to; this script reports what
happens, honestly: per document the verdict, the volet pack applied, and the rules that fired,
then totals by layer and by rule. It never tunes anything to make an example pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from segur.validators import Validator
from segur.validators.report import LAYERS

DEFAULT_PACK = Path(__file__).resolve().parents[2] / "shared" / "ref" / "cda"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK)
    parser.add_argument("--layers", default=",".join(LAYERS), help="comma-separated layers to run")
    parser.add_argument("--json", type=Path, help="also write the per-document results as JSON")
    parser.add_argument("--show", type=int, default=4, help="rules listed per failing document")
    parser.add_argument("--schematron-mode", default="fast", choices=("fast", "classic"))
    parser.add_argument("--compare-modes", action="store_true",
                        help="also run the classic Schematron mode and list the documents whose findings "
                             "differ")
    args = parser.parse_args(argv)
    examples = sorted((args.pack / "ExemplesCDA").glob("*.xml"))
    if not examples:
        print(f"no examples under {args.pack / 'ExemplesCDA'}", file=sys.stderr)
        return 2
    layers = tuple(args.layers.split(","))
    validator = Validator(pack=args.pack, layers=layers, schematron_mode=args.schematron_mode)
    rows, by_rule, by_layer, verdicts = [], Counter(), Counter(), Counter()
    started = time.perf_counter()
    for path in examples:
        report = validator.validate(path)
        errors = report.errors
        fired = Counter(f.rule for f in errors)
        by_rule.update(fired)
        by_layer.update(f.layer for f in errors)
        verdicts[report.verdict] += 1
        first_errors = [{"rule": f.rule, "line": f.line, "message": f.message[:200]} for f in errors[:3]]
        rows.append({"document": path.name, "verdict": report.verdict, "level": report.profile.get("level"),
                     "volet": report.profile.get("volet"), "errors": len(errors),
                     "warnings": len(report.warnings),
                     "errors_by_layer": dict(Counter(f.layer for f in errors)),
                     "rules": dict(fired.most_common()), "first_errors": first_errors,
                     "findings": sorted([f.rule, f.line, f.column] for f in report.findings),
                     "ms": round(report.timings.get("total_ms", 0), 1)})
        pack = report.profile.get("volet") or "common only"
        line = f"{report.verdict:10} {path.name[:58]:58} {report.profile.get('level') or '-':3} {pack:22}"
        if errors:
            layers = ",".join(f"{k}:{v}" for k, v in Counter(f.layer for f in errors).items())
            line += f" {len(errors):4} err [{layers}] " + " ".join(
                f"{rule}×{n}" for rule, n in fired.most_common(args.show))
        print(line, flush=True)
    elapsed = time.perf_counter() - started
    print()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items()))
    print(f"{len(examples)} examples in {elapsed:.1f} s: {counts}")
    print("errors by layer: " + (", ".join(f"{k} {v}" for k, v in by_layer.most_common()) or "none"))
    print("top rules: " + (", ".join(f"{k} ×{v}" for k, v in by_rule.most_common(15)) or "none"))
    if args.compare_modes:
        other = "classic" if args.schematron_mode == "fast" else "fast"
        reference = Validator(pack=args.pack, layers=layers, schematron_mode=other)
        differing = []
        for path, row in zip(examples, rows, strict=True):
            theirs = sorted([f.rule, f.line, f.column] for f in reference.validate(path).findings)
            if theirs != row["findings"]:
                differing.append(f"{path.name} ({args.schematron_mode}: {row['verdict']}, "
                                 f"{len(row['findings'])} findings; {other}: {len(theirs)} findings)")
        print(f"{args.schematron_mode} vs {other}: " + ("identical findings on every example" if not differing
              else f"{len(differing)} example(s) differ: " + "; ".join(differing)))
    if args.json:
        results = {"examples": rows, "verdicts": dict(verdicts),
                   "errors_by_rule": dict(by_rule.most_common())}
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
