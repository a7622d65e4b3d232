"""What the official layers let through, and what the Ségur rules catch, on the documented mutants.

    python -m segur.validators.segur_rules.measure --pack ../shared/ref/cda \
        [--extra-pack schematrons/profils/IHE.sch --extra-pack schematrons/profils/CI-SIS_Modeles_ANS.sch]

For every mutant of `mutants.MUTANTS` (an official example broken on exactly one Ségur rule), run
the official layers alone (XSD + the CI-SIS Schematron packs chosen by profile ``auto``: the
common content-model pack, plus the volet pack of an N3 document) and then the Ségur rules (given,
as the biology value set, an SVS file of the examples' own result codes), and
print one line per mutant: whether the official layers see an error, and which Ségur rules fire.
``--extra-pack`` (relative to the pack directory) adds official profile packs that the official
tool also runs but `validate()` does not (IHE, CI-SIS_Modeles_ANS…): their errors count as the
official layers' too.
The clean bases are checked first: the official layers must find no error on them, otherwise
the measurement would be meaningless. Takes a minute or two (the packs are compiled on first use).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lxml import etree

from segur.validators.api import validate
from segur.validators.locate import Locator
from segur.validators.schematron import compile_pack
from segur.validators.segur_rules import check_segur, load_value_sets
from segur.validators.segur_rules.mutants import (
    MUTANTS,
    build,
    clean_bases,
    example_result_codes,
    load_originals,
    svs_value_set,
)

OFFICIAL_LAYERS = ("xml", "structure", "xsd", "schematron")


def _extra_errors(extra_packs: list, data: bytes) -> list[str]:
    errors = []
    for name, compiled in extra_packs:
        for failure in compiled.run(data).failures:
            if failure.severity == "error":
                errors.append(f"{name}:{(failure.message or '').strip()[:40]}")
    return errors


def measure(pack: Path, extra: list[str] = ()) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        svs = Path(tmp) / "examples-result-codes.xml"
        svs.write_bytes(svs_value_set(example_result_codes(pack)))
        value_sets = load_value_sets([f"bio-results={svs}"])
    extra_packs = [(Path(rel).stem, compile_pack(Path(pack) / rel)) for rel in extra]
    originals = load_originals(pack)
    bases = clean_bases(originals)
    rows = []
    for key, data in bases.items():
        report = validate(data, pack=pack, layers=OFFICIAL_LAYERS, name=f"base:{key}")
        official_errors = sorted({f.rule for f in report.errors}) + _extra_errors(extra_packs, data)
        rows.append({"case": f"base {key}", "rule": "-", "official_errors": official_errors,
                     "packs": [p.name for p in report.packs], "segur": []})
    for case in MUTANTS:
        data = build(case, bases, originals)
        official = validate(data, pack=pack, layers=OFFICIAL_LAYERS, profile="auto", name=case.why)
        # The Ségur rules alone, with the pack (for the value sets they read) and a forced volet if any.
        tree = etree.fromstring(data, etree.XMLParser(huge_tree=True)).getroottree()
        found = check_segur(tree, Locator(data, tree), case.profile,
                            pack_root=None if case.without_pack else pack,
                            value_sets=None if case.without_value_sets else value_sets)
        official_errors = sorted({f.rule for f in official.errors}) + _extra_errors(extra_packs, data)
        rows.append({"case": case.why, "rule": case.rule, "base": case.base,
                     "official_errors": official_errors, "packs": [p.name for p in official.packs],
                     "segur": sorted({f.rule for f in found})})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True,
                        help="the ANS CDA pack directory (e.g. ../shared/ref/cda)")
    parser.add_argument("--extra-pack", action="append", default=[],
                        help="an extra official pack to run, relative to --pack (repeatable)")
    args = parser.parse_args(argv)
    rows = measure(args.pack, args.extra_pack)
    if args.extra_pack:
        print("extra packs: " + ", ".join(args.extra_pack))
    let_through = caught = 0
    print(f"{'case':58} {'rule':15} {'official layers':32} Ségur rules")
    for row in rows:
        official = ", ".join(row["official_errors"][:3]) or "no error (VALID)"
        if len(row["official_errors"]) > 3:
            official += f" +{len(row['official_errors']) - 3}"
        print(f"{row['case'][:58]:58} {row['rule']:15} {official[:32]:32} {', '.join(row['segur']) or '-'}")
        if row["rule"] != "-":
            let_through += not row["official_errors"]
            caught += row["rule"] in row["segur"]
    mutants = sum(1 for r in rows if r["rule"] != "-")
    print(f"\n{mutants} mutants: the official layers report no error on {let_through}; "
          f"the Ségur rules catch {caught}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
