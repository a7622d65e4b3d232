"""Mutation testing of the proof: every mutant of scenarios/mutants/catalogue.py, kill rates, time.

The same as `segur proof-mutants`; rewrites docs/mutants.md. Run from the repository root:

    .venv/bin/python benchmarks/proof_mutants.py [--pack ../shared/ref/cda] [--only MUTANT_ID ...] \\
        [--no-write]
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default=None, help="official CDA pack directory (sets SEGUR_PACK)")
    parser.add_argument("--couloir", default="RIS")
    parser.add_argument("--only", action="append", default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    from segur.scenarios.mutants.cli import main as run

    print(f"proof mutants, couloir {args.couloir}; pack {args.pack or 'none'}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return run(only=args.only, couloir=args.couloir, pack=os.path.abspath(args.pack) if args.pack else None,
               write=not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
